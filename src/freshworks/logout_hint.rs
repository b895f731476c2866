//! What logout needs from the login, kept in the browser as a sealed cookie: the provider's ID token, sent
//! back as `id_token_hint` (OpenID Connect RP-Initiated Logout 1.0 §2), and the account, whose
//! `logout_redirect_url` applies.
//!
//! The cookie is scoped to the logout path, so browsers send it nowhere else; `__Host-` would demand
//! `Path=/`, so over https it takes the `__Secure-` prefix instead (RFC 6265bis §4.1.3.1), and without a
//! `Domain` attribute it stays host-only. It has no `Max-Age`: it goes when the browser closes, like the
//! provider's own session cookie.

use http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::cookies::{GATEWAY_COOKIE_PREFIX, find_cookie, secure_attribute, secure_prefix};
use crate::sealed::Sealer;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutHint {
    pub id_token: String,
    pub account: String,
}

/// The only path the logout hint is sent to.
const LOGOUT_PATH: &str = "/sso/jwt/logout";

/// Browsers keep cookies of up to 4096 bytes (RFC 6265bis §5.6); a bigger hint is not set.
const MAX_COOKIE_BYTES: usize = 4000;

/// The logout-hint cookie of this gateway.
pub struct LogoutHints {
    sealer: Sealer,
    secure: bool,
}

impl LogoutHints {
    pub fn new(key: &[u8; 32], secure: bool) -> Self {
        LogoutHints {
            sealer: Sealer::new(key),
            secure,
        }
    }

    fn name(&self) -> String {
        format!(
            "{}{GATEWAY_COOKIE_PREFIX}-logout",
            secure_prefix(self.secure)
        )
    }

    /// `Set-Cookie` keeping the logout hint for this browser session. `None` when the sealed token would be
    /// too big for a cookie; logout then goes without the hint.
    pub fn set(&self, hint: &LogoutHint) -> Option<String> {
        let name = self.name();
        let cookie = format!(
            "{name}={}; Path={LOGOUT_PATH}; HttpOnly; SameSite=Lax{}",
            self.sealer.seal(&name, hint),
            secure_attribute(self.secure)
        );
        (cookie.len() <= MAX_COOKIE_BYTES).then_some(cookie)
    }

    /// The logout hint this browser holds, if any and if genuine.
    pub fn read(&self, headers: &HeaderMap) -> Option<LogoutHint> {
        let name = self.name();
        self.sealer.open(&name, find_cookie(headers, &name)?)
    }

    /// `Set-Cookie` that deletes the logout hint.
    pub fn clear(&self) -> String {
        format!(
            "{}=; Path={LOGOUT_PATH}; Max-Age=0; HttpOnly; SameSite=Lax{}",
            self.name(),
            secure_attribute(self.secure)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::pending::{PendingJar, provider_login};
    use http::header::COOKIE;

    #[test]
    fn a_logout_hint_round_trips_and_an_oversized_one_is_not_set() {
        let jar = LogoutHints::new(&[3; 32], true);
        let hint = LogoutHint {
            id_token: "a.b.c".into(),
            account: "12344".into(),
        };
        let cookie = jar.set(&hint).unwrap();
        assert!(cookie.starts_with("__Secure-freshgate-logout="), "{cookie}");
        assert!(cookie.ends_with("; Path=/sso/jwt/logout; HttpOnly; SameSite=Lax; Secure"));
        assert!(jar.clear().contains("; Path=/sso/jwt/logout; Max-Age=0;"));
        let pair = cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, pair.parse().unwrap());
        assert_eq!(jar.read(&headers), Some(hint));
        // A pending-login cookie's value does not open as a hint: the name is the associated data.
        let login = PendingJar::new(&[3; 32], true)
            .seal(&provider_login("AbCdEfGhIjKlMnOpQrStUv", 1_700_000_000_250));
        headers.insert(
            COOKIE,
            format!("__Secure-freshgate-logout={login}")
                .parse()
                .unwrap(),
        );
        assert_eq!(jar.read(&headers), None);
        let huge = LogoutHint {
            id_token: "x".repeat(3000),
            account: "12344".into(),
        };
        assert_eq!(jar.set(&huge), None);
    }
}
