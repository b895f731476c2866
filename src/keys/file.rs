//! The key file: a new one written for `freshgate keygen`, and a warning when one is readable by others.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::RsaKeyPair;

use super::{KeyError, SigningKey, directories, error, pem};

/// Makes a new key with [`SigningKey::generate`] and writes it to `path` as a PKCS#8 PEM with mode 0600.
///
/// The file is created with `create_new`, so an existing file — quite possibly the key Freshworks trusts
/// today — is never replaced, not even by a file that appears while the key is being generated. The mode is
/// set when the file is created, so the key is never readable by others, not even briefly.
///
/// Missing directories above `path` are made, mode 0700; the ones made are returned with the key.
///
/// # Errors
/// [`KeyError::Exists`] when `path` exists (nothing is written), [`KeyError::NotADirectory`],
/// [`KeyError::MakeDirectory`] or [`KeyError::Directory`] when a directory above it is missing and cannot be
/// made (each names the directory and why), [`KeyError::Write`] when the file cannot be created or written (a
/// partly written file is removed), or an error from [`SigningKey::generate`].
pub fn write_new_key(path: &Path, bits: usize) -> Result<(SigningKey, Vec<PathBuf>), KeyError> {
    let exists = || KeyError::Exists {
        path: path.to_path_buf(),
    };
    // Checked first so that a refusal does not wait for key generation; `create_new` below is the real guard.
    if fs::symlink_metadata(path).is_ok() {
        return Err(exists());
    }
    let pem = generate_pkcs8_pem(bits)?;
    let key = SigningKey::from_pem(&pem, path)?;
    let made = directories::make_missing(path)?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists => exists(),
        _ => KeyError::Write {
            path: path.to_path_buf(),
            source,
        },
    })?;
    if let Err(source) = file
        .write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        // The file is ours (create_new succeeded): do not leave a truncated key behind.
        let _ = fs::remove_file(path);
        return Err(KeyError::Write {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok((key, made))
}

/// A warning to log when the key file at `path` can be read (or otherwise accessed) by group or others,
/// i.e. when `mode & 0o077 != 0`. `None` when the mode is fine, the file cannot be inspected, or the
/// platform has no Unix modes.
///
/// A warning rather than an error: a deployment may grant group read on purpose (Kubernetes `fsGroup`
/// does), and the operator is the one who can judge that.
#[must_use]
pub fn permission_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return None;
        }
        let how = if mode & 0o044 != 0 {
            "readable"
        } else {
            "accessible"
        };
        Some(format!(
            "{}: the Freshworks signing key is {how} by group/others (mode {mode:04o}); run `chmod 600 {}` so \
             that only the user freshgate runs as can read it",
            path.display(),
            error::sh(path)
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// A new RSA key of `bits` bits as a PKCS#8 `PRIVATE KEY` PEM.
pub(super) fn generate_pkcs8_pem(bits: usize) -> Result<String, KeyError> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        _ => return Err(KeyError::UnsupportedSize { bits }),
    };
    let failed = |detail: String| KeyError::Generate { detail };
    let pair = RsaKeyPair::generate(size).map_err(|e| failed(e.to_string()))?;
    let pkcs8 = pair.as_der().map_err(|e| failed(e.to_string()))?;
    Ok(pem::encode("PRIVATE KEY", pkcs8.as_ref()))
}
