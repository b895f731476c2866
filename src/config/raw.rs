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

use serde_yaml::{Mapping, Value};

use super::env::{Env, ExpandError, expand};
use super::error::ConfigError;
use super::types::Secret;

/// Keys allowed at the top level of the file.
pub const TOP_KEYS: &[&str] = &[
    "listen",
    "public_url",
    "tls",
    "admin_listen",
    "trusted_proxies",
    "log",
    "limits",
    "upstream",
    "session",
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
    "shutdown_grace",
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
    "connect_timeout",
    "response_timeout",
    "jwks_refresh",
];
pub const SESSION_KEYS: &[&str] = &["cookie_key_file", "cookie_key"];
pub const FRESHWORKS_KEYS: &[&str] = &["signing_key_file", "login_timeout", "accounts", "claims"];
pub const ACCOUNT_KEYS: &[&str] = &["redirect_url", "logout_redirect_url"];
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
    ("session", SESSION_KEYS),
    ("freshworks", FRESHWORKS_KEYS),
    ("webchat", WEBCHAT_KEYS),
];

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
    pub log: Field<RawLog>,
    pub limits: Field<RawLimits>,
    pub upstream: Field<RawUpstream>,
    pub session: Field<RawSession>,
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
    pub shutdown_grace: Field<String>,
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
    pub connect_timeout: Field<String>,
    pub response_timeout: Field<String>,
    pub jwks_refresh: Field<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSession {
    pub cookie_key_file: Field<String>,
    pub cookie_key: Field<Secret>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawFreshworks {
    pub signing_key_file: Field<String>,
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
                    shutdown_grace: f("shutdown_grace"),
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
                    connect_timeout: w.scalar(&s.path("connect_timeout"), s.get("connect_timeout")),
                    response_timeout: w
                        .scalar(&s.path("response_timeout"), s.get("response_timeout")),
                    jwks_refresh: w.scalar(&s.path("jwks_refresh"), s.get("jwks_refresh")),
                }
            }),
            session: w.section("session", get("session"), SESSION_KEYS, |w, s| RawSession {
                cookie_key_file: w.scalar(&s.path("cookie_key_file"), s.get("cookie_key_file")),
                cookie_key: w.secret(&s.path("cookie_key"), s.get("cookie_key")),
            }),
            freshworks: w.section("freshworks", get("freshworks"), FRESHWORKS_KEYS, |w, s| {
                RawFreshworks {
                    signing_key_file: w
                        .scalar(&s.path("signing_key_file"), s.get("signing_key_file")),
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

/// A mapping being walked, with its dotted path. `map` is `None` for a section written empty.
struct Section<'v> {
    path: String,
    map: Option<&'v Mapping>,
}

impl<'v> Section<'v> {
    fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.and_then(|m| m.get(key))
    }

    fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

struct Walk<'a> {
    env: &'a dyn Env,
    errors: &'a mut Vec<ConfigError>,
}

impl Walk<'_> {
    fn push(&mut self, key: &str, problem: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(ConfigError::new(key, problem, fix));
    }

    /// A mapping section: reports unknown keys, then builds the raw struct from the known ones.
    fn section<T>(
        &mut self,
        path: &str,
        value: Option<&Value>,
        known: &[&str],
        build: impl FnOnce(&mut Self, &Section<'_>) -> T,
    ) -> Field<T> {
        match value {
            None | Some(Value::Null) => Field::Absent,
            Some(Value::Mapping(map)) => {
                self.unknown_keys(path, map, known);
                let section = Section {
                    path: path.to_owned(),
                    map: Some(map),
                };
                Field::Set(build(self, &section))
            }
            Some(other) => {
                self.push(
                    path,
                    format!("expected a mapping of keys, found {}", describe(other)),
                    format!(
                        "write `{}:` followed by indented keys ({})",
                        last_segment(path),
                        known.join(", ")
                    ),
                );
                Field::Invalid
            }
        }
    }

    /// Reports every key of `map` that is not in `known`, with a suggestion when one is close.
    fn unknown_keys(&mut self, path: &str, map: &Mapping, known: &[&str]) {
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

    /// A single value, expanded; numbers and booleans become their text.
    fn scalar(&mut self, path: &str, value: Option<&Value>) -> Field<String> {
        self.scalar_inner(path, value, false)
    }

    /// Like `scalar`, for a secret: its value never appears in a message.
    fn secret(&mut self, path: &str, value: Option<&Value>) -> Field<Secret> {
        match self.scalar_inner(path, value, true) {
            Field::Set(s) => Field::Set(Secret::new(s)),
            Field::Invalid => Field::Invalid,
            Field::Absent => Field::Absent,
        }
    }

    fn scalar_inner(&mut self, path: &str, value: Option<&Value>, secret: bool) -> Field<String> {
        match value {
            None | Some(Value::Null) => Field::Absent,
            Some(Value::String(s)) => match expand(s, self.env) {
                Ok(s) => Field::Set(s),
                Err(problems) => {
                    for p in problems {
                        self.expand_error(path, p, secret);
                    }
                    Field::Invalid
                }
            },
            Some(Value::Number(n)) => Field::Set(n.to_string()),
            Some(Value::Bool(b)) => Field::Set(b.to_string()),
            Some(other) => {
                self.push(
                    path,
                    format!("expected a single value, found {}", describe(other)),
                    format!(
                        "write one value on the same line: `{}: ...`",
                        last_segment(path)
                    ),
                );
                Field::Invalid
            }
        }
    }

    fn expand_error(&mut self, path: &str, problem: ExpandError, secret: bool) {
        match problem {
            ExpandError::Unset(name) => {
                let fix = match path {
                    "upstream.client_secret" => format!(
                        "export {name}, or set upstream.client_secret_file to a file holding the secret"
                    ),
                    "session.cookie_key" => format!(
                        "export {name}, or set session.cookie_key_file to a file holding the key"
                    ),
                    "webchat.secret" => format!(
                        "export {name}, or set webchat.secret_file to a file holding the secret"
                    ),
                    _ => format!(
                        "export {name} before starting freshgate, or write the value in the file"
                    ),
                };
                self.push(path, format!("environment variable {name} is not set"), fix);
            }
            ExpandError::Unterminated => self.push(
                path,
                "has `${` without a closing `}`",
                "close the reference (`${NAME}`), or write `$${` for a literal `${`",
            ),
            ExpandError::BadName(name) => {
                let problem = if secret {
                    "has `${` followed by something that is not a variable name".to_owned()
                } else {
                    format!("`${{{name}}}` is not a variable reference")
                };
                self.push(
                    path,
                    problem,
                    "variable names are letters, digits and `_` (`${NAME}`, no defaults); write `$${` for a literal `${`",
                );
            }
        }
    }

    /// A list of single values. Any bad item makes the whole list `Invalid` (each bad item is reported).
    fn list(&mut self, path: &str, value: Option<&Value>) -> Field<Vec<String>> {
        match value {
            None | Some(Value::Null) => Field::Absent,
            Some(Value::Sequence(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    match self.scalar(&item_path, Some(item)) {
                        Field::Set(s) => out.push(s),
                        Field::Invalid => ok = false,
                        Field::Absent => {
                            self.push(
                                &item_path,
                                "is empty",
                                "remove the empty item from the list",
                            );
                            ok = false;
                        }
                    }
                }
                if ok { Field::Set(out) } else { Field::Invalid }
            }
            Some(other) => {
                let example = match other {
                    Value::String(s) if !s.contains('$') => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => "a, b".to_owned(),
                };
                self.push(
                    path,
                    format!("expected a list, found {}", describe(other)),
                    format!(
                        "write it as a list, e.g. `{}: [{example}]` or one `- item` per line",
                        last_segment(path)
                    ),
                );
                Field::Invalid
            }
        }
    }

    fn accounts(&mut self, path: &str, value: Option<&Value>) -> Field<Vec<RawAccount>> {
        let map = match value {
            None | Some(Value::Null) => return Field::Absent,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.push(
                    path,
                    format!("expected a mapping from account id to its settings, found {}", describe(other)),
                    "write each account under its id, e.g. `accounts: { \"12344\": { redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit } }`",
                );
                return Field::Invalid;
            }
        };
        let mut out = Vec::with_capacity(map.len());
        for (key, value) in map {
            let id = match key {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    self.push(
                        path,
                        format!("an account id is {}, not an id", describe(other)),
                        "use the account id Freshworks shows in its SSO settings, e.g. `\"12344\":`",
                    );
                    continue;
                }
            };
            let account_path = join(path, &id);
            let account = match self.section(&account_path, Some(value), ACCOUNT_KEYS, |w, s| {
                RawAccount {
                    id: id.clone(),
                    redirect_url: w.scalar(&s.path("redirect_url"), s.get("redirect_url")),
                    logout_redirect_url: w
                        .scalar(&s.path("logout_redirect_url"), s.get("logout_redirect_url")),
                }
            }) {
                Field::Set(account) => account,
                // Written empty: every required key is missing, which validate reports.
                Field::Absent => RawAccount {
                    id,
                    ..RawAccount::default()
                },
                Field::Invalid => RawAccount {
                    id,
                    redirect_url: Field::Invalid,
                    logout_redirect_url: Field::Invalid,
                },
            };
            out.push(account);
        }
        Field::Set(out)
    }

    /// A mapping from a name (`what`, e.g. "Freshworks claim") to claim sources, in file order.
    fn claim_map(
        &mut self,
        path: &str,
        value: Option<&Value>,
        what: &str,
        fix: &str,
    ) -> Field<Vec<RawClaim>> {
        let map = match value {
            None | Some(Value::Null) => return Field::Absent,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.push(
                    path,
                    format!(
                        "expected a mapping from {what} to source, found {}",
                        describe(other)
                    ),
                    fix,
                );
                return Field::Invalid;
            }
        };
        let mut out = Vec::with_capacity(map.len());
        for (key, value) in map {
            let name = key_text(key);
            let sources = self.claim_sources(&join(path, &name), value);
            out.push(RawClaim { name, sources });
        }
        Field::Set(out)
    }

    /// The claim sources of one key that may be left out (absent or empty: `Absent`).
    fn optional_claim_sources(
        &mut self,
        path: &str,
        value: Option<&Value>,
    ) -> Field<Vec<RawClaimSource>> {
        match value {
            None | Some(Value::Null) => Field::Absent,
            Some(value) => self.claim_sources(path, value),
        }
    }

    /// One source, or a list of sources tried in order. An empty value is reported.
    fn claim_sources(&mut self, path: &str, value: &Value) -> Field<Vec<RawClaimSource>> {
        match value {
            Value::Sequence(items) => {
                let mut sources = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.claim_source(&format!("{path}[{i}]"), item) {
                        Some(source) => sources.push(source),
                        None => ok = false,
                    }
                }
                if ok {
                    Field::Set(sources)
                } else {
                    Field::Invalid
                }
            }
            single => match self.claim_source(path, single) {
                Some(source) => Field::Set(vec![source]),
                None => Field::Invalid,
            },
        }
    }

    /// One claim source: a claim name or dotted path, or `{ value: ... }`. `None` when reported.
    fn claim_source(&mut self, path: &str, value: &Value) -> Option<RawClaimSource> {
        const FIX: &str = "write a claim name (`email`), a dotted path (`address.locality`), a fixed value \
                           (`{ value: \"-\" }`), or a list of those to try in order";
        match value {
            Value::Mapping(_) => {
                match self.section(path, Some(value), LITERAL_KEYS, |w, s| {
                    w.scalar(&s.path("value"), s.get("value"))
                }) {
                    Field::Set(Field::Set(literal)) => Some(RawClaimSource::Literal(literal)),
                    Field::Set(Field::Absent) => {
                        // A mapping with only unknown keys has had them reported already.
                        if value.as_mapping().is_none_or(Mapping::is_empty) {
                            self.push(path, "a fixed value needs `value`", FIX);
                        }
                        None
                    }
                    _ => None,
                }
            }
            Value::Null => {
                self.push(path, "is empty", FIX);
                None
            }
            Value::Sequence(_) | Value::Tagged(_) => {
                self.push(
                    path,
                    format!("{} cannot be a claim source", describe_cap(value)),
                    FIX,
                );
                None
            }
            scalar => match self.scalar(path, Some(scalar)) {
                Field::Set(name) => Some(RawClaimSource::Name(name)),
                _ => None,
            },
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn last_segment(path: &str) -> &str {
    let path = path.rsplit_once('.').map_or(path, |(_, last)| last);
    path.split_once('[').map_or(path, |(name, _)| name)
}

/// A mapping key as text, for paths and messages.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "~".to_owned(),
        other => format!("<{}>", describe(other)),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value (`!tag`)",
    }
}

fn describe_cap(value: &Value) -> String {
    let d = describe(value);
    let mut chars = d.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env::MapEnv;

    fn walk(yaml: &str, env: &MapEnv) -> (Option<RawConfig>, Vec<ConfigError>) {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        let mut errors = Vec::new();
        let raw = RawConfig::from_value(&value, env, &mut errors);
        (raw, errors)
    }

    fn keys(errors: &[ConfigError]) -> Vec<&str> {
        errors.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn misspelled_key_is_reported_with_its_path_and_a_suggestion() {
        let (_, errors) = walk("upstream:\n  client_secrt: x\n", &MapEnv::new());
        assert_eq!(
            errors,
            vec![ConfigError::new(
                "upstream.client_secrt",
                "unknown key",
                "remove it, or did you mean `client_secret`?"
            )]
        );
    }

    #[test]
    fn every_unknown_key_is_reported_at_every_depth() {
        let yaml = "
lisen: 1
bogus: 2
log: { formt: json }
freshworks:
  accounts:
    \"1\": { redirect: x }
  claims:
    email: { valu: x }
";
        let (_, errors) = walk(yaml, &MapEnv::new());
        assert_eq!(
            keys(&errors),
            vec![
                "lisen",
                "bogus",
                "log.formt",
                "freshworks.accounts.1.redirect",
                "freshworks.claims.email.valu",
            ]
        );
        assert!(errors[0].fix.contains("`listen`"));
        assert!(
            errors[1]
                .fix
                .contains("the keys allowed at the top level are listen, public_url")
        );
        assert!(errors[2].fix.contains("`format`"));
        assert!(errors[4].fix.contains("`value`"));
    }

    #[test]
    fn a_key_that_is_part_of_known_keys_suggests_them() {
        let (_, errors) = walk("upstream:\n  timeout: 5s\n", &MapEnv::new());
        assert_eq!(
            errors[0].fix,
            "remove it, or did you mean `connect_timeout` or `response_timeout`?"
        );
    }

    #[test]
    fn a_single_value_where_a_list_belongs_gets_the_list_form_as_fix() {
        let (_, errors) = walk("trusted_proxies: 10.0.0.0/8\n", &MapEnv::new());
        assert_eq!(
            errors[0].fix,
            "write it as a list, e.g. `trusted_proxies: [10.0.0.0/8]` or one `- item` per line"
        );
    }

    #[test]
    fn a_section_key_written_at_the_top_level_is_pointed_to_its_section() {
        let (_, errors) = walk("client_id: x\n", &MapEnv::new());
        assert_eq!(errors[0].key, "client_id");
        assert_eq!(errors[0].fix, "move it under `upstream:`");
    }

    #[test]
    fn numbers_and_booleans_are_read_as_text() {
        let (raw, errors) = walk(
            "listen: 8443\nlog: { access_log: false }\nupstream: { client_id: 12345 }\n",
            &MapEnv::new(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let raw = raw.unwrap();
        assert_eq!(raw.listen, Field::Set("8443".into()));
        assert_eq!(
            raw.log.set().unwrap().access_log,
            Field::Set("false".into())
        );
        assert_eq!(
            raw.upstream.set().unwrap().client_id,
            Field::Set("12345".into())
        );
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_reported_and_marked_invalid() {
        let (raw, errors) = walk(
            "listen: [a]\ntls: yes\nupstream: { scopes: openid }\n",
            &MapEnv::new(),
        );
        assert_eq!(keys(&errors), vec!["listen", "tls", "upstream.scopes"]);
        assert_eq!(errors[0].problem, "expected a single value, found a list");
        assert_eq!(
            errors[1].problem,
            "expected a mapping of keys, found a string"
        );
        let raw = raw.unwrap();
        assert_eq!(raw.listen, Field::Invalid);
        assert_eq!(raw.tls, Field::Invalid);
        assert_eq!(raw.upstream.set().unwrap().scopes, Field::Invalid);
    }

    #[test]
    fn env_references_are_expanded_in_values_and_reported_with_their_key() {
        let env = MapEnv::new().with("HOST", "sso.example.com");
        let (raw, errors) = walk(
            "public_url: https://${HOST}\nupstream:\n  client_secret: ${FRESHGATE_CLIENT_SECRET}\n  scopes: [openid, '${SCOPE}']\n",
            &env,
        );
        assert_eq!(
            raw.as_ref().unwrap().public_url,
            Field::Set("https://sso.example.com".into())
        );
        assert_eq!(
            keys(&errors),
            vec!["upstream.client_secret", "upstream.scopes[1]"]
        );
        assert_eq!(
            errors[0].problem,
            "environment variable FRESHGATE_CLIENT_SECRET is not set"
        );
        assert_eq!(
            errors[0].fix,
            "export FRESHGATE_CLIENT_SECRET, or set upstream.client_secret_file to a file holding the secret"
        );
        let upstream = raw.unwrap().upstream;
        assert_eq!(upstream.set().unwrap().client_secret, Field::Invalid);
    }

    #[test]
    fn unknown_keys_are_not_expanded() {
        let (_, errors) = walk("extra: ${NOT_SET}\n", &MapEnv::new());
        assert_eq!(keys(&errors), vec!["extra"]);
    }

    #[test]
    fn a_malformed_reference_in_a_secret_is_reported_without_the_value() {
        let (_, errors) = walk(
            "session:\n  cookie_key: \"abc${s3cr3t-part}\"\n",
            &MapEnv::new(),
        );
        assert_eq!(keys(&errors), vec!["session.cookie_key"]);
        assert!(!errors[0].to_string().contains("s3cr3t"), "{}", errors[0]);
    }

    #[test]
    fn numeric_account_ids_become_text() {
        let (raw, errors) = walk(
            "freshworks:\n  accounts:\n    12344: { redirect_url: a }\n    \"abc\":\n",
            &MapEnv::new(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let accounts = raw.unwrap().freshworks.set().unwrap().accounts.clone();
        let accounts = accounts.set().unwrap();
        assert_eq!(accounts[0].id, "12344");
        assert_eq!(accounts[0].redirect_url, Field::Set("a".into()));
        assert_eq!(accounts[1].id, "abc");
        assert_eq!(accounts[1].redirect_url, Field::Absent);
    }

    #[test]
    fn claim_sources_take_every_documented_form() {
        let yaml = "
freshworks:
  claims:
    sub: preferred_username
    email: [mail, email]
    given_name: { value: \"-\" }
    family_name: [family_name, { value: 0 }]
    phone_number: []
";
        let (raw, errors) = walk(yaml, &MapEnv::new());
        assert!(errors.is_empty(), "{errors:?}");
        let fw = raw.unwrap().freshworks;
        let claims = fw.set().unwrap().claims.set().unwrap().clone();
        use RawClaimSource::*;
        let got: Vec<(String, Field<Vec<RawClaimSource>>)> =
            claims.into_iter().map(|c| (c.name, c.sources)).collect();
        assert_eq!(
            got,
            vec![
                (
                    "sub".into(),
                    Field::Set(vec![Name("preferred_username".into())])
                ),
                (
                    "email".into(),
                    Field::Set(vec![Name("mail".into()), Name("email".into())])
                ),
                ("given_name".into(), Field::Set(vec![Literal("-".into())])),
                (
                    "family_name".into(),
                    Field::Set(vec![Name("family_name".into()), Literal("0".into())])
                ),
                ("phone_number".into(), Field::Set(vec![])),
            ]
        );
    }

    #[test]
    fn malformed_claim_sources_are_reported_with_the_fix() {
        let yaml = "
freshworks:
  claims:
    sub:
    email: [[a]]
    given_name: {}
";
        let (_, errors) = walk(yaml, &MapEnv::new());
        assert_eq!(
            keys(&errors),
            vec![
                "freshworks.claims.sub",
                "freshworks.claims.email[0]",
                "freshworks.claims.given_name"
            ]
        );
        assert!(errors.iter().all(|e| e.fix.contains("{ value: \"-\" }")));
    }

    #[test]
    fn webchat_mappings_take_the_claim_source_forms_and_keep_file_order() {
        let yaml = "
webchat:
  secret: ${WC_SECRET}
  email: [mail, { value: x }]
  unique_external_id:
  contact_properties: { phone: phone_number, name: [name, nickname] }
  ticket_properties: {}
  widget: { widget_id: 42 }
";
        let env = MapEnv::new().with("WC_SECRET", "from-env");
        let (raw, errors) = walk(yaml, &env);
        assert!(errors.is_empty(), "{errors:?}");
        let raw = raw.unwrap();
        let w = raw.webchat.set().unwrap();
        use RawClaimSource::*;
        assert_eq!(w.secret, Field::Set(Secret::new("from-env")));
        assert_eq!(
            w.email,
            Field::Set(vec![Name("mail".into()), Literal("x".into())])
        );
        assert_eq!(w.unique_external_id, Field::Absent);
        let props: Vec<(String, Field<Vec<RawClaimSource>>)> = w
            .contact_properties
            .set()
            .unwrap()
            .iter()
            .map(|c| (c.name.clone(), c.sources.clone()))
            .collect();
        assert_eq!(
            props,
            vec![
                (
                    "phone".into(),
                    Field::Set(vec![Name("phone_number".into())])
                ),
                (
                    "name".into(),
                    Field::Set(vec![Name("name".into()), Name("nickname".into())])
                ),
            ]
        );
        assert_eq!(w.ticket_properties, Field::Set(vec![]));
        assert_eq!(w.widget.set().unwrap().widget_id, Field::Set("42".into()));
    }

    #[test]
    fn an_unset_webchat_secret_variable_points_to_secret_file() {
        let (_, errors) = walk(
            "webchat:\n  secret: ${WC}\n  secrt_file: x\n",
            &MapEnv::new(),
        );
        assert_eq!(keys(&errors), vec!["webchat.secrt_file", "webchat.secret"]);
        assert_eq!(errors[0].fix, "remove it, or did you mean `secret_file`?");
        assert_eq!(
            errors[1].fix,
            "export WC, or set webchat.secret_file to a file holding the secret"
        );
    }

    #[test]
    fn a_file_that_is_not_a_mapping_is_one_problem() {
        let (raw, errors) = walk("- a\n- b\n", &MapEnv::new());
        assert!(raw.is_none());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "");
    }

    #[test]
    fn an_empty_file_is_an_empty_configuration() {
        let (raw, errors) = walk("", &MapEnv::new());
        assert!(errors.is_empty());
        assert_eq!(raw.unwrap(), RawConfig::default());
    }

    #[test]
    fn edit_distance_counts_single_edits_and_swaps() {
        assert_eq!(edit_distance("client_secrt", "client_secret"), 1);
        assert_eq!(edit_distance("lsiten", "listen"), 1);
        assert_eq!(edit_distance("Listen", "listen"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("tsl", &["tls", "log"]), Some("tls"));
        assert_eq!(closest("frobnicate", TOP_KEYS), None);
    }
}
