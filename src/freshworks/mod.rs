//! Freshworks JWT SSO: the Login URL (`/sso/jwt/login`, `login`) starts a login, the end of every
//! Freshworks login (`finish`) signs the mapped claims, and the Logout URL (`/sso/jwt/logout`, `logout`)
//! ends the session at the provider.
//!
//! Freshworks sends the browser to the Login URL with its `state` and `nonce`; the gateway lets the
//! account's login method establish who the user is (`crate::login`: the provider, or the directory's
//! sign-in form or Kerberos ticket), checks the account's `allow` rules, maps the identity's claims to the
//! Freshworks payload (`claims`), signs it RS256 and sends the browser back to the account's
//! `redirect_url` with `state` and `id_token` (the seeds: `${redirect_uri}?state=${state}&id_token=${jwt_token}`).

pub mod claims;
mod finish;
pub mod login;
mod logout;
pub mod logout_hint;

use std::sync::Arc;

use tracing::info;

use crate::audit::Attempt;
use crate::config::{Config, Freshworks as Settings};
use crate::keys::SigningKey;
use crate::login::SsoError;
use crate::metrics::{LoginOutcome, Metrics};
use crate::oidc::Provider;
use crate::request_id::RequestId;
use logout_hint::LogoutHints;

/// The Freshworks side of the sign-in routes.
pub struct Freshworks {
    config: Arc<Config>,
    /// The Freshworks signing key; present exactly when the `freshworks` section is.
    key: Option<SigningKey>,
    /// `None` without `upstream`: where logout signs the user out, and whose email verification counts.
    provider: Option<Arc<Provider>>,
    hints: LogoutHints,
    metrics: Arc<Metrics>,
}

impl Freshworks {
    pub fn new(
        config: Arc<Config>,
        key: Option<SigningKey>,
        cookie_key: &[u8; 32],
        provider: Option<Arc<Provider>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Freshworks {
            hints: LogoutHints::new(cookie_key, config.public_is_https()),
            config,
            key,
            provider,
            metrics,
        }
    }

    /// The Freshworks section and signing key, or the page that says Freshworks SSO is not set up.
    fn signing(&self) -> Result<(&Settings, &SigningKey), SsoError> {
        match (&self.config.freshworks, &self.key) {
            (Some(freshworks), Some(key)) => Ok((freshworks, key)),
            _ => Err(SsoError::NotConfigured {
                feature: "Freshworks sign-in",
            }),
        }
    }

    /// Whether Freshworks logins can be finished here (a `freshworks` section and its signing key).
    pub fn is_configured(&self) -> bool {
        self.signing().is_ok()
    }

    fn log_success(&self, id: RequestId, account: &str, subject: &str, attempt: &Attempt) {
        attempt.ended(LoginOutcome::Success, "ok");
        self.metrics.login("success", "ok");
        info!(request_id = %id, account, sub = subject, "login succeeded; signed token sent to Freshworks");
    }
}
