//! What the YAML said, before any meaning is given to it.
//!
//! [`RawConfig::from_value`] walks the parsed YAML along the schema. On the way it
//! - reports every key that is not in the schema, with its dotted path and the closest known key;
//! - expands `${VAR}` in the string values of known keys (so a missing variable is reported with its key);
//! - reads scalars leniently: a number or boolean where text is expected becomes its text (`8443` -> "8443");
//! - reports values of the wrong shape (a list where a single value belongs, ...).
//!
//! Every value is a [`Field`]: absent, set, or [`Field::Invalid`] when a problem with it was already reported,
//! so that `validate` neither repeats the problem nor adds a misleading "missing" on top of it.
//!
//! This file holds the raw structs and the walk of the top level; `walk` reads single values, lists and
//! sections, `claims` reads claim sources, and `schema` holds the keys each section allows and the
//! suggestions for a key that is not one of them.

mod claims;
mod schema;
mod syntax;
#[cfg(test)]
mod tests;
mod walk;

use serde_yaml::Value;

use super::env::Env;
use super::error::ConfigError;
use super::types::Secret;
use walk::{Walk, describe};

pub(crate) use schema::closest;
pub use schema::{
    ACCOUNT_KEYS, ALLOW_KEYS, DIRECTORY_KEYS, FRESHWORKS_KEYS, KERBEROS_KEYS, LIMITS_KEYS,
    LITERAL_KEYS, LOG_KEYS, RELOAD_KEYS, SESSION_KEYS, STORE_KEYS, THROTTLE_KEYS, TLS_KEYS,
    TOP_KEYS, UPSTREAM_KEYS, WEBCHAT_KEYS, WIDGET_KEYS,
};
pub use syntax::yaml_error;

/// One value of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Field<T> {
    /// Not written, or written with an empty (null) value.
    #[default]
    Absent,
    /// Written, but a problem with it has already been reported.
    Invalid,
    Set(T),
}

impl<T> Field<T> {
    /// Written in the file (whether or not it was usable).
    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }

    pub fn set(&self) -> Option<&T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawConfig {
    pub listen: Field<String>,
    pub public_url: Field<String>,
    pub tls: Field<RawTls>,
    pub admin_listen: Field<String>,
    pub trusted_proxies: Field<Vec<String>>,
    pub allowed_hosts: Field<Vec<String>>,
    pub log: Field<RawLog>,
    pub limits: Field<RawLimits>,
    pub upstream: Field<RawUpstream>,
    pub directory: Field<RawDirectory>,
    pub session: Field<RawSession>,
    pub store: Field<RawStore>,
    pub reload: Field<RawReload>,
    pub freshworks: Field<RawFreshworks>,
    pub webchat: Field<RawWebchat>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawTls {
    pub cert_file: Field<String>,
    pub key_file: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawLog {
    pub format: Field<String>,
    pub level: Field<String>,
    pub access_log: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawLimits {
    pub header_read_timeout: Field<String>,
    pub tls_handshake_timeout: Field<String>,
    pub idle_timeout: Field<String>,
    pub max_header_bytes: Field<String>,
    pub max_connections: Field<String>,
    pub max_connections_per_ip: Field<String>,
    pub max_connection_age: Field<String>,
    pub max_concurrent_streams: Field<String>,
    pub max_upstream_requests: Field<String>,
    pub max_upstream_requests_per_connection: Field<String>,
    pub max_upstream_connections: Field<String>,
    pub shutdown_grace: Field<String>,
    pub worker_threads: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawUpstream {
    pub issuer: Field<String>,
    pub backchannel_url: Field<String>,
    pub proxy_to: Field<String>,
    pub client_id: Field<String>,
    pub client_secret: Field<Secret>,
    pub client_secret_file: Field<String>,
    pub scopes: Field<Vec<String>>,
    pub ca_file: Field<String>,
    pub preserve_host: Field<String>,
    pub email_verified: Field<String>,
    pub connect_timeout: Field<String>,
    pub response_timeout: Field<String>,
    pub jwks_refresh: Field<String>,
    pub groups_claim: Field<String>,
}

/// `directory`: the Active Directory or LDAP server that password (and Windows) logins check against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawDirectory {
    /// One URL or a list (fail-over in order); a single value is read as a list of one.
    pub url: Field<Vec<String>>,
    pub start_tls: Field<String>,
    pub ca_file: Field<String>,
    pub bind_dn: Field<String>,
    pub bind_password: Field<Secret>,
    pub bind_password_file: Field<String>,
    pub base_dn: Field<String>,
    pub kind: Field<String>,
    pub netbios_domain: Field<String>,
    pub user_filter: Field<String>,
    /// Freshworks claim -> directory attribute, in file order.
    pub attributes: Field<Vec<(String, String)>>,
    pub nested_groups: Field<String>,
    pub timeout: Field<String>,
    pub throttle: Field<RawThrottle>,
    pub show_lockouts: Field<String>,
    pub kerberos: Field<RawKerberos>,
}

/// `directory.kerberos`: the keytab and the service principal of the silent Windows login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawKerberos {
    pub keytab_file: Field<String>,
    pub service_principal: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawThrottle {
    pub max_failures: Field<String>,
    pub window: Field<String>,
    pub max_failures_per_ip: Field<String>,
}

/// `freshworks.accounts.<id>.allow`: who may log in to the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawAllow {
    pub groups: Field<Vec<String>>,
    pub email_domains: Field<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSession {
    pub cookie_key_file: Field<String>,
    pub cookie_key: Field<Secret>,
}

/// `store: memory`, or a mapping for Redis / Valkey.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawStore {
    /// `store: memory` was written (or `store:` left empty).
    pub memory: bool,
    pub url: Field<Secret>,
    pub password: Field<Secret>,
    pub password_file: Field<String>,
    pub ca_file: Field<String>,
    pub key_prefix: Field<String>,
    pub timeout: Field<String>,
    pub on_error: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawReload {
    pub poll_interval: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawFreshworks {
    pub signing_key_file: Field<String>,
    pub next_signing_key_file: Field<String>,
    pub login_timeout: Field<String>,
    /// In file order.
    pub accounts: Field<Vec<RawAccount>>,
    /// In file order.
    pub claims: Field<Vec<RawClaim>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawWebchat {
    pub secret: Field<Secret>,
    pub secret_file: Field<String>,
    pub identify_by: Field<String>,
    /// Claim sources, as for one entry of `freshworks.claims`.
    pub unique_external_id: Field<Vec<RawClaimSource>>,
    pub email: Field<Vec<RawClaimSource>>,
    pub ttl: Field<String>,
    pub audience: Field<Vec<String>>,
    pub allowed_origins: Field<Vec<String>>,
    /// Property name -> claim sources, in file order (`RawClaim.name` is the property name).
    pub contact_properties: Field<Vec<RawClaim>>,
    pub ticket_properties: Field<Vec<RawClaim>>,
    pub widget: Field<RawWidget>,
    pub session_ttl: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawWidget {
    pub host: Field<String>,
    pub token: Field<String>,
    pub widget_id: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawAccount {
    /// The mapping key, as text (`12344:` and `"12344":` are both "12344").
    pub id: String,
    pub redirect_url: Field<String>,
    pub logout_redirect_url: Field<String>,
    pub login: Field<String>,
    pub allow: Field<RawAllow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawClaim {
    /// The key: a Freshworks claim name under `freshworks.claims`, a property name under
    /// `webchat.contact_properties` and `webchat.ticket_properties`.
    pub name: String,
    /// The sources in order; a single source was written without a list. Empty: an empty list was written.
    pub sources: Field<Vec<RawClaimSource>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawClaimSource {
    /// A claim name or dotted path, not yet split.
    Name(String),
    /// `{ value: ... }`.
    Literal(String),
}

impl RawConfig {
    /// Walks the parsed file. `None` when the file is not a mapping at all (reported).
    pub fn from_value(
        root: &Value,
        env: &dyn Env,
        errors: &mut Vec<ConfigError>,
    ) -> Option<RawConfig> {
        let mut w = Walk { env, errors };
        let top = match root {
            Value::Mapping(map) => Some(map),
            Value::Null => None,
            other => {
                w.errors.push(ConfigError::new(
                    "",
                    format!("the file holds {}, not a mapping of settings", describe(other)),
                    "start from the example configuration: `listen: ...`, `public_url: ...`, `upstream: ...` at the top level",
                ));
                return None;
            }
        };
        if let Some(map) = top {
            w.unknown_keys("", map, TOP_KEYS);
        }
        let get = |key: &str| top.and_then(|m| m.get(key));
        Some(RawConfig {
            listen: w.scalar("listen", get("listen")),
            public_url: w.scalar("public_url", get("public_url")),
            tls: w.section("tls", get("tls"), TLS_KEYS, |w, s| RawTls {
                cert_file: w.scalar(&s.path("cert_file"), s.get("cert_file")),
                key_file: w.scalar(&s.path("key_file"), s.get("key_file")),
            }),
            admin_listen: w.scalar("admin_listen", get("admin_listen")),
            trusted_proxies: w.list("trusted_proxies", get("trusted_proxies")),
            allowed_hosts: w.list("allowed_hosts", get("allowed_hosts")),
            log: w.section("log", get("log"), LOG_KEYS, |w, s| RawLog {
                format: w.scalar(&s.path("format"), s.get("format")),
                level: w.scalar(&s.path("level"), s.get("level")),
                access_log: w.scalar(&s.path("access_log"), s.get("access_log")),
            }),
            limits: w.section("limits", get("limits"), LIMITS_KEYS, |w, s| {
                let mut f = |key: &str| w.scalar(&s.path(key), s.get(key));
                RawLimits {
                    header_read_timeout: f("header_read_timeout"),
                    tls_handshake_timeout: f("tls_handshake_timeout"),
                    idle_timeout: f("idle_timeout"),
                    max_header_bytes: f("max_header_bytes"),
                    max_connections: f("max_connections"),
                    max_connections_per_ip: f("max_connections_per_ip"),
                    max_connection_age: f("max_connection_age"),
                    max_concurrent_streams: f("max_concurrent_streams"),
                    max_upstream_requests: f("max_upstream_requests"),
                    max_upstream_requests_per_connection: f("max_upstream_requests_per_connection"),
                    max_upstream_connections: f("max_upstream_connections"),
                    shutdown_grace: f("shutdown_grace"),
                    worker_threads: f("worker_threads"),
                }
            }),
            upstream: w.section("upstream", get("upstream"), UPSTREAM_KEYS, |w, s| {
                RawUpstream {
                    issuer: w.scalar(&s.path("issuer"), s.get("issuer")),
                    backchannel_url: w.scalar(&s.path("backchannel_url"), s.get("backchannel_url")),
                    proxy_to: w.scalar(&s.path("proxy_to"), s.get("proxy_to")),
                    client_id: w.scalar(&s.path("client_id"), s.get("client_id")),
                    client_secret: w.secret(&s.path("client_secret"), s.get("client_secret")),
                    client_secret_file: w
                        .scalar(&s.path("client_secret_file"), s.get("client_secret_file")),
                    scopes: w.list(&s.path("scopes"), s.get("scopes")),
                    ca_file: w.scalar(&s.path("ca_file"), s.get("ca_file")),
                    preserve_host: w.scalar(&s.path("preserve_host"), s.get("preserve_host")),
                    email_verified: w.scalar(&s.path("email_verified"), s.get("email_verified")),
                    connect_timeout: w.scalar(&s.path("connect_timeout"), s.get("connect_timeout")),
                    response_timeout: w
                        .scalar(&s.path("response_timeout"), s.get("response_timeout")),
                    jwks_refresh: w.scalar(&s.path("jwks_refresh"), s.get("jwks_refresh")),
                    groups_claim: w.scalar(&s.path("groups_claim"), s.get("groups_claim")),
                }
            }),
            directory: w.section("directory", get("directory"), DIRECTORY_KEYS, |w, s| {
                let mut f = |key: &str| w.scalar(&s.path(key), s.get(key));
                let start_tls = f("start_tls");
                let ca_file = f("ca_file");
                let bind_dn = f("bind_dn");
                let bind_password_file = f("bind_password_file");
                let base_dn = f("base_dn");
                let kind = f("kind");
                let netbios_domain = f("netbios_domain");
                let user_filter = f("user_filter");
                let nested_groups = f("nested_groups");
                let timeout = f("timeout");
                let show_lockouts = f("show_lockouts");
                RawDirectory {
                    url: w.one_or_list(&s.path("url"), s.get("url")),
                    start_tls,
                    ca_file,
                    bind_dn,
                    bind_password: w.secret(&s.path("bind_password"), s.get("bind_password")),
                    bind_password_file,
                    base_dn,
                    kind,
                    netbios_domain,
                    user_filter,
                    attributes: w.string_map(
                        &s.path("attributes"),
                        s.get("attributes"),
                        "write one Freshworks claim per line with the directory attribute it comes from, e.g. `attributes: { email: mail, sub: objectGUID }`",
                    ),
                    nested_groups,
                    timeout,
                    show_lockouts,
                    throttle: w.section(&s.path("throttle"), s.get("throttle"), THROTTLE_KEYS, |w, s| {
                        RawThrottle {
                            max_failures: w.scalar(&s.path("max_failures"), s.get("max_failures")),
                            window: w.scalar(&s.path("window"), s.get("window")),
                            max_failures_per_ip: w.scalar(
                                &s.path("max_failures_per_ip"),
                                s.get("max_failures_per_ip"),
                            ),
                        }
                    }),
                    kerberos: w.section(&s.path("kerberos"), s.get("kerberos"), KERBEROS_KEYS, |w, s| {
                        RawKerberos {
                            keytab_file: w.scalar(&s.path("keytab_file"), s.get("keytab_file")),
                            service_principal: w
                                .scalar(&s.path("service_principal"), s.get("service_principal")),
                        }
                    }),
                }
            }),
            session: w.section("session", get("session"), SESSION_KEYS, |w, s| RawSession {
                cookie_key_file: w.scalar(&s.path("cookie_key_file"), s.get("cookie_key_file")),
                cookie_key: w.secret(&s.path("cookie_key"), s.get("cookie_key")),
            }),
            store: match get("store") {
                Some(Value::String(kind)) if kind.trim().eq_ignore_ascii_case("memory") => {
                    Field::Set(RawStore {
                        memory: true,
                        ..RawStore::default()
                    })
                }
                Some(Value::String(other)) => {
                    w.push(
                        "store",
                        format!("`{other}` is not a store"),
                        "write `store: memory` (the default, one process) or a mapping for Redis or Valkey: `store: { url: redis://redis:6379 }`",
                    );
                    Field::Invalid
                }
                value => w.section("store", value, STORE_KEYS, |w, s| {
                    let mut f = |key: &str| w.scalar(&s.path(key), s.get(key));
                    let password_file = f("password_file");
                    let ca_file = f("ca_file");
                    let key_prefix = f("key_prefix");
                    let timeout = f("timeout");
                    let on_error = f("on_error");
                    RawStore {
                        memory: false,
                        url: w.secret(&s.path("url"), s.get("url")),
                        password: w.secret(&s.path("password"), s.get("password")),
                        password_file,
                        ca_file,
                        key_prefix,
                        timeout,
                        on_error,
                    }
                }),
            },
            reload: w.section("reload", get("reload"), RELOAD_KEYS, |w, s| RawReload {
                poll_interval: w.scalar(&s.path("poll_interval"), s.get("poll_interval")),
            }),
            freshworks: w.section("freshworks", get("freshworks"), FRESHWORKS_KEYS, |w, s| {
                RawFreshworks {
                    signing_key_file: w
                        .scalar(&s.path("signing_key_file"), s.get("signing_key_file")),
                    next_signing_key_file: w.scalar(
                        &s.path("next_signing_key_file"),
                        s.get("next_signing_key_file"),
                    ),
                    login_timeout: w.scalar(&s.path("login_timeout"), s.get("login_timeout")),
                    accounts: w.accounts(&s.path("accounts"), s.get("accounts")),
                    claims: w.claim_map(
                        &s.path("claims"),
                        s.get("claims"),
                        "Freshworks claim",
                        "write one Freshworks claim per line, e.g. `claims: { email: email, given_name: [given_name, name] }`",
                    ),
                }
            }),
            webchat: w.section("webchat", get("webchat"), WEBCHAT_KEYS, |w, s| {
                const PROPERTY_FIX: &str = "write one Freshdesk property per line, e.g. `contact_properties: { name: name, phone: phone_number }`, or `{}` for none";
                RawWebchat {
                    secret: w.secret(&s.path("secret"), s.get("secret")),
                    secret_file: w.scalar(&s.path("secret_file"), s.get("secret_file")),
                    identify_by: w.scalar(&s.path("identify_by"), s.get("identify_by")),
                    unique_external_id: w.optional_claim_sources(
                        &s.path("unique_external_id"),
                        s.get("unique_external_id"),
                    ),
                    email: w.optional_claim_sources(&s.path("email"), s.get("email")),
                    ttl: w.scalar(&s.path("ttl"), s.get("ttl")),
                    audience: w.list(&s.path("audience"), s.get("audience")),
                    allowed_origins: w.list(&s.path("allowed_origins"), s.get("allowed_origins")),
                    contact_properties: w.claim_map(
                        &s.path("contact_properties"),
                        s.get("contact_properties"),
                        "Freshdesk contact property",
                        PROPERTY_FIX,
                    ),
                    ticket_properties: w.claim_map(
                        &s.path("ticket_properties"),
                        s.get("ticket_properties"),
                        "Freshdesk ticket property",
                        "write one Freshdesk ticket property per line, e.g. `ticket_properties: { cf_plan: plan }`, or `{}` for none",
                    ),
                    widget: w.section(&s.path("widget"), s.get("widget"), WIDGET_KEYS, |w, s| {
                        RawWidget {
                            host: w.scalar(&s.path("host"), s.get("host")),
                            token: w.scalar(&s.path("token"), s.get("token")),
                            widget_id: w.scalar(&s.path("widget_id"), s.get("widget_id")),
                        }
                    }),
                    session_ttl: w.scalar(&s.path("session_ttl"), s.get("session_ttl")),
                }
            }),
        })
    }
}
