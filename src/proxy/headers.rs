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
    // One pass over the few fields a message has, noting which of these are present: most requests carry
    // none, and most responses only `Connection: keep-alive`. Only those present are then removed.
    let mut present = 0u8;
    for name in headers.keys() {
        present |= hop_by_hop_bit(name);
    }
    if present == 0 {
        return;
    }
    if present & CONNECTION_BIT != 0
        && let http::header::Entry::Occupied(entry) = headers.entry(header::CONNECTION)
    {
        // The values are taken out first, so the fields they name can be removed by their text, without
        // making a `HeaderName` for each (a field that no `HeaderName` could spell is not present anyway).
        // (An empty `Vec` allocates nothing: usually there is one `Connection` field.)
        let mut values = entry.remove_entry_mult().1;
        let first = values.next();
        let rest: Vec<HeaderValue> = values.collect();
        for value in first.iter().chain(&rest) {
            let Ok(value) = value.to_str() else { continue };
            for token in value.split(',') {
                let token = token.trim();
                // A field removed by name below (`keep-alive` in a response's `Connection: keep-alive`)
                // needs no lookup here: it goes below if present, and is not there if absent.
                if !token.is_empty() && !is_hop_by_hop_name(token) {
                    headers.remove(token);
                }
            }
        }
    }
    for (bit, name) in [
        (KEEP_ALIVE_BIT, &KEEP_ALIVE),
        (PROXY_CONNECTION_BIT, &PROXY_CONNECTION),
        (TE_BIT, &header::TE),
        (TRANSFER_ENCODING_BIT, &header::TRANSFER_ENCODING),
        (TRAILER_BIT, &header::TRAILER),
        (PROXY_AUTHORIZATION_BIT, &header::PROXY_AUTHORIZATION),
        (UPGRADE_BIT, &header::UPGRADE),
    ] {
        if present & bit != 0 {
            headers.remove(name);
        }
    }
}

const CONNECTION_BIT: u8 = 1;
const KEEP_ALIVE_BIT: u8 = 1 << 1;
const PROXY_CONNECTION_BIT: u8 = 1 << 2;
const TE_BIT: u8 = 1 << 3;
const TRANSFER_ENCODING_BIT: u8 = 1 << 4;
const TRAILER_BIT: u8 = 1 << 5;
const PROXY_AUTHORIZATION_BIT: u8 = 1 << 6;
const UPGRADE_BIT: u8 = 1 << 7;

/// The bit of a field [`remove_hop_by_hop`] removes by name (those `Connection` names come with it), or 0.
/// By its text: a length comparison rejects nearly every other field.
fn hop_by_hop_bit(name: &HeaderName) -> u8 {
    match name.as_str() {
        "connection" => CONNECTION_BIT,
        "keep-alive" => KEEP_ALIVE_BIT,
        "proxy-connection" => PROXY_CONNECTION_BIT,
        "te" => TE_BIT,
        "transfer-encoding" => TRANSFER_ENCODING_BIT,
        "trailer" => TRAILER_BIT,
        "proxy-authorization" => PROXY_AUTHORIZATION_BIT,
        "upgrade" => UPGRADE_BIT,
        _ => 0,
    }
}

/// True for a field [`remove_hop_by_hop`] removes by name, spelt in any case (as `Connection` may name it).
fn is_hop_by_hop_name(token: &str) -> bool {
    token.len() <= 19
        && [
            "connection",
            "keep-alive",
            "proxy-connection",
            "te",
            "transfer-encoding",
            "trailer",
            "proxy-authorization",
            "upgrade",
        ]
        .iter()
        .any(|name| name.eq_ignore_ascii_case(token))
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

    /// The hop-by-hop fields (RFC 9110 §7.6.1, and the de-facto `keep-alive` and `proxy-connection`), written
    /// out here rather than read from the code under test.
    const HOP_BY_HOP: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "transfer-encoding",
        "trailer",
        "proxy-authorization",
        "upgrade",
    ];

    #[test]
    fn each_hop_by_hop_field_is_removed_even_alone() {
        for name in HOP_BY_HOP {
            let mut headers = map(&[(name, "x"), ("accept", "text/html")]);
            remove_hop_by_hop(&mut headers);
            assert!(!headers.contains_key(name), "{name} was kept");
            assert_eq!(headers.len(), 1, "{headers:?}");
        }
    }

    #[test]
    fn fields_connection_names_in_any_case_are_removed_with_the_by_name_ones() {
        // The names skipped while reading `Connection` are exactly those removed by name afterwards.
        for name in HOP_BY_HOP {
            assert!(is_hop_by_hop_name(&name.to_ascii_uppercase()), "{name}");
            assert_ne!(hop_by_hop_bit(&HeaderName::from_static(name)), 0, "{name}");
        }
        assert!(!is_hop_by_hop_name("keep-alive2") && !is_hop_by_hop_name("x-hop"));
        let mut headers = map(&[
            ("Connection", "KEEP-ALIVE, Upgrade, X-Hop"),
            ("keep-alive", "timeout=5"),
            ("upgrade", "h2c"),
            ("x-hop", "1"),
            ("accept", "text/html"),
        ]);
        remove_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert_eq!(headers["accept"], "text/html");
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
