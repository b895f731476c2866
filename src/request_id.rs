//! Request ids: every request gets one, it appears in every log line about the request, on every page the
//! gateway shows and in the `X-Request-ID` response header, and it goes to the provider with every request
//! the gateway makes for it, so a user's screenshot leads an operator straight to the log lines of the
//! gateway and of the provider.
//!
//! Behind a load balancer or ingress that already names requests (nginx's `$request_id`, Envoy's UUIDs,
//! HAProxy's `unique-id-header`), the gateway keeps that name: an `X-Request-ID` from a peer in
//! `trusted_proxies` is adopted when it is 1 to [`MAX_LEN`] characters of [`is_id_char`]. Anyone else's
//! `X-Request-ID` is not believed (a client could otherwise choose the id that its log lines are filed
//! under, or write into the log), and an unusable one from a trusted proxy is replaced, never logged.
//!
//! A new id is a random per-process prefix plus a counter: unique across replicas in practice, and no
//! randomness or allocation on the hot path. Ids are `Copy`: 64 bytes inline, no heap.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

/// The header that carries the id in requests and responses.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id adopted from a trusted proxy. UUIDs take 36 characters, W3C trace parents 55, nginx's
/// `$request_id` 32; an id is shown on pages and kept in every log line, so it stays short.
pub const MAX_LEN: usize = 64;

/// Characters of an adopted id: letters, digits and `- _ . : + / = @`. Enough for UUIDs, hex, base64 and
/// HAProxy's `addr:port_…` formats; nothing that needs escaping in a log line, an HTML page or a header.
pub fn is_id_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.:+/=@".contains(&byte)
}

pub struct RequestIds {
    prefix: u32,
    counter: AtomicU32,
}

/// Where a request's id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Made here: no `X-Request-ID`, or one from a peer that is not a trusted proxy.
    New,
    /// A trusted proxy's `X-Request-ID`.
    Adopted,
    /// A trusted proxy sent an `X-Request-ID` that is too long, empty or has other characters.
    Replaced,
}

impl RequestIds {
    pub fn new() -> Self {
        let mut seed = [0u8; 8];
        aws_lc_rs::rand::fill(&mut seed).expect("the system random number generator works");
        RequestIds {
            prefix: u32::from_le_bytes([seed[0], seed[1], seed[2], seed[3]]),
            counter: AtomicU32::new(u32::from_le_bytes([seed[4], seed[5], seed[6], seed[7]])),
        }
    }

    /// A new id: 16 lowercase hex digits.
    pub fn next(&self) -> RequestId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let value = (u64::from(self.prefix) << 32) | u64::from(n);
        let mut bytes = [0u8; MAX_LEN];
        for (i, byte) in bytes[..16].iter_mut().enumerate() {
            let nibble = (value >> (60 - 4 * i)) & 0xf;
            *byte = b"0123456789abcdef"[nibble as usize];
        }
        RequestId { len: 16, bytes }
    }

    /// The id of a request with `headers`: a trusted proxy's usable `X-Request-ID` (`trusted` is asked
    /// only when there is one), else a new one.
    pub fn for_request(
        &self,
        headers: &HeaderMap,
        trusted: impl FnOnce() -> bool,
    ) -> (RequestId, Origin) {
        let Some(offered) = headers.get(&X_REQUEST_ID) else {
            return (self.next(), Origin::New);
        };
        if !trusted() {
            return (self.next(), Origin::New);
        }
        // Two fields would be two ids: neither is believed.
        if headers.get_all(&X_REQUEST_ID).iter().nth(1).is_some() {
            return (self.next(), Origin::Replaced);
        }
        match RequestId::parse(offered.as_bytes()) {
            Some(id) => (id, Origin::Adopted),
            None => (self.next(), Origin::Replaced),
        }
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId {
    len: u8,
    bytes: [u8; MAX_LEN],
}

impl RequestId {
    /// `text` as an id when it is 1 to [`MAX_LEN`] characters of [`is_id_char`].
    pub fn parse(text: &[u8]) -> Option<RequestId> {
        if text.is_empty() || text.len() > MAX_LEN || !text.iter().all(|b| is_id_char(*b)) {
            return None;
        }
        let mut bytes = [0u8; MAX_LEN];
        bytes[..text.len()].copy_from_slice(text);
        Some(RequestId {
            len: text.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII bytes of `is_id_char` or hex digits are ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The id as an `X-Request-ID` value.
    pub fn header_value(&self) -> HeaderValue {
        // From the bytes: `from_bytes` checks them, and a UTF-8 check first would only cost.
        HeaderValue::from_bytes(&self.bytes[..usize::from(self.len)])
            .unwrap_or_else(|_| HeaderValue::from_static("-"))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ids_differ_and_are_sixteen_hex_digits() {
        let ids = RequestIds::new();
        let a = ids.next().to_string();
        let b = ids.next().to_string();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            a[..8],
            b[..8],
            "one prefix per process; the counter is the low half"
        );
    }

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(&X_REQUEST_ID, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_trusted_proxys_usable_id_is_adopted_and_anyone_elses_is_replaced() {
        let ids = RequestIds::new();
        for usable in [
            "3f2a9c1e-7b4d-4e8a-9f00-1234567890ab",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0A0B0C0D:C35A_0A0B0C0E:01BB_65F1A2B3_0001:1F2E",
            "YWJjZA+/=",
            "a",
        ] {
            let (id, origin) = ids.for_request(&headers(&[usable]), || true);
            assert_eq!((id.as_str(), origin), (usable, Origin::Adopted));
            let (id, origin) = ids.for_request(&headers(&[usable]), || false);
            assert_eq!(origin, Origin::New, "{usable} from an untrusted peer");
            assert_ne!(id.as_str(), usable);
        }
        let longest = "a".repeat(MAX_LEN);
        assert!(RequestId::parse(longest.as_bytes()).is_some());
        for unusable in [
            "",
            "with space",
            "quote\"",
            "<script>",
            "line\\nbreak",
            "ünïcode",
            "semi;colon",
        ] {
            assert!(
                RequestId::parse(unusable.as_bytes()).is_none(),
                "{unusable}"
            );
        }
        assert!(RequestId::parse("a".repeat(MAX_LEN + 1).as_bytes()).is_none());
        let (id, origin) = ids.for_request(&headers(&["bad value"]), || true);
        assert_eq!(origin, Origin::Replaced);
        assert_eq!(id.as_str().len(), 16);
        let (_, origin) = ids.for_request(&headers(&["one", "two"]), || true);
        assert_eq!(origin, Origin::Replaced, "two fields are no id");
    }

    #[test]
    fn without_the_header_the_peer_is_not_even_asked_about() {
        let ids = RequestIds::new();
        let (_, origin) = ids.for_request(&HeaderMap::new(), || panic!("asked"));
        assert_eq!(origin, Origin::New);
    }
}
