//! Signing in: how a user proves who they are, apart from whom the login is for.
//!
//! The login methods sit side by side, one module each, and each yields one [`Identified`]: the user's
//! `Identity` (subject, claims, groups) and what only that method knows (the provider's ID token). As with
//! Dex's connectors (a `CallbackConnector` and a `PasswordConnector`, each yielding one identity), the side
//! a login is for never learns which method ran:
//! - `oidc`: the OpenID provider, by authorization code with PKCE (RFC 7636), its ID token validated
//!   (OIDC Core §3.1.3.7);
//! - `directory`: the gateway's sign-in form (`form`, `posted`), its password checked by
//!   `crate::directory`, whose wrong passwords and account states are values (`directory::LoginError`);
//! - `kerberos`: a Negotiate ticket (RFC 4559) at a directory account's Login URL.
//!
//! From the start of a login to its callback the pending login (`pending`, a sealed cookie) remembers the
//! method and the login's [`Target`]. The callback (`callback`, `/sso/jwt/callback`) opens it, lets the method
//! establish who the user is, and hands the identity to the target's [`Finisher`]: `crate::freshworks`
//! (allow rules, claims, the signed token, the redirect) or `crate::webchat` (the browser session). Those
//! two only start logins (the Login URL, `/sso/webchat/login`) and finish them. Every refusal is an
//! [`SsoError`], the one error of the sign-in routes, with its status, page and metric reason.

mod callback;
mod directory;
pub mod error;
pub mod form;
mod kerberos;
mod oidc;
pub mod pending;
mod posted;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use serde_json::{Map, Value};

use crate::audit::Attempt;
use crate::body::Body;
use crate::clock::{self, Clock};
use crate::config::{Config, EmailVerified};
use crate::cookies::find_cookie;
use crate::directory::Directory;
use crate::forwarding::Forwarding;
use crate::identity::Identity;
use crate::metrics::Metrics;
use crate::oidc::Provider;
use crate::request_id::RequestId;
pub use error::{SsoError, SwitchAccount};
use pending::{PendingJar, return_to_url};
pub use pending::{PendingLogin, Target};

/// How long a pending login lives when there is no `freshworks.login_timeout` (Web Chat only).
const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(600);

/// What a login method established: who the user is, and what only the method knows.
#[derive(Debug)]
pub struct Identified {
    pub identity: Identity,
    /// The provider's ID token as received (a provider login only): logout sends it back as
    /// `id_token_hint`.
    pub id_token: Option<String>,
}

/// Where a finished login sends the browser, and the cookies it sets there.
#[derive(Debug)]
pub struct Finished {
    pub location: String,
    pub cookies: Vec<String>,
}

/// The side a login is for, which turns an identity into what that side needs.
pub trait Finisher: Send + Sync {
    /// True when `claims` lack something this side would use: worth asking the provider's userinfo.
    fn any_missing(&self, claims: &Map<String, Value>, policy: EmailVerified) -> bool;

    /// True when `claims` lack something this side cannot do without: a failed userinfo ends the login.
    fn required_missing(&self, claims: &Map<String, Value>) -> bool;

    /// Ends the login of `pending` for `who`: the checks of this side, then where the browser goes.
    fn finish(
        &self,
        pending: &PendingLogin,
        who: &Identified,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Finished, SsoError>;
}

/// The finishers configured, by target.
pub struct Finishers<'a> {
    /// `None` without a Freshworks section or signing key.
    pub freshworks: Option<&'a dyn Finisher>,
    /// `None` without a `webchat` section.
    pub webchat: Option<&'a dyn Finisher>,
}

impl<'a> Finishers<'a> {
    /// The finisher of `target`, or the page that says its side is not set up.
    pub fn of(&self, target: &Target) -> Result<&'a dyn Finisher, SsoError> {
        match target {
            Target::Freshworks { .. } => self.freshworks.ok_or(SsoError::NotConfigured {
                feature: "Freshworks sign-in",
            }),
            Target::Webchat { .. } => self.webchat.ok_or(SsoError::NotConfigured {
                feature: "Web Chat sign-in",
            }),
        }
    }
}

/// A pending login the callback opened and found fresh: its cookie's deletion goes with any answer that
/// ends it, and `restart` is where "start the login again" leads.
struct Opened {
    pending: PendingLogin,
    clear: String,
    restart: Option<String>,
}

/// The login methods and the pending logins between their start and their callback.
pub struct Login {
    config: Arc<Config>,
    pending: PendingJar,
    /// `None` without `upstream` (every account logs in against the directory).
    provider: Option<Arc<Provider>>,
    /// `None` without `directory`.
    directory: Option<Arc<Directory>>,
    /// Who the client is behind trusted proxies (the directory login throttles per address).
    forwarding: Forwarding,
    metrics: Arc<Metrics>,
    /// The callback replay guard lives here (shared by replicas when the store is Redis / Valkey).
    store: Arc<crate::store::Shared>,
    /// When logins start, and how old they are at the callback.
    clock: Arc<dyn Clock>,
}

impl Login {
    pub fn new(
        config: Arc<Config>,
        cookie_key: &[u8; 32],
        provider: Option<Arc<Provider>>,
        directory: Option<Arc<Directory>>,
        forwarding: Forwarding,
        store: Arc<crate::store::Shared>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Login {
            pending: PendingJar::new(cookie_key, config.public_is_https()),
            config,
            provider,
            directory,
            forwarding,
            metrics,
            store,
            clock: clock::system(),
        }
    }

    /// The same methods, their logins timed by `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The OpenID provider, or the page that says provider logins are not set up.
    fn provider(&self) -> Result<&Arc<Provider>, SsoError> {
        self.provider.as_ref().ok_or(SsoError::NotConfigured {
            feature: "Sign-in at the OpenID provider",
        })
    }

    fn directory(&self) -> Result<&Arc<Directory>, SsoError> {
        self.directory.as_ref().ok_or(SsoError::NotConfigured {
            feature: "Directory sign-in",
        })
    }

    /// Records our `state` as used (every replica sees it when the store is shared); false for a replay.
    async fn first_use(&self, state: &str) -> Result<bool, SsoError> {
        let ttl = self.login_timeout() + Duration::from_secs(60);
        self.store
            .first_use(&format!("replay:{state}"), ttl)
            .await
            .map_err(|e| SsoError::StoreUnavailable {
                detail: e.to_string(),
            })
    }

    fn login_timeout(&self) -> Duration {
        self.config
            .freshworks
            .as_ref()
            .map_or(DEFAULT_LOGIN_TIMEOUT, |freshworks| freshworks.login_timeout)
    }

    /// A new pending login for `target` by `method`, started now under a fresh state of our own.
    fn new_pending(&self, method: pending::Method, target: Target) -> PendingLogin {
        PendingLogin {
            state: clock::random_token(),
            started_ms: self.clock.unix_ms(),
            method,
            target,
        }
    }

    /// The pending login whose cookie our `state` names, and the `Set-Cookie` that deletes that cookie:
    /// none is "no pending login", one that does not open or names another state was tampered with.
    fn open_pending(
        &self,
        headers: &HeaderMap,
        state: &str,
        fallback_restart: Option<String>,
    ) -> Result<(PendingLogin, String), Failure> {
        let name = self.pending.name(state);
        let Some(value) = find_cookie(headers, &name) else {
            let error = SsoError::NoPendingLogin {
                restart: fallback_restart,
            };
            return Err((error, None));
        };
        let clear = self.pending.clear_cookie(&name);
        match self.pending.open(&name, value) {
            Some(pending) if pending.state == state => Ok((pending, clear)),
            _ => {
                let error = SsoError::TamperedLogin {
                    restart: fallback_restart,
                };
                Err((error, Some(clear)))
            }
        }
    }

    /// Refuses a pending login older than the login timeout.
    fn check_age(
        &self,
        pending: &PendingLogin,
        restart: &Option<String>,
        clear: &str,
    ) -> Result<(), Failure> {
        let timeout = self.login_timeout();
        if self
            .clock
            .unix_secs()
            .saturating_sub(pending.started_secs())
            > timeout.as_secs()
        {
            let minutes = timeout.as_secs().div_ceil(60);
            let error = SsoError::ExpiredLogin {
                restart: restart.clone(),
                minutes,
            };
            return Err((error, Some(clear.to_owned())));
        }
        Ok(())
    }

    /// Where "start the login again" leads: the Freshworks portal of the account, or the app page of a Web
    /// Chat login.
    fn restart_url(&self, pending: &PendingLogin) -> Option<String> {
        match &pending.target {
            Target::Webchat { return_to } => Some(return_to_url(return_to)),
            Target::Freshworks { account, .. } => self.account_portal(account),
        }
    }

    fn account_portal(&self, account: &str) -> Option<String> {
        let account = self.config.freshworks.as_ref()?.accounts.get(account)?;
        Some(format!(
            "{}/",
            account.redirect_url.origin().ascii_serialization()
        ))
    }

    /// With a single configured account, the restart link is known even without a cookie.
    fn only_account_restart(&self) -> Option<String> {
        let accounts = &self.config.freshworks.as_ref()?.accounts;
        if accounts.len() == 1 {
            accounts
                .keys()
                .next()
                .and_then(|id| self.account_portal(id))
        } else {
            None
        }
    }
}

/// Parses a query; each parameter at most once (RFC 6749 §3.1).
pub fn parse_query(query: Option<&str>) -> Result<HashMap<String, String>, SsoError> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if params.insert(name.to_string(), value.to_string()).is_some() {
            return Err(SsoError::BadLoginRequest {
                reason: "duplicate_parameter",
                message: format!(
                    "The parameter `{}` appears more than once.",
                    name.chars().take(64).collect::<String>()
                ),
            });
        }
    }
    Ok(params)
}

/// A redirect the browser must not cache and that leaks nothing through `Referer`.
pub fn redirect(location: &str, cookies: &[String]) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    crate::security_headers::set(headers, crate::security_headers::Answer::Redirect);
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The failure and, when a pending-login cookie should go, the `Set-Cookie` that deletes it.
pub type Failure = (SsoError, Option<String>);

#[cfg(test)]
mod tests;
