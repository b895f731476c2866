//! The gateway's own `/sso/` routes. Freshworks JWT SSO: `/sso/jwt/login`, `/sso/jwt/callback`,
//! `/sso/jwt/logout`; and the Web Chat routes under `/sso/webchat/`, whose browser-session login shares the
//! provider login and callback with Freshworks.
//!
//! Freshworks sends the browser to the Login URL with its `state` and `nonce`; the gateway runs a standard
//! authorization-code + PKCE login at the provider, maps the provider's claims to the Freshworks payload,
//! signs it RS256 and sends the browser back to the account's `redirect_url` with `state` and `id_token`
//! (the seeds: `${redirect_uri}?state=${state}&id_token=${jwt_token}`).

mod callback;
pub mod claims;
mod error;
mod finish;
pub mod login;
mod logout;
mod password;
pub mod pending;
pub mod pending_format;
pub mod pending_list;

use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use tracing::{info, warn};

use crate::audit::{Attempt, Kind};
use crate::body::Body;
use crate::config::{Config, Freshworks};
use crate::directory::Directory;
use crate::forwarding::Forwarding;
use crate::keys::SigningKey;
use crate::metrics::{LoginMethod, LoginOutcome, Metrics};
use crate::oidc::Provider;
use crate::request_id::RequestId;
use crate::route::Route;
use crate::server::ConnInfo;
use crate::webchat::Webchat;
pub use error::SsoError;
use pending::CookieJar;

/// How long a pending login lives when there is no `freshworks.login_timeout` (Web Chat only).
const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Sso {
    config: Arc<Config>,
    /// The Freshworks signing key; present exactly when the `freshworks` section is.
    key: Option<SigningKey>,
    cookies: CookieJar,
    /// `None` without `upstream` (every account logs in against the directory).
    provider: Option<Arc<Provider>>,
    /// `None` without `directory`.
    directory: Option<Arc<Directory>>,
    /// Who the client is behind trusted proxies (the directory login throttles per address).
    forwarding: Forwarding,
    metrics: Arc<Metrics>,
    /// The callback replay guard lives here (shared by replicas when the store is Redis / Valkey).
    store: Arc<crate::store::Shared>,
    webchat: Option<Webchat>,
}

/// What the sign-in routes are built from (one snapshot's parts).
pub struct Parts {
    pub config: Arc<Config>,
    /// The Freshworks signing key; present exactly when the `freshworks` section is.
    pub key: Option<SigningKey>,
    pub cookie_key: [u8; 32],
    pub provider: Option<Arc<Provider>>,
    pub directory: Option<Arc<Directory>>,
    pub forwarding: Forwarding,
    pub store: Arc<crate::store::Shared>,
    pub metrics: Arc<Metrics>,
    /// The process's Web Chat userinfo budget (it outlives reloads).
    pub opaque_lookups: Arc<crate::webchat::limit::Bucket>,
}

impl Sso {
    pub fn new(parts: Parts) -> Self {
        let Parts {
            config,
            key,
            cookie_key,
            provider,
            directory,
            forwarding,
            store,
            metrics,
            opaque_lookups,
        } = parts;
        let cookies = CookieJar::new(&cookie_key, config.public_is_https());
        // Validation requires `upstream` with `webchat`.
        let webchat = match (&config.webchat, &provider) {
            (Some(_), Some(provider)) => Some(Webchat::new(
                config.clone(),
                &cookie_key,
                provider.clone(),
                metrics.clone(),
                opaque_lookups,
            )),
            _ => None,
        };
        Sso {
            config,
            key,
            cookies,
            provider,
            directory,
            forwarding,
            metrics,
            store,
            webchat,
        }
    }

    /// The Freshworks section and signing key, or the page that says Freshworks SSO is not set up.
    fn freshworks(&self) -> Result<(&Freshworks, &SigningKey), SsoError> {
        match (&self.config.freshworks, &self.key) {
            (Some(freshworks), Some(key)) => Ok((freshworks, key)),
            _ => Err(SsoError::NotConfigured {
                feature: "Freshworks sign-in",
            }),
        }
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

    fn webchat(&self) -> Result<&Webchat, SsoError> {
        self.webchat.as_ref().ok_or(SsoError::NotConfigured {
            feature: "Web Chat sign-in",
        })
    }

    fn login_timeout(&self) -> Duration {
        self.config
            .freshworks
            .as_ref()
            .map_or(DEFAULT_LOGIN_TIMEOUT, |freshworks| freshworks.login_timeout)
    }

    /// The gateway's redirect URI at the provider.
    fn callback_url(&self) -> String {
        self.config.public("/sso/jwt/callback")
    }

    /// Answers one request to a sign-in route; a request that ends a login attempt also writes its audit
    /// event and observes the login duration (`crate::audit`), once, whichever way it ended.
    pub async fn handle(
        &self,
        route: Route,
        request: Request<Incoming>,
        conn: ConnInfo,
        id: RequestId,
    ) -> Response<Body> {
        let client = self.forwarding.client_ip(request.headers(), conn.peer.ip());
        let kind = match route {
            Route::WebchatToken => Kind::WebchatToken,
            Route::WebchatLogin => Kind::WebchatSession,
            _ => Kind::Freshworks,
        };
        let attempt = Attempt::new(id, client, kind, self.metrics.clone());
        if route == Route::SsoCallback {
            attempt.attempting();
        }
        let response = self.respond(route, request, &conn, id, &attempt).await;
        attempt.finish();
        response
    }

    async fn respond(
        &self,
        route: Route,
        request: Request<Incoming>,
        conn: &ConnInfo,
        id: RequestId,
        attempt: &Attempt,
    ) -> Response<Body> {
        if route == Route::WebchatToken {
            // JSON API with its own CORS preflight and error bodies.
            return match self.webchat() {
                Ok(webchat) => webchat.token(&request, id, attempt).await,
                Err(error) => error.page().render(request.headers(), id),
            };
        }
        let headers = request.headers().clone();
        if route == Route::SsoCallback && request.method() == http::Method::POST {
            // The directory login form posts here (its pending-login cookie is scoped to this path).
            attempt.method(LoginMethod::Directory);
            return match self.password(request, conn, id, attempt).await {
                Ok(response) => response,
                Err((error, clear_cookie)) => {
                    self.refusal(route, error, clear_cookie, &headers, conn, attempt)
                }
            };
        }
        if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
            let page = crate::pages::Page::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This page only opens as a link",
                "The sign-in gateway's pages are opened with GET.",
            );
            return page.render(&headers, id);
        }
        let result = match route {
            Route::SsoLogin => self.login(&request, id, attempt).await,
            Route::SsoCallback => {
                attempt.method(LoginMethod::Oidc);
                self.callback(&request, id, attempt).await
            }
            Route::SsoLogout => self.logout(&request, id),
            Route::WebchatLogin => {
                attempt.method(LoginMethod::Oidc);
                self.webchat_login(&request, id).await
            }
            Route::WebchatWidget => self
                .webchat()
                .map(Webchat::widget_js)
                .map_err(|e| (e, None)),
            Route::Passthrough | Route::SsoUnknown | Route::WebchatToken | Route::Refused => {
                unreachable!("App routes only SSO routes here, and WebchatToken returned above")
            }
        };
        match result {
            Ok(response) => response,
            Err((error, clear_cookie)) => {
                self.refusal(route, error, clear_cookie, &headers, conn, attempt)
            }
        }
    }

    /// A refused login: counted, logged with the request id and reason, answered with its page. On the
    /// routes where a login starts or ends, the refusal ends the attempt.
    fn refusal(
        &self,
        route: Route,
        error: SsoError,
        clear_cookie: Option<String>,
        headers: &HeaderMap,
        conn: &ConnInfo,
        attempt: &Attempt,
    ) -> Response<Body> {
        let id = attempt.request_id();
        let outcome = if route == Route::SsoLogout {
            "logout_failure"
        } else {
            "failure"
        };
        if matches!(
            route,
            Route::SsoLogin | Route::SsoCallback | Route::WebchatLogin
        ) {
            attempt.ended(error.outcome(), error.reason());
        }
        self.metrics.login(outcome, error.reason());
        warn!(
            request_id = %id,
            peer = %conn.peer.ip(),
            reason = error.reason(),
            detail = %crate::logging::one_line(&error.detail()),
            "login refused"
        );
        let mut response = error.page().render(headers, id);
        for cookie in clear_cookie
            .as_deref()
            .into_iter()
            .chain(error.extra_cookie())
        {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
    }

    fn log_success(&self, id: RequestId, account: &str, subject: &str, attempt: &Attempt) {
        attempt.ended(LoginOutcome::Success, "ok");
        self.metrics.login("success", "ok");
        info!(request_id = %id, account, sub = subject, "login succeeded; signed token sent to Freshworks");
    }
}

/// A redirect the browser must not cache and that leaks nothing through `Referer`.
pub(crate) fn redirect(location: &str, cookies: &[String]) -> Response<Body> {
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
type Failure = (SsoError, Option<String>);
