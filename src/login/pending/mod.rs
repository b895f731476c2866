//! The pending login: what a login started at the Login URL (or `/sso/webchat/login`) must remember until
//! its callback, kept in the browser as an AEAD-encrypted cookie (`jar`).
//!
//! Like oauth2-proxy's CSRF cookie, it holds everything the callback needs, so no server store is needed and
//! any replica with the same cookie key finishes the login: our `state`, when the login started, what the
//! login method must keep (one variant per method: the provider's nonce and PKCE verifier, or nothing for
//! the sign-in form), and whom the login is for (one variant per target: a Freshworks account with its
//! `state` and `nonce`, or a Web Chat session with its `return_to`).
//!
//! Its sealed bytes have a format version (`format`): a rollout never breaks logins in flight, since the
//! formats of the releases before (`earlier`) are still read. `list` bounds how many pending logins one
//! browser holds.

pub mod earlier;
pub mod format;
pub mod jar;
pub mod list;
mod wire;

pub use jar::PendingJar;

/// The gateway's redirect URI path at the provider, where the sign-in form posts too: the only path
/// pending-login cookies are sent to.
pub const CALLBACK_PATH: &str = "/sso/jwt/callback";

/// Longest `state` or `nonce` accepted from Freshworks, in bytes after URL decoding. Freshworks documents
/// no length (the seeds show 9 to 11 alphanumeric characters, `state=hgdg43567`, `nonce=1545894408`), but its
/// `state` is an opaque value its own systems may lengthen, so the Login URL contract is 1 KiB each, returned
/// byte for byte. Both ride in the pending-login cookie, whose binary layout (`format`) keeps it under
/// the 4096 bytes browsers keep per cookie (RFC 6265bis §5.6) at these sizes whatever the characters.
pub const MAX_PARAM_BYTES: usize = 1024;

/// Longest Web Chat `return_to` accepted, as the app sends it: it is kept in the pending-login cookie too.
pub const MAX_RETURN_TO_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// Our `state`: the provider's `state`, or the sign-in form's anti-forgery token. Its start names the
    /// cookie (`jar`).
    pub state: String,
    /// Unix milliseconds when the login started: the login timeout counts from it, and
    /// `freshgate_login_duration_seconds` (sub-second logins are common when the provider remembers the
    /// user).
    pub started_ms: u64,
    pub method: Method,
    pub target: Target,
}

/// How the user proves who they are, and what that method keeps until the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// At the OpenID provider: our OIDC `nonce` (OIDC Core §3.1.2.1) and PKCE verifier (RFC 7636).
    Oidc {
        nonce: String,
        pkce_verifier: String,
    },
    /// The gateway's sign-in form, whose password the directory checks: the browser posts it to the
    /// callback. (A Kerberos ticket is taken at the Login URL itself and needs no pending login.)
    Password,
}

/// Whom the login is for: who finishes it, and what they must get back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Freshworks account's JWT SSO login: Freshworks' `state` is returned and its `nonce` put into the
    /// token, byte for byte.
    Freshworks {
        account: String,
        state: String,
        nonce: String,
    },
    /// A Web Chat browser session (`/sso/webchat/login`): where the browser goes afterwards, as the app sent
    /// it (at most `MAX_RETURN_TO_BYTES`; `return_to_url` normalizes it).
    Webchat { return_to: String },
}

impl PendingLogin {
    /// When the login started, in Unix seconds.
    pub fn started_secs(&self) -> u64 {
        self.started_ms / 1000
    }

    /// The Freshworks account the login is for, if it is for one.
    pub fn account(&self) -> Option<&str> {
        match &self.target {
            Target::Freshworks { account, .. } => Some(account),
            Target::Webchat { .. } => None,
        }
    }
}

/// The URL a checked `return_to` names, normalized (percent-encoded, punycode host) for a `Location` header.
pub fn return_to_url(checked: &str) -> String {
    url::Url::parse(checked).map_or_else(|_| checked.to_owned(), |url| url.to_string())
}

/// A Freshworks login at the provider with our `state`, started at `started_ms`: what unit tests seal.
#[cfg(test)]
pub(crate) fn provider_login(state: &str, started_ms: u64) -> PendingLogin {
    PendingLogin {
        state: state.into(),
        started_ms,
        method: Method::Oidc {
            nonce: "n".into(),
            pkce_verifier: "v".into(),
        },
        target: Target::Freshworks {
            account: "12344".into(),
            state: "fs".into(),
            nonce: "fn".into(),
        },
    }
}
