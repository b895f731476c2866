//! Freshworks JWT SSO: `/sso/jwt/login`, `/sso/jwt/callback`, `/sso/jwt/logout`.
//!
//! Freshworks sends the browser to the Login URL with its `state` and `nonce`; the gateway runs a standard
//! authorization-code + PKCE login at the provider, maps the provider's claims to the Freshworks payload,
//! signs it RS256 and sends the browser back to the account's `redirect_url` with `state` and `id_token`
//! (the seeds: `${redirect_uri}?state=${state}&id_token=${jwt_token}`).

mod callback;
mod claims;
mod error;
mod login;
mod logout;
pub mod pending;
mod replay;

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use tracing::{info, warn};

use crate::admin::metrics::Metrics;
use crate::body::Body;
use crate::config::Config;
use crate::keys::SigningKey;
use crate::oidc::Provider;
use crate::request_id::RequestId;
use crate::route::Route;
use crate::server::ConnInfo;
pub use error::SsoError;
use pending::CookieJar;

pub struct Sso {
    config: Arc<Config>,
    key: SigningKey,
    cookies: CookieJar,
    provider: Arc<Provider>,
    metrics: Arc<Metrics>,
    replay: replay::UsedStates,
}

impl Sso {
    pub fn new(
        config: Arc<Config>,
        key: SigningKey,
        cookie_key: [u8; 32],
        provider: Arc<Provider>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let cookies = CookieJar::new(&cookie_key, config.public_is_https());
        Sso {
            config,
            key,
            cookies,
            provider,
            metrics,
            replay: replay::UsedStates::default(),
        }
    }

    fn freshworks(&self) -> &crate::config::Freshworks {
        self.config
            .freshworks
            .as_ref()
            .expect("Sso exists only when the freshworks section does")
    }

    /// The gateway's redirect URI at the provider.
    fn callback_url(&self) -> String {
        self.config.public("/sso/jwt/callback")
    }

    pub async fn handle(
        &self,
        route: Route,
        request: Request<Incoming>,
        conn: ConnInfo,
        id: RequestId,
    ) -> Response<Body> {
        let headers = request.headers().clone();
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
            Route::SsoLogin => self.login(&request, id).await,
            Route::SsoCallback => self.callback(&request, id).await,
            Route::SsoLogout => self.logout(&request, id),
            _ => unreachable!("only SSO routes reach Sso::handle"),
        };
        match result {
            Ok(response) => response,
            Err((error, clear_cookie)) => {
                let outcome = if route == Route::SsoLogout {
                    "logout_failure"
                } else {
                    "failure"
                };
                self.metrics.login(outcome, error.reason());
                warn!(
                    request_id = %id,
                    peer = %conn.peer.ip(),
                    reason = error.reason(),
                    detail = %error.detail(),
                    "login refused"
                );
                let mut response = error.page().render(&headers, id);
                if let Some(cookie) = clear_cookie
                    && let Ok(value) = HeaderValue::from_str(&cookie)
                {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
                response
            }
        }
    }

    fn log_success(&self, id: RequestId, account: &str, subject: &str) {
        self.metrics.login("success", "ok");
        info!(request_id = %id, account, sub = subject, "login succeeded; signed token sent to Freshworks");
    }
}

/// A redirect the browser must not cache and that leaks nothing through `Referer`.
fn redirect(location: &str, cookies: &[String]) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    no_store(headers);
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// The failure and, when a pending-login cookie should go, the `Set-Cookie` that deletes it.
type Failure = (SsoError, Option<String>);
