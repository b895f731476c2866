//! Loading: read the file, parse it, walk it into `raw` structs, and turn those into a `Config`.
//!
//! Every problem is collected (key, what is wrong, how to fix it) and returned together; a `Config` is only
//! returned when there is none. Secret values are never quoted in a message.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ipnet::IpNet;
use serde_yaml::Value;
use url::Url;

use super::duration;
use super::env::Env;
use super::error::{ConfigError, ConfigErrors};
use super::raw::{
    Field, RawAccount, RawClaim, RawClaimSource, RawConfig, RawFreshworks, RawLimits, RawLog,
    RawSession, RawTls, RawUpstream, RawWebchat, RawWidget, TOP_KEYS, closest,
};
use super::types::{
    Account, ClaimMap, ClaimMapping, ClaimSource, Config, Freshworks, IdentifyBy, Limits,
    LogConfig, LogFormat, Secret, Session, TlsFiles, Upstream, Webchat, Widget,
};

/// The configuration file is refused past this size (a file that large is not a gateway configuration).
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// `*_file` secrets are refused past this size (guards against pointing one at a device or a log).
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Freshworks claim names, in the order `ClaimMap.entries` keeps them.
pub const FRESHWORKS_CLAIMS: [&str; 6] = [
    "sub",
    "email",
    "given_name",
    "family_name",
    "phone_number",
    "picture",
];

const MAKE_COOKIE_KEY: &str = "head -c 32 /dev/urandom | base64";

/// `webchat.contact_properties` when the key is absent: Freshdesk contact property -> provider claim.
pub const DEFAULT_CONTACT_PROPERTIES: [(&str, &str); 3] = [
    ("name", "name"),
    ("phone", "phone_number"),
    ("language", "locale"),
];

/// Fix for a claim mapping that can be left out to get its default.
const REMOVE_FOR_DEFAULT: &str = "remove the key to keep the default";

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path, env: &dyn Env) -> Result<Config, ConfigErrors> {
    match read_limited(path, MAX_CONFIG_BYTES) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => load_str(&text, path, env),
            Err(_) => Err(ConfigErrors::new(
                path,
                vec![ConfigError::new(
                    "",
                    format!(
                        "cannot read {}: it is not UTF-8 text",
                        absolute(path).display()
                    ),
                    "save the configuration as UTF-8 YAML",
                )],
            )),
        },
        Err(e) => {
            let shown = absolute(path);
            let problem = match e {
                ReadError::TooLarge => format!(
                    "cannot read {}: it is larger than {} KiB, which no gateway configuration is",
                    shown.display(),
                    MAX_CONFIG_BYTES / 1024
                ),
                e => format!("cannot read {}: {}", shown.display(), e.describe()),
            };
            Err(ConfigErrors::new(
                path,
                vec![ConfigError::new(
                    "",
                    problem,
                    "check the path of the configuration file and that freshgate's user may read it",
                )],
            ))
        }
    }
}

/// Validates configuration text. `source` is the file it came from: it names the file in messages and
/// relative paths in the configuration are resolved against its directory.
pub fn load_str(text: &str, source: &Path, env: &dyn Env) -> Result<Config, ConfigErrors> {
    let fail = |errors: Vec<ConfigError>| Err(ConfigErrors::new(source, errors));
    let mut value: Value = match serde_yaml::from_str(text) {
        Ok(value) => value,
        Err(e) => return fail(vec![yaml_error(&e)]),
    };
    if let Err(e) = value.apply_merge() {
        return fail(vec![ConfigError::new(
            "",
            format!("a YAML merge key (`<<`) cannot be applied: {e}"),
            "merge only mappings: `<<: *anchor` where the anchor names a mapping",
        )]);
    }

    let mut errors = Vec::new();
    let Some(raw) = RawConfig::from_value(&value, env, &mut errors) else {
        return fail(errors);
    };
    let mut v = Validator {
        base: absolute(source.parent().unwrap_or(Path::new(""))),
        errors,
    };
    let config = v.config(&raw, source);
    match config {
        Some(config) if v.errors.is_empty() => Ok(config),
        _ => {
            if v.errors.is_empty() {
                // Every path that yields no value reports why; this only guards against a missed one.
                v.errors.push(ConfigError::new(
                    "",
                    "the configuration is incomplete",
                    "compare it with the example configuration",
                ));
            }
            let mut errors = v.errors;
            // Group by top-level section, in the order the example file has them (stable: within a
            // section, problems keep the order they were found in).
            errors.sort_by_key(|e| section_rank(&e.key));
            fail(errors)
        }
    }
}

/// Where a key's problems are listed: whole-file problems, unknown top-level keys, then by section.
fn section_rank(key: &str) -> usize {
    if key.is_empty() {
        return 0;
    }
    let top = key.split(['.', '[']).next().unwrap_or(key);
    TOP_KEYS.iter().position(|k| *k == top).map_or(1, |i| i + 2)
}

fn yaml_error(e: &serde_yaml::Error) -> ConfigError {
    let message = e.to_string();
    // The message ends with " at line L column C" when it has a location; it is given separately.
    let message = match message.rfind(" at line ") {
        Some(i) if e.location().is_some() => message[..i].to_owned(),
        _ => message,
    };
    let problem = match e.location() {
        Some(at) => format!(
            "not valid YAML: {message} (line {}, column {})",
            at.line(),
            at.column()
        ),
        None => format!("not valid YAML: {message}"),
    };
    ConfigError::new(
        "",
        problem,
        "fix the YAML syntax there (indent with spaces, not tabs; quote values that contain `: ` or start with `*`, `&`, `!`, `{` or `[`)",
    )
}

struct Validator {
    /// Absolute directory of the configuration file, for relative paths.
    base: PathBuf,
    errors: Vec<ConfigError>,
}

impl Validator {
    fn push(&mut self, key: &str, problem: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(ConfigError::new(key, problem, fix));
    }

    /// The value of a required key; reports it when absent.
    fn required<'f, T>(&mut self, key: &str, field: &'f Field<T>, fix: &str) -> Option<&'f T> {
        match field {
            Field::Set(v) => Some(v),
            Field::Invalid => None,
            Field::Absent => {
                self.push(key, "is required but not set", fix);
                None
            }
        }
    }

    fn config(&mut self, raw: &RawConfig, source: &Path) -> Option<Config> {
        let listen = self
            .required(
                "listen",
                &raw.listen,
                "add `listen: 0.0.0.0:8443` (the address and port to serve on)",
            )
            .and_then(|s| self.socket_addr("listen", s));
        let public_url = self
            .required(
                "public_url",
                &raw.public_url,
                "add `public_url: https://sso.example.com` (how browsers reach the gateway)",
            )
            .and_then(|s| self.public_url(s));
        let tls = match &raw.tls {
            Field::Set(tls) => self.tls(tls).map(Some),
            Field::Absent => Some(None),
            Field::Invalid => None,
        };
        let admin_listen = self.admin_listen(&raw.admin_listen, listen);
        let trusted_proxies = self.trusted_proxies(&raw.trusted_proxies);
        let log = self.log(raw.log.set().unwrap_or(&RawLog::default()));
        let limits = self.limits(raw.limits.set().unwrap_or(&RawLimits::default()));
        let upstream = self
            .required(
                "upstream",
                &raw.upstream,
                "add an `upstream:` section with issuer, client_id and client_secret (the OpenID provider)",
            )
            .and_then(|u| self.upstream(u));
        let session = self.session(raw.session.set().unwrap_or(&RawSession::default()));
        let freshworks = match &raw.freshworks {
            Field::Set(f) => self.freshworks(f).map(Some),
            Field::Absent => Some(None),
            Field::Invalid => None,
        };
        let webchat = match &raw.webchat {
            Field::Set(w) => self.webchat(w).map(Some),
            Field::Absent => Some(None),
            Field::Invalid => None,
        };
        Some(Config {
            source: source.to_path_buf(),
            listen: listen?,
            public_url: public_url?,
            tls: tls?,
            admin_listen: admin_listen?,
            trusted_proxies: trusted_proxies?,
            log: log?,
            limits: limits?,
            upstream: upstream?,
            session: session?,
            freshworks: freshworks?,
            webchat: webchat?,
        })
    }

    // ---- scalars ------------------------------------------------------------------------------------

    fn socket_addr(&mut self, key: &str, s: &str) -> Option<SocketAddr> {
        let s = s.trim();
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Some(addr);
        }
        let fix = if let Ok(port) = s.parse::<u16>() {
            format!(
                "write `0.0.0.0:{port}` for every interface, or `127.0.0.1:{port}` for this machine only"
            )
        } else if s.rsplit_once(':').is_some_and(|(host, port)| {
            host.parse::<IpAddr>().is_err() && port.parse::<u16>().is_ok()
        }) {
            "use an IP address, not a host name: `0.0.0.0:8443` (every interface), `127.0.0.1:8443`, or `[::]:8443` for IPv6".to_owned()
        } else {
            "write an IP address and a port, such as `0.0.0.0:8443` or `[::]:8443`".to_owned()
        };
        self.push(key, format!("`{s}` is not an IP address and port"), fix);
        None
    }

    fn bool(&mut self, key: &str, field: &Field<String>, default: bool) -> Option<bool> {
        match field {
            Field::Absent => Some(default),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Some(true),
                "false" | "no" | "off" => Some(false),
                _ => {
                    self.push(
                        key,
                        format!("`{s}` is not true or false"),
                        "write `true` or `false`",
                    );
                    None
                }
            },
        }
    }

    /// A duration, `default` when absent; `min` and `max` are inclusive bounds.
    fn duration(
        &mut self,
        key: &str,
        field: &Field<String>,
        default: Duration,
        min: Duration,
        max: Option<Duration>,
        why: &str,
    ) -> Option<Duration> {
        let s = match field {
            Field::Absent => return Some(default),
            Field::Invalid => return None,
            Field::Set(s) => s,
        };
        let d = match duration::parse(s) {
            Ok(d) => d,
            Err(problem) => {
                self.push(
                    key,
                    format!("`{s}` {problem}"),
                    format!("write a duration such as {}", duration::EXAMPLES),
                );
                return None;
            }
        };
        let too_long = max.is_some_and(|max| d > max);
        if d < min || too_long {
            let range = match max {
                Some(max) => format!(
                    "between {} and {}",
                    duration::format(min),
                    duration::format(max)
                ),
                None if min == Duration::from_millis(1) => "longer than zero".to_owned(),
                None => format!("at least {}", duration::format(min)),
            };
            self.push(
                key,
                format!("`{s}` is out of range: it must be {range}"),
                format!(
                    "use a duration {range}{why}, e.g. `{}: {}`",
                    last(key),
                    duration::format(default)
                ),
            );
            return None;
        }
        Some(d)
    }

    /// A timeout: any positive duration.
    fn timeout(&mut self, key: &str, field: &Field<String>, default: Duration) -> Option<Duration> {
        self.duration(key, field, default, Duration::from_millis(1), None, "")
    }

    // ---- files --------------------------------------------------------------------------------------

    fn resolve(&self, written: &str) -> PathBuf {
        absolute(&self.base.join(written))
    }

    /// A file that must exist and be readable; returns its absolute path.
    fn existing_file(&mut self, key: &str, written: &str, fix: &str) -> Option<PathBuf> {
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
    fn secret_file(&mut self, key: &str, written: &str, fix: &str) -> Option<String> {
        let path = self.existing_file(key, written, fix)?;
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

    // ---- URLs ---------------------------------------------------------------------------------------

    /// An absolute http(s) URL with a host and no user info. Reports and returns `None` otherwise.
    fn http_url(&mut self, key: &str, s: &str, example: &str) -> Option<Url> {
        let url = match Url::parse(s) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                self.push(
                    key,
                    format!("`{s}` is not an absolute URL"),
                    format!("write the full URL with scheme and host, e.g. `{example}`"),
                );
                return None;
            }
            Err(e) => {
                self.push(
                    key,
                    format!("`{s}` is not a valid URL ({e})"),
                    format!("write a URL such as `{example}`"),
                );
                return None;
            }
        };
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            self.push(
                key,
                format!("`{s}` is not an http or https URL"),
                format!("write a URL such as `{example}`"),
            );
            return None;
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Userinfo may hold a password: the value is not quoted.
            self.push(
                key,
                "the URL contains a user name or password (`user:pass@`)",
                "remove the `user:pass@` part; credentials do not belong in this URL",
            );
            return None;
        }
        Some(url)
    }

    /// An http(s) URL that is only scheme, host and port (path empty or `/`, no query or fragment).
    fn origin_url(&mut self, key: &str, s: &str, example: &str) -> Option<Url> {
        let url = self.http_url(key, s, example)?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            let origin = url.origin().ascii_serialization();
            self.push(
                key,
                format!(
                    "`{s}` has a path, query or fragment; only scheme, host and port are allowed"
                ),
                format!("write just the origin: `{origin}`"),
            );
            return None;
        }
        Some(url)
    }

    fn public_url(&mut self, s: &str) -> Option<Url> {
        let key = "public_url";
        let url = self.http_url(key, s, "https://sso.example.com")?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            let origin = url.origin().ascii_serialization();
            self.push(
                key,
                format!("`{s}` has a path, query or fragment"),
                format!(
                    "write just scheme, host and port: `{origin}`; the gateway must own the root of its host name"
                ),
            );
            return None;
        }
        Some(url)
    }

    /// A URL Freshworks or the browser is sent to after login or logout.
    fn redirect_url(&mut self, key: &str, s: &str) -> Option<Url> {
        let example = "https://acme.myfreshworks.com/sp/OIDC/12344/implicit";
        let url = self.http_url(key, s, example)?;
        if url.fragment().is_some() {
            self.push(
                key,
                format!("`{s}` has a fragment (`#...`)"),
                "remove the `#...` part; it would be replaced by the response",
            );
            return None;
        }
        self.https_unless_local(key, s, url)
    }

    /// `url` (written `s`) when it is https or its host is a local one; reported otherwise.
    fn https_unless_local(&mut self, key: &str, s: &str, url: Url) -> Option<Url> {
        if url.scheme() != "https" && !is_local_host(&url) {
            let mut https = url.clone();
            let _ = https.set_scheme("https");
            let https = if s.ends_with('/') {
                https.as_str().to_owned()
            } else {
                https.as_str().trim_end_matches('/').to_owned()
            };
            self.push(
                key,
                format!("`{s}` uses http on a public host"),
                format!(
                    "use https (`{https}`); plain http is only allowed for localhost, 127.0.0.1, [::1] and .test hosts"
                ),
            );
            return None;
        }
        Some(url)
    }

    // ---- sections -----------------------------------------------------------------------------------

    fn tls(&mut self, raw: &RawTls) -> Option<TlsFiles> {
        const CERT_FIX: &str = "point tls.cert_file at the PEM certificate (chain) for the public host name, or remove the tls section to serve plain HTTP";
        const KEY_FIX: &str = "point tls.key_file at the PEM private key of the certificate, or remove the tls section to serve plain HTTP";
        let cert_file = self
            .required("tls.cert_file", &raw.cert_file, CERT_FIX)
            .and_then(|s| self.existing_file("tls.cert_file", s, CERT_FIX));
        let key_file = self
            .required("tls.key_file", &raw.key_file, KEY_FIX)
            .and_then(|s| self.existing_file("tls.key_file", s, KEY_FIX));
        Some(TlsFiles {
            cert_file: cert_file?,
            key_file: key_file?,
        })
    }

    fn admin_listen(
        &mut self,
        field: &Field<String>,
        listen: Option<SocketAddr>,
    ) -> Option<Option<SocketAddr>> {
        let key = "admin_listen";
        let addr = match field {
            Field::Absent => SocketAddr::from(([127, 0, 0, 1], 9901)),
            Field::Invalid => return None,
            Field::Set(s) if matches!(s.trim().to_ascii_lowercase().as_str(), "off" | "false") => {
                return Some(None);
            }
            Field::Set(s) => match s.trim().parse::<SocketAddr>() {
                Ok(addr) => addr,
                Err(_) => {
                    self.push(
                        key,
                        format!("`{s}` is not an IP address and port"),
                        "write an address such as `127.0.0.1:9901`, or `off` to disable the admin listener",
                    );
                    return None;
                }
            },
        };
        if listen == Some(addr) && addr.port() != 0 {
            self.push(
                key,
                format!("`{addr}` is the same address as listen"),
                "give the admin listener its own port (default `127.0.0.1:9901`), or write `off`",
            );
            return None;
        }
        Some(Some(addr))
    }

    fn trusted_proxies(&mut self, field: &Field<Vec<String>>) -> Option<Vec<IpNet>> {
        let items = match field {
            Field::Absent => return Some(Vec::new()),
            Field::Invalid => return None,
            Field::Set(items) => items,
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, s) in items.iter().enumerate() {
            let t = s.trim();
            let net = t
                .parse::<IpNet>()
                .map(|n| n.trunc())
                .or_else(|_| t.parse::<IpAddr>().map(IpNet::from));
            match net {
                Ok(net) => out.push(net),
                Err(_) => {
                    ok = false;
                    self.push(
                        &format!("trusted_proxies[{i}]"),
                        format!("`{s}` is not an IP address or CIDR range"),
                        "write an address (`10.0.0.5`, `fd00::5`) or a range (`10.0.0.0/8`, `fd00::/8`)",
                    );
                }
            }
        }
        ok.then_some(out)
    }

    fn log(&mut self, raw: &RawLog) -> Option<LogConfig> {
        let format = match &raw.format {
            Field::Absent => Some(LogFormat::Text),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "text" => Some(LogFormat::Text),
                "json" => Some(LogFormat::Json),
                _ => {
                    self.push(
                        "log.format",
                        format!("`{s}` is not a log format"),
                        "use `text` (for people) or `json` (for log collectors)",
                    );
                    None
                }
            },
        };
        let level = match &raw.level {
            Field::Absent => Some("info".to_owned()),
            Field::Invalid => None,
            Field::Set(s) => match check_log_level(s) {
                Ok(()) => Some(s.trim().to_owned()),
                Err(problem) => {
                    self.push(
                        "log.level",
                        format!("`{s}` {problem}"),
                        "use a level (trace, debug, info, warn, error, off) or directives such as `info,freshgate=debug`",
                    );
                    None
                }
            },
        };
        let access_log = self.bool("log.access_log", &raw.access_log, true);
        Some(LogConfig {
            format: format?,
            level: level?,
            access_log: access_log?,
        })
    }

    fn limits(&mut self, raw: &RawLimits) -> Option<Limits> {
        let d = Limits::default();
        let header_read_timeout = self.timeout(
            "limits.header_read_timeout",
            &raw.header_read_timeout,
            d.header_read_timeout,
        );
        let tls_handshake_timeout = self.timeout(
            "limits.tls_handshake_timeout",
            &raw.tls_handshake_timeout,
            d.tls_handshake_timeout,
        );
        let idle_timeout = self.timeout("limits.idle_timeout", &raw.idle_timeout, d.idle_timeout);
        let shutdown_grace = self.duration(
            "limits.shutdown_grace",
            &raw.shutdown_grace,
            d.shutdown_grace,
            Duration::ZERO,
            None,
            "",
        );
        let max_header_bytes = match &raw.max_header_bytes {
            Field::Absent => Some(d.max_header_bytes),
            Field::Invalid => None,
            Field::Set(s) => match parse_size(s) {
                Some(n) if n >= 1024 => Some(n),
                Some(_) => {
                    self.push(
                        "limits.max_header_bytes",
                        format!("`{s}` is below the minimum of 1KiB"),
                        "use at least `1KiB`; the default is `64KiB`",
                    );
                    None
                }
                None => {
                    self.push(
                        "limits.max_header_bytes",
                        format!("`{s}` is not a size"),
                        "write a number of bytes (`65536`) or use KiB/MiB (`64KiB`, `1MiB`)",
                    );
                    None
                }
            },
        };
        let max_connections = match &raw.max_connections {
            Field::Absent => Some(d.max_connections),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    self.push(
                        "limits.max_connections",
                        format!("`{s}` is not a whole number of at least 1"),
                        "write a positive whole number, e.g. `max_connections: 10000`",
                    );
                    None
                }
            },
        };
        Some(Limits {
            header_read_timeout: header_read_timeout?,
            tls_handshake_timeout: tls_handshake_timeout?,
            idle_timeout: idle_timeout?,
            max_header_bytes: max_header_bytes?,
            max_connections: max_connections?,
            shutdown_grace: shutdown_grace?,
        })
    }

    fn upstream(&mut self, raw: &RawUpstream) -> Option<Upstream> {
        let issuer = self
            .required(
                "upstream.issuer",
                &raw.issuer,
                "add the provider's issuer URL, e.g. `issuer: https://sso.example.com/realms/acme`",
            )
            .and_then(|s| {
                if s.trim() != s {
                    self.push(
                        "upstream.issuer",
                        format!("`{s}` has leading or trailing spaces"),
                        "remove them; the issuer is compared character for character with the provider's",
                    );
                    return None;
                }
                let url = self.http_url("upstream.issuer", s, "https://sso.example.com/realms/acme")?;
                if url.query().is_some() || url.fragment().is_some() {
                    self.push(
                        "upstream.issuer",
                        format!("`{s}` has a query or fragment"),
                        "write the issuer exactly as the provider's discovery document states it (it never has `?` or `#`)",
                    );
                    return None;
                }
                Some((s.clone(), url))
            });
        let backchannel_url = match &raw.backchannel_url {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => self
                .origin_url("upstream.backchannel_url", s, "http://127.0.0.1:8080")
                .map(Some),
        };
        let proxy_to = match &raw.proxy_to {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => self
                .origin_url("upstream.proxy_to", s, "http://127.0.0.1:8080")
                .map(Some),
        };
        let client_id = self
            .required(
                "upstream.client_id",
                &raw.client_id,
                "add the client id registered for freshgate at the provider, e.g. `client_id: freshgate`",
            )
            .and_then(|s| {
                if s.trim().is_empty() {
                    self.push(
                        "upstream.client_id",
                        "is empty",
                        "write the client id registered for freshgate at the provider",
                    );
                    None
                } else {
                    Some(s.clone())
                }
            });
        let client_secret = self.client_secret(raw);
        let scopes = self.scopes(&raw.scopes);
        let ca_file = match &raw.ca_file {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => self
                .existing_file(
                    "upstream.ca_file",
                    s,
                    "point upstream.ca_file at the PEM file of the CA that signed the provider's certificate, or remove it to trust the public web roots",
                )
                .map(Some),
        };
        let preserve_host = self.bool("upstream.preserve_host", &raw.preserve_host, true);
        let connect_timeout = self.timeout(
            "upstream.connect_timeout",
            &raw.connect_timeout,
            Duration::from_secs(5),
        );
        let response_timeout = self.timeout(
            "upstream.response_timeout",
            &raw.response_timeout,
            Duration::from_secs(30),
        );
        let jwks_refresh = self.timeout(
            "upstream.jwks_refresh",
            &raw.jwks_refresh,
            Duration::from_secs(3600),
        );

        let (issuer, issuer_url) = issuer?;
        let backchannel_url = backchannel_url?;
        let proxy_to = match (proxy_to?, &backchannel_url) {
            (Some(url), _) => url,
            (None, Some(backchannel)) => backchannel.clone(),
            (None, None) => origin_of(&issuer_url)?,
        };
        Some(Upstream {
            issuer,
            issuer_url,
            backchannel_url,
            proxy_to,
            client_id: client_id?,
            client_secret: client_secret?,
            scopes: scopes?,
            ca_file: ca_file?,
            preserve_host: preserve_host?,
            connect_timeout: connect_timeout?,
            response_timeout: response_timeout?,
            jwks_refresh: jwks_refresh?,
        })
    }

    fn client_secret(&mut self, raw: &RawUpstream) -> Option<Secret> {
        self.required_secret(
            &SecretKey {
                section: "upstream",
                name: "client_secret",
                missing_fix: "set `client_secret: ${FRESHGATE_CLIENT_SECRET}` and export that variable, or set `client_secret_file` to a file holding the secret",
                empty_fix: "set it to the client secret registered at the provider (if it comes from `${VAR}`, that variable is empty)",
                file_fix: "point upstream.client_secret_file at a file holding the client secret, or set upstream.client_secret instead",
            },
            &raw.client_secret,
            &raw.client_secret_file,
        )
    }

    /// A secret that must be given exactly once: inline (`<name>`) or as a file (`<name>_file`).
    fn required_secret(
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

    fn scopes(&mut self, field: &Field<Vec<String>>) -> Option<Vec<String>> {
        const KEY: &str = "upstream.scopes";
        let scopes = match field {
            Field::Absent => return Some(vec!["openid".into(), "email".into(), "profile".into()]),
            Field::Invalid => return None,
            Field::Set(scopes) => scopes,
        };
        let mut ok = true;
        for (i, scope) in scopes.iter().enumerate() {
            if scope.trim().is_empty()
                || scope
                    .chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '\\')
            {
                ok = false;
                self.push(
                    &format!("{KEY}[{i}]"),
                    format!("`{scope}` is not a scope name"),
                    "write one scope per list item, without spaces: `scopes: [openid, email, profile]`",
                );
            }
        }
        if ok && !scopes.iter().any(|s| s == "openid") {
            ok = false;
            self.push(
                KEY,
                "does not include `openid`",
                "add `openid` to the list (OpenID Connect needs it to return an ID token), e.g. `scopes: [openid, email, profile]`",
            );
        }
        ok.then(|| scopes.clone())
    }

    fn session(&mut self, raw: &RawSession) -> Option<Session> {
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

    fn freshworks(&mut self, raw: &RawFreshworks) -> Option<Freshworks> {
        const SIGNING_FIX: &str = "point freshworks.signing_key_file at the PEM private key whose public key is registered in the Freshworks SSO settings";
        let signing_key_file = self
            .required(
                "freshworks.signing_key_file",
                &raw.signing_key_file,
                SIGNING_FIX,
            )
            .and_then(|s| self.existing_file("freshworks.signing_key_file", s, SIGNING_FIX));
        let login_timeout = self.duration(
            "freshworks.login_timeout",
            &raw.login_timeout,
            Duration::from_secs(600),
            Duration::from_secs(60),
            Some(Duration::from_secs(600)),
            " (Freshworks' login nonce lives 10 minutes)",
        );
        let accounts = self.accounts(&raw.accounts);
        let claims = self.claims(&raw.claims);
        Some(Freshworks {
            signing_key_file: signing_key_file?,
            login_timeout: login_timeout?,
            accounts: accounts?,
            claims: claims?,
        })
    }

    fn accounts(&mut self, field: &Field<Vec<RawAccount>>) -> Option<BTreeMap<String, Account>> {
        const KEY: &str = "freshworks.accounts";
        const FIX: &str = "add each Freshworks account under its id: `accounts: { \"12344\": { redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit } }`";
        let raw = self.required(KEY, field, FIX)?;
        if raw.is_empty() {
            self.push(KEY, "lists no account", FIX);
            return None;
        }
        let mut out = BTreeMap::new();
        let mut ok = true;
        for account in raw {
            let path = format!("{KEY}.{}", account.id);
            if account.id.trim().is_empty() {
                self.push(&path, "the account id is empty", FIX);
                ok = false;
                continue;
            }
            if out.contains_key(&account.id) {
                self.push(
                    &path,
                    format!("account `{}` is listed twice", account.id),
                    "keep one entry per account id (`12344:` and `\"12344\":` are the same id)",
                );
                ok = false;
                continue;
            }
            let redirect_key = format!("{path}.redirect_url");
            let redirect_url = self
                .required(
                    &redirect_key,
                    &account.redirect_url,
                    "add the redirect URL from the Freshworks SSO settings, e.g. `redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit`",
                )
                .and_then(|s| self.redirect_url(&redirect_key, s));
            let logout_key = format!("{path}.logout_redirect_url");
            let logout_redirect_url = match &account.logout_redirect_url {
                Field::Absent => Some(None),
                Field::Invalid => None,
                Field::Set(s) => self.redirect_url(&logout_key, s).map(Some),
            };
            match (redirect_url, logout_redirect_url) {
                (Some(redirect_url), Some(logout_redirect_url)) => {
                    out.insert(
                        account.id.clone(),
                        Account {
                            id: account.id.clone(),
                            redirect_url,
                            logout_redirect_url,
                        },
                    );
                }
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn claims(&mut self, field: &Field<Vec<RawClaim>>) -> Option<ClaimMap> {
        let mut entries: Vec<(String, ClaimMapping)> = FRESHWORKS_CLAIMS
            .iter()
            .map(|name| (name.to_string(), default_mapping(name)))
            .collect();
        let raw = match field {
            Field::Absent => return Some(ClaimMap { entries }),
            Field::Invalid => return None,
            Field::Set(raw) => raw,
        };
        let mut ok = true;
        for claim in raw {
            let path = format!("freshworks.claims.{}", claim.name);
            let Some(slot) = entries.iter_mut().find(|(name, _)| *name == claim.name) else {
                let hint = closest(&claim.name, &FRESHWORKS_CLAIMS)
                    .map(|c| format!(" Did you mean `{c}`?"))
                    .unwrap_or_default();
                self.push(
                    &path,
                    format!("`{}` is not a claim Freshworks reads", claim.name),
                    format!(
                        "remove it: Freshworks ignores unknown claims and reads only {}.{hint}",
                        FRESHWORKS_CLAIMS.join(", ")
                    ),
                );
                ok = false;
                continue;
            };
            let sources = match &claim.sources {
                Field::Set(sources) => sources,
                _ => {
                    ok = false;
                    continue;
                }
            };
            match self.claim_mapping(&path, sources, REMOVE_FOR_DEFAULT) {
                Some(mapping) => slot.1 = mapping,
                None => ok = false,
            }
        }
        ok.then_some(ClaimMap { entries })
    }

    fn webchat(&mut self, raw: &RawWebchat) -> Option<Webchat> {
        let secret = self.required_secret(
            &SecretKey {
                section: "webchat",
                name: "secret",
                missing_fix: "set `secret: ${FRESHDESK_WEBCHAT_SECRET}` and export that variable, or set `secret_file` to a file holding the widget's JWT secret from Freshdesk",
                empty_fix: "set it to the widget's JWT secret from Freshdesk (if it comes from `${VAR}`, that variable is empty)",
                file_fix: "point webchat.secret_file at a file holding the widget's JWT secret from Freshdesk, or set webchat.secret instead",
            },
            &raw.secret,
            &raw.secret_file,
        );
        let identify_by = match &raw.identify_by {
            Field::Absent => Some(IdentifyBy::Email),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "email" => Some(IdentifyBy::Email),
                "unique_external_id" => Some(IdentifyBy::UniqueExternalId),
                _ => {
                    self.push(
                        "webchat.identify_by",
                        format!("`{s}` is not a way to identify the user"),
                        "use `email` or `unique_external_id` (the Freshdesk contact field the token carries)",
                    );
                    None
                }
            },
        };
        // Both mappings are checked, whichever one is used.
        let email = self.optional_claim_mapping("webchat.email", &raw.email, "email");
        let unique_external_id = self.optional_claim_mapping(
            "webchat.unique_external_id",
            &raw.unique_external_id,
            "sub",
        );
        let ttl = self.duration(
            "webchat.ttl",
            &raw.ttl,
            Duration::from_secs(600),
            Duration::from_secs(10),
            Some(Duration::from_secs(24 * 3600)),
            "",
        );
        let audience = self.audience(&raw.audience);
        let allowed_origins = self.allowed_origins(&raw.allowed_origins);
        let contact_properties = match &raw.contact_properties {
            Field::Absent => Some(
                DEFAULT_CONTACT_PROPERTIES
                    .iter()
                    .map(|(property, claim)| {
                        (
                            property.to_string(),
                            ClaimMapping {
                                sources: vec![ClaimSource::Path(vec![claim.to_string()])],
                            },
                        )
                    })
                    .collect(),
            ),
            field => self.properties("webchat.contact_properties", field),
        };
        let ticket_properties = match &raw.ticket_properties {
            Field::Absent => Some(Vec::new()),
            field => self.properties("webchat.ticket_properties", field),
        };
        let widget = match &raw.widget {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(w) => self.widget(w).map(Some),
        };
        let session_ttl = self.duration(
            "webchat.session_ttl",
            &raw.session_ttl,
            Duration::from_secs(8 * 3600),
            Duration::from_secs(60),
            Some(Duration::from_secs(7 * 24 * 3600)),
            " (at most 7 days)",
        );

        let identify_by = identify_by?;
        let identity = match identify_by {
            IdentifyBy::Email => email?,
            IdentifyBy::UniqueExternalId => unique_external_id?,
        };
        Some(Webchat {
            secret: secret?,
            identify_by,
            identity,
            ttl: ttl?,
            audience: audience?,
            allowed_origins: allowed_origins?,
            contact_properties: contact_properties?,
            ticket_properties: ticket_properties?,
            widget: widget?,
            session_ttl: session_ttl?,
        })
    }

    /// A claim mapping that is the single claim `default` when absent.
    fn optional_claim_mapping(
        &mut self,
        key: &str,
        field: &Field<Vec<RawClaimSource>>,
        default: &str,
    ) -> Option<ClaimMapping> {
        match field {
            Field::Absent => Some(ClaimMapping {
                sources: vec![ClaimSource::Path(vec![default.to_owned()])],
            }),
            Field::Invalid => None,
            Field::Set(sources) => self.claim_mapping(key, sources, REMOVE_FOR_DEFAULT),
        }
    }

    fn audience(&mut self, field: &Field<Vec<String>>) -> Option<Vec<String>> {
        const KEY: &str = "webchat.audience";
        let items = match field {
            Field::Absent => return Some(Vec::new()),
            Field::Invalid => return None,
            Field::Set(items) => items,
        };
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let key = format!("{KEY}[{i}]");
            if item.trim().is_empty() {
                self.push(
                    &key,
                    "is empty",
                    "write an `aud` value the provider puts in its access tokens, or remove the item (an empty list does not check `aud`)",
                );
                ok = false;
            } else if item.trim() != item {
                self.push(
                    &key,
                    format!("`{item}` has leading or trailing spaces"),
                    "remove them; `aud` values are compared character for character",
                );
                ok = false;
            }
        }
        ok.then(|| items.clone())
    }

    fn allowed_origins(&mut self, field: &Field<Vec<String>>) -> Option<Vec<String>> {
        const KEY: &str = "webchat.allowed_origins";
        const FIX: &str = "list the origins of the pages that embed the chat widget, e.g. `allowed_origins: [https://app.example.com]`";
        const EXAMPLE: &str = "https://app.example.com";
        let items = self.required(KEY, field, FIX)?;
        if items.is_empty() {
            self.push(KEY, "lists no origin", FIX);
            return None;
        }
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let key = format!("{KEY}[{i}]");
            let s = item.trim();
            if s.contains('*') {
                self.push(
                    &key,
                    format!("`{s}` is a wildcard; origins must be listed one by one"),
                    "list each origin; a wildcard would let any site mint tokens for your users",
                );
                ok = false;
                continue;
            }
            let Some(url) = self
                .origin_url(&key, s, EXAMPLE)
                .and_then(|url| self.https_unless_local(&key, s, url))
            else {
                ok = false;
                continue;
            };
            let origin = url.origin().ascii_serialization();
            if out.contains(&origin) {
                self.push(
                    &key,
                    format!("`{s}` is the origin `{origin}`, which is already listed"),
                    "list each origin once (case, a trailing `/` and a default port do not make a different origin)",
                );
                ok = false;
                continue;
            }
            out.push(origin);
        }
        ok.then_some(out)
    }

    /// `webchat.contact_properties` or `webchat.ticket_properties` when written.
    fn properties(
        &mut self,
        key: &str,
        field: &Field<Vec<RawClaim>>,
    ) -> Option<Vec<(String, ClaimMapping)>> {
        let raw = match field {
            Field::Set(raw) => raw,
            _ => return None,
        };
        let mut out: Vec<(String, ClaimMapping)> = Vec::with_capacity(raw.len());
        let mut ok = true;
        for property in raw {
            let path = format!("{key}.{}", property.name);
            let name = &property.name;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                let problem = if name.is_empty() {
                    "the property name is empty".to_owned()
                } else {
                    format!("`{name}` is not a Freshdesk property name")
                };
                self.push(
                    &path,
                    problem,
                    "use the field name Freshdesk shows for the property: letters, digits and `_` only (custom fields look like `cf_plan`)",
                );
                ok = false;
                continue;
            }
            if out.iter().any(|(n, _)| n == name) {
                self.push(
                    &path,
                    format!("property `{name}` is listed twice"),
                    "keep one entry per property (`1:` and `\"1\":` are the same name)",
                );
                ok = false;
                continue;
            }
            let Field::Set(sources) = &property.sources else {
                ok = false;
                continue;
            };
            match self.claim_mapping(&path, sources, "remove the property to leave it out") {
                Some(mapping) => out.push((name.clone(), mapping)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn widget(&mut self, raw: &RawWidget) -> Option<Widget> {
        const HOST_KEY: &str = "webchat.widget.host";
        const HOST_FIX: &str = "add the widget host from the Freshdesk widget code, e.g. `host: https://widget.freshworks.com`";
        let host = self.required(HOST_KEY, &raw.host, HOST_FIX).and_then(|s| {
            let url = self.http_url(HOST_KEY, s, "https://widget.freshworks.com")?;
            self.https_unless_local(HOST_KEY, s, url)
        });
        let mut text = |key: &str, field: &Field<String>, fix: &str| {
            let s = self.required(key, field, fix)?.trim();
            if s.is_empty() {
                self.push(key, "is empty", fix);
                return None;
            }
            Some(s.to_owned())
        };
        let token = text(
            "webchat.widget.token",
            &raw.token,
            "add the widget token from the Freshdesk widget code, e.g. `token: ${FRESHDESK_WIDGET_TOKEN}`",
        );
        let widget_id = text(
            "webchat.widget.widget_id",
            &raw.widget_id,
            "add the widget id from the Freshdesk widget code, e.g. `widget_id: \"123\"`",
        );
        Some(Widget {
            host: host?,
            token: token?,
            widget_id: widget_id?,
        })
    }

    /// `hint` ends the fix: what removing the key does.
    fn claim_mapping(
        &mut self,
        path: &str,
        raw: &[RawClaimSource],
        hint: &str,
    ) -> Option<ClaimMapping> {
        const FORMS: &str = "write a claim name (`email`), a dotted path (`address.locality`), a fixed value \
                             (`{ value: \"-\" }`), or a list of those to try in order";
        let fix = format!("{FORMS}; {hint}");
        let fix = fix.as_str();
        if raw.is_empty() {
            self.push(path, "is an empty list", fix);
            return None;
        }
        let single = raw.len() == 1;
        let mut sources = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (i, source) in raw.iter().enumerate() {
            let key = if single {
                path.to_owned()
            } else {
                format!("{path}[{i}]")
            };
            match source {
                RawClaimSource::Name(name) => {
                    let name = name.trim();
                    if name.is_empty() {
                        self.push(&key, "is an empty claim name", fix);
                        ok = false;
                    } else if name.split('.').any(str::is_empty) {
                        self.push(
                            &key,
                            format!("`{name}` has an empty part in its dotted path"),
                            fix,
                        );
                        ok = false;
                    } else {
                        sources.push(ClaimSource::Path(
                            name.split('.').map(str::to_owned).collect(),
                        ));
                    }
                }
                RawClaimSource::Literal(value) => {
                    if value.is_empty() {
                        self.push(&key, "is an empty fixed value", fix);
                        ok = false;
                    } else {
                        sources.push(ClaimSource::Literal(value.clone()));
                    }
                }
            }
        }
        ok.then_some(ClaimMapping { sources })
    }
}

/// Names the two keys of a secret given inline or as a file, and the fixes for its problems.
struct SecretKey<'a> {
    /// The section (`upstream`); the keys are `<section>.<name>` and `<section>.<name>_file`.
    section: &'a str,
    name: &'a str,
    missing_fix: &'a str,
    empty_fix: &'a str,
    file_fix: &'a str,
}

/// The mapping a Freshworks claim has when `claims` does not mention it.
pub fn default_mapping(freshworks_claim: &str) -> ClaimMapping {
    let names: &[&str] = match freshworks_claim {
        "given_name" => &["given_name", "name"],
        other => &[other][..],
    };
    ClaimMapping {
        sources: names
            .iter()
            .map(|n| ClaimSource::Path(vec![n.to_string()]))
            .collect(),
    }
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &Url) -> Option<Url> {
    Url::parse(&url.origin().ascii_serialization()).ok()
}

fn is_local_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            d == "localhost" || d.ends_with(".localhost") || d.ends_with(".test")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn last(key: &str) -> &str {
    key.rsplit_once('.').map_or(key, |(_, l)| l)
}

/// `65536`, `64KiB`, `1 MiB` (units case-insensitive). `None` when malformed or too large.
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: usize = s[..digits].parse().ok()?;
    let multiplier = match s[digits..].trim_start().to_ascii_lowercase().as_str() {
        "" => 1,
        "kib" => 1024,
        "mib" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(multiplier)
}

/// A light check of a `tracing_subscriber::EnvFilter` directive list: every directive must end in a level.
/// A bare word that is not a level (`verbose`) would silently be taken as a target name, so it is refused.
fn check_log_level(s: &str) -> Result<(), String> {
    fn is_level(l: &str) -> bool {
        [
            "trace", "debug", "info", "warn", "error", "off", "0", "1", "2", "3", "4", "5",
        ]
        .iter()
        .any(|known| l.eq_ignore_ascii_case(known))
    }
    let s = s.trim();
    if s.is_empty() {
        return Err("is empty".into());
    }
    for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        // The level follows the last `=` outside `[...]` (span fields may contain `=`).
        let mut depth = 0i32;
        let mut split = None;
        for (i, c) in directive.char_indices() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                '=' if depth == 0 => split = Some(i),
                _ => {}
            }
        }
        let level = split.map_or(directive, |i| &directive[i + 1..]).trim();
        if !is_level(level) {
            return Err(if directive == s {
                "is not a level".to_owned()
            } else {
                format!("has `{directive}`, which does not end in a level")
            });
        }
    }
    Ok(())
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

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

enum ReadError {
    NotFound,
    IsDirectory,
    TooLarge,
    Io(io::Error),
}

impl ReadError {
    fn describe(&self) -> String {
        match self {
            ReadError::NotFound => "it does not exist".into(),
            ReadError::IsDirectory => "it is a directory".into(),
            ReadError::TooLarge => "it is too large".into(),
            ReadError::Io(e) => e.to_string(),
        }
    }
}

/// Reads at most `limit` bytes of a regular file (or anything that ends); more is `TooLarge`.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::config::env::MapEnv;

    /// A scratch directory under the system temp dir, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Dir {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = std::env::temp_dir().join(format!(
                "freshgate-config-test-{}-{}-{nanos}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }

        fn write(&self, relative: &str, content: &str) -> PathBuf {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
            path
        }

        fn config(&self) -> PathBuf {
            self.0.join("gateway.yaml")
        }

        fn load(&self, yaml: &str, env: &MapEnv) -> Result<Config, ConfigErrors> {
            load_str(yaml, &self.config(), env)
        }

        fn ok(&self, yaml: &str, env: &MapEnv) -> Config {
            self.load(yaml, env).unwrap_or_else(|e| panic!("{e}"))
        }

        fn err(&self, yaml: &str, env: &MapEnv) -> ConfigErrors {
            match self.load(yaml, env) {
                Ok(_) => panic!("loaded without error:\n{yaml}"),
                Err(e) => e,
            }
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const MINIMAL: &str = "
listen: 0.0.0.0:8443
public_url: https://sso.example.com
upstream:
  issuer: https://sso.example.com/realms/acme
  client_id: freshgate
  client_secret: not-a-real-secret
";

    /// `MINIMAL` plus `extra` appended (extra top-level sections or upstream keys indented by two).
    fn with(extra: &str) -> String {
        format!("{MINIMAL}{extra}")
    }

    fn keys(errors: &ConfigErrors) -> Vec<&str> {
        errors.errors.iter().map(|e| e.key.as_str()).collect()
    }

    fn no_env() -> MapEnv {
        MapEnv::new()
    }

    const COOKIE_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // bytes 0..32

    const FULL_EXAMPLE: &str = "
listen: 0.0.0.0:8443
public_url: https://sso.example.com
tls:
  cert_file: certs/gateway.crt
  key_file: certs/gateway.key
admin_listen: 127.0.0.1:9901
trusted_proxies: [10.0.0.0/8, 192.168.1.7, 'fd00::1']
log: { format: json, level: 'info,freshgate=debug', access_log: false }
limits:
  header_read_timeout: 5s
  tls_handshake_timeout: 7s
  idle_timeout: 2m
  max_header_bytes: 32KiB
  max_connections: 500
  shutdown_grace: 1m30s
upstream:
  issuer: https://sso.example.com/realms/acme
  backchannel_url: http://127.0.0.1:8080
  client_id: freshgate
  client_secret: ${FRESHGATE_CLIENT_SECRET}
  scopes: [openid, email, profile, phone]
  ca_file: certs/internal-ca.pem
  preserve_host: false
  connect_timeout: 3s
  response_timeout: 45s
  jwks_refresh: 30m
session:
  cookie_key_file: secrets/cookie-key
freshworks:
  signing_key_file: certs/freshworks-signing.key
  login_timeout: 5m
  accounts:
    12344:
      redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit
      logout_redirect_url: https://acme.freshservice.com/
  claims:
    sub: sub
    email: email
    given_name: [given_name, name]
    family_name: [family_name]
    phone_number: phone_number
    picture: picture
";

    fn full_example_dir() -> Dir {
        let dir = Dir::new();
        for f in [
            "certs/gateway.crt",
            "certs/gateway.key",
            "certs/internal-ca.pem",
            "certs/freshworks-signing.key",
        ] {
            dir.write(f, "-----BEGIN PLACEHOLDER-----\n");
        }
        dir.write("secrets/cookie-key", &format!("{COOKIE_KEY}\n"));
        dir.write("gateway.yaml", FULL_EXAMPLE);
        dir
    }

    fn path(names: &[&str]) -> ClaimSource {
        ClaimSource::Path(names.iter().map(|s| s.to_string()).collect())
    }

    fn mapping(sources: Vec<ClaimSource>) -> ClaimMapping {
        ClaimMapping { sources }
    }

    #[test]
    fn the_full_example_loads_into_the_expected_config() {
        let dir = full_example_dir();
        let env = MapEnv::new().with("FRESHGATE_CLIENT_SECRET", "s3cr3t-value");
        let c = load(&dir.config(), &env).unwrap_or_else(|e| panic!("{e}"));
        let base = std::path::absolute(&dir.0).unwrap();

        assert_eq!(c.source, dir.config());
        assert_eq!(c.listen, "0.0.0.0:8443".parse().unwrap());
        assert_eq!(c.public_url.as_str(), "https://sso.example.com/");
        assert_eq!(c.public("/sso/login"), "https://sso.example.com/sso/login");
        assert!(c.public_is_https());
        let tls = c.tls.as_ref().unwrap();
        assert_eq!(tls.cert_file, base.join("certs/gateway.crt"));
        assert_eq!(tls.key_file, base.join("certs/gateway.key"));
        assert_eq!(c.admin_listen, Some("127.0.0.1:9901".parse().unwrap()));
        let proxies: Vec<IpNet> = ["10.0.0.0/8", "192.168.1.7/32", "fd00::1/128"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(c.trusted_proxies, proxies);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.log.level, "info,freshgate=debug");
        assert!(!c.log.access_log);

        assert_eq!(c.limits.header_read_timeout, Duration::from_secs(5));
        assert_eq!(c.limits.tls_handshake_timeout, Duration::from_secs(7));
        assert_eq!(c.limits.idle_timeout, Duration::from_secs(120));
        assert_eq!(c.limits.max_header_bytes, 32 * 1024);
        assert_eq!(c.limits.max_connections, 500);
        assert_eq!(c.limits.shutdown_grace, Duration::from_secs(90));

        let u = &c.upstream;
        assert_eq!(u.issuer, "https://sso.example.com/realms/acme");
        assert_eq!(u.issuer_url.as_str(), "https://sso.example.com/realms/acme");
        assert_eq!(
            u.backchannel_url.as_ref().unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(u.proxy_to.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(u.client_id, "freshgate");
        assert_eq!(u.client_secret.expose(), "s3cr3t-value");
        assert_eq!(u.scopes, ["openid", "email", "profile", "phone"]);
        assert_eq!(u.ca_file, Some(base.join("certs/internal-ca.pem")));
        assert!(!u.preserve_host);
        assert_eq!(u.connect_timeout, Duration::from_secs(3));
        assert_eq!(u.response_timeout, Duration::from_secs(45));
        assert_eq!(u.jwks_refresh, Duration::from_secs(1800));

        let expected_key: Vec<u8> = (0..32).collect();
        assert_eq!(c.session.cookie_key.map(|k| k.to_vec()), Some(expected_key));

        let fw = c.freshworks.as_ref().unwrap();
        assert_eq!(
            fw.signing_key_file,
            base.join("certs/freshworks-signing.key")
        );
        assert_eq!(fw.login_timeout, Duration::from_secs(300));
        assert_eq!(fw.accounts.len(), 1);
        let account = &fw.accounts["12344"];
        assert_eq!(account.id, "12344");
        assert_eq!(
            account.redirect_url.as_str(),
            "https://acme.myfreshworks.com/sp/OIDC/12344/implicit"
        );
        assert_eq!(
            account.logout_redirect_url.as_ref().unwrap().as_str(),
            "https://acme.freshservice.com/"
        );
        let names: Vec<&str> = fw.claims.entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, FRESHWORKS_CLAIMS);
        assert_eq!(
            fw.claims.entries[2].1,
            mapping(vec![path(&["given_name"]), path(&["name"])])
        );
    }

    #[test]
    fn a_minimal_file_gets_every_default() {
        let dir = Dir::new();
        let c = dir.ok(MINIMAL, &no_env());
        assert!(c.tls.is_none());
        assert!(c.public_is_https());
        assert_eq!(c.admin_listen, Some("127.0.0.1:9901".parse().unwrap()));
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.log.format, LogFormat::Text);
        assert_eq!(c.log.level, "info");
        assert!(c.log.access_log);
        let d = Limits::default();
        assert_eq!(c.limits.header_read_timeout, d.header_read_timeout);
        assert_eq!(c.limits.max_header_bytes, d.max_header_bytes);
        assert_eq!(c.limits.max_connections, d.max_connections);
        assert_eq!(c.limits.shutdown_grace, d.shutdown_grace);
        assert_eq!(c.upstream.scopes, ["openid", "email", "profile"]);
        assert!(c.upstream.preserve_host);
        assert!(c.upstream.backchannel_url.is_none());
        assert!(c.upstream.ca_file.is_none());
        assert_eq!(c.upstream.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.upstream.response_timeout, Duration::from_secs(30));
        assert_eq!(c.upstream.jwks_refresh, Duration::from_secs(3600));
        assert!(c.session.cookie_key.is_none());
        assert!(c.freshworks.is_none());
    }

    #[test]
    fn several_problems_are_all_reported_at_once() {
        let dir = Dir::new();
        let yaml = "
listen: 0.0.0.0:8443
public_url: https://sso.example.com
tls:
  cert_file: gateway.crt
  key_file: gateway.key
upstream:
  issuer: https://sso.example.com/realms/acme
  client_id: freshgate
  client_secrt: oops
  client_secret: ${FRESHGATE_CLIENT_SECRET}
  connect_timeout: soon
";
        dir.write("gateway.crt", "cert");
        let errors = dir.err(yaml, &no_env());
        assert_eq!(
            keys(&errors),
            vec![
                "tls.key_file",
                "upstream.client_secrt",
                "upstream.client_secret",
                "upstream.connect_timeout"
            ],
            "{errors}"
        );
        let text = errors.to_string();
        assert!(
            text.starts_with(&format!("{}: 4 problems\n", dir.config().display())),
            "{text}"
        );
        assert!(text.contains("  upstream.client_secrt: unknown key\n    fix: remove it, or did you mean `client_secret`?"));
        assert!(text.contains(
            "  upstream.client_secret: environment variable FRESHGATE_CLIENT_SECRET is not set\n    fix: export FRESHGATE_CLIENT_SECRET, or set upstream.client_secret_file to a file holding the secret"
        ));
        let key_path = std::path::absolute(dir.0.join("gateway.key")).unwrap();
        assert!(
            text.contains(&format!(
                "  tls.key_file: {} does not exist\n",
                key_path.display()
            )),
            "{text}"
        );
        assert!(
            text.contains("upstream.connect_timeout: `soon` is not a duration"),
            "{text}"
        );
        assert!(text.contains("`1h30m`"), "{text}");
    }

    #[test]
    fn a_missing_variable_is_reported_once_without_a_second_missing_secret_problem() {
        let dir = Dir::new();
        let yaml = MINIMAL.replace("not-a-real-secret", "${NOPE}");
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(keys(&errors), vec!["upstream.client_secret"]);
    }

    #[test]
    fn env_references_are_expanded_and_a_doubled_dollar_escapes_them() {
        let dir = Dir::new();
        let env = MapEnv::new().with("REALM", "acme").with("PORT", "9443");
        let yaml = "
listen: 0.0.0.0:${PORT}
public_url: https://sso.example.com
upstream:
  issuer: https://sso.example.com/realms/${REALM}
  client_id: freshgate
  client_secret: pa$$${word}
";
        let c = dir.ok(yaml, &env);
        assert_eq!(c.listen.port(), 9443);
        assert_eq!(c.upstream.issuer, "https://sso.example.com/realms/acme");
        assert_eq!(c.upstream.client_secret.expose(), "pa$${word}");
        let yaml = yaml.replace("pa$$${word}", "'$${NOT_EXPANDED}'");
        let c = dir.ok(&yaml, &env);
        assert_eq!(c.upstream.client_secret.expose(), "${NOT_EXPANDED}");
    }

    #[test]
    fn a_client_secret_file_is_read_and_its_trailing_whitespace_trimmed() {
        let dir = Dir::new();
        dir.write("secrets/client", "  file-secret \n\n");
        let yaml = with("").replace(
            "client_secret: not-a-real-secret",
            "client_secret_file: secrets/client",
        );
        let c = dir.ok(&yaml, &no_env());
        assert_eq!(c.upstream.client_secret.expose(), "  file-secret");
    }

    #[test]
    fn an_empty_or_missing_client_secret_file_is_an_error() {
        let dir = Dir::new();
        dir.write("secrets/client", " \n");
        let yaml = MINIMAL.replace(
            "client_secret: not-a-real-secret",
            "client_secret_file: secrets/client",
        );
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(keys(&errors), vec!["upstream.client_secret_file"]);
        assert!(errors.errors[0].problem.ends_with("is empty"), "{errors}");

        let yaml = yaml.replace("secrets/client", "secrets/missing");
        let errors = dir.err(&yaml, &no_env());
        assert!(
            errors.errors[0]
                .problem
                .ends_with("secrets/missing does not exist"),
            "{errors}"
        );
        assert!(Path::new(errors.errors[0].problem.split(' ').next().unwrap()).is_absolute());
    }

    #[test]
    fn both_or_neither_client_secret_forms_are_an_error() {
        let dir = Dir::new();
        dir.write("secret", "x");
        let errors = dir.err(&with("  client_secret_file: secret\n"), &no_env());
        assert_eq!(keys(&errors), vec!["upstream.client_secret"]);
        assert!(errors.errors[0].problem.contains("both"));
        assert!(errors.errors[0].fix.contains("only one"));

        let yaml = MINIMAL.replace("  client_secret: not-a-real-secret\n", "");
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(keys(&errors), vec!["upstream.client_secret"]);
        assert!(errors.errors[0].fix.contains("client_secret_file"));
    }

    #[test]
    fn a_cookie_key_of_the_wrong_length_says_how_to_make_one() {
        let dir = Dir::new();
        let short = "AAECAwQFBgcICQoLDA0ODw=="; // 16 bytes
        let env = MapEnv::new().with("COOKIE_KEY", short);
        let errors = dir.err(&with("session: { cookie_key: '${COOKIE_KEY}' }\n"), &env);
        assert_eq!(keys(&errors), vec!["session.cookie_key"]);
        let e = &errors.errors[0];
        assert!(
            e.problem.contains("16 bytes") && e.problem.contains("32"),
            "{e}"
        );
        assert!(e.fix.contains("head -c 32 /dev/urandom | base64"), "{e}");
        assert!(!errors.to_string().contains(short));

        dir.write("cookie-key", &format!("{short}\n"));
        let errors = dir.err(&with("session: { cookie_key_file: cookie-key }\n"), &env);
        assert_eq!(keys(&errors), vec!["session.cookie_key_file"]);
        assert!(
            errors.errors[0]
                .fix
                .contains("head -c 32 /dev/urandom | base64")
        );

        let errors = dir.err(&with("session: { cookie_key: 'not base64!' }\n"), &env);
        assert!(errors.errors[0].problem.contains("is not base64"));
    }

    #[test]
    fn a_cookie_key_may_be_url_safe_unpadded_and_surrounded_by_whitespace() {
        let dir = Dir::new();
        let bytes: Vec<u8> = (200..232).collect();
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        assert!(url_safe.contains('-') || url_safe.contains('_'));
        dir.write("key", &format!("\n  {url_safe}  \n"));
        let c = dir.ok(&with("session:\n  cookie_key_file: key\n"), &no_env());
        assert_eq!(c.session.cookie_key.unwrap().to_vec(), bytes);
    }

    #[test]
    fn both_cookie_key_forms_are_an_error() {
        let dir = Dir::new();
        dir.write("key", COOKIE_KEY);
        let errors = dir.err(
            &with(&format!(
                "session: {{ cookie_key_file: key, cookie_key: '{COOKIE_KEY}' }}\n"
            )),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["session.cookie_key"]);
        assert!(!errors.to_string().contains(COOKIE_KEY));
    }

    #[test]
    fn a_public_url_with_a_path_query_or_other_scheme_is_rejected() {
        let dir = Dir::new();
        for bad in [
            "https://sso.example.com/gateway",
            "https://sso.example.com/?a=b",
            "ftp://sso.example.com",
            "sso.example.com",
        ] {
            let yaml = MINIMAL.replace(
                "public_url: https://sso.example.com",
                &format!("public_url: '{bad}'"),
            );
            let errors = dir.err(&yaml, &no_env());
            assert_eq!(keys(&errors), vec!["public_url"], "{bad}");
            assert!(errors.errors[0].problem.contains(bad), "{errors}");
        }
        let errors = dir.err(
            &MINIMAL.replace("https://sso.example.com\n", "https://sso.example.com/sso\n"),
            &no_env(),
        );
        assert!(
            errors.errors[0].fix.contains("`https://sso.example.com`"),
            "{errors}"
        );
        let yaml = MINIMAL.replace("https://sso.example.com\n", "'http://localhost:8080/'\n");
        let c = dir.ok(&yaml, &no_env());
        assert_eq!(c.public("/x"), "http://localhost:8080/x");
        assert!(!c.public_is_https());
    }

    fn account(redirect: &str) -> String {
        with(&format!(
            "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"12344\":\n      redirect_url: '{redirect}'\n"
        ))
    }

    fn freshworks_dir() -> Dir {
        let dir = Dir::new();
        dir.write("signing.key", "key");
        dir
    }

    #[test]
    fn a_redirect_url_with_user_info_is_rejected_without_quoting_it() {
        let dir = freshworks_dir();
        let errors = dir.err(
            &account("https://admin:hunter2@acme.myfreshworks.com/sp"),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec!["freshworks.accounts.12344.redirect_url"]
        );
        assert!(!errors.to_string().contains("hunter2"), "{errors}");
    }

    #[test]
    fn a_redirect_url_over_http_is_allowed_only_for_local_hosts() {
        let dir = freshworks_dir();
        let errors = dir.err(
            &account("http://acme.myfreshworks.com/sp/OIDC/12344/implicit"),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec!["freshworks.accounts.12344.redirect_url"]
        );
        assert!(
            errors.errors[0]
                .fix
                .contains("`https://acme.myfreshworks.com/sp/OIDC/12344/implicit`")
        );
        for ok in [
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://acme.freshworks.test/cb",
            "https://acme.myfreshworks.com/cb?x=1",
        ] {
            let c = dir.ok(&account(ok), &no_env());
            assert_eq!(
                c.freshworks.unwrap().accounts["12344"]
                    .redirect_url
                    .as_str(),
                ok
            );
        }
        for bad in [
            "https://acme.myfreshworks.com/cb#frag",
            "/sp/OIDC/12344/implicit",
            "javascript:alert(1)",
        ] {
            let errors = dir.err(&account(bad), &no_env());
            assert_eq!(
                keys(&errors),
                vec!["freshworks.accounts.12344.redirect_url"],
                "{bad}"
            );
        }
    }

    #[test]
    fn a_logout_redirect_url_follows_the_same_rules() {
        let dir = freshworks_dir();
        let yaml = format!(
            "{}      logout_redirect_url: http://acme.freshservice.com/\n",
            account("https://acme.myfreshworks.com/cb")
        );
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(
            keys(&errors),
            vec!["freshworks.accounts.12344.logout_redirect_url"]
        );
    }

    #[test]
    fn a_numeric_account_key_is_the_account_id() {
        let dir = freshworks_dir();
        let yaml = with(
            "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    12344: { redirect_url: https://a.example.com/cb }\n    abc: { redirect_url: https://b.example.com/cb }\n",
        );
        let c = dir.ok(&yaml, &no_env());
        let accounts = c.freshworks.unwrap().accounts;
        assert_eq!(accounts.keys().collect::<Vec<_>>(), ["12344", "abc"]);
        assert_eq!(accounts["12344"].id, "12344");
    }

    #[test]
    fn the_same_account_id_written_as_number_and_string_is_an_error() {
        let dir = freshworks_dir();
        let yaml = with(
            "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    12344: { redirect_url: https://a.example.com/cb }\n    '12344': { redirect_url: https://b.example.com/cb }\n",
        );
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(keys(&errors), vec!["freshworks.accounts.12344"]);
    }

    #[test]
    fn the_freshworks_section_needs_a_signing_key_and_an_account() {
        let dir = Dir::new();
        let errors = dir.err(&with("freshworks:\n  login_timeout: 5m\n"), &no_env());
        assert_eq!(
            keys(&errors),
            vec!["freshworks.signing_key_file", "freshworks.accounts"]
        );
        let errors = dir.err(
            &with("freshworks:\n  signing_key_file: nope.key\n  accounts: {}\n"),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec!["freshworks.signing_key_file", "freshworks.accounts"]
        );
        assert!(
            errors.errors[0]
                .problem
                .ends_with("nope.key does not exist")
        );
        assert_eq!(errors.errors[1].problem, "lists no account");
    }

    fn claims(yaml_claims: &str) -> String {
        format!(
            "{}  claims:\n{yaml_claims}",
            account("https://acme.myfreshworks.com/cb")
        )
    }

    #[test]
    fn claims_merge_with_the_defaults_and_accept_every_form() {
        let dir = freshworks_dir();
        let yaml = claims(
            "    sub: preferred_username\n    family_name: [family_name, { value: \"-\" }]\n    phone_number: address.phone\n    picture: { value: https://example.com/a.png }\n",
        );
        let c = dir.ok(&yaml, &no_env());
        let entries = c.freshworks.unwrap().claims.entries;
        let expected = vec![
            (
                "sub".to_string(),
                mapping(vec![path(&["preferred_username"])]),
            ),
            ("email".to_string(), mapping(vec![path(&["email"])])),
            (
                "given_name".to_string(),
                mapping(vec![path(&["given_name"]), path(&["name"])]),
            ),
            (
                "family_name".to_string(),
                mapping(vec![
                    path(&["family_name"]),
                    ClaimSource::Literal("-".into()),
                ]),
            ),
            (
                "phone_number".to_string(),
                mapping(vec![path(&["address", "phone"])]),
            ),
            (
                "picture".to_string(),
                mapping(vec![ClaimSource::Literal(
                    "https://example.com/a.png".into(),
                )]),
            ),
        ];
        assert_eq!(entries, expected);
    }

    #[test]
    fn claims_default_when_the_section_is_absent() {
        let dir = freshworks_dir();
        let c = dir.ok(&account("https://acme.myfreshworks.com/cb"), &no_env());
        let entries = c.freshworks.unwrap().claims.entries;
        let got: Vec<(String, ClaimMapping)> = entries;
        let expected: Vec<(String, ClaimMapping)> = FRESHWORKS_CLAIMS
            .iter()
            .map(|n| (n.to_string(), default_mapping(n)))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(
            expected[2].1,
            mapping(vec![path(&["given_name"]), path(&["name"])])
        );
        assert_eq!(expected[3].1, mapping(vec![path(&["family_name"])]));
    }

    #[test]
    fn bad_claim_mappings_are_reported_with_the_fix() {
        let dir = freshworks_dir();
        let yaml = claims(
            "    nickname: nick\n    emial: mail\n    email: []\n    given_name: ''\n    family_name: [a..b]\n    picture: { value: '' }\n",
        );
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(
            keys(&errors),
            vec![
                "freshworks.claims.nickname",
                "freshworks.claims.emial",
                "freshworks.claims.email",
                "freshworks.claims.given_name",
                "freshworks.claims.family_name",
                "freshworks.claims.picture",
            ],
            "{errors}"
        );
        assert!(
            errors.errors[0]
                .fix
                .contains("Freshworks ignores unknown claims")
        );
        assert!(errors.errors[1].fix.contains("Did you mean `email`?"));
        assert!(
            errors.errors[2..]
                .iter()
                .all(|e| e.fix.contains("{ value: \"-\" }"))
        );
    }

    #[test]
    fn a_login_timeout_outside_one_to_ten_minutes_is_rejected() {
        let dir = freshworks_dir();
        let base = account("https://acme.myfreshworks.com/cb");
        for bad in ["11m", "1h", "30s"] {
            let yaml = base.replace(
                "freshworks:\n",
                &format!("freshworks:\n  login_timeout: {bad}\n"),
            );
            let errors = dir.err(&yaml, &no_env());
            assert_eq!(keys(&errors), vec!["freshworks.login_timeout"], "{bad}");
            assert!(
                errors.errors[0].problem.contains("between 1m and 10m"),
                "{errors}"
            );
            assert!(
                errors.errors[0].fix.contains("nonce lives 10 minutes"),
                "{errors}"
            );
        }
        for ok in ["10m", "1m", "600"] {
            let yaml = base.replace(
                "freshworks:\n",
                &format!("freshworks:\n  login_timeout: {ok}\n"),
            );
            dir.ok(&yaml, &no_env());
        }
    }

    #[test]
    fn scopes_without_openid_are_rejected() {
        let dir = Dir::new();
        let errors = dir.err(&with("  scopes: [email, profile]\n"), &no_env());
        assert_eq!(keys(&errors), vec!["upstream.scopes"]);
        assert!(errors.errors[0].fix.contains("add `openid`"));
        let errors = dir.err(&with("  scopes: [openid, 'email profile']\n"), &no_env());
        assert_eq!(keys(&errors), vec!["upstream.scopes[1]"]);
        let c = dir.ok(&with("  scopes: [email, openid]\n"), &no_env());
        assert_eq!(c.upstream.scopes, ["email", "openid"]);
    }

    #[test]
    fn admin_listen_off_disables_the_admin_listener() {
        let dir = Dir::new();
        assert_eq!(
            dir.ok(&with("admin_listen: off\n"), &no_env()).admin_listen,
            None
        );
        assert_eq!(
            dir.ok(&with("admin_listen: false\n"), &no_env())
                .admin_listen,
            None
        );
        assert_eq!(
            dir.ok(&with("admin_listen: '[::1]:9000'\n"), &no_env())
                .admin_listen,
            Some("[::1]:9000".parse().unwrap())
        );
        let errors = dir.err(&with("admin_listen: 0.0.0.0:8443\n"), &no_env());
        assert_eq!(keys(&errors), vec!["admin_listen"]);
        let errors = dir.err(&with("admin_listen: nope\n"), &no_env());
        assert!(errors.errors[0].fix.contains("`off`"));
    }

    #[test]
    fn proxy_to_defaults_to_the_backchannel_then_to_the_issuer_origin() {
        let dir = Dir::new();
        let issuer = |s: &str| MINIMAL.replace("https://sso.example.com/realms/acme", s);

        let c = dir.ok(
            &issuer("https://sso.example.com:8443/realms/acme"),
            &no_env(),
        );
        assert_eq!(
            c.upstream.proxy_to.as_str(),
            "https://sso.example.com:8443/"
        );
        let c = dir.ok(
            &issuer("https://sso.example.com:443/realms/acme"),
            &no_env(),
        );
        assert_eq!(c.upstream.proxy_to.as_str(), "https://sso.example.com/");
        assert_eq!(c.upstream.issuer, "https://sso.example.com:443/realms/acme");

        let c = dir.ok(
            &with("  backchannel_url: http://keycloak:8080/\n"),
            &no_env(),
        );
        assert_eq!(c.upstream.proxy_to.as_str(), "http://keycloak:8080/");

        let c = dir.ok(
            &with("  backchannel_url: http://keycloak:8080\n  proxy_to: http://127.0.0.1:9000\n"),
            &no_env(),
        );
        assert_eq!(c.upstream.proxy_to.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(
            c.upstream.backchannel_url.unwrap().as_str(),
            "http://keycloak:8080/"
        );

        let errors = dir.err(
            &with("  proxy_to: http://127.0.0.1:9000/realms\n"),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["upstream.proxy_to"]);
        assert!(errors.errors[0].fix.contains("`http://127.0.0.1:9000`"));
    }

    #[test]
    fn the_issuer_is_kept_exactly_as_written() {
        let dir = Dir::new();
        let yaml = MINIMAL.replace(
            "https://sso.example.com/realms/acme",
            "https://SSO.example.com/realms/acme/",
        );
        let c = dir.ok(&yaml, &no_env());
        assert_eq!(c.upstream.issuer, "https://SSO.example.com/realms/acme/");
        assert_eq!(c.upstream.issuer_url.host_str(), Some("sso.example.com"));
        let yaml = MINIMAL.replace(
            "https://sso.example.com/realms/acme",
            "'https://sso.example.com/r?x=1'",
        );
        assert_eq!(keys(&dir.err(&yaml, &no_env())), vec!["upstream.issuer"]);
    }

    #[test]
    fn secrets_never_appear_in_messages_or_debug_output() {
        let dir = full_example_dir();
        let secret = "s3cr3t-value-9f8e7d";
        let env = MapEnv::new().with("FRESHGATE_CLIENT_SECRET", secret);
        let config = load(&dir.config(), &env).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains(secret), "{debug}");
        assert!(!debug.contains(COOKIE_KEY), "{debug}");

        // Problems around secrets: both forms, a malformed reference, a bad cookie key.
        let yaml = format!(
            "{}  client_secret_file: x\nsession:\n  cookie_key: '{secret}'\n",
            MINIMAL.replace("not-a-real-secret", &format!("'{secret}${{'"))
        );
        let errors = load_str(&yaml, &dir.config(), &env).unwrap_err();
        assert_eq!(
            keys(&errors),
            vec![
                "upstream.client_secret",
                "upstream.client_secret",
                "session.cookie_key"
            ],
            "{errors}"
        );
        let shown = format!("{errors}\n{errors:?}");
        assert!(!shown.contains(secret), "{shown}");

        let yaml = with(&format!("session:\n  cookie_key: '${{{secret}}}'\n"));
        let errors = load_str(&yaml, &dir.config(), &env).unwrap_err();
        assert_eq!(keys(&errors), vec!["session.cookie_key"]);
        assert!(
            !format!("{errors}\n{errors:?}").contains(secret),
            "{errors}"
        );
    }

    #[test]
    fn yaml_syntax_errors_give_line_and_column() {
        let dir = Dir::new();
        let errors = dir.err(
            "listen: 0.0.0.0:8443\nupstream:\n  issuer: a\n client_id: b\n",
            &no_env(),
        );
        assert_eq!(errors.errors.len(), 1);
        let e = &errors.errors[0];
        assert_eq!(e.key, "");
        assert!(e.problem.starts_with("not valid YAML: "), "{e}");
        assert!(e.problem.contains("(line 4, column"), "{e}");
        assert!(!e.problem.contains(" at line "), "{e}");

        let errors = dir.err("a: 1\na: 2\n", &no_env());
        assert!(errors.errors[0].problem.contains("duplicate"), "{errors}");
    }

    #[test]
    fn an_unreadable_file_is_one_problem_naming_the_file() {
        let dir = Dir::new();
        let missing = dir.0.join("missing.yaml");
        let errors = load(&missing, &no_env()).unwrap_err();
        assert_eq!(errors.file, missing);
        assert_eq!(errors.errors.len(), 1);
        assert_eq!(errors.errors[0].key, "");
        assert!(
            errors.errors[0]
                .problem
                .contains(&missing.display().to_string())
        );
        assert!(
            errors.errors[0].problem.ends_with("it does not exist"),
            "{errors}"
        );
        assert!(
            errors
                .to_string()
                .starts_with(&format!("{}: 1 problem\n", missing.display()))
        );

        let errors = load(&dir.0, &no_env()).unwrap_err();
        assert!(
            errors.errors[0].problem.ends_with("it is a directory"),
            "{errors}"
        );
    }

    #[test]
    fn an_empty_file_reports_every_required_key() {
        let dir = Dir::new();
        let errors = dir.err("", &no_env());
        assert_eq!(keys(&errors), vec!["listen", "public_url", "upstream"]);
        let errors = dir.err("upstream: {}\n", &no_env());
        assert_eq!(
            keys(&errors),
            vec![
                "listen",
                "public_url",
                "upstream.issuer",
                "upstream.client_id",
                "upstream.client_secret"
            ]
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_config_files_directory() {
        let dir = Dir::new();
        dir.write("etc/certs/a.crt", "c");
        dir.write("etc/certs/a.key", "k");
        let yaml = with("tls: { cert_file: certs/a.crt, key_file: certs/a.key }\n");
        let c = load_str(&yaml, &dir.0.join("etc/gateway.yaml"), &no_env()).unwrap();
        assert_eq!(
            c.tls.unwrap().key_file,
            std::path::absolute(dir.0.join("etc/certs/a.key")).unwrap()
        );

        let abs = dir.0.join("etc/certs/a.crt");
        let yaml = with(&format!(
            "tls: {{ cert_file: '{}', key_file: certs/a.key }}\n",
            abs.display()
        ));
        let errors = load_str(&yaml, &dir.0.join("gateway.yaml"), &no_env()).unwrap_err();
        assert_eq!(keys(&errors), vec!["tls.key_file"]);
        assert!(
            errors.errors[0]
                .fix
                .contains("remove the tls section to serve plain HTTP")
        );

        let errors = dir.err(
            &with("tls: { cert_file: etc, key_file: etc/certs/a.key }\n"),
            &no_env(),
        );
        assert!(
            errors.errors[0]
                .problem
                .ends_with("is a directory, not a file"),
            "{errors}"
        );
    }

    #[test]
    fn trusted_proxies_take_ranges_and_bare_addresses() {
        let dir = Dir::new();
        let c = dir.ok(
            &with("trusted_proxies: [10.1.2.3/8, 127.0.0.1, '::1']\n"),
            &no_env(),
        );
        let expected: Vec<IpNet> = ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(c.trusted_proxies, expected);
        let errors = dir.err(
            &with("trusted_proxies: [10.0.0.0/8, proxy.local, 10.0.0.0/33]\n"),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec!["trusted_proxies[1]", "trusted_proxies[2]"]
        );
    }

    #[test]
    fn limits_accept_sizes_and_durations_and_reject_nonsense() {
        let dir = Dir::new();
        let c = dir.ok(
            &with("limits: { max_header_bytes: 1MiB, max_connections: 1, shutdown_grace: 0 }\n"),
            &no_env(),
        );
        assert_eq!(c.limits.max_header_bytes, 1024 * 1024);
        assert_eq!(c.limits.max_connections, 1);
        assert_eq!(c.limits.shutdown_grace, Duration::ZERO);
        assert_eq!(
            dir.ok(&with("limits: { max_header_bytes: 2048 }\n"), &no_env())
                .limits
                .max_header_bytes,
            2048
        );
        assert_eq!(
            dir.ok(&with("limits: { max_header_bytes: 8 KiB }\n"), &no_env())
                .limits
                .max_header_bytes,
            8192
        );

        let errors = dir.err(
            &with("limits: { max_header_bytes: 512, max_connections: 0, idle_timeout: 0s, header_read_timeout: 1.5s, tls_handshake_timeout: 10 MB }\n"),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec![
                "limits.header_read_timeout",
                "limits.tls_handshake_timeout",
                "limits.idle_timeout",
                "limits.max_header_bytes",
                "limits.max_connections"
            ],
            "{errors}"
        );
        assert!(
            errors.errors[2].problem.contains("longer than zero"),
            "{errors}"
        );
        assert!(
            errors.errors[3].problem.contains("minimum of 1KiB"),
            "{errors}"
        );
    }

    #[test]
    fn log_settings_are_checked() {
        let dir = Dir::new();
        let c = dir.ok(
            &with(
                "log: { format: JSON, level: 'warn,freshgate::proxy=trace', access_log: 'yes' }\n",
            ),
            &no_env(),
        );
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.log.level, "warn,freshgate::proxy=trace");
        assert!(c.log.access_log);
        let errors = dir.err(
            &with("log: { format: xml, level: verbose, access_log: sometimes }\n"),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec!["log.format", "log.level", "log.access_log"]
        );
        assert!(check_log_level("freshgate[request{id=1}]=debug").is_ok());
        assert!(check_log_level("info,hyper=warning").is_err());
    }

    #[test]
    fn a_listen_address_without_a_host_gets_a_concrete_fix() {
        let dir = Dir::new();
        let errors = dir.err(&MINIMAL.replace("0.0.0.0:8443", "8443"), &no_env());
        assert_eq!(keys(&errors), vec!["listen"]);
        assert!(errors.errors[0].fix.contains("`0.0.0.0:8443`"));
        let errors = dir.err(
            &MINIMAL.replace("0.0.0.0:8443", "localhost:8443"),
            &no_env(),
        );
        assert!(errors.errors[0].fix.contains("not a host name"));
    }

    #[test]
    fn scalars_written_as_numbers_are_accepted_where_text_is_expected() {
        let dir = Dir::new();
        let c = dir.ok(
            &MINIMAL.replace("client_id: freshgate", "client_id: 12345"),
            &no_env(),
        );
        assert_eq!(c.upstream.client_id, "12345");
    }

    // ---- webchat ------------------------------------------------------------------------------------

    const WEBCHAT_SECRET: &str = "wc-s3cr3t-0123456789abcdef0123456789";

    /// `MINIMAL` plus a webchat section holding `body` (keys indented by two).
    fn webchat(body: &str) -> String {
        with(&format!("webchat:\n{body}"))
    }

    /// A webchat section with the two required keys and `extra` (keys indented by two).
    fn webchat_with(extra: &str) -> String {
        webchat(&format!(
            "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com]\n{extra}"
        ))
    }

    fn webchat_ok(dir: &Dir, yaml: &str) -> Webchat {
        dir.ok(yaml, &no_env())
            .webchat
            .expect("webchat is configured")
    }

    #[test]
    fn the_full_webchat_example_loads_into_the_expected_settings() {
        let dir = Dir::new();
        dir.write("secrets/webchat", &format!("{WEBCHAT_SECRET}\n"));
        let yaml = webchat(
            "  secret_file: secrets/webchat
  identify_by: unique_external_id
  unique_external_id: [employee_id, sub]
  email: mail
  ttl: 15m
  audience: [api://freshdesk, account]
  allowed_origins: [https://app.example.com, 'https://Support.Example.com:8443/', 'http://localhost:3000']
  contact_properties: { name: [name, { value: Agent }], phone: phone_number, cf_team: org.team }
  ticket_properties: { cf_plan: plan }
  widget:
    host: https://widget.example.com
    token: abc
    widget_id: 123
  session_ttl: 12h
",
        );
        let w = webchat_ok(&dir, &yaml);
        assert_eq!(w.secret.expose(), WEBCHAT_SECRET);
        assert_eq!(w.identify_by, IdentifyBy::UniqueExternalId);
        assert_eq!(w.identify_by.as_str(), "unique_external_id");
        assert_eq!(
            w.identity,
            mapping(vec![path(&["employee_id"]), path(&["sub"])])
        );
        assert_eq!(w.ttl, Duration::from_secs(900));
        assert_eq!(w.audience, ["api://freshdesk", "account"]);
        assert_eq!(
            w.allowed_origins,
            [
                "https://app.example.com",
                "https://support.example.com:8443",
                "http://localhost:3000"
            ]
        );
        assert_eq!(
            w.contact_properties,
            vec![
                (
                    "name".to_string(),
                    mapping(vec![path(&["name"]), ClaimSource::Literal("Agent".into())])
                ),
                ("phone".to_string(), mapping(vec![path(&["phone_number"])])),
                ("cf_team".to_string(), mapping(vec![path(&["org", "team"])])),
            ]
        );
        assert_eq!(
            w.ticket_properties,
            vec![("cf_plan".to_string(), mapping(vec![path(&["plan"])]))]
        );
        let widget = w.widget.as_ref().unwrap();
        assert_eq!(widget.host.as_str(), "https://widget.example.com/");
        assert_eq!(widget.token, "abc");
        assert_eq!(widget.widget_id, "123");
        assert_eq!(w.session_ttl, Duration::from_secs(12 * 3600));

        // With `identify_by: email` the `email` mapping is the identity.
        let yaml = yaml.replace("identify_by: unique_external_id", "identify_by: Email");
        assert_eq!(
            webchat_ok(&dir, &yaml).identity,
            mapping(vec![path(&["mail"])])
        );
    }

    #[test]
    fn only_a_secret_and_allowed_origins_give_every_webchat_default() {
        let dir = Dir::new();
        let w = webchat_ok(&dir, &webchat_with(""));
        assert_eq!(w.secret.expose(), WEBCHAT_SECRET);
        assert_eq!(w.identify_by, IdentifyBy::Email);
        assert_eq!(w.identity, mapping(vec![path(&["email"])]));
        assert_eq!(w.ttl, Duration::from_secs(600));
        assert!(w.audience.is_empty());
        assert_eq!(w.allowed_origins, ["https://app.example.com"]);
        assert_eq!(
            w.contact_properties,
            vec![
                ("name".to_string(), mapping(vec![path(&["name"])])),
                ("phone".to_string(), mapping(vec![path(&["phone_number"])])),
                ("language".to_string(), mapping(vec![path(&["locale"])])),
            ]
        );
        assert!(w.ticket_properties.is_empty());
        assert!(w.widget.is_none());
        assert_eq!(w.session_ttl, Duration::from_secs(8 * 3600));

        let w = webchat_ok(&dir, &webchat_with("  identify_by: unique_external_id\n"));
        assert_eq!(w.identity, mapping(vec![path(&["sub"])]));

        // Without webchat there is none; written empty, the section counts as absent.
        assert!(dir.ok(MINIMAL, &no_env()).webchat.is_none());
        assert!(dir.ok(&with("webchat:\n"), &no_env()).webchat.is_none());
    }

    #[test]
    fn empty_contact_properties_mean_none_and_a_bare_key_keeps_the_default() {
        let dir = Dir::new();
        let w = webchat_ok(&dir, &webchat_with("  contact_properties: {}\n"));
        assert!(w.contact_properties.is_empty());
        let w = webchat_ok(&dir, &webchat_with("  contact_properties:\n"));
        assert_eq!(w.contact_properties.len(), 3);
    }

    #[test]
    fn a_wildcard_origin_is_refused_with_the_reason() {
        let dir = Dir::new();
        for bad in ["'*'", "'https://*.example.com'"] {
            let yaml = webchat(&format!(
                "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com, {bad}]\n"
            ));
            let errors = dir.err(&yaml, &no_env());
            assert_eq!(keys(&errors), vec!["webchat.allowed_origins[1]"], "{bad}");
            assert_eq!(
                errors.errors[0].fix,
                "list each origin; a wildcard would let any site mint tokens for your users"
            );
        }
    }

    #[test]
    fn an_origin_with_a_path_query_fragment_or_user_info_is_refused() {
        let dir = Dir::new();
        for bad in [
            "https://app.example.com/chat",
            "https://app.example.com/?a=b",
            "https://app.example.com#top",
            "https://user:pw@app.example.com",
            "app.example.com",
            "ftp://app.example.com",
            "null",
        ] {
            let yaml = webchat(&format!(
                "  secret: {WEBCHAT_SECRET}\n  allowed_origins: ['{bad}']\n"
            ));
            let errors = dir.err(&yaml, &no_env());
            assert_eq!(keys(&errors), vec!["webchat.allowed_origins[0]"], "{bad}");
            assert!(!errors.errors[0].fix.is_empty());
        }
        let yaml = webchat(&format!(
            "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com/chat]\n"
        ));
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(
            errors.errors[0].fix,
            "write just the origin: `https://app.example.com`"
        );
    }

    #[test]
    fn an_http_origin_is_refused_on_a_public_host_and_allowed_on_local_ones() {
        let dir = Dir::new();
        let origins = |list: &str| {
            webchat(&format!(
                "  secret: {WEBCHAT_SECRET}\n  allowed_origins: {list}\n"
            ))
        };
        let errors = dir.err(&origins("[http://app.example.com]"), &no_env());
        assert_eq!(keys(&errors), vec!["webchat.allowed_origins[0]"]);
        assert_eq!(
            errors.errors[0].problem,
            "`http://app.example.com` uses http on a public host"
        );
        assert!(
            errors.errors[0]
                .fix
                .starts_with("use https (`https://app.example.com`)"),
            "{errors}"
        );
        let w = webchat_ok(
            &dir,
            &origins(
                "[http://localhost:3000, 'http://127.0.0.1:8080/', 'http://[::1]', http://shop.test, 'https://APP.example.com:443']",
            ),
        );
        assert_eq!(
            w.allowed_origins,
            [
                "http://localhost:3000",
                "http://127.0.0.1:8080",
                "http://[::1]",
                "http://shop.test",
                "https://app.example.com"
            ]
        );
    }

    #[test]
    fn missing_empty_or_repeated_allowed_origins_are_errors() {
        let dir = Dir::new();
        let errors = dir.err(
            &webchat(&format!("  secret: {WEBCHAT_SECRET}\n")),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["webchat.allowed_origins"]);
        assert_eq!(errors.errors[0].problem, "is required but not set");
        assert!(errors.errors[0].fix.contains("allowed_origins: [https://"));

        let errors = dir.err(
            &webchat(&format!(
                "  secret: {WEBCHAT_SECRET}\n  allowed_origins: []\n"
            )),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["webchat.allowed_origins"]);
        assert_eq!(errors.errors[0].problem, "lists no origin");

        let errors = dir.err(
            &webchat(&format!(
                "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://a.example.com, 'https://A.example.com:443/']\n"
            )),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["webchat.allowed_origins[1]"]);
        assert!(errors.errors[0].problem.contains("already listed"));
    }

    #[test]
    fn both_missing_or_empty_webchat_secrets_are_errors() {
        let dir = Dir::new();
        dir.write("secret", WEBCHAT_SECRET);
        let errors = dir.err(&webchat_with("  secret_file: secret\n"), &no_env());
        assert_eq!(keys(&errors), vec!["webchat.secret"]);
        assert_eq!(
            errors.errors[0].problem,
            "both secret and secret_file are set"
        );
        assert_eq!(
            errors.errors[0].fix,
            "keep only one of webchat.secret and webchat.secret_file"
        );

        let errors = dir.err(
            &webchat("  allowed_origins: [https://app.example.com]\n"),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["webchat.secret"]);
        assert!(errors.errors[0].fix.contains("secret_file"), "{errors}");

        let errors = dir.err(
            &webchat("  secret: ''\n  allowed_origins: [https://app.example.com]\n"),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["webchat.secret"]);
        assert_eq!(errors.errors[0].problem, "is empty");

        dir.write("empty", "\n");
        let errors = dir.err(
            &webchat("  secret_file: empty\n  allowed_origins: [https://app.example.com]\n"),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["webchat.secret_file"]);

        // A short secret is accepted (the gateway warns about it at start-up).
        let w = webchat_ok(
            &dir,
            &webchat("  secret: short\n  allowed_origins: [https://app.example.com]\n"),
        );
        assert_eq!(w.secret.expose(), "short");

        let errors = dir.err(
            &webchat(
                "  secret: ${FRESHDESK_WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com]\n",
            ),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["webchat.secret"]);
        assert_eq!(
            errors.errors[0].fix,
            "export FRESHDESK_WEBCHAT_SECRET, or set webchat.secret_file to a file holding the secret"
        );
    }

    #[test]
    fn an_unknown_identify_by_lists_the_two_values() {
        let dir = Dir::new();
        let errors = dir.err(&webchat_with("  identify_by: phone\n"), &no_env());
        assert_eq!(keys(&errors), vec!["webchat.identify_by"]);
        assert!(errors.errors[0].problem.contains("`phone`"));
        assert!(
            errors.errors[0]
                .fix
                .starts_with("use `email` or `unique_external_id`"),
            "{errors}"
        );
    }

    #[test]
    fn webchat_lifetimes_outside_their_ranges_are_refused() {
        let dir = Dir::new();
        for (key, bad, range) in [
            ("ttl", "5s", "between 10s and 24h"),
            ("ttl", "25h", "between 10s and 24h"),
            ("session_ttl", "30s", "between 1m and 168h"),
            ("session_ttl", "169h", "between 1m and 168h"),
        ] {
            let errors = dir.err(&webchat_with(&format!("  {key}: {bad}\n")), &no_env());
            assert_eq!(keys(&errors), vec![format!("webchat.{key}")], "{bad}");
            assert!(errors.errors[0].problem.contains(range), "{errors}");
            assert!(
                errors.errors[0].fix.contains(&format!("`{key}: ")),
                "{errors}"
            );
        }
        for (key, ok) in [
            ("ttl", "10s"),
            ("ttl", "24h"),
            ("session_ttl", "1m"),
            ("session_ttl", "168h"),
        ] {
            webchat_ok(&dir, &webchat_with(&format!("  {key}: {ok}\n")));
        }
        let errors = dir.err(&webchat_with("  ttl: soon\n"), &no_env());
        assert!(errors.errors[0].problem.contains("is not a duration"));
    }

    #[test]
    fn a_property_name_outside_letters_digits_and_underscores_is_refused() {
        let dir = Dir::new();
        let errors = dir.err(
            &webchat_with(
                "  contact_properties: { 'full name': name, cf_ok: x }\n  ticket_properties: { cf-plan: plan, '': x }\n",
            ),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec![
                "webchat.contact_properties.full name",
                "webchat.ticket_properties.cf-plan",
                "webchat.ticket_properties.",
            ],
            "{errors}"
        );
        assert!(errors.errors[0].fix.contains("`cf_plan`"));
        assert_eq!(errors.errors[2].problem, "the property name is empty");
    }

    #[test]
    fn bad_property_mappings_are_reported_like_claim_mappings() {
        let dir = Dir::new();
        let errors = dir.err(
            &webchat_with(
                "  contact_properties: { name: [], phone: a..b, cf_x: { valu: x } }\n  email: ''\n  1: x\n",
            ),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec![
                "webchat.1",
                "webchat.contact_properties.cf_x.valu",
                "webchat.email",
                "webchat.contact_properties.name",
                "webchat.contact_properties.phone",
            ],
            "{errors}"
        );
        assert!(errors.errors[3].fix.contains("{ value: \"-\" }"));
        assert!(
            errors.errors[3]
                .fix
                .ends_with("remove the property to leave it out")
        );
        assert!(
            errors.errors[2]
                .fix
                .ends_with("remove the key to keep the default")
        );

        let errors = dir.err(&webchat_with("  ticket_properties: [a]\n"), &no_env());
        assert_eq!(keys(&errors), vec!["webchat.ticket_properties"]);
        assert!(
            errors.errors[0]
                .fix
                .contains("ticket_properties: { cf_plan: plan }")
        );
    }

    #[test]
    fn an_unknown_key_in_webchat_is_reported_with_a_suggestion() {
        let dir = Dir::new();
        let errors = dir.err(
            &webchat_with(
                "  allowed_origin: x\n  identifyby: email\n  widget: { host: https://w.example.com, token: t, widget_id: 1, widgetid: 2 }\n",
            ),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec![
                "webchat.allowed_origin",
                "webchat.identifyby",
                "webchat.widget.widgetid"
            ],
            "{errors}"
        );
        assert_eq!(
            errors.errors[0].fix,
            "remove it, or did you mean `allowed_origins`?"
        );
        assert_eq!(
            errors.errors[1].fix,
            "remove it, or did you mean `identify_by`?"
        );
        assert_eq!(
            errors.errors[2].fix,
            "remove it, or did you mean `widget_id`?"
        );

        let errors = dir.err(
            &with("allowed_origins: [https://a.example.com]\n"),
            &no_env(),
        );
        assert_eq!(errors.errors[0].fix, "move it under `webchat:`");
    }

    #[test]
    fn the_widget_needs_host_token_and_id_and_reads_a_numeric_id_as_text() {
        let dir = Dir::new();
        let errors = dir.err(&webchat_with("  widget: {}\n"), &no_env());
        assert_eq!(
            keys(&errors),
            vec![
                "webchat.widget.host",
                "webchat.widget.token",
                "webchat.widget.widget_id"
            ]
        );
        let errors = dir.err(
            &webchat_with(
                "  widget: { host: 'http://widget.example.com', token: ' ', widget_id: 7 }\n",
            ),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec!["webchat.widget.host", "webchat.widget.token"]
        );
        assert!(errors.errors[0].problem.contains("http on a public host"));
        let w = webchat_ok(
            &dir,
            &webchat_with(
                "  widget: { host: 'http://widget.test:8080', token: tok, widget_id: 123 }\n",
            ),
        );
        let widget = w.widget.unwrap();
        assert_eq!(widget.host.as_str(), "http://widget.test:8080/");
        assert_eq!(widget.widget_id, "123");
        // YAML reads a leading zero as text, so the id is kept as written.
        let w = webchat_ok(
            &dir,
            &webchat_with("  widget: { host: https://w.example.com, token: t, widget_id: 0123 }\n"),
        );
        assert_eq!(w.widget.unwrap().widget_id, "0123");
        let debug = format!("{widget:?}");
        assert!(!debug.contains("tok\""), "{debug}");
    }

    #[test]
    fn audience_values_are_kept_and_blank_ones_refused() {
        let dir = Dir::new();
        let w = webchat_ok(&dir, &webchat_with("  audience: [freshgate]\n"));
        assert_eq!(w.audience, ["freshgate"]);
        let errors = dir.err(&webchat_with("  audience: [a, '', ' b']\n"), &no_env());
        assert_eq!(
            keys(&errors),
            vec!["webchat.audience[1]", "webchat.audience[2]"]
        );
    }

    #[test]
    fn every_webchat_problem_is_reported_at_once() {
        let dir = Dir::new();
        let errors = dir.err(
            &webchat(
                "  identify_by: id\n  ttl: 0\n  allowed_origins: ['*']\n  contact_properties: { a.b: x }\n  session_ttl: 8d\n",
            ),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec![
                "webchat.secret",
                "webchat.identify_by",
                "webchat.ttl",
                "webchat.allowed_origins[0]",
                "webchat.contact_properties.a.b",
                "webchat.session_ttl",
            ],
            "{errors}"
        );
        assert!(errors.errors.iter().all(|e| !e.fix.is_empty()));
    }

    #[test]
    fn the_webchat_secret_never_appears_in_messages_or_debug_output() {
        let dir = Dir::new();
        let config = dir.ok(&webchat_with(""), &no_env());
        let debug = format!("{config:?}");
        assert!(!debug.contains(WEBCHAT_SECRET), "{debug}");
        assert!(debug.contains("webchat: Some(Webchat"), "{debug}");

        let env = MapEnv::new().with("WC", WEBCHAT_SECRET);
        dir.write("secret", WEBCHAT_SECRET);
        for body in [
            format!("  secret: '{WEBCHAT_SECRET}'\n  secret_file: secret\n"),
            format!("  secret: '{WEBCHAT_SECRET}${{'\n"),
            format!("  secret: '${{{WEBCHAT_SECRET}}}'\n"),
            "  secret: ${WC}\n  secret_file: secret\n".to_owned(),
            format!(
                "  secret: {WEBCHAT_SECRET}\n  widget: {{ host: https://w.example.com, token: {WEBCHAT_SECRET}, widget_id: 1 }}\n  ttl: 1s\n"
            ),
        ] {
            let yaml = webchat(&format!("{body}  allowed_origins: ['*']\n"));
            let errors = load_str(&yaml, &dir.config(), &env).unwrap_err();
            assert!(keys(&errors).contains(&"webchat.allowed_origins[0]"));
            let shown = format!("{errors}\n{errors:?}");
            assert!(!shown.contains(WEBCHAT_SECRET), "{shown}");
        }
    }

    #[test]
    fn yaml_anchors_and_merge_keys_work() {
        let dir = freshworks_dir();
        let yaml = with(
            "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"1\": &acct { redirect_url: https://a.example.com/cb }\n    \"2\":\n      <<: *acct\n      logout_redirect_url: https://a.example.com/\n",
        );
        let c = dir.ok(&yaml, &no_env());
        let accounts = c.freshworks.unwrap().accounts;
        assert_eq!(
            accounts["2"].redirect_url.as_str(),
            "https://a.example.com/cb"
        );
    }
}
