//! The gateway's own `/sso/` routes, each to the part that answers it:
//!
//! | route | answered by |
//! |---|---|
//! | `/sso/jwt/login` (the Login URL) | `freshworks::login`, which starts the account's login method |
//! | `/sso/jwt/callback` (`GET` from the provider, `POST` from the sign-in form) | `login::callback` |
//! | `/sso/jwt/logout` (the Logout URL) | `freshworks::logout` |
//! | `/sso/webchat/login`, `/sso/webchat/token`, `/sso/webchat/widget.js` | `webchat` |
//!
//! A request that ends a login attempt writes its audit event and observes the login duration
//! (`crate::audit`), once, whichever way it ended; every refusal is counted, logged with the request id and
//! reason, and answered with its page.

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use tracing::warn;

use crate::audit::{Attempt, Kind};
use crate::body::Body;
use crate::config::Config;
use crate::directory::Directory;
use crate::forwarding::Forwarding;
use crate::freshworks::Freshworks;
use crate::keys::SigningKey;
use crate::login::{Finisher, Finishers, Login, SsoError};
use crate::metrics::{LoginMethod, Metrics};
use crate::oidc::Provider;
use crate::request_id::RequestId;
use crate::route::Route;
use crate::server::ConnInfo;
use crate::webchat::Webchat;

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

pub struct Sso {
    login: Login,
    freshworks: Freshworks,
    /// `None` without a `webchat` section.
    webchat: Option<Webchat>,
    forwarding: Forwarding,
    metrics: Arc<Metrics>,
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
        let freshworks = Freshworks::new(
            config.clone(),
            key,
            &cookie_key,
            provider.clone(),
            metrics.clone(),
        );
        let login = Login::new(
            config,
            &cookie_key,
            provider,
            directory,
            forwarding.clone(),
            store,
            metrics.clone(),
        );
        Sso {
            login,
            freshworks,
            webchat,
            forwarding,
            metrics,
        }
    }

    fn webchat(&self) -> Result<&Webchat, SsoError> {
        self.webchat.as_ref().ok_or(SsoError::NotConfigured {
            feature: "Web Chat sign-in",
        })
    }

    /// Who finishes the logins of each target.
    fn finishers(&self) -> Finishers<'_> {
        Finishers {
            freshworks: self
                .freshworks
                .is_configured()
                .then_some(&self.freshworks as &dyn Finisher),
            webchat: self
                .webchat
                .as_ref()
                .map(|webchat| webchat as &dyn Finisher),
        }
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
            let finishers = self.finishers();
            return match self
                .login
                .form_posted(request, conn, id, attempt, &finishers)
                .await
            {
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
            Route::SsoLogin => {
                self.freshworks
                    .login(&request, &self.login, id, attempt)
                    .await
            }
            Route::SsoCallback => {
                let finishers = self.finishers();
                self.login.callback(&request, id, attempt, &finishers).await
            }
            Route::SsoLogout => {
                let webchat_session = self
                    .webchat
                    .as_ref()
                    .filter(|webchat| webchat.session.read(request.headers()).is_some())
                    .map(|webchat| webchat.session.clear());
                self.freshworks.logout(&request, id, webchat_session)
            }
            Route::WebchatLogin => {
                attempt.method(LoginMethod::Oidc);
                self.webchat()
                    .map_err(|e| (e, None))
                    .and_then(|webchat| webchat.login(&request, &self.login, id))
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
}
