//! Files the configuration points at: paths resolved against its directory, files that must exist, secrets
//! written inline or in a file, and reads bounded in size.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::Validator;
use crate::config::raw::Field;
use crate::config::types::{Secret, SecretFile};

/// `*_file` secrets are refused past this size (guards against pointing one at a device or a log).
const MAX_SECRET_BYTES: u64 = 64 * 1024;

impl Validator {
    // ---- files --------------------------------------------------------------------------------------

    pub(super) fn resolve(&self, written: &str) -> PathBuf {
        absolute(&self.base.join(written))
    }

    /// A file that must exist and be readable; returns its absolute path.
    pub(super) fn existing_file(&mut self, key: &str, written: &str, fix: &str) -> Option<PathBuf> {
        if written.trim().is_empty() {
            self.push(key, "is empty", fix);
            return None;
        }
        let path = self.resolve(written);
        let problem = match std::fs::metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                format!("{} does not exist", path.display())
            }
            Err(e) => format!("{} cannot be read: {e}", path.display()),
            Ok(meta) if meta.is_dir() => format!("{} is a directory, not a file", path.display()),
            Ok(_) => match File::open(&path) {
                Ok(_) => return Some(path),
                Err(e) => format!("{} cannot be read: {e}", path.display()),
            },
        };
        self.push(key, problem, fix);
        None
    }

    /// The content of a small secret file, trailing whitespace removed; never quoted in messages.
    pub(super) fn secret_file(&mut self, key: &str, written: &str, fix: &str) -> Option<String> {
        let path = self.existing_file(key, written, fix)?;
        self.secret_files.push(SecretFile {
            key: key.to_owned(),
            path: path.clone(),
        });
        let problem = match read_limited(&path, MAX_SECRET_BYTES) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let text = text.trim_end();
                    if !text.is_empty() {
                        return Some(text.to_owned());
                    }
                    format!("{} is empty", path.display())
                }
                Err(_) => format!("{} is not UTF-8 text", path.display()),
            },
            Err(ReadError::TooLarge) => format!(
                "{} is larger than {} KiB, too large to be a secret",
                path.display(),
                MAX_SECRET_BYTES / 1024
            ),
            Err(e) => format!("{} cannot be read: {}", path.display(), e.describe()),
        };
        self.push(key, problem, fix);
        None
    }

    /// A secret that must be given exactly once: inline (`<name>`) or as a file (`<name>_file`).
    pub(super) fn required_secret(
        &mut self,
        spec: &SecretKey<'_>,
        secret: &Field<Secret>,
        file: &Field<String>,
    ) -> Option<Secret> {
        let SecretKey { section, name, .. } = *spec;
        let key = format!("{section}.{name}");
        match (secret, file) {
            (Field::Absent, Field::Absent) => {
                self.push(
                    &key,
                    format!("is required but not set (neither {name} nor {name}_file is set)"),
                    spec.missing_fix,
                );
                None
            }
            (secret, file) if secret.is_present() && file.is_present() => {
                self.push(
                    &key,
                    format!("both {name} and {name}_file are set"),
                    format!("keep only one of {key} and {key}_file"),
                );
                None
            }
            (Field::Set(secret), _) => {
                if secret.expose().trim().is_empty() {
                    self.push(&key, "is empty", spec.empty_fix);
                    return None;
                }
                Some(secret.clone())
            }
            (_, Field::Set(file)) => self
                .secret_file(&format!("{key}_file"), file, spec.file_fix)
                .map(Secret::new),
            _ => None,
        }
    }
}

/// Names the two keys of a secret given inline or as a file, and the fixes for its problems.
pub(super) struct SecretKey<'a> {
    /// The section (`upstream`); the keys are `<section>.<name>` and `<section>.<name>_file`.
    pub(super) section: &'a str,
    pub(super) name: &'a str,
    pub(super) missing_fix: &'a str,
    pub(super) empty_fix: &'a str,
    pub(super) file_fix: &'a str,
}

pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

pub(super) enum ReadError {
    NotFound,
    IsDirectory,
    TooLarge,
    Io(io::Error),
}

impl ReadError {
    pub(super) fn describe(&self) -> String {
        match self {
            ReadError::NotFound => "it does not exist".into(),
            ReadError::IsDirectory => "it is a directory".into(),
            ReadError::TooLarge => "it is too large".into(),
            ReadError::Io(e) => e.to_string(),
        }
    }
}

/// Reads at most `limit` bytes of a regular file (or anything that ends); more is `TooLarge`.
pub(super) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e),
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(ReadError::IsDirectory);
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| match e.kind() {
            io::ErrorKind::IsADirectory => ReadError::IsDirectory,
            _ => ReadError::Io(e),
        })?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}
