//! The directories `freshgate keygen --out DIR/FILE` writes into: made when missing, for the key's owner
//! only, or a refusal that says which one is missing and why it cannot be made.

use std::fs::{self, DirBuilder};
use std::io;
use std::path::{Path, PathBuf};

use super::KeyError;

/// Makes the missing directories above `key` (outermost first), mode 0700: they hold a private key. Returns
/// the ones it made.
pub(super) fn make_missing(key: &Path) -> Result<Vec<PathBuf>, KeyError> {
    let Some(dir) = key.parent().filter(|dir| !dir.as_os_str().is_empty()) else {
        return Ok(Vec::new());
    };
    let mut missing = Vec::new();
    let mut at = dir;
    loop {
        match fs::metadata(at) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => {
                return Err(KeyError::NotADirectory {
                    path: key.to_path_buf(),
                    dir: at.to_path_buf(),
                });
            }
            // Missing, or under a file (which the next step up then names).
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                missing.push(at.to_path_buf());
                match at.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                    Some(parent) => at = parent,
                    None => break,
                }
            }
            Err(source) => {
                return Err(KeyError::Directory {
                    path: key.to_path_buf(),
                    dir: at.to_path_buf(),
                    source,
                });
            }
        }
    }
    missing.reverse();
    for dir in &missing {
        let mut builder = DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(dir) {
            Ok(()) => {}
            // Made meanwhile by someone else: fine, as long as it is a directory (checked when writing).
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(KeyError::MakeDirectory {
                    path: key.to_path_buf(),
                    dir: dir.clone(),
                    parent: dir
                        .parent()
                        .filter(|parent| !parent.as_os_str().is_empty())
                        .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                    source,
                });
            }
        }
    }
    Ok(missing)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn missing_directories_are_made_for_the_owner_only_outermost_first() {
        let root = tempfile::tempdir().unwrap();
        let key = root.path().join("a/b/c/k.key");
        let made = make_missing(&key).unwrap();
        assert_eq!(
            made,
            [
                root.path().join("a"),
                root.path().join("a/b"),
                root.path().join("a/b/c")
            ]
        );
        for dir in &made {
            assert_eq!(mode(dir), 0o700, "{}", dir.display());
        }
        assert_eq!(make_missing(&key).unwrap(), Vec::<PathBuf>::new());
        assert_eq!(
            make_missing(Path::new("k.key")).unwrap(),
            Vec::<PathBuf>::new()
        );
    }

    #[test]
    fn a_file_in_the_way_or_a_directory_it_may_not_write_to_is_named() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("file"), "").unwrap();
        let err = make_missing(&root.path().join("file/sub/k.key")).unwrap_err();
        assert!(
            matches!(&err, KeyError::NotADirectory { dir, .. } if *dir == root.path().join("file")),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("is a file, not a directory"),
            "{err}"
        );

        // A directory nobody may make a directory in, root included: sysfs refuses every mkdir (EPERM; a
        // user without root gets the same from a directory of mode 0500, but root may write anywhere else).
        let locked = Path::new("/sys");
        let err = make_missing(&locked.join("freshgate-keygen-test/keys/k.key")).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, KeyError::MakeDirectory { dir, parent, .. }
                if *dir == locked.join("freshgate-keygen-test") && parent == locked),
            "{err:?}"
        );
        assert!(
            message.contains("does not exist, and it cannot be made in")
                && message.contains("permission denied")
                && message.contains("install -d -m 700"),
            "{message}"
        );
    }
}
