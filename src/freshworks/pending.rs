//! The pending login, kept in the browser as an AEAD-encrypted cookie (AES-256-GCM).
//!
//! Like oauth2-proxy's CSRF cookie, it holds everything the callback needs — Freshworks' state and nonce,
//! the account, our PKCE verifier (RFC 7636) and our OIDC nonce — so no server store is needed and any
//! replica with the same cookie key finishes the login. Its name carries a prefix of our `state`, so logins
//! in several tabs each have their own cookie, and the name is the AEAD's associated data, so a cookie cannot
//! be replayed under another state. Binding our `state` to this browser-held cookie is the CSRF defence of
//! RFC 9700 §4.7.1; the cookie is `HttpOnly`, `SameSite=Lax` (the callback is a top-level GET redirect),
//! and `Secure` when browsers use https.
//!
//! The cookie is scoped to the callback (`Path=/sso/jwt/callback`), the only request that needs it, so the
//! provider's pages never carry it; `__Host-` would demand `Path=/`, so over https it takes the `__Secure-`
//! prefix (RFC 6265bis §4.1.3.1) and stays host-only by having no `Domain`. How many such cookies one browser
//! holds is bounded by `pending_list` (at most `MAX_PENDING_LOGINS`, the oldest dropped), so a page that
//! sends a browser to the Login URL again and again cannot fill its Cookie header.

use http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::pending_format;
use crate::cookies::{GATEWAY_COOKIE_PREFIX, find_cookie, secure_attribute, secure_prefix};
use crate::sealed::Sealer;

/// Characters of our state that go into the cookie name.
pub(super) const NAME_STATE_CHARS: usize = 16;

/// The gateway's redirect URI path at the provider: the only path pending-login cookies are sent to.
pub const CALLBACK_PATH: &str = "/sso/jwt/callback";

/// Sealed in its own binary layout (`pending_format`); the serde derives are the JSON of format 0, which
/// the release before wrote and this one still reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// Our `state` at the provider.
    pub state: String,
    /// Our OIDC `nonce` (OIDC Core §3.1.2.1).
    pub nonce: String,
    pub pkce_verifier: String,
    pub account: String,
    /// Freshworks' `state`, returned to it byte for byte.
    pub fw_state: String,
    /// Freshworks' `nonce`, put into the token byte for byte.
    pub fw_nonce: String,
    /// Unix seconds when the login started.
    pub started: u64,
    /// Unix milliseconds when the login started, for `freshgate_login_duration_seconds` (sub-second
    /// logins are common when the provider remembers the user). Absent (0) in cookies sealed by a
    /// gateway before it was added; `started` then stands in.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub started_ms: u64,
    /// Set for Web Chat browser-session logins (`/sso/webchat/login`): where the browser goes afterwards,
    /// as the app sent it (at most 1 KiB; `login::return_to_url` normalizes it). Absent for Freshworks
    /// logins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// A directory (password) login: the browser posts the login form to the callback, and our `state`
    /// is the form's anti-forgery token. Absent for provider logins.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub directory: bool,
}

impl PendingLogin {
    /// When the login started, in Unix milliseconds.
    pub fn started_unix_ms(&self) -> u64 {
        if self.started_ms > 0 {
            self.started_ms
        } else {
            self.started.saturating_mul(1000)
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What logout needs from the login: the provider's ID token, sent back as `id_token_hint` (OpenID Connect
/// RP-Initiated Logout 1.0 §2), and the account, whose `logout_redirect_url` applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutHint {
    pub id_token: String,
    pub account: String,
}

/// The only path the logout hint is sent to.
const LOGOUT_PATH: &str = "/sso/jwt/logout";

/// Browsers keep cookies of up to 4096 bytes (RFC 6265bis §5.6); a bigger hint is not set.
const MAX_COOKIE_BYTES: usize = 4000;

pub struct CookieJar {
    sealer: Sealer,
    pub(super) secure: bool,
}

impl CookieJar {
    pub fn new(key: &[u8; 32], secure: bool) -> Self {
        CookieJar {
            sealer: Sealer::new(key),
            secure,
        }
    }

    /// The cookie name for a login with our `state`.
    pub fn name(&self, state: &str) -> String {
        self.name_for_id(&login_id(state))
    }

    /// The cookie name for a login whose id (the start of our state, see `login_id`) is `id`.
    pub(super) fn name_for_id(&self, id: &str) -> String {
        format!("{}{GATEWAY_COOKIE_PREFIX}-login-{id}", self.prefix())
    }

    /// `__Secure-` over https: the cookies that are not `Path=/` cannot be `__Host-`.
    pub(super) fn prefix(&self) -> &'static str {
        secure_prefix(self.secure)
    }

    /// `; Secure` over https.
    pub(super) fn secure_attribute(&self) -> &'static str {
        secure_attribute(self.secure)
    }

    /// The cookie value for `pending`: its bytes in the current format (`pending_format`), sealed under
    /// the cookie's name.
    pub fn seal(&self, pending: &PendingLogin) -> String {
        self.sealer
            .seal_bytes(&self.name(&pending.state), pending_format::encode(pending))
    }

    /// Decrypts the cookie sent under `name`, in any format this release reads. `None`: forged, tampered,
    /// or sealed with another key.
    pub fn open(&self, name: &str, value: &str) -> Option<PendingLogin> {
        pending_format::decode(&self.sealer.open_bytes(name, value)?)
    }

    /// `Set-Cookie` for a new pending login (see `start_login_cookies` for the whole set).
    pub fn set_cookie(&self, pending: &PendingLogin, max_age_secs: u64) -> String {
        format!(
            "{}={}; Path={CALLBACK_PATH}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{}",
            self.name(&pending.state),
            self.seal(pending),
            self.secure_attribute()
        )
    }

    /// The name of the logout-hint cookie. It is scoped to the logout path, so browsers send it nowhere
    /// else; `__Host-` would demand `Path=/`, so over https it takes the `__Secure-` prefix instead
    /// (RFC 6265bis §4.1.3.1), and without a `Domain` attribute it stays host-only.
    fn logout_name(&self) -> String {
        format!("{}{GATEWAY_COOKIE_PREFIX}-logout", self.prefix())
    }

    /// `Set-Cookie` keeping the logout hint for this browser session (no `Max-Age`: it goes when the browser
    /// closes, like the provider's own session cookie). `None` when the sealed token would be too big for a
    /// cookie; logout then goes without the hint.
    pub fn set_logout_hint(&self, hint: &LogoutHint) -> Option<String> {
        let name = self.logout_name();
        let cookie = format!(
            "{name}={}; Path={LOGOUT_PATH}; HttpOnly; SameSite=Lax{}",
            self.sealer.seal(&name, hint),
            self.secure_attribute()
        );
        (cookie.len() <= MAX_COOKIE_BYTES).then_some(cookie)
    }

    /// The logout hint this browser holds, if any and if genuine.
    pub fn logout_hint(&self, headers: &HeaderMap) -> Option<LogoutHint> {
        let name = self.logout_name();
        self.sealer.open(&name, find_cookie(headers, &name)?)
    }

    /// `Set-Cookie` that deletes the logout hint.
    pub fn clear_logout_hint(&self) -> String {
        format!(
            "{}=; Path={LOGOUT_PATH}; Max-Age=0; HttpOnly; SameSite=Lax{}",
            self.logout_name(),
            self.secure_attribute()
        )
    }

    /// `Set-Cookie` that deletes the pending-login cookie named `name`.
    pub fn clear_cookie(&self, name: &str) -> String {
        format!(
            "{name}=; Path={CALLBACK_PATH}; Max-Age=0; HttpOnly; SameSite=Lax{}",
            self.secure_attribute()
        )
    }
}

/// The id of a login with our `state`: its first `NAME_STATE_CHARS` cookie-name characters. Our states are
/// 43 random base64url characters, so 16 of them (96 bits) tell concurrent logins apart.
pub(super) fn login_id(state: &str) -> String {
    state
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(NAME_STATE_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;

    fn pending(state: &str) -> PendingLogin {
        PendingLogin {
            state: state.into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            account: "12344".into(),
            fw_state: "fs".into(),
            fw_nonce: "fn".into(),
            started: 1_700_000_000,
            started_ms: 1_700_000_000_250,
            return_to: None,
            directory: false,
        }
    }

    #[test]
    fn sealed_login_opens_with_the_same_key_and_name() {
        let jar = CookieJar::new(&[7; 32], true);
        let login = pending("AbCdEfGhIjKlMnOpQrStUv");
        let sealed = jar.seal(&login);
        assert_eq!(jar.open(&jar.name(&login.state), &sealed), Some(login));
    }

    #[test]
    fn cookie_does_not_open_under_another_name_or_key_or_after_tampering() {
        let jar = CookieJar::new(&[7; 32], true);
        let login = pending("AbCdEfGhIjKlMnOpQrStUv");
        let sealed = jar.seal(&login);
        assert_eq!(jar.open(&jar.name("ZZZZZZZZZZZZZZZZZZZZ"), &sealed), None);
        assert_eq!(
            CookieJar::new(&[8; 32], true).open(&jar.name(&login.state), &sealed),
            None
        );
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            jar.open(&jar.name(&login.state), &String::from_utf8(bytes).unwrap()),
            None
        );
    }

    /// Cookies sealed by the release before this format (JSON, key `[0x42; 32]`), captured from it: logins
    /// in flight while replicas are rolled over must still finish.
    #[test]
    fn cookies_sealed_by_the_release_before_still_open() {
        let jar = CookieJar::new(&[0x42; 32], true);
        let name = "__Secure-freshgate-login-oFk1J0dT2qW9xYzA";
        let freshworks = PendingLogin {
            state: "oFk1J0dT2qW9xYzA7bC3dE5fG6hI8jK0lM1nO2pQ3rS".into(),
            nonce: "nNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNn".into(),
            pkce_verifier: "vVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVv".into(),
            account: "12344".into(),
            fw_state: "st/&=+%~\"\\<>ä".into(),
            fw_nonce: "1545894408".into(),
            started: 1_767_225_600,
            // That release kept the start in seconds only.
            started_ms: 0,
            return_to: None,
            directory: false,
        };
        let mut directory = freshworks.clone();
        directory.directory = true;
        directory.nonce.clear();
        directory.pkce_verifier.clear();
        let mut webchat = freshworks.clone();
        webchat.account.clear();
        webchat.fw_state.clear();
        webchat.fw_nonce.clear();
        webchat.return_to = Some("https://app.example.com/chat?x=1".into());
        for (sealed, login) in [
            (OLD_FRESHWORKS, freshworks),
            (OLD_DIRECTORY, directory),
            (OLD_WEBCHAT, webchat),
        ] {
            assert_eq!(jar.open(name, sealed), Some(login));
        }
    }

    const OLD_FRESHWORKS: &str = "KgkkElQ7pdEkYOJGeA2b5R9XUyt1FHvt9bIAEb40eIaHOsmGoxr42rSE-aQBsLBqJcWZMWo5ykUCn18e2gQon8a5ZR1772mn-_gImvjSDq_jVoydzmNTZD1WYqgxr6npGP-L_cWQNSw47RRS0wURFCcpLHlT2d3lVR-OSoa6jgp4jZIh2Ew-13aghsI87Po7wFmWHhV1fFDPq93-oeUOrXqSOLFeApcnRifi9Wl8vLnTQGpy84hBbyVRFak9H4nHzsp9hHw5N_Ze1ooEnmkNryAqChL6Vz0vXydNCEACsVM8woyjmjQoWn1fvQt0EYJMB8sAqYNAAsed7gBDcONFbjbtGVakNRiIy2ZiVEj-LODrNjmjkF0VOK_2V4j_KwxT5Oo1FQ";
    const OLD_DIRECTORY: &str = "T0snylfH9dHIN4y9cg6DKR9QCCYGG4DYHnZeE4aq-kLCRjFPVWPckOUvood1ecGGwmaqh_gNNpvnpY7Iwrh3CkPcLzyfmJtV_WPcJupg5lpNbLdgAOBCPbtNP9-2c-V-6ePdUC02t4XWeJgB0a1szJA7EfgcE8SfX7UN2nHm78xVKGT8TqF43YiWaQd1nzJ2QIeSxdwOsFW6EcCjqUayI4aBkrjKXHcuPGloOWZ_TM1Spk8zp7jrpvKdBcxZQsv8S5SX6ynUIP2GU2HxGhD8EauIR7a7uj01Bu5Vx8q2YA";
    const OLD_WEBCHAT: &str = "okB2h6NPmej85VjlCucp6unv2GLvX5mCBtKDKMNu1OXwGT4jcqTxkb-rPozBrDGrE41IXOmk9arseYNsVfa-GMIYUCbqFkq4WIz5AA3pOthlBF-J9y948JeU5mdM8ETL2QvnQt7-piUM6n9twpVdmM-0FtSccegQrtySUED2TsLiE5NOSJyVZ6Oo9Lkv2NlEgjV4MeKMH-DwNDNUKOzRQbXwSIVXPpRqYGWksvoLOe8S8u30Kjl0vqhOWfqEvoPin_XjxPyA2JBIOaboUggF0a59vWwz58IsOLE9r8K6Hbl_BJthef90Kxn3UTy1COBDZ1ZqsTldyenHG1mddnUIgJUk3mDjfGY34sqANtdYustCmaMjRfZyRrBXFfS65QlC3p4nePnO9oklQj_p0504xa7YWGo";

    #[test]
    fn pending_cookies_go_to_the_callback_only_and_are_secure_prefixed_over_https() {
        let login = pending("AbCdEfGhIjKlMnOpQrStUv");
        let secure = CookieJar::new(&[1; 32], true).set_cookie(&login, 600);
        assert!(secure.starts_with("__Secure-freshgate-login-AbCdEfGhIjKlMnOp="));
        assert!(
            secure
                .contains("; Path=/sso/jwt/callback; Max-Age=600; HttpOnly; SameSite=Lax; Secure")
        );
        let plain = CookieJar::new(&[1; 32], false).set_cookie(&login, 600);
        assert!(plain.starts_with("freshgate-login-AbCdEfGhIjKlMnOp="));
        assert!(plain.contains("; Path=/sso/jwt/callback;"));
        assert!(!plain.contains("Secure"));
        let cleared = CookieJar::new(&[1; 32], true).clear_cookie("__Secure-freshgate-login-x");
        assert!(
            cleared.contains("; Path=/sso/jwt/callback; Max-Age=0;"),
            "{cleared}"
        );
    }

    #[test]
    fn a_logout_hint_round_trips_and_an_oversized_one_is_not_set() {
        let jar = CookieJar::new(&[3; 32], true);
        let hint = LogoutHint {
            id_token: "a.b.c".into(),
            account: "12344".into(),
        };
        let cookie = jar.set_logout_hint(&hint).unwrap();
        assert!(cookie.starts_with("__Secure-freshgate-logout="), "{cookie}");
        assert!(cookie.ends_with("; Path=/sso/jwt/logout; HttpOnly; SameSite=Lax; Secure"));
        assert!(
            jar.clear_logout_hint()
                .contains("; Path=/sso/jwt/logout; Max-Age=0;")
        );
        let pair = cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, pair.parse().unwrap());
        assert_eq!(jar.logout_hint(&headers), Some(hint));
        // A pending-login cookie's value does not open as a hint: the name is the associated data.
        let login = jar.seal(&pending("AbCdEfGhIjKlMnOpQrStUv"));
        headers.insert(
            COOKIE,
            format!("__Secure-freshgate-logout={login}")
                .parse()
                .unwrap(),
        );
        assert_eq!(jar.logout_hint(&headers), None);
        let huge = LogoutHint {
            id_token: "x".repeat(3000),
            account: "12344".into(),
        };
        assert_eq!(jar.set_logout_hint(&huge), None);
    }
}
