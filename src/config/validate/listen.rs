//! The serving sections: `public_url`, `tls`, `admin_listen`, `trusted_proxies`, `log` and `limits`.
//! (`listen` itself is one address, checked by `Validator::socket_addr`.)

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use super::Validator;
use super::values::{check_log_level, parse_size};
use crate::config::raw::{Field, RawLimits, RawLog, RawTls};
use crate::config::types::{Limits, LogConfig, LogFormat, TlsFiles};
use crate::host::HostName;

/// A delay past this is a typo (`5m` for `5s`): every restart and rollout would wait that long.
const MAX_SHUTDOWN_DELAY: Duration = Duration::from_secs(300);

impl Validator {
    pub(super) fn public_url(&mut self, s: &str) -> Option<Url> {
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

    pub(super) fn tls(&mut self, raw: &RawTls) -> Option<TlsFiles> {
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

    pub(super) fn admin_listen(
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

    pub(super) fn trusted_proxies(&mut self, field: &Field<Vec<String>>) -> Option<Vec<IpNet>> {
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

    /// `allowed_hosts`: `host` or `host:port` names, or `["*"]` for any.
    pub(super) fn allowed_hosts(
        &mut self,
        field: &Field<Vec<String>>,
    ) -> Option<Option<Vec<HostName>>> {
        let items = match field {
            Field::Absent => return Some(Some(Vec::new())),
            Field::Invalid => return None,
            Field::Set(items) => items,
        };
        if items.iter().any(|s| s.trim() == "*") {
            if items.len() > 1 {
                self.push(
                    "allowed_hosts",
                    "lists `*` beside other names",
                    "write either `[\"*\"]` (any name) or the names, not both",
                );
                return None;
            }
            return Some(None);
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, s) in items.iter().enumerate() {
            match HostName::parse(s) {
                Some(name) => out.push(name),
                None => {
                    ok = false;
                    self.push(
                        &format!("allowed_hosts[{i}]"),
                        format!("`{s}` is not a host name or host:port"),
                        "write a name as browsers send it in `Host` (`sso.internal.example.com`, `10.0.0.5:8443`), \
                         without a scheme or path",
                    );
                }
            }
        }
        ok.then_some(Some(out))
    }

    pub(super) fn log(&mut self, raw: &RawLog) -> Option<LogConfig> {
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

    pub(super) fn limits(&mut self, raw: &RawLimits) -> Option<Limits> {
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
        let shutdown_delay = self.duration(
            "limits.shutdown_delay",
            &raw.shutdown_delay,
            d.shutdown_delay,
            Duration::ZERO,
            Some(MAX_SHUTDOWN_DELAY),
            "",
        );
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
        let max_connections = self.count(
            "limits.max_connections",
            &raw.max_connections,
            d.max_connections,
            1,
            "max_connections: 10000",
        );
        let max_connections_per_ip = self.count(
            "limits.max_connections_per_ip",
            &raw.max_connections_per_ip,
            d.max_connections_per_ip,
            0,
            "max_connections_per_ip: 0 (off, the default) or a cap such as 6000 (about six per browser behind the busiest NAT address)",
        );
        let max_connection_age = self.timeout(
            "limits.max_connection_age",
            &raw.max_connection_age,
            d.max_connection_age,
        );
        let max_concurrent_streams = self.count(
            "limits.max_concurrent_streams",
            &raw.max_concurrent_streams,
            d.max_concurrent_streams as usize,
            1,
            "max_concurrent_streams: 100",
        );
        let max_upstream_requests = self.count(
            "limits.max_upstream_requests",
            &raw.max_upstream_requests,
            d.max_upstream_requests,
            1,
            "max_upstream_requests: 1024",
        );
        let max_upstream_requests_per_connection = self.count(
            "limits.max_upstream_requests_per_connection",
            &raw.max_upstream_requests_per_connection,
            d.max_upstream_requests_per_connection,
            1,
            "max_upstream_requests_per_connection: 32",
        );
        let max_upstream_connections = self.count(
            "limits.max_upstream_connections",
            &raw.max_upstream_connections,
            d.max_upstream_connections,
            1,
            "max_upstream_connections: 128",
        );
        let worker_threads = self.count(
            "limits.worker_threads",
            &raw.worker_threads,
            d.worker_threads,
            1,
            "worker_threads: 2 (the default is the number of cores)",
        );
        Some(Limits {
            header_read_timeout: header_read_timeout?,
            tls_handshake_timeout: tls_handshake_timeout?,
            idle_timeout: idle_timeout?,
            max_header_bytes: max_header_bytes?,
            max_connections: max_connections?,
            max_connections_per_ip: max_connections_per_ip?,
            max_connection_age: max_connection_age?,
            max_concurrent_streams: u32::try_from(max_concurrent_streams?).unwrap_or(u32::MAX),
            max_upstream_requests: max_upstream_requests?,
            max_upstream_connections: max_upstream_connections?,
            max_upstream_requests_per_connection: max_upstream_requests_per_connection?,
            shutdown_delay: shutdown_delay?,
            shutdown_grace: shutdown_grace?,
            worker_threads: worker_threads?,
        })
    }
}
