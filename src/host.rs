//! Which names the gateway answers for: the host of `public_url`, plus `allowed_hosts`.
//!
//! A request for any other `Host` (or HTTP/2 `:authority`) gets a 421 page (RFC 9110 §15.5.20) instead of
//! reaching the provider. Passthrough forwards the browser's `Host` so the provider builds its links from it;
//! a provider that is not pinned to its public name (Keycloak without `KC_HOSTNAME`) would otherwise put a
//! name chosen by whoever sent the request into password-reset mails and redirects (host header poisoning).
//! A gateway's own pages are also only useful on its public name: cookies set on another name never come
//! back to the callback.

use http::Request;
use url::Url;

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

    /// True when the request names a host this gateway answers for.
    pub fn accepts<B>(&self, request: &Request<B>) -> bool {
        let Some(names) = &self.names else {
            return true;
        };
        let authority = request.uri().authority().map(|a| a.as_str()).or_else(|| {
            request
                .headers()
                .get(http::header::HOST)
                .and_then(|value| value.to_str().ok())
        });
        let Some((host, port)) = authority.and_then(split_authority) else {
            return false;
        };
        // Host names compare without case and without a trailing dot (RFC 9110 §4.2.3).
        let host = host.trim_end_matches('.');
        let port = port.unwrap_or(self.default_port);
        names.iter().any(|name| {
            name.host.eq_ignore_ascii_case(host) && name.port.is_none_or(|wanted| wanted == port)
        })
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
            assert!(h.accepts(&request(ok)), "{ok}");
        }
        for refused in [
            "evil.example",
            "sso.example.com:8443",
            "sso.example.com.evil.example",
            "user@sso.example.com",
            "sso.example.com:x",
            "sso.example.com/x",
            "::1",
            "",
        ] {
            assert!(!h.accepts(&request(refused)), "{refused}");
        }
    }

    #[test]
    fn an_explicit_public_port_must_be_named_and_allowed_hosts_add_names() {
        let h = hosts("http://localhost:8080", &["sso.internal", "10.0.0.5:8443"]);
        assert!(h.accepts(&request("localhost:8080")));
        assert!(!h.accepts(&request("localhost")));
        assert!(
            h.accepts(&request("sso.internal:1234")),
            "no port: any port"
        );
        assert!(h.accepts(&request("10.0.0.5:8443")));
        assert!(!h.accepts(&request("10.0.0.5:9000")));
        let v6 = hosts("http://[::1]:8080", &[]);
        assert!(v6.accepts(&request("[::1]:8080")));
        assert!(!v6.accepts(&request("[::2]:8080")));
    }

    #[test]
    fn an_http2_authority_counts_like_a_host_header_and_a_missing_one_is_refused() {
        let h = hosts("https://sso.example.com", &[]);
        let h2 = Request::builder()
            .uri("https://sso.example.com/realms/acme")
            .body(())
            .unwrap();
        assert!(h.accepts(&h2));
        let none = Request::builder().uri("/").body(()).unwrap();
        assert!(!h.accepts(&none));
        assert!(Hosts::new(&"https://a.example".parse().unwrap(), &[], true).accepts(&none));
    }
}
