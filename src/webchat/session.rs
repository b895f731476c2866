//! The Web Chat browser session: after `/sso/webchat/login`, an AES-256-GCM cookie holds what identifies
//! the user to Freshdesk (never the provider's tokens), so `/sso/webchat/token` can mint fresh tokens for a
//! page whose script holds no access token.
//!
//! Cross-origin `fetch(..., { credentials: "include" })` from the app needs `SameSite=None; Secure` over
//! https; plain-http development setups get `SameSite=Lax` (same-site origins still send it).

use std::sync::Arc;

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::{self, Clock};
use crate::cookies::{GATEWAY_COOKIE_PREFIX, find_cookie, host_prefix};
use crate::sealed::Sealer;

#[derive(Serialize, Deserialize)]
struct Sealed {
    identity: Map<String, Value>,
    /// Unix seconds after which the session is over.
    until: u64,
}

pub struct SessionCookie {
    sealer: Sealer,
    secure: bool,
    name: String,
    clock: Arc<dyn Clock>,
}

impl SessionCookie {
    pub fn new(key: &[u8; 32], secure: bool) -> Self {
        let prefix = host_prefix(secure);
        SessionCookie {
            sealer: Sealer::new(key),
            secure,
            name: format!("{prefix}{GATEWAY_COOKIE_PREFIX}-webchat"),
            clock: clock::system(),
        }
    }

    /// The same cookie, its sessions timed by `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `Set-Cookie` for a session of `ttl_secs` carrying `identity`.
    pub fn set(&self, identity: &Map<String, Value>, ttl_secs: u64) -> String {
        let sealed = Sealed {
            identity: identity.clone(),
            until: self.clock.unix_secs() + ttl_secs,
        };
        let value = self.sealer.seal(&self.name, &sealed);
        let same_site = if self.secure { "None; Secure" } else { "Lax" };
        format!(
            "{}={}; Path=/; Max-Age={ttl_secs}; HttpOnly; SameSite={same_site}",
            self.name, value
        )
    }

    /// `Set-Cookie` that ends the session (sent by the Freshworks logout too).
    pub fn clear(&self) -> String {
        let same_site = if self.secure { "None; Secure" } else { "Lax" };
        format!(
            "{}=; Path=/; Max-Age=0; HttpOnly; SameSite={same_site}",
            self.name
        )
    }

    /// The identity in the request's session cookie, if it decrypts and has not expired.
    pub fn read(&self, headers: &HeaderMap) -> Option<Map<String, Value>> {
        let value = find_cookie(headers, &self.name)?;
        let sealed: Sealed = self.sealer.open(&self.name, value)?;
        (sealed.until >= self.clock.unix_secs()).then_some(sealed.identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;

    fn request_with(cookie: &str) -> HeaderMap {
        let pair = cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, pair.parse().unwrap());
        headers
    }

    #[test]
    fn a_session_reads_back_with_the_same_key_only() {
        let mut identity = Map::new();
        identity.insert("email".into(), "a@example.com".into());
        let jar = SessionCookie::new(&[3; 32], true);
        let cookie = jar.set(&identity, 60);
        assert!(cookie.starts_with("__Host-freshgate-webchat="));
        assert!(cookie.contains("SameSite=None; Secure") && cookie.contains("HttpOnly"));
        assert_eq!(jar.read(&request_with(&cookie)), Some(identity));
        assert_eq!(
            SessionCookie::new(&[4; 32], true).read(&request_with(&cookie)),
            None
        );
    }

    #[test]
    fn an_expired_session_is_not_read() {
        let clock = Arc::new(crate::clock::ManualClock::at_unix_ms(1_767_225_600_250));
        let jar = SessionCookie::new(&[3; 32], false).with_clock(clock.clone());
        let cookie = jar.set(&Map::new(), 0).replace("Max-Age=0", "Max-Age=1");
        clock.advance(std::time::Duration::from_millis(1100));
        assert_eq!(jar.read(&request_with(&cookie)), None);
    }
}
