//! The schema: the keys each section allows, and what to suggest for a key that is not one of them (a close
//! spelling, a longer key that contains it, or the section it belongs in).

use serde_yaml::{Mapping, Value};

use super::walk::{Walk, join, key_text};

/// Keys allowed at the top level of the file.
pub const TOP_KEYS: &[&str] = &[
    "listen",
    "public_url",
    "tls",
    "admin_listen",
    "trusted_proxies",
    "allowed_hosts",
    "log",
    "limits",
    "upstream",
    "directory",
    "session",
    "store",
    "reload",
    "freshworks",
    "webchat",
];
pub const TLS_KEYS: &[&str] = &["cert_file", "key_file"];
pub const LOG_KEYS: &[&str] = &["format", "level", "access_log"];
pub const LIMITS_KEYS: &[&str] = &[
    "header_read_timeout",
    "tls_handshake_timeout",
    "idle_timeout",
    "max_header_bytes",
    "max_connections",
    "max_connections_per_ip",
    "max_connection_age",
    "max_concurrent_streams",
    "max_upstream_requests",
    "max_upstream_requests_per_connection",
    "max_upstream_connections",
    "shutdown_grace",
    "worker_threads",
];
pub const UPSTREAM_KEYS: &[&str] = &[
    "issuer",
    "backchannel_url",
    "proxy_to",
    "client_id",
    "client_secret",
    "client_secret_file",
    "scopes",
    "ca_file",
    "preserve_host",
    "email_verified",
    "connect_timeout",
    "response_timeout",
    "jwks_refresh",
    "groups_claim",
];
pub const SESSION_KEYS: &[&str] = &["cookie_key_file", "cookie_key"];
pub const FRESHWORKS_KEYS: &[&str] = &[
    "signing_key_file",
    "next_signing_key_file",
    "login_timeout",
    "accounts",
    "claims",
];
pub const STORE_KEYS: &[&str] = &[
    "url",
    "password",
    "password_file",
    "ca_file",
    "key_prefix",
    "timeout",
    "on_error",
];
pub const RELOAD_KEYS: &[&str] = &["poll_interval"];
pub const ACCOUNT_KEYS: &[&str] = &["redirect_url", "logout_redirect_url", "login", "allow"];
pub const ALLOW_KEYS: &[&str] = &["groups", "email_domains"];
pub const DIRECTORY_KEYS: &[&str] = &[
    "url",
    "start_tls",
    "ca_file",
    "bind_dn",
    "bind_password",
    "bind_password_file",
    "base_dn",
    "kind",
    "netbios_domain",
    "user_filter",
    "attributes",
    "nested_groups",
    "timeout",
    "throttle",
    "show_lockouts",
    "kerberos",
];
pub const THROTTLE_KEYS: &[&str] = &["max_failures", "window", "max_failures_per_ip"];
/// `directory.kerberos`: silent Windows login (SPNEGO, RFC 4559) for directory accounts.
pub const KERBEROS_KEYS: &[&str] = &["keytab_file", "service_principal"];
pub const WEBCHAT_KEYS: &[&str] = &[
    "secret",
    "secret_file",
    "identify_by",
    "unique_external_id",
    "email",
    "ttl",
    "audience",
    "allowed_origins",
    "contact_properties",
    "ticket_properties",
    "widget",
    "session_ttl",
];
pub const WIDGET_KEYS: &[&str] = &["host", "token", "widget_id"];
pub const LITERAL_KEYS: &[&str] = &["value"];

/// Sections of the top level and the keys they hold, to point a misplaced key to its section.
const SECTIONS: &[(&str, &[&str])] = &[
    ("tls", TLS_KEYS),
    ("log", LOG_KEYS),
    ("limits", LIMITS_KEYS),
    ("upstream", UPSTREAM_KEYS),
    ("directory", DIRECTORY_KEYS),
    ("session", SESSION_KEYS),
    ("store", STORE_KEYS),
    ("reload", RELOAD_KEYS),
    ("freshworks", FRESHWORKS_KEYS),
    ("webchat", WEBCHAT_KEYS),
];

impl Walk<'_> {
    /// Reports every key of `map` that is not in `known`, with a suggestion when one is close.
    pub(super) fn unknown_keys(&mut self, path: &str, map: &Mapping, known: &[&str]) {
        for key in map.keys() {
            let name = key_text(key);
            if matches!(key, Value::String(_)) && known.contains(&name.as_str()) {
                continue;
            }
            let containing: Vec<String> = known
                .iter()
                .filter(|k| name.len() >= 4 && k.contains(name.to_ascii_lowercase().as_str()))
                .map(|k| format!("`{k}`"))
                .collect();
            let fix = if let Some(close) = closest(&name, known) {
                format!("remove it, or did you mean `{close}`?")
            } else if !containing.is_empty() {
                format!("remove it, or did you mean {}?", containing.join(" or "))
            } else if let Some(section) = path
                .is_empty()
                .then(|| {
                    SECTIONS
                        .iter()
                        .find(|(_, keys)| keys.contains(&name.as_str()))
                })
                .flatten()
            {
                format!("move it under `{}:`", section.0)
            } else {
                let place = if path.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in `{path}`")
                };
                format!(
                    "remove it; the keys allowed {place} are {}",
                    known.join(", ")
                )
            };
            self.push(&join(path, &name), "unknown key", fix);
        }
    }
}

/// The known key closest to `name` within an edit distance of 2, if any.
pub(crate) fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}
