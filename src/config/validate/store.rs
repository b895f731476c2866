//! The `store` section (where replicas share the replay guard and the throttle's counters) and `reload`
//! (how often files are checked for changes).

use std::time::Duration;

use super::Validator;
use super::files::read_limited;
use crate::config::raw::{Field, RawReload, RawStore};
use crate::config::types::{OnStoreError, RedisSettings, Secret, StoreSettings};

impl Validator {
    pub(super) fn store(&mut self, raw: &RawStore) -> Option<StoreSettings> {
        if raw.memory {
            return Some(StoreSettings::Memory);
        }
        let url = match &raw.url {
            Field::Set(url) => {
                let text = url.expose().trim();
                match url::Url::parse(text) {
                    Ok(parsed)
                        if matches!(parsed.scheme(), "redis" | "rediss")
                            && parsed.host_str().is_some() =>
                    {
                        Some(Secret::new(text))
                    }
                    // The URL may hold a password: it is never quoted.
                    _ => {
                        self.push(
                            "store.url",
                            "is not a redis:// or rediss:// URL",
                            "write `url: rediss://redis.example:6380` (TLS) or `redis://127.0.0.1:6379`; Valkey takes the same URLs",
                        );
                        None
                    }
                }
            }
            Field::Absent => {
                self.push(
                    "store.url",
                    "is required for a shared store",
                    "add `url: redis://redis:6379` (Redis or Valkey), or write `store: memory` for one process",
                );
                None
            }
            Field::Invalid => None,
        };
        let password = match (&raw.password, &raw.password_file) {
            (Field::Absent, Field::Absent) => Some(None),
            (a, b) if a.is_present() && b.is_present() => {
                self.push(
                    "store.password",
                    "both password and password_file are set",
                    "keep only one of store.password and store.password_file",
                );
                None
            }
            (Field::Set(secret), _) => Some(Some(secret.clone())),
            (_, Field::Set(file)) => self
                .secret_file(
                    "store.password_file",
                    file,
                    "point store.password_file at a file holding the store's password (Redis `requirepass` or an ACL user's password)",
                )
                .map(|text| Some(Secret::new(text))),
            _ => None,
        };
        let ca = match &raw.ca_file {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => {
                const FIX: &str = "point store.ca_file at the PEM file of the CA that signed the store's certificate (rediss:// only)";
                let path = self.existing_file("store.ca_file", s, FIX)?;
                match read_limited(&path, 1024 * 1024) {
                    Ok(pem) => Some(Some((pem, path))),
                    Err(e) => {
                        self.push(
                            "store.ca_file",
                            format!("{} cannot be read: {}", path.display(), e.describe()),
                            FIX,
                        );
                        None
                    }
                }
            }
        };
        let key_prefix = match &raw.key_prefix {
            Field::Absent => Some("freshgate:".to_owned()),
            Field::Invalid => None,
            Field::Set(s) if !s.is_empty() && !s.chars().any(char::is_whitespace) => {
                Some(s.clone())
            }
            Field::Set(s) => {
                self.push(
                    "store.key_prefix",
                    format!("`{s}` is empty or has spaces"),
                    "write a prefix without spaces, e.g. `key_prefix: \"freshgate:prod:\"`, so gateways sharing one store keep apart",
                );
                None
            }
        };
        let timeout = self.duration(
            "store.timeout",
            &raw.timeout,
            Duration::from_millis(500),
            Duration::from_millis(10),
            Some(Duration::from_secs(10)),
            " (a login waits this long for the store)",
        );
        let on_error = match &raw.on_error {
            Field::Absent => Some(OnStoreError::FailClosed),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "fail_closed" => Some(OnStoreError::FailClosed),
                "fail_open" => Some(OnStoreError::FailOpen),
                _ => {
                    self.push(
                        "store.on_error",
                        format!("`{s}` is not a policy"),
                        "use `fail_closed` (the default: logins get a 'try again' page while the store is unreachable) or `fail_open` (logins go on with each replica's memory, with a warning)",
                    );
                    None
                }
            },
        };
        let (ca_pem, ca_file) = ca?.unzip();
        Some(StoreSettings::Redis(RedisSettings {
            url: url?,
            password: password?,
            ca_pem,
            ca_file,
            key_prefix: key_prefix?,
            timeout: timeout?,
            on_error: on_error?,
        }))
    }

    /// `reload.poll_interval`: a duration, or `off` (SIGHUP only).
    pub(super) fn reload(&mut self, raw: &RawReload) -> Option<Option<Duration>> {
        match &raw.poll_interval {
            Field::Set(s)
                if matches!(
                    s.trim().to_ascii_lowercase().as_str(),
                    "off" | "false" | "0"
                ) =>
            {
                Some(None)
            }
            field => self
                .duration(
                    "reload.poll_interval",
                    field,
                    Duration::from_secs(5),
                    Duration::from_millis(100),
                    Some(Duration::from_secs(3600)),
                    " (or `off` to reload on SIGHUP only)",
                )
                .map(Some),
        }
    }
}
