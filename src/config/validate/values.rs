//! Checks of single values the sections share: addresses, booleans, durations, sizes, log levels and URLs.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use url::Url;

use super::Validator;
use crate::config::duration;
use crate::config::raw::Field;

impl Validator {
    // ---- scalars ------------------------------------------------------------------------------------

    pub(super) fn socket_addr(&mut self, key: &str, s: &str) -> Option<SocketAddr> {
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

    pub(super) fn bool(&mut self, key: &str, field: &Field<String>, default: bool) -> Option<bool> {
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
    /// A whole number of at least `min`; `example` is a valid setting shown in the fix.
    pub(super) fn count(
        &mut self,
        key: &str,
        field: &Field<String>,
        default: usize,
        min: usize,
        example: &str,
    ) -> Option<usize> {
        match field {
            Field::Absent => Some(default),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().parse::<usize>() {
                Ok(n) if n >= min => Some(n),
                _ => {
                    self.push(
                        key,
                        format!("`{s}` is not a whole number of at least {min}"),
                        format!("write a whole number, e.g. `{example}`"),
                    );
                    None
                }
            },
        }
    }

    pub(super) fn duration(
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
    pub(super) fn timeout(
        &mut self,
        key: &str,
        field: &Field<String>,
        default: Duration,
    ) -> Option<Duration> {
        self.duration(key, field, default, Duration::from_millis(1), None, "")
    }

    // ---- URLs ---------------------------------------------------------------------------------------

    /// An absolute http(s) URL with a host and no user info. Reports and returns `None` otherwise.
    pub(super) fn http_url(&mut self, key: &str, s: &str, example: &str) -> Option<Url> {
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
    pub(super) fn origin_url(&mut self, key: &str, s: &str, example: &str) -> Option<Url> {
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

    /// `url` (written `s`) when it is https or its host is a local one; reported otherwise.
    pub(super) fn https_unless_local(&mut self, key: &str, s: &str, url: Url) -> Option<Url> {
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
}

/// `scheme://host[:port]` of an http(s) URL.
pub(super) fn origin_of(url: &Url) -> Option<Url> {
    Url::parse(&url.origin().ascii_serialization()).ok()
}

/// True for hosts that are this machine or never public: `localhost`, `*.localhost`, loopback addresses, and
/// `.test` names (RFC 6761 §6.2, reserved for testing).
pub(crate) fn is_local_host(url: &Url) -> bool {
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
pub(super) fn parse_size(s: &str) -> Option<usize> {
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
pub(super) fn check_log_level(s: &str) -> Result<(), String> {
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
