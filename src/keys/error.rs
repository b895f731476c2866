//! Why a signing key could not be loaded, made or used.
//!
//! Each message is meant to be read by whoever set the gateway up, at startup: it names the file, says what
//! is wrong with it and gives the command that fixes it.

use std::io;
use std::path::{Path, PathBuf};

/// The RSA key size floor for RS256: RFC 7518 §3.3 ("A key of size 2048 bits or larger MUST be used").
pub const MIN_RSA_BITS: usize = 2048;

/// The largest RSA key aws-lc-rs accepts.
pub const MAX_RSA_BITS: usize = 8192;

/// Something is wrong with a Freshworks signing key. See the module documentation for the rules.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error(
        "{}: the Freshworks signing key file does not exist. Fix the path in the configuration, or make a \
         key with `freshgate keygen --out {}` and paste the printed public key into Freshworks.",
        .path.display(), sh(.path)
    )]
    NotFound { path: PathBuf },

    #[error(
        "{}: cannot read the Freshworks signing key ({source}). Make sure the file is readable by the user \
         freshgate runs as.",
        .path.display()
    )]
    Unreadable { path: PathBuf, source: io::Error },

    #[error(
        "{}: no PEM private key found (expected a `-----BEGIN PRIVATE KEY-----` or `-----BEGIN RSA PRIVATE \
         KEY-----` block). If the file holds a binary DER key, convert it with `openssl pkcs8 -topk8 -nocrypt \
         -inform DER -in {} -out {}`; otherwise make a new key with `freshgate keygen --out {}` and paste the \
         printed public key into Freshworks.",
        .path.display(), sh(.path), sh(&sibling(.path, "-pem")), suggest(.path)
    )]
    NotPem { path: PathBuf },

    #[error(
        "{}: holds {found} but no private key. freshgate signs with the RSA private key: point the \
         configuration at the private key file (the public key is what goes into Freshworks' form).",
        .path.display()
    )]
    NotPrivateKey { path: PathBuf, found: String },

    #[error(
        "{}: the private key is encrypted with a passphrase, and freshgate cannot ask for one. Write a \
         decrypted copy with `openssl pkcs8 -topk8 -nocrypt -in {} -out {}` (it asks for the passphrase), \
         `chmod 600` it and point the configuration at it; keep it in a secret store, not in the repository.",
        .path.display(), sh(.path), sh(&sibling(.path, "-decrypted"))
    )]
    Encrypted { path: PathBuf },

    #[error(
        "{}: the key is in OpenSSH's own format (`-----BEGIN OPENSSH PRIVATE KEY-----`, what `ssh-keygen` \
         writes without `-m PEM`), which freshgate does not read. Make a new key with `freshgate keygen --out \
         {}` and paste the printed public key into Freshworks, or convert a copy of this one with `ssh-keygen \
         -p -m PKCS8 -f COPY` (it must still be an RSA key of at least 2048 bits).",
        .path.display(), suggest(.path)
    )]
    OpenSsh { path: PathBuf },

    #[error(
        "{}: this is {algorithm}, but Freshworks verifies only RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC \
         7518 §3.3), which needs an RSA key. Make one with `freshgate keygen --out {}` and paste the printed \
         public key into Freshworks.",
        .path.display(), suggest(.path)
    )]
    NotRsa { path: PathBuf, algorithm: String },

    #[error(
        "{}: the RSA key has {bits} bits; freshgate needs at least {MIN_RSA_BITS} (RFC 7518 §3.3 requires \
         2048 bits or more for RS256, as does NIST SP 800-131A; Freshworks' article's `ssh-keygen -b 1024` \
         recipe makes keys that are too weak). Make a new one with `freshgate keygen --out {}` and paste the \
         printed public key into Freshworks.",
        .path.display(), suggest(.path)
    )]
    TooSmall { path: PathBuf, bits: usize },

    #[error(
        "{}: the RSA key has {bits} bits; freshgate supports at most {MAX_RSA_BITS} (2048, 3072 or 4096 are \
         the usual sizes). Make a new one with `freshgate keygen --out {}` and paste the printed public key \
         into Freshworks.",
        .path.display(), suggest(.path)
    )]
    TooLarge { path: PathBuf, bits: usize },

    #[error(
        "{}: the RSA private key is malformed ({detail}). Restore the file from where it came from, or make \
         a new key with `freshgate keygen --out {}` and paste the printed public key into Freshworks.",
        .path.display(), suggest(.path)
    )]
    Malformed { path: PathBuf, detail: String },

    #[error(
        "{}: the RSA key loaded, but a test token signed with it did not verify ({detail}), so the key is \
         damaged or inconsistent. Make a new one with `freshgate keygen --out {}` and paste the printed \
         public key into Freshworks.",
        .path.display(), suggest(.path)
    )]
    ProbeFailed { path: PathBuf, detail: String },

    #[error(
        "cannot make a {bits}-bit RSA key: choose 2048, 3072 or 4096 bits (RS256 needs at least 2048, RFC \
         7518 §3.3; larger keys only make every login slower)."
    )]
    UnsupportedSize { bits: usize },

    #[error("RSA key generation failed ({detail}); try again, and report it if it keeps failing.")]
    Generate { detail: String },

    #[error(
        "{}: the file already exists, and `freshgate keygen` never overwrites a key (Freshworks may still \
         trust it). Choose another `--out` path, or remove the file yourself if you are sure it is no longer \
         used.",
        .path.display()
    )]
    Exists { path: PathBuf },

    #[error(
        "{}: cannot write the new key ({source}). Check that the directory exists and that you may write to \
         it.",
        .path.display()
    )]
    Write { path: PathBuf, source: io::Error },

    #[error("{}: signing a token failed ({detail}).", .path.display())]
    Sign { path: PathBuf, detail: String },

    #[error(
        "{}: {} is a file, not a directory, so the key cannot be written under it. Choose another `--out` \
         path.",
        .path.display(), .dir.display()
    )]
    NotADirectory { path: PathBuf, dir: PathBuf },

    #[error(
        "{}: the directory {} does not exist, and it cannot be made in {}: {}. Create it as a user who may \
         (`sudo install -d -m 700 -o \"$(id -un)\" {}`), or choose another `--out` path.",
        .path.display(), .dir.display(), .parent.display(), why(.source, .parent), sh(.dir)
    )]
    MakeDirectory {
        path: PathBuf,
        dir: PathBuf,
        parent: PathBuf,
        source: io::Error,
    },

    #[error(
        "{}: cannot tell whether the directory {} exists: {}. Run keygen as a user who may look into it, or \
         choose another `--out` path.",
        .path.display(), .dir.display(), why(.source, .dir)
    )]
    Directory {
        path: PathBuf,
        dir: PathBuf,
        source: io::Error,
    },
}

/// An I/O error in words about `place`.
fn why(error: &io::Error, place: &Path) -> String {
    match error.kind() {
        io::ErrorKind::PermissionDenied => {
            format!(
                "permission denied (this user may not write to or look into {})",
                place.display()
            )
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            format!("{} is on a read-only file system", place.display())
        }
        _ => error.to_string(),
    }
}

impl KeyError {
    /// The key file the error is about, when there is one.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::NotFound { path }
            | Self::Unreadable { path, .. }
            | Self::NotPem { path }
            | Self::NotPrivateKey { path, .. }
            | Self::Encrypted { path }
            | Self::OpenSsh { path }
            | Self::NotRsa { path, .. }
            | Self::TooSmall { path, .. }
            | Self::TooLarge { path, .. }
            | Self::Malformed { path, .. }
            | Self::ProbeFailed { path, .. }
            | Self::Exists { path }
            | Self::Write { path, .. }
            | Self::Sign { path, .. }
            | Self::NotADirectory { path, .. }
            | Self::MakeDirectory { path, .. }
            | Self::Directory { path, .. } => Some(path),
            Self::UnsupportedSize { .. } | Self::Generate { .. } => None,
        }
    }
}

/// `path` as a shell word: as is when it is plain, else single-quoted.
pub(super) fn sh(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | ':' | '@')
        });
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Where to suggest `freshgate keygen` should write a replacement: `freshworks-signing.key` next to the
/// refused file (or `freshworks-signing-new.key` if the refused file already has that name).
fn suggest(path: &Path) -> String {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut candidate = dir.join("freshworks-signing.key");
    if candidate == path {
        candidate = dir.join("freshworks-signing-new.key");
    }
    sh(&candidate)
}

/// `dir/name.ext` → `dir/name{suffix}.ext`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}{suffix}.{}", ext.to_string_lossy()),
        None => format!("{stem}{suffix}"),
    };
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_commands_are_quoted_only_when_the_shell_needs_it() {
        assert_eq!(sh(Path::new("certs/jwt.key")), "certs/jwt.key");
        assert_eq!(sh(Path::new("my keys/it's.pem")), r"'my keys/it'\''s.pem'");
    }

    #[test]
    fn the_suggested_new_key_sits_next_to_the_refused_one() {
        assert_eq!(
            suggest(Path::new("certs/jwt.key")),
            "certs/freshworks-signing.key"
        );
        assert_eq!(suggest(Path::new("jwt.pem")), "freshworks-signing.key");
        assert_eq!(
            suggest(Path::new("/etc/freshgate/freshworks-signing.key")),
            "/etc/freshgate/freshworks-signing-new.key"
        );
        assert_eq!(
            sibling(Path::new("certs/jwt.key"), "-decrypted"),
            Path::new("certs/jwt-decrypted.key")
        );
        assert_eq!(sibling(Path::new("jwt"), "-pem"), Path::new("jwt-pem"));
    }
}
