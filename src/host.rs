//! Which names the gateway answers for: the host of `public_url`, plus `allowed_hosts`.
//!
//! A request for any other `Host` (or HTTP/2 `:authority`) gets a 421 page (RFC 9110 §15.5.20) instead of
//! reaching the provider. Passthrough forwards the browser's `Host` so the provider builds its links from it;
//! a provider that is not pinned to its public name (Keycloak without `KC_HOSTNAME`) would otherwise put a
//! name chosen by whoever sent the request into password-reset mails and redirects (host header poisoning).
//! A gateway's own pages are also only useful on its public name: cookies set on another name never come
//! back to the callback.
//!
//! The name checked is the one forwarded: a request whose `Host` disagrees with its target's authority
//! (HTTP/1.1 absolute form, RFC 9112 §3.2.2) or with HTTP/2's `:authority` (RFC 9113 §8.3.1) is refused, as is
//! one with several `Host` fields or one that is not a host (RFC 9112 §3.2), so the provider can never be
//! handed a name other than the one this check accepted.

use http::Request;
use http::header::{self, HeaderValue};
use url::Url;

use crate::metrics::Refusal;

/// One accepted name: a host, and the port it must come with (`None`: any port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName {
    pub host: String,
    pub port: Option<u16>,
}

impl HostName {
    /// Parses `host` or `host:port` (`[v6]:port` for IPv6); `None` when it is neither.
    pub fn parse(text: &str) -> Option<HostName> {
        let (host, port) = split_authority(text.trim())?;
        Some(HostName {
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port,
        })
    }
}

/// `host[:port]` split without allocating (this runs on every request). `None` for anything else: user
/// info, a path, spaces, an unbracketed IPv6 address, a bad port, an empty host.
fn split_authority(text: &str) -> Option<(&str, Option<u16>)> {
    if text.is_empty()
        || text.bytes().any(|b| {
            matches!(b, b'@' | b'/' | b'?' | b'#' | b'\\')
                || b.is_ascii_whitespace()
                || b.is_ascii_control()
        })
    {
        return None;
    }
    let (host, port) = if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, rest) = text.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match text.split_once(':') {
            None => (text, None),
            Some((host, port)) => (host, Some(port)),
        }
    };
    let port = match port {
        None => None,
        Some(port) => Some(port.parse::<u16>().ok()?),
    };
    let bare = host.trim_end_matches('.');
    (!bare.is_empty() && !bare.contains(':') || host.starts_with('[')).then_some((host, port))
}

#[derive(Debug, Clone)]
pub struct Hosts {
    /// `None`: every name is accepted (`allowed_hosts: ["*"]`).
    names: Option<Vec<HostName>>,
    /// The port a request without one is taken to use: the default port of `public_url`'s scheme.
    default_port: u16,
}

impl Hosts {
    pub fn new(public_url: &Url, allowed: &[HostName], any: bool) -> Hosts {
        let default_port = if public_url.scheme() == "https" {
            443
        } else {
            80
        };
        let public = HostName {
            host: public_url
                .host_str()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            port: Some(public_url.port().unwrap_or(default_port)),
        };
        let names = (!any).then(|| {
            std::iter::once(public)
                .chain(allowed.iter().cloned())
                .collect()
        });
        Hosts {
            names,
            default_port,
        }
    }

    /// The host the request is for, as the value to forward in `Host` and `X-Forwarded-Host`, once it is
    /// known to be one this gateway answers for. `None` only for a request that names no host at all while
    /// every name is accepted (`allowed_hosts: ["*"]`).
    pub fn check<B>(&self, request: &Request<B>) -> Result<Option<HeaderValue>, Refusal> {
        let mut fields = request.headers().get_all(header::HOST).iter();
        let field = fields.next();
        if fields.next().is_some() {
            return Err(Refusal::BadHost);
        }
        let from_field = match field {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(split_authority)
                    .ok_or(Refusal::BadHost)?,
            ),
        };
        let (value, (host, port)) = match (request.uri().authority(), field) {
            (Some(authority), _) => {
                let parts = split_authority(authority.as_str()).ok_or(Refusal::BadHost)?;
                if let Some(named) = from_field
                    && !self.same(named, parts)
                {
                    return Err(Refusal::ConflictingHost);
                }
                let value =
                    HeaderValue::from_str(authority.as_str()).map_err(|_| Refusal::BadHost)?;
                (value, parts)
            }
            (None, Some(value)) => (value.clone(), from_field.ok_or(Refusal::BadHost)?),
            (None, None) if self.names.is_none() => return Ok(None),
            (None, None) => return Err(Refusal::MisdirectedRequest),
        };
        if !self.serves(host, port) {
            return Err(Refusal::MisdirectedRequest);
        }
        Ok(Some(value))
    }

    /// True when `text` (`host[:port]`, e.g. from a trusted proxy's `X-Forwarded-Host`) names a host this
    /// gateway answers for.
    pub fn accepts_name(&self, text: &str) -> bool {
        split_authority(text.trim()).is_some_and(|(host, port)| self.serves(host, port))
    }

    fn serves(&self, host: &str, port: Option<u16>) -> bool {
        let Some(names) = &self.names else {
            return true;
        };
        // Host names compare without case and without a trailing dot (RFC 9110 §4.2.3).
        let host = host.trim_end_matches('.');
        let port = port.unwrap_or(self.default_port);
        names.iter().any(|name| {
            name.host.eq_ignore_ascii_case(host) && name.port.is_none_or(|wanted| wanted == port)
        })
    }

    fn same(&self, a: (&str, Option<u16>), b: (&str, Option<u16>)) -> bool {
        a.0.trim_end_matches('.')
            .eq_ignore_ascii_case(b.0.trim_end_matches('.'))
            && a.1.unwrap_or(self.default_port) == b.1.unwrap_or(self.default_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: &str) -> Request<()> {
        Request::builder()
            .uri("/realms/acme")
            .header("host", host)
            .body(())
            .unwrap()
    }

    fn hosts(public: &str, allowed: &[&str]) -> Hosts {
        let allowed: Vec<HostName> = allowed
            .iter()
            .map(|h| HostName::parse(h).unwrap())
            .collect();
        Hosts::new(&public.parse().unwrap(), &allowed, false)
    }

    #[test]
    fn the_public_name_is_accepted_with_or_without_its_default_port_and_in_any_case() {
        let h = hosts("https://sso.example.com", &[]);
        for ok in [
            "sso.example.com",
            "SSO.Example.COM",
            "sso.example.com:443",
            "sso.example.com.",
        ] {
            assert_eq!(
                h.check(&request(ok)),
                Ok(Some(HeaderValue::from_static(ok))),
                "{ok}"
            );
        }
        for refused in [
            "evil.example",
            "sso.example.com:8443",
            "sso.example.com.evil.example",
        ] {
            assert_eq!(
                h.check(&request(refused)),
                Err(Refusal::MisdirectedRequest),
                "{refused}"
            );
        }
        for malformed in [
            "user@sso.example.com",
            "sso.example.com:x",
            "sso.example.com/x",
            "::1",
            "",
        ] {
            assert_eq!(
                h.check(&request(malformed)),
                Err(Refusal::BadHost),
                "{malformed}"
            );
        }
    }

    #[test]
    fn an_explicit_public_port_must_be_named_and_allowed_hosts_add_names() {
        let h = hosts("http://localhost:8080", &["sso.internal", "10.0.0.5:8443"]);
        assert!(accepts(&h, &request("localhost:8080")));
        assert!(!accepts(&h, &request("localhost")));
        assert!(
            accepts(&h, &request("sso.internal:1234")),
            "no port: any port"
        );
        assert!(accepts(&h, &request("10.0.0.5:8443")));
        assert!(!accepts(&h, &request("10.0.0.5:9000")));
        let v6 = hosts("http://[::1]:8080", &[]);
        assert!(accepts(&v6, &request("[::1]:8080")));
        assert!(!accepts(&v6, &request("[::2]:8080")));
    }

    #[test]
    fn an_http2_authority_counts_like_a_host_header_and_a_missing_one_is_refused() {
        let h = hosts("https://sso.example.com", &[]);
        let h2 = Request::builder()
            .uri("https://sso.example.com/realms/acme")
            .body(())
            .unwrap();
        assert!(accepts(&h, &h2));
        let none = Request::builder().uri("/").body(()).unwrap();
        assert_eq!(h.check(&none), Err(Refusal::MisdirectedRequest));
        let any = Hosts::new(&"https://a.example".parse().unwrap(), &[], true);
        assert_eq!(any.check(&none), Ok(None));
    }

    fn accepts(hosts: &Hosts, request: &Request<()>) -> bool {
        hosts.check(request).is_ok()
    }

    #[test]
    fn a_host_field_that_disagrees_with_the_authority_is_refused_even_when_any_name_is_allowed() {
        for hosts in [
            hosts("https://sso.example.com", &[]),
            Hosts::new(&"https://sso.example.com".parse().unwrap(), &[], true),
        ] {
            let conflicting = Request::builder()
                .uri("https://sso.example.com/realms/acme")
                .header("host", "evil.example")
                .body(())
                .unwrap();
            assert_eq!(hosts.check(&conflicting), Err(Refusal::ConflictingHost));
            let agreeing = Request::builder()
                .uri("https://sso.example.com/realms/acme")
                .header("host", "SSO.example.com:443")
                .body(())
                .unwrap();
            assert_eq!(
                hosts.check(&agreeing),
                Ok(Some(HeaderValue::from_static("sso.example.com")))
            );
            let twice = Request::builder()
                .uri("/")
                .header("host", "sso.example.com")
                .header("host", "evil.example")
                .body(())
                .unwrap();
            assert_eq!(hosts.check(&twice), Err(Refusal::BadHost));
        }
    }

    #[test]
    fn forwarded_names_are_checked_like_host() {
        let h = hosts("https://sso.example.com", &["sso.internal"]);
        assert!(h.accepts_name("sso.example.com"));
        assert!(h.accepts_name(" sso.internal:8443 "));
        assert!(!h.accepts_name("evil.example"));
        assert!(!h.accepts_name("sso.example.com@evil.example"));
    }
}
