//! The `session` section: the key that seals the gateway's cookies, written inline or in a file.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::Validator;
use crate::config::raw::{Field, RawSession};
use crate::config::types::Session;

const MAKE_COOKIE_KEY: &str = "head -c 32 /dev/urandom | base64";

impl Validator {
    pub(super) fn session(&mut self, raw: &RawSession) -> Option<Session> {
        const KEY: &str = "session.cookie_key";
        const FILE_KEY: &str = "session.cookie_key_file";
        let fix = format!(
            "make a key with `{MAKE_COOKIE_KEY}` and put the output in the file (or in the variable the key is read from)"
        );
        let cookie_key = match (&raw.cookie_key, &raw.cookie_key_file) {
            (Field::Absent, Field::Absent) => Some(None),
            (key, file) if key.is_present() && file.is_present() => {
                self.push(
                    KEY,
                    "both cookie_key and cookie_key_file are set",
                    "keep only one of session.cookie_key and session.cookie_key_file",
                );
                None
            }
            (Field::Set(secret), _) => match decode_key(secret.expose()) {
                Ok(key) => Some(Some(key)),
                Err(problem) => {
                    self.push(KEY, format!("the value {problem}"), fix);
                    None
                }
            },
            (_, Field::Set(file)) => {
                let text = self.secret_file(FILE_KEY, file, &fix)?;
                match decode_key(&text) {
                    Ok(key) => Some(Some(key)),
                    Err(problem) => {
                        let path = self.resolve(file);
                        self.push(
                            FILE_KEY,
                            format!("the content of {} {problem}", path.display()),
                            fix,
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        Some(Session {
            cookie_key: cookie_key?,
        })
    }
}

/// A 32-byte key written in base64 (standard or URL-safe, padding optional, whitespace ignored).
/// The error describes the problem without the value.
fn decode_key(text: &str) -> Result<[u8; 32], String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("is empty".into());
    }
    let indifferent =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, indifferent);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, indifferent);
    let bytes = standard
        .decode(&compact)
        .or_else(|_| url_safe.decode(&compact))
        .map_err(|_| "is not base64".to_string())?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        let hex = if compact.len() == 64 && compact.bytes().all(|b| b.is_ascii_hexdigit()) {
            " (it looks like hex; the key must be base64)"
        } else {
            ""
        };
        format!(
            "decodes to {} bytes, but the key must be exactly 32 bytes{hex}",
            bytes.len()
        )
    })
}
