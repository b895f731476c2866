//! The pending-login cookie: our pending login's bytes (`format`) sealed with AES-256-GCM under the
//! cookie's name.
//!
//! Its name carries a prefix of our `state`, so logins in several tabs each have their own cookie, and the
//! name is the AEAD's associated data, so a cookie cannot be replayed under another state. Binding our
//! `state` to this browser-held cookie is the CSRF defence of RFC 9700 §4.7.1; the cookie is `HttpOnly`,
//! `SameSite=Lax` (the callback is a top-level GET redirect, or the sign-in form's same-origin post), and
//! `Secure` when browsers use https.
//!
//! The cookie is scoped to the callback (`Path=/sso/jwt/callback`), the only request that needs it, so the
//! provider's pages never carry it; `__Host-` would demand `Path=/`, so over https it takes the `__Secure-`
//! prefix (RFC 6265bis §4.1.3.1) and stays host-only by having no `Domain`. How many such cookies one browser
//! holds is bounded by `list` (at most `MAX_PENDING_LOGINS`, the oldest dropped), so a page that sends a
//! browser to the Login URL again and again cannot fill its Cookie header.

use super::{CALLBACK_PATH, PendingLogin, format};
use crate::cookies::{GATEWAY_COOKIE_PREFIX, secure_attribute, secure_prefix};
use crate::sealed::Sealer;

/// Characters of our state that go into the cookie name.
pub(super) const NAME_STATE_CHARS: usize = 16;

pub struct PendingJar {
    sealer: Sealer,
    secure: bool,
}

impl PendingJar {
    pub fn new(key: &[u8; 32], secure: bool) -> Self {
        PendingJar {
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

    /// The cookie value for `pending`: its bytes in the current format, sealed under the cookie's name.
    pub fn seal(&self, pending: &PendingLogin) -> String {
        let bytes = format::encode(pending);
        self.sealer.seal_bytes(&self.name(&pending.state), bytes)
    }

    /// Decrypts the cookie sent under `name`, in any format this release reads. `None`: forged, tampered,
    /// or sealed with another key.
    pub fn open(&self, name: &str, value: &str) -> Option<PendingLogin> {
        format::decode(&self.sealer.open_bytes(name, value)?)
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
    use crate::login::pending::{Method, Target, provider_login};

    fn pending(state: &str) -> PendingLogin {
        provider_login(state, 1_700_000_000_250)
    }

    #[test]
    fn sealed_login_opens_with_the_same_key_and_name() {
        let jar = PendingJar::new(&[7; 32], true);
        let login = pending("AbCdEfGhIjKlMnOpQrStUv");
        let sealed = jar.seal(&login);
        assert_eq!(jar.open(&jar.name(&login.state), &sealed), Some(login));
    }

    #[test]
    fn cookie_does_not_open_under_another_name_or_key_or_after_tampering() {
        let jar = PendingJar::new(&[7; 32], true);
        let login = pending("AbCdEfGhIjKlMnOpQrStUv");
        let sealed = jar.seal(&login);
        assert_eq!(jar.open(&jar.name("ZZZZZZZZZZZZZZZZZZZZ"), &sealed), None);
        assert_eq!(
            PendingJar::new(&[8; 32], true).open(&jar.name(&login.state), &sealed),
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

    /// The name every captured cookie was sealed under (key `[0x42; 32]`).
    const NAME: &str = "__Secure-freshgate-login-oFk1J0dT2qW9xYzA";

    /// The three kinds of login the releases before sealed, started at `started_ms`: a Freshworks login
    /// at the provider, a directory account's sign-in form, a Web Chat session.
    fn earlier_logins(started_ms: u64) -> [PendingLogin; 3] {
        let freshworks = PendingLogin {
            state: "oFk1J0dT2qW9xYzA7bC3dE5fG6hI8jK0lM1nO2pQ3rS".into(),
            started_ms,
            method: Method::Oidc {
                nonce: "nNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNnNn".into(),
                pkce_verifier: "vVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVv".into(),
            },
            target: Target::Freshworks {
                account: "12344".into(),
                state: "st/&=+%~\"\\<>ä".into(),
                nonce: "1545894408".into(),
            },
        };
        let directory = PendingLogin {
            method: Method::Password,
            ..freshworks.clone()
        };
        let webchat = PendingLogin {
            target: Target::Webchat {
                return_to: "https://app.example.com/chat?x=1".into(),
            },
            ..freshworks.clone()
        };
        [freshworks, directory, webchat]
    }

    /// Each captured cookie opens to the login of `earlier_logins` it was sealed from.
    fn each_opens(sealed: [&str; 3], started_ms: u64) {
        let jar = PendingJar::new(&[0x42; 32], true);
        for (sealed, login) in sealed.into_iter().zip(earlier_logins(started_ms)) {
            assert_eq!(jar.open(NAME, sealed), Some(login));
        }
    }

    /// Cookies sealed by the release before the binary format (JSON, format 0), captured from it: logins in
    /// flight while replicas are rolled over must still finish.
    #[test]
    fn cookies_sealed_by_the_release_before_still_open() {
        // That release kept the start in seconds only.
        each_opens(
            [OLD_FRESHWORKS, OLD_DIRECTORY, OLD_WEBCHAT],
            1_767_225_600_000,
        );
    }

    /// Cookies sealed in format 1 (one flat record for every kind of login) by the release before format 2,
    /// captured from it.
    #[test]
    fn cookies_sealed_in_format_1_still_open() {
        each_opens(
            [FORMAT_1_FRESHWORKS, FORMAT_1_DIRECTORY, FORMAT_1_WEBCHAT],
            1_767_225_600_250,
        );
    }

    const OLD_FRESHWORKS: &str = "KgkkElQ7pdEkYOJGeA2b5R9XUyt1FHvt9bIAEb40eIaHOsmGoxr42rSE-aQBsLBqJcWZMWo5ykUCn18e2gQon8a5ZR1772mn-_gImvjSDq_jVoydzmNTZD1WYqgxr6npGP-L_cWQNSw47RRS0wURFCcpLHlT2d3lVR-OSoa6jgp4jZIh2Ew-13aghsI87Po7wFmWHhV1fFDPq93-oeUOrXqSOLFeApcnRifi9Wl8vLnTQGpy84hBbyVRFak9H4nHzsp9hHw5N_Ze1ooEnmkNryAqChL6Vz0vXydNCEACsVM8woyjmjQoWn1fvQt0EYJMB8sAqYNAAsed7gBDcONFbjbtGVakNRiIy2ZiVEj-LODrNjmjkF0VOK_2V4j_KwxT5Oo1FQ";
    const OLD_DIRECTORY: &str = "T0snylfH9dHIN4y9cg6DKR9QCCYGG4DYHnZeE4aq-kLCRjFPVWPckOUvood1ecGGwmaqh_gNNpvnpY7Iwrh3CkPcLzyfmJtV_WPcJupg5lpNbLdgAOBCPbtNP9-2c-V-6ePdUC02t4XWeJgB0a1szJA7EfgcE8SfX7UN2nHm78xVKGT8TqF43YiWaQd1nzJ2QIeSxdwOsFW6EcCjqUayI4aBkrjKXHcuPGloOWZ_TM1Spk8zp7jrpvKdBcxZQsv8S5SX6ynUIP2GU2HxGhD8EauIR7a7uj01Bu5Vx8q2YA";
    const OLD_WEBCHAT: &str = "okB2h6NPmej85VjlCucp6unv2GLvX5mCBtKDKMNu1OXwGT4jcqTxkb-rPozBrDGrE41IXOmk9arseYNsVfa-GMIYUCbqFkq4WIz5AA3pOthlBF-J9y948JeU5mdM8ETL2QvnQt7-piUM6n9twpVdmM-0FtSccegQrtySUED2TsLiE5NOSJyVZ6Oo9Lkv2NlEgjV4MeKMH-DwNDNUKOzRQbXwSIVXPpRqYGWksvoLOe8S8u30Kjl0vqhOWfqEvoPin_XjxPyA2JBIOaboUggF0a59vWwz58IsOLE9r8K6Hbl_BJthef90Kxn3UTy1COBDZ1ZqsTldyenHG1mddnUIgJUk3mDjfGY34sqANtdYustCmaMjRfZyRrBXFfS65QlC3p4nePnO9oklQj_p0504xa7YWGo";
    const FORMAT_1_FRESHWORKS: &str = "ALu7JJW664q7eTLsHyUIT--1XXs_s0CUrBf_Onq_0G8-2MATQuRHZrS_SaWHMYJQKxIymI7o_e2gU14yRDx2gqCfhNrBCBAlzh3ne9Vv0IAUf-3n3EhkhYmYZtczCynyP_iSpSkFojy3QQty7h9RslkH4PnCwCqziLubbYmP6fi90Fs99yqbXFRChvLzX7TYddotuayn5AmPX-WjHdc31bbusxmSq2K7dcRFVepp3O4ppCeVmtTA6_fghPaKbOHiRAPHWE4WinABuw";
    const FORMAT_1_DIRECTORY: &str = "I4kWFvhGT4iTf-FQL8qf9XkzJqTs8LW4J3PgG9dAIE1gV-ickC1Wtswb7X3q8WF3YsVrgVdDVNoGQKzTmw6AENbtVfeEihniO9f5HJxHkAIrByrqIv-hatn9oz4s1ECM1JqzJI16w_pKH4iLgzpZPGZdys0";
    const FORMAT_1_WEBCHAT: &str = "CRo_GRncDX2sETzuyEkrQ4AX-PabRc0H2cOFOI-n59W9mDXorVhOQ3Z3Mhd33GTdU8QTtFjiez6zNqUgZSKX1FEXYK0SRnRpRTHgGG6s2YP3LB3v4NPO4EVlyFIv5ijKw-czsiQvsWU81j3dEFMplf3BBAKMQFw06tJ8TEtqjoNujGg6sTDQtzt2A6YlzfTLwC8GUJAZza1Yd68OjxbpymkE9DIaCkedA4jkMoACGpHgWuEiQz7IubEJ_CBJU4yM76SJ92Q_KT4jyHiSICg";

    #[test]
    fn pending_cookies_go_to_the_callback_only_and_are_secure_prefixed_over_https() {
        let login = pending("AbCdEfGhIjKlMnOpQrStUv");
        let secure = PendingJar::new(&[1; 32], true).set_cookie(&login, 600);
        assert!(secure.starts_with("__Secure-freshgate-login-AbCdEfGhIjKlMnOp="));
        assert!(
            secure
                .contains("; Path=/sso/jwt/callback; Max-Age=600; HttpOnly; SameSite=Lax; Secure")
        );
        let plain = PendingJar::new(&[1; 32], false).set_cookie(&login, 600);
        assert!(plain.starts_with("freshgate-login-AbCdEfGhIjKlMnOp="));
        assert!(plain.contains("; Path=/sso/jwt/callback;"));
        assert!(!plain.contains("Secure"));
        let cleared = PendingJar::new(&[1; 32], true).clear_cookie("__Secure-freshgate-login-x");
        assert!(
            cleared.contains("; Path=/sso/jwt/callback; Max-Age=0;"),
            "{cleared}"
        );
    }
}
