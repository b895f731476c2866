//! Header handling on the way through: hop-by-hop removal, forwarding headers, the gateway's own cookies.

use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};

use crate::cookies::GATEWAY_COOKIE_PREFIX;

static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Removes the hop-by-hop fields of RFC 9110 §7.6.1: `Connection` itself, every field it names, and the
/// fields that are hop-by-hop by definition (`Keep-Alive`, `Proxy-Connection`, `TE`, `Transfer-Encoding`,
/// `Upgrade`, `Trailer`), plus `Proxy-Authorization`, which is meant for us and must not leak upstream.
/// A WebSocket opening puts back its own `Upgrade` and `Connection` afterwards (`websocket.rs`).
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the few fields a request or response has, instead of eight lookups: most carry none.
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(&name);
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
    headers.remove(header::UPGRADE);
}

/// True for the fields [`remove_hop_by_hop`] removes by name (those `Connection` names come with it).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    *name == header::CONNECTION
        || *name == header::TE
        || *name == header::TRANSFER_ENCODING
        || *name == header::TRAILER
        || *name == header::PROXY_AUTHORIZATION
        || *name == header::UPGRADE
        || *name == KEEP_ALIVE
        || *name == PROXY_CONNECTION
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

/// A header map from name/value pairs, in order (repeated names append), for tests.
#[cfg(test)]
pub(crate) fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

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
        remove_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert_eq!(headers["accept"], "text/html");
    }

    #[test]
    fn each_hop_by_hop_field_is_removed_even_alone() {
        for name in [
            "connection",
            "keep-alive",
            "proxy-connection",
            "te",
            "transfer-encoding",
            "trailer",
            "proxy-authorization",
            "upgrade",
        ] {
            let mut headers = map(&[(name, "x"), ("accept", "text/html")]);
            remove_hop_by_hop(&mut headers);
            assert!(!headers.contains_key(name), "{name} was kept");
            assert_eq!(headers.len(), 1, "{headers:?}");
        }
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
