//! Header handling on the way through: hop-by-hop removal, forwarding headers, the gateway's own cookies.

use std::net::IpAddr;

use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};
use ipnet::IpNet;

/// Prefix of every cookie the gateway sets (after an optional `__Host-` / `__Secure-` prefix).
pub const GATEWAY_COOKIE_PREFIX: &str = "freshgate";

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Removes the hop-by-hop fields of RFC 9110 §7.6.1: `Connection` itself, every field it names, and the
/// fields that are hop-by-hop by definition (`Keep-Alive`, `Proxy-Connection`, `TE`, `Transfer-Encoding`,
/// `Upgrade`, `Trailer`), plus `Proxy-Authorization`, which is meant for us and must not leak upstream.
///
/// When `upgrade` is true (a WebSocket or other HTTP/1.1 upgrade being tunnelled) the `Upgrade` field is kept
/// and `Connection: upgrade` is restored, because the upgrade must reach the next hop to happen at all.
pub fn remove_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
            .collect();
        for name in named {
            if !(upgrade && name == header::UPGRADE) {
                headers.remove(&name);
            }
        }
        headers.remove(header::CONNECTION);
    }
    for name in [&KEEP_ALIVE, &PROXY_CONNECTION] {
        headers.remove(name);
    }
    headers.remove(header::TE);
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::TRAILER);
    headers.remove(header::PROXY_AUTHORIZATION);
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::UPGRADE);
    }
}

/// True when the request asks to switch to WebSocket (RFC 9110 §7.8, RFC 6455 §4.1): `Connection: upgrade`
/// plus `Upgrade: websocket`. Other upgrades (`h2c`, TLS) are not tunnelled: the request goes on as a plain
/// one with its `Upgrade` field removed, so nothing but WebSocket leaves HTTP's timeouts and limits.
pub fn is_upgrade_request(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| {
            let name = protocol.trim().split('/').next().unwrap_or("");
            name.eq_ignore_ascii_case("websocket")
        })
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// Who may tell us about the original client: peers in `trusted_proxies` only (RFC 7239 §8.1 warns that
/// forwarding headers are trivially spoofed).
#[derive(Debug, Clone)]
pub struct Forwarding {
    trusted: Vec<IpNet>,
    /// The scheme browsers used to reach this listener.
    proto: HeaderValue,
}

impl Forwarding {
    pub fn new(trusted: Vec<IpNet>, tls: bool) -> Self {
        Forwarding {
            trusted,
            proto: HeaderValue::from_static(if tls { "https" } else { "http" }),
        }
    }

    pub fn trusts(&self, peer: IpAddr) -> bool {
        if self.trusted.is_empty() {
            return false;
        }
        let peer = peer.to_canonical();
        self.trusted.iter().any(|net| net.contains(&peer))
    }

    /// Sets `X-Forwarded-For`, `-Proto` and `-Host` for the upstream. From an untrusted peer every
    /// client-supplied forwarding field (including `Forwarded` and `X-Real-IP`) is dropped first; from a
    /// trusted one its values are kept and the peer is appended to `X-Forwarded-For`.
    pub fn apply(&self, headers: &mut HeaderMap, peer: IpAddr, host: Option<HeaderValue>) {
        let peer = peer.to_canonical();
        let trusted = self.trusts(peer);
        let peer_text = peer.to_string();
        if trusted {
            let prior: Vec<&str> = headers
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect();
            let chain = if prior.is_empty() {
                peer_text
            } else {
                format!("{}, {peer_text}", prior.join(", "))
            };
            if let Ok(value) = HeaderValue::from_str(&chain) {
                headers.insert(&X_FORWARDED_FOR, value);
            }
            if !headers.contains_key(&X_FORWARDED_PROTO) {
                headers.insert(&X_FORWARDED_PROTO, self.proto.clone());
            }
            if !headers.contains_key(&X_FORWARDED_HOST)
                && let Some(host) = host
            {
                headers.insert(&X_FORWARDED_HOST, host);
            }
        } else {
            headers.remove(header::FORWARDED);
            headers.remove(&X_REAL_IP);
            if let Ok(value) = HeaderValue::from_str(&peer_text) {
                headers.insert(&X_FORWARDED_FOR, value);
            }
            headers.insert(&X_FORWARDED_PROTO, self.proto.clone());
            match host {
                Some(host) => {
                    headers.insert(&X_FORWARDED_HOST, host);
                }
                None => {
                    headers.remove(&X_FORWARDED_HOST);
                }
            }
        }
    }
}

/// Removes the gateway's own cookies so the provider never sees them, and merges cookie fields split by an
/// HTTP/2 client into the single field HTTP/1.1 expects (RFC 9113 §8.2.3). Leaves the field untouched in the
/// common case of one field that carries none of our cookies.
pub fn strip_gateway_cookies(headers: &mut HeaderMap) {
    let mut values = headers.get_all(header::COOKIE).iter();
    let Some(first) = values.next() else { return };
    let single = values.next().is_none();
    if single && !contains(first.as_bytes(), GATEWAY_COOKIE_PREFIX.as_bytes()) {
        return;
    }
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !is_gateway_cookie(pair.split('=').next().unwrap_or("")))
        .map(str::to_owned)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(value) = HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(header::COOKIE, value);
    }
}

pub fn is_gateway_cookie(name: &str) -> bool {
    let name = name.trim();
    let name = name
        .strip_prefix("__Host-")
        .or_else(|| name.strip_prefix("__Secure-"))
        .unwrap_or(name);
    name.starts_with(GATEWAY_COOKIE_PREFIX)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn removes_all_hop_by_hop_headers_including_those_named_in_connection() {
        let mut headers = map(&[
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("connection", "Another-Hop"),
            ("x-secret-hop", "1"),
            ("another-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("trailer", "x"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic eA=="),
            ("proxy-connection", "keep-alive"),
            ("accept", "text/html"),
        ]);
        remove_hop_by_hop(&mut headers, false);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert_eq!(headers["accept"], "text/html");
    }

    #[test]
    fn upgrade_requests_keep_upgrade_and_connection_upgrade() {
        let mut headers = map(&[
            ("connection", "Upgrade, X-Hop"),
            ("upgrade", "websocket"),
            ("x-hop", "1"),
        ]);
        assert!(is_upgrade_request(&headers));
        remove_hop_by_hop(&mut headers, true);
        assert_eq!(headers["upgrade"], "websocket");
        assert_eq!(headers["connection"], "upgrade");
        assert!(!headers.contains_key("x-hop"));
    }

    #[test]
    fn untrusted_peer_cannot_spoof_forwarding_headers() {
        let forwarding = Forwarding::new(vec![], true);
        let mut headers = map(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "for=6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
        ]);
        forwarding.apply(
            &mut headers,
            "10.0.0.7".parse().unwrap(),
            Some(HeaderValue::from_static("sso.example.com")),
        );
        assert_eq!(headers["x-forwarded-for"], "10.0.0.7");
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(headers["x-forwarded-host"], "sso.example.com");
        assert!(!headers.contains_key("forwarded"));
        assert!(!headers.contains_key("x-real-ip"));
    }

    #[test]
    fn trusted_peer_forwarding_headers_are_kept_and_the_peer_appended() {
        let forwarding = Forwarding::new(vec!["10.0.0.0/8".parse().unwrap()], false);
        let mut headers = map(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "sso.example.com"),
        ]);
        forwarding.apply(
            &mut headers,
            "10.1.2.3".parse().unwrap(),
            Some(HeaderValue::from_static("internal")),
        );
        assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 10.1.2.3");
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(headers["x-forwarded-host"], "sso.example.com");
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_match_ipv4_networks() {
        let forwarding = Forwarding::new(vec!["127.0.0.0/8".parse().unwrap()], false);
        assert!(forwarding.trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!forwarding.trusts("::ffff:10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn gateway_cookies_are_stripped_and_others_kept() {
        let mut headers = map(&[(
            "cookie",
            "KEYCLOAK_SESSION=abc; __Host-freshgate-login-x=secret; freshgate-other=1; theme=dark",
        )]);
        strip_gateway_cookies(&mut headers);
        assert_eq!(headers["cookie"], "KEYCLOAK_SESSION=abc; theme=dark");
    }

    #[test]
    fn cookie_field_disappears_when_only_gateway_cookies_were_sent() {
        let mut headers = map(&[("cookie", "__Host-freshgate-login-x=secret")]);
        strip_gateway_cookies(&mut headers);
        assert!(!headers.contains_key("cookie"));
    }

    #[test]
    fn split_http2_cookie_fields_are_merged() {
        let mut headers = map(&[("cookie", "a=1"), ("cookie", "b=2")]);
        strip_gateway_cookies(&mut headers);
        assert_eq!(headers.get_all("cookie").iter().count(), 1);
        assert_eq!(headers["cookie"], "a=1; b=2");
    }
}
