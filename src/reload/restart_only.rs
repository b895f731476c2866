//! The settings only a restart changes: they shape the listening sockets, the runtime or the logger. A reload
//! that changes one keeps its running value and says so in the log.
//!
//! [`RESTART_ONLY`] is the one list: the reload keeps what it names, and tests hold the table in
//! docs/operations.md ("What needs a restart") and the configuration's keys (`config::known_keys`) to it.

use tracing::warn;

use crate::config::Config;

/// A setting a reload cannot change.
pub struct RestartOnly {
    /// The configuration key, as in `config::known_keys()`.
    pub key: &'static str,
    /// Why, as docs/operations.md says it.
    pub why: &'static str,
    /// Puts the running value back into the new configuration; true when they differed.
    keep: fn(&mut Config, &Config) -> bool,
}

/// The settings a reload cannot change, in the order of the example file.
pub const RESTART_ONLY: &[RestartOnly] = &[
    RestartOnly {
        key: "listen",
        why: "the socket is bound once",
        keep: |new, running| keep(&mut new.listen, &running.listen),
    },
    RestartOnly {
        key: "tls",
        why: "only turning it on or off: the listener is plain or TLS (the certificate and key files themselves reload)",
        keep: |new, running| {
            let toggled = new.tls.is_some() != running.tls.is_some();
            if toggled {
                new.tls = running.tls.clone();
            }
            toggled
        },
    },
    RestartOnly {
        key: "admin_listen",
        why: "the socket is bound once",
        keep: |new, running| keep(&mut new.admin_listen, &running.admin_listen),
    },
    RestartOnly {
        key: "trusted_proxies",
        why: "the per-address connection cap exempts them at accept time",
        keep: |new, running| keep(&mut new.trusted_proxies, &running.trusted_proxies),
    },
    RestartOnly {
        key: "log",
        why: "the logger is set up once",
        keep: |new, running| keep(&mut new.log, &running.log),
    },
    RestartOnly {
        key: "limits",
        why: "they are the listeners' and the runtime's (timeouts, connection caps, worker threads)",
        keep: |new, running| keep(&mut new.limits, &running.limits),
    },
    RestartOnly {
        key: "reload.poll_interval",
        why: "the watcher's own setting",
        keep: |new, running| keep(&mut new.reload_poll, &running.reload_poll),
    },
];

fn keep<T: PartialEq + Clone>(new: &mut T, running: &T) -> bool {
    let changed = new != running;
    if changed {
        new.clone_from(running);
    }
    changed
}

/// `config` with the running values of the settings only a restart changes, each change named in the log.
pub(super) fn keep_restart_only(mut config: Config, running: &Config) -> Config {
    let kept: Vec<&str> = RESTART_ONLY
        .iter()
        .filter(|setting| (setting.keep)(&mut config, running))
        .map(|setting| setting.key)
        .collect();
    if !kept.is_empty() {
        warn!(
            settings = %kept.join(", "),
            "these settings changed but take effect only after a restart; the running values are kept"
        );
    }
    config
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{MapEnv, known_keys, validate};

    fn load(yaml: &str) -> Config {
        validate::load_str(yaml, Path::new("/tmp/gateway.yaml"), &MapEnv::new()).unwrap()
    }

    const BASE: &str = "listen: 127.0.0.1:8080\npublic_url: http://localhost:8080\nupstream:\n  issuer: http://localhost:8080/realms/a\n  client_id: c\n  client_secret: s\n";

    #[test]
    fn restart_only_settings_keep_their_running_values_and_the_rest_changes() {
        let running = load(BASE);
        let changed = load(&format!(
            "{}limits: {{ idle_timeout: 7s }}\nallowed_hosts: [other.example]\n",
            BASE.replace("127.0.0.1:8080", "127.0.0.1:9090")
        ));
        let kept = keep_restart_only(changed, &running);
        assert_eq!(kept.listen, running.listen);
        assert_eq!(kept.limits, running.limits);
        assert_ne!(
            kept.allowed_hosts, running.allowed_hosts,
            "reloadable settings change"
        );
    }

    #[test]
    fn every_restart_only_setting_is_kept_and_nothing_else() {
        let running = load(BASE);
        let changed = load(&format!(
            "{}admin_listen: 127.0.0.1:9091\ntrusted_proxies: [10.0.0.0/8]\nlog: {{ format: json }}\nlimits: {{ idle_timeout: 7s }}\nreload: {{ poll_interval: off }}\nallowed_hosts: [other.example]\n",
            BASE.replace("127.0.0.1:8080", "127.0.0.1:9090")
        ));
        let mut config = changed.clone();
        let kept: Vec<&str> = RESTART_ONLY
            .iter()
            .filter(|setting| (setting.keep)(&mut config, &running))
            .map(|setting| setting.key)
            .collect();
        // `tls` is off in both.
        let expected: Vec<&str> = RESTART_ONLY
            .iter()
            .map(|s| s.key)
            .filter(|key| *key != "tls")
            .collect();
        assert_eq!(kept, expected);
        assert_eq!(config.listen, running.listen);
        assert_eq!(config.admin_listen, running.admin_listen);
        assert_eq!(config.trusted_proxies, running.trusted_proxies);
        assert_eq!(config.log, running.log);
        assert_eq!(config.limits, running.limits);
        assert_eq!(config.reload_poll, running.reload_poll);
        assert_eq!(config.allowed_hosts, changed.allowed_hosts);
    }

    #[test]
    fn every_restart_only_setting_is_a_configuration_key() {
        let known = known_keys();
        for setting in RESTART_ONLY {
            assert!(
                known.iter().any(|k| k == setting.key),
                "{} is not a key",
                setting.key
            );
        }
    }

    #[test]
    fn the_operations_guide_lists_exactly_the_restart_only_settings() {
        let guide = include_str!("../../docs/operations.md");
        let section = guide
            .split("**What needs a restart.**")
            .nth(1)
            .expect("docs/operations.md has the section");
        let rows: Vec<&str> = section
            .lines()
            .skip_while(|line| !line.starts_with("|---"))
            .skip(1)
            .take_while(|line| line.starts_with('|'))
            .collect();
        let expected: Vec<String> = RESTART_ONLY
            .iter()
            .map(|s| format!("| `{}` | {} |", s.key, s.why))
            .collect();
        assert_eq!(rows, expected);
    }
}
