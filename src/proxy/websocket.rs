//! WebSocket passthrough: the only upgrade the gateway tunnels, and only when both sides did the RFC 6455
//! opening handshake.
//!
//! Once tunnelled, bytes pass untouched: no host check, header rule, timeout or limit of HTTP applies any
//! more. So the request must be a real WebSocket opening (RFC 6455 §4.1: `Upgrade: websocket`,
//! `Connection: upgrade`, a `Sec-WebSocket-Key` of 16 bytes), only `Upgrade: websocket` is forwarded
//! (never a list with `h2c` the upstream could pick, nor `HTTP2-Settings`), and the tunnel opens only on a
//! 101 that switches to `websocket` and proves it read our key with the right `Sec-WebSocket-Accept`
//! (RFC 6455 §4.2.2, §4.1 client requirement 4). Any other 101 is a 502.

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use tracing::debug;

use crate::request_id::RequestId;
use crate::server::idle::{Activity, IdleIo};

static SEC_WEBSOCKET_KEY: HeaderName = HeaderName::from_static("sec-websocket-key");
static SEC_WEBSOCKET_ACCEPT: HeaderName = HeaderName::from_static("sec-websocket-accept");
static HTTP2_SETTINGS: HeaderName = HeaderName::from_static("http2-settings");

/// RFC 6455 §1.3: appended to the key before hashing.
const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The request's `Sec-WebSocket-Key` when it is a WebSocket opening: `Upgrade` names `websocket`,
/// `Connection` names `upgrade`, and exactly one key that is 16 bytes in base64. `None`: a plain request.
pub fn opening_key(headers: &HeaderMap) -> Option<HeaderValue> {
    // The key first: every request is asked, and a plain one ends at this one lookup.
    let mut keys = headers.get_all(&SEC_WEBSOCKET_KEY).iter();
    let key = keys.next()?;
    let names_websocket = tokens(headers, &header::UPGRADE).any(|protocol| {
        let name = protocol.split('/').next().unwrap_or("");
        name.trim().eq_ignore_ascii_case("websocket")
    });
    let names_upgrade =
        tokens(headers, &header::CONNECTION).any(|token| token.eq_ignore_ascii_case("upgrade"));
    let decoded = STANDARD.decode(key.as_bytes()).ok()?;
    (names_websocket && names_upgrade && keys.next().is_none() && decoded.len() == 16)
        .then(|| key.clone())
}

/// Rewrites an opening's hop-by-hop fields for the upstream (after the general hop-by-hop removal):
/// `Upgrade: websocket` and `Connection: upgrade` only.
pub fn forward_opening(headers: &mut HeaderMap) {
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.remove(&HTTP2_SETTINGS);
}

/// True when a 101 completes the opening that sent `key`: it switches to `websocket` and carries the
/// `Sec-WebSocket-Accept` computed from our key.
pub fn accepts(response: &HeaderMap, key: &HeaderValue) -> bool {
    let mut upgrades = tokens(response, &header::UPGRADE);
    let switches = upgrades
        .next()
        .is_some_and(|protocol| protocol.eq_ignore_ascii_case("websocket"))
        && upgrades.next().is_none();
    let mut accepts = response.get_all(&SEC_WEBSOCKET_ACCEPT).iter();
    let proven = accepts
        .next()
        .is_some_and(|value| value.as_bytes() == expected_accept(key).as_bytes())
        && accepts.next().is_none();
    switches && proven
}

/// `base64(SHA-1(key ++ GUID))`, RFC 6455 §4.2.2 item 5.4. SHA-1 is what the protocol fixes; it proves the
/// server read the key, nothing more.
fn expected_accept(key: &HeaderValue) -> String {
    let mut context = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    context.update(key.as_bytes());
    context.update(ACCEPT_GUID);
    STANDARD.encode(context.finish().as_ref())
}

fn tokens<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// Copies bytes both ways between the client's and the provider's upgraded connections until either closes,
/// or until no byte has moved either way for `idle_timeout` (an upgraded connection has left hyper's
/// timers, so the tunnel keeps its own). `hold` (the upstream request permits) is released when it ends.
pub async fn tunnel<T: Send>(
    client: hyper::upgrade::OnUpgrade,
    upstream: hyper::upgrade::OnUpgrade,
    idle_timeout: Duration,
    id: RequestId,
    hold: T,
) {
    let _hold = hold;
    let (client, upstream) = match tokio::join!(client, upstream) {
        (Ok(client), Ok(upstream)) => (client, upstream),
        (Err(e), _) | (_, Err(e)) => {
            debug!(request_id = %id, error = %e, "upgrade did not complete");
            return;
        }
    };
    let activity = Activity::new();
    let mut client = IdleIo::new(TokioIo::new(client), activity.clone());
    let mut upstream = TokioIo::new(upstream);
    let copy = tokio::io::copy_bidirectional(&mut client, &mut upstream);
    tokio::pin!(copy);
    loop {
        tokio::select! {
            result = copy.as_mut() => {
                match result {
                    Ok((sent, received)) => {
                        debug!(request_id = %id, sent, received, "upgraded connection closed")
                    }
                    Err(e) => {
                        debug!(request_id = %id, error = %e, "upgraded connection ended with an error")
                    }
                }
                return;
            }
            _ = tokio::time::sleep_until(activity.last() + idle_timeout) => {
                if activity.last() + idle_timeout <= tokio::time::Instant::now() {
                    debug!(request_id = %id, "upgraded connection idle; closed");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::headers::map;

    /// The example of RFC 6455 §1.3.
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    #[test]
    fn the_rfc_example_key_gives_the_rfc_example_accept() {
        assert_eq!(expected_accept(&HeaderValue::from_static(KEY)), ACCEPT);
    }

    #[test]
    fn only_a_complete_websocket_opening_counts_as_one() {
        let ok = map(&[
            ("upgrade", "h2c, WebSocket"),
            ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-key", KEY),
        ]);
        assert_eq!(opening_key(&ok), Some(HeaderValue::from_static(KEY)));
        for bad in [
            map(&[
                ("upgrade", "h2c"),
                ("connection", "upgrade"),
                ("sec-websocket-key", KEY),
            ]),
            map(&[("upgrade", "websocket"), ("sec-websocket-key", KEY)]),
            map(&[("upgrade", "websocket"), ("connection", "upgrade")]),
            map(&[
                ("upgrade", "websocket"),
                ("connection", "upgrade"),
                ("sec-websocket-key", "c2hvcnQ="),
            ]),
            map(&[
                ("upgrade", "websocket"),
                ("connection", "upgrade"),
                ("sec-websocket-key", KEY),
                ("sec-websocket-key", KEY),
            ]),
        ] {
            assert_eq!(opening_key(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_forwarded_opening_names_websocket_alone() {
        let mut headers = map(&[
            ("upgrade", "h2c, websocket"),
            ("http2-settings", "AAMAAABkAAQAAP__"),
        ]);
        forward_opening(&mut headers);
        assert_eq!(headers["upgrade"], "websocket");
        assert_eq!(headers["connection"], "upgrade");
        assert!(!headers.contains_key("http2-settings"));
    }

    #[test]
    fn only_a_101_that_proves_it_read_the_key_opens_the_tunnel() {
        let key = HeaderValue::from_static(KEY);
        let good = map(&[("upgrade", "websocket"), ("sec-websocket-accept", ACCEPT)]);
        assert!(accepts(&good, &key));
        for bad in [
            map(&[("upgrade", "h2c"), ("sec-websocket-accept", ACCEPT)]),
            map(&[
                ("upgrade", "websocket, h2c"),
                ("sec-websocket-accept", ACCEPT),
            ]),
            map(&[("upgrade", "websocket")]),
            map(&[
                ("upgrade", "websocket"),
                ("sec-websocket-accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ]),
            map(&[
                ("upgrade", "websocket"),
                ("sec-websocket-accept", ACCEPT),
                ("sec-websocket-accept", ACCEPT),
            ]),
        ] {
            assert!(!accepts(&bad, &key), "{bad:?}");
        }
    }
}
