//! What the YAML said, before any meaning is given to it.
//!
//! The structs below *are* the schema: each key is one field, read by serde's derive. Reading a file
//! ([`RawConfig::from_value`]) goes through `reader::Reader`, a serde `Deserializer` over the parsed YAML that
//! - reports every key a struct does not have, with its dotted path and the closest known key (`suggest`);
//! - expands `${VAR}` in the values of known keys, so a missing variable is reported with its key;
//! - reads scalars leniently: a number or boolean where text is expected becomes its text (`8443` -> "8443");
//! - reports a value of the wrong shape (a list where a single value belongs, ...) with its key and fix.
//!
//! Every value is a [`Field`]: absent, set, or [`Field::Invalid`] when a problem with it was already
//! reported. A `Field` never fails its parent: a wrong value is reported where it is found and the rest of
//! the file is still read, and `validate` neither repeats the problem nor adds a misleading "missing" on
//! top of it. The few values with a shape of their own (a list, one value or a list, a mapping in file
//! order, accounts, claim sources, `store: memory`) name their reader with `deserialize_with` (`shapes`).
//!
//! Adding a key is adding a field, where the example file has it (the order of the fields is the order of
//! the messages and of [`known_keys`]): `pub shutdown_delay: Field<String>` in [`RawLimits`] makes
//! `limits.shutdown_delay` known to the unknown-key check, its suggestions and [`known_keys`]. A list is
//! `#[serde(deserialize_with = "shapes::list")] pub realms: Field<Vec<String>>`; a secret is a
//! `Field<Secret>` (with a `<key>_file` beside it, an unset variable's fix points to that); a new section is
//! a struct like [`RawThrottle`] (`#[derive(.., Deserialize)]`, `#[serde(default)]`) held as `Field<...>`; a
//! mapping with free keys is a function in `shapes` like `attributes`. The meaning (defaults, ranges, the
//! fix when it is wrong) goes in `validate`.

mod context;
mod reader;
mod shapes;
mod suggest;
mod syntax;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::env::Env;
use super::error::ConfigError;
use super::types::Secret;
use reader::{Reader, describe};

pub(crate) use suggest::closest;
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawConfig {
    pub listen: Field<String>,
    pub public_url: Field<String>,
    pub tls: Field<RawTls>,
    pub admin_listen: Field<String>,
    #[serde(deserialize_with = "shapes::list")]
    pub trusted_proxies: Field<Vec<String>>,
    #[serde(deserialize_with = "shapes::list")]
    pub allowed_hosts: Field<Vec<String>>,
    pub log: Field<RawLog>,
    pub limits: Field<RawLimits>,
    pub upstream: Field<RawUpstream>,
    pub directory: Field<RawDirectory>,
    pub session: Field<RawSession>,
    #[serde(deserialize_with = "shapes::store")]
    pub store: Field<RawStore>,
    pub reload: Field<RawReload>,
    pub freshworks: Field<RawFreshworks>,
    pub webchat: Field<RawWebchat>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawTls {
    pub cert_file: Field<String>,
    pub key_file: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawLog {
    pub format: Field<String>,
    pub level: Field<String>,
    pub access_log: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
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
    pub shutdown_delay: Field<String>,
    pub shutdown_grace: Field<String>,
    pub worker_threads: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawUpstream {
    pub issuer: Field<String>,
    pub backchannel_url: Field<String>,
    pub proxy_to: Field<String>,
    pub client_id: Field<String>,
    pub client_secret: Field<Secret>,
    pub client_secret_file: Field<String>,
    #[serde(deserialize_with = "shapes::list")]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawDirectory {
    /// One URL or a list (fail-over in order); a single value is read as a list of one.
    #[serde(deserialize_with = "shapes::one_or_list")]
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
    #[serde(deserialize_with = "shapes::attributes")]
    pub attributes: Field<Vec<(String, String)>>,
    pub nested_groups: Field<String>,
    pub timeout: Field<String>,
    pub throttle: Field<RawThrottle>,
    pub show_lockouts: Field<String>,
    pub kerberos: Field<RawKerberos>,
}

/// `directory.kerberos`: the keytab and the service principal of the silent Windows login (SPNEGO,
/// RFC 4559).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawKerberos {
    pub keytab_file: Field<String>,
    pub service_principal: Field<String>,
    /// Realm -> `upn` or `short_name`, in file order.
    #[serde(deserialize_with = "shapes::trusted_realms")]
    pub trusted_realms: Field<Vec<(String, String)>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawThrottle {
    pub max_failures: Field<String>,
    pub window: Field<String>,
    pub max_failures_per_ip: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawSession {
    pub cookie_key_file: Field<String>,
    pub cookie_key: Field<Secret>,
}

/// `store: memory`, or a mapping for Redis / Valkey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawStore {
    /// `store: memory` was written (not a key: the word instead of the mapping).
    #[serde(skip)]
    pub memory: bool,
    pub url: Field<Secret>,
    pub password: Field<Secret>,
    pub password_file: Field<String>,
    pub ca_file: Field<String>,
    pub key_prefix: Field<String>,
    pub timeout: Field<String>,
    pub on_error: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawReload {
    pub poll_interval: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawFreshworks {
    pub signing_key_file: Field<String>,
    pub next_signing_key_file: Field<String>,
    pub login_timeout: Field<String>,
    /// In file order.
    #[serde(deserialize_with = "shapes::accounts")]
    pub accounts: Field<Vec<RawAccount>>,
    /// In file order.
    #[serde(deserialize_with = "shapes::freshworks_claims")]
    pub claims: Field<Vec<RawClaim>>,
}

/// `freshworks.accounts.<id>`: one Freshworks account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawAccount {
    /// The mapping key, as text (`12344:` and `"12344":` are both "12344").
    #[serde(skip)]
    pub id: String,
    pub redirect_url: Field<String>,
    pub logout_redirect_url: Field<String>,
    pub login: Field<String>,
    pub allow: Field<RawAllow>,
}

/// `freshworks.accounts.<id>.allow`: who may log in to the account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawAllow {
    #[serde(deserialize_with = "shapes::list")]
    pub groups: Field<Vec<String>>,
    #[serde(deserialize_with = "shapes::list")]
    pub email_domains: Field<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawWebchat {
    pub secret: Field<Secret>,
    pub secret_file: Field<String>,
    pub identify_by: Field<String>,
    /// Claim sources, as for one entry of `freshworks.claims`.
    #[serde(deserialize_with = "shapes::claim_sources")]
    pub unique_external_id: Field<Vec<RawClaimSource>>,
    #[serde(deserialize_with = "shapes::claim_sources")]
    pub email: Field<Vec<RawClaimSource>>,
    pub ttl: Field<String>,
    #[serde(deserialize_with = "shapes::list")]
    pub audience: Field<Vec<String>>,
    #[serde(deserialize_with = "shapes::list")]
    pub allowed_origins: Field<Vec<String>>,
    /// Property name -> claim sources, in file order (`RawClaim.name` is the property name).
    #[serde(deserialize_with = "shapes::contact_properties")]
    pub contact_properties: Field<Vec<RawClaim>>,
    #[serde(deserialize_with = "shapes::ticket_properties")]
    pub ticket_properties: Field<Vec<RawClaim>>,
    pub widget: Field<RawWidget>,
    pub session_ttl: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawWidget {
    pub host: Field<String>,
    pub token: Field<String>,
    pub widget_id: Field<String>,
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
    /// Reads the parsed file; every problem goes to `errors`. `None` when the file is not a mapping at all
    /// (reported).
    pub fn from_value(
        root: &Value,
        env: &dyn Env,
        errors: &mut Vec<ConfigError>,
    ) -> Option<RawConfig> {
        if !matches!(root, Value::Mapping(_) | Value::Null) {
            errors.push(ConfigError::new(
                "",
                format!("the file holds {}, not a mapping of settings", describe(root)),
                "start from the example configuration: `listen: ...`, `public_url: ...`, `upstream: ...` at the top level",
            ));
            return None;
        }
        let (raw, found) = context::read(root, env, || RawConfig::deserialize(Reader::new(root)));
        errors.extend(found);
        // Every key is a `Field`, which never fails: a problem below the top level has been reported.
        Some(raw.unwrap_or_default())
    }
}

/// Each struct of the raw configuration with its dotted path (`*` for an entry of a mapping, as in
/// `freshworks.accounts.*`) and its keys, in the order the structs declare them; the top level first.
fn schema() -> &'static [(String, &'static [&'static str])] {
    static SCHEMA: OnceLock<Vec<(String, &'static [&'static str])>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // Read in recording mode, where every mapping seems to hold every key and one entry `*`.
        let stand_in = Value::Mapping(Mapping::from_iter([(
            Value::from("*"),
            Value::Mapping(Mapping::new()),
        )]));
        context::record(|| {
            let _ = RawConfig::deserialize(Reader::new(&stand_in));
        })
    })
}

/// Every key of the configuration as a dotted path, each section followed by its keys: `listen`, ...,
/// `tls`, `tls.cert_file`, ..., `freshworks.accounts`, `freshworks.accounts.*.redirect_url`, ... (a `*`
/// stands for any entry of a mapping whose entries are sections). A mapping with free keys
/// (`freshworks.claims`, `directory.attributes`) is one key.
pub fn known_keys() -> Vec<String> {
    fn section(path: &str, out: &mut Vec<String>) {
        let Some((_, keys)) = schema().iter().find(|(p, _)| p == path) else {
            return;
        };
        for key in *keys {
            let key = join(path, key);
            out.push(key.clone());
            section(&key, out);
            section(&format!("{key}.*"), out);
        }
    }
    let mut out = Vec::new();
    section("", &mut out);
    out
}

/// The keys of the top level, in the order of the example file.
pub fn top_keys() -> &'static [&'static str] {
    schema().first().map_or(&[], |(_, keys)| keys)
}

/// The section of the top level that has a key `name`, for a key written at the top level by mistake.
fn section_of(name: &str) -> Option<&'static str> {
    let sections = schema()
        .iter()
        .filter(|(path, _)| !path.is_empty() && !path.contains('.'));
    sections
        .map(|(path, keys)| (path.as_str(), keys))
        .find(|(_, keys)| keys.contains(&name))
        .map(|(path, _)| path)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
