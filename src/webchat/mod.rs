//! Freshdesk Web Chat identity tokens for users already signed in at the provider.
//!
//! `GET /sso/webchat/token` mints a short-lived HS256 token naming the user, so the widget secret stays on
//! the server and the app writes no JWT code. The identity comes only from a validated credential, never
//! from the request: a provider access token (`Authorization: Bearer`, a JWT validated against the JWKS or
//! an opaque one checked at userinfo), or the browser-session cookie (`session`). `GET /sso/webchat/login`
//! (`login`) starts a login at the provider (`crate::login`) and, when it ends, keeps who the user is in
//! that cookie. `GET /sso/webchat/widget.js` is the script an app includes to wire the token into
//! `fdWidget.init`.

pub mod cors;
pub mod error;
pub mod limit;
mod login;
pub mod session;
pub mod token;

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Map, Value};
use tracing::{info, warn};

use crate::audit::Attempt;
use crate::body::Body;
use crate::clock::unix_now;
use crate::config::{Config, Webchat as WebchatConfig};
use crate::metrics::{LoginMethod, LoginOutcome, Metrics};
use crate::oidc::Provider;
use crate::oidc::access_token::{self, AccessTokenError};
use crate::oidc::flow::{self, FlowError};
use crate::request_id::RequestId;
use crate::security_headers::{self, Answer};
pub use error::WebchatError;
use session::SessionCookie;

/// Secrets shorter than this get a start-up warning (RFC 7518 §3.2: a key of at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

const WIDGET_JS: &str = include_str!("widget.js");

pub struct Webchat {
    config: Arc<Config>,
    provider: Arc<Provider>,
    metrics: Arc<Metrics>,
    pub session: SessionCookie,
    /// Userinfo look-ups for opaque bearer tokens (`limit`): the process's bucket, which reloads keep.
    opaque_lookups: Arc<limit::Bucket>,
}

/// What `serve` logs and `check` prints about a `webchat` section that works but is weaker than it should be.
pub fn start_up_warnings(webchat: &WebchatConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    let bytes = webchat.secret.expose().len();
    if bytes < MIN_SECRET_BYTES {
        warnings.push(format!(
            "webchat secret is shorter than {MIN_SECRET_BYTES} bytes ({bytes}); generate a new key in Freshdesk \
             (Admin > Channels > Web Chat > Widgets > User authentication)"
        ));
    }
    if webchat.audience.is_empty() {
        warnings.push(format!(
            "webchat.audience is empty: JWT access tokens issued to any client of the provider are accepted \
             (RFC 9068 §4), and opaque tokens are checked at the provider's userinfo endpoint (at most {} \
             look-ups a second, then 503); list the audience your app's access tokens carry",
            limit::OPAQUE_LOOKUPS_PER_SECOND
        ));
    }
    warnings
}

impl Webchat {
    pub fn new(
        config: Arc<Config>,
        cookie_key: &[u8; 32],
        provider: Arc<Provider>,
        metrics: Arc<Metrics>,
        opaque_lookups: Arc<limit::Bucket>,
    ) -> Self {
        let webchat = config
            .webchat
            .as_ref()
            .expect("Webchat exists only with a webchat section");
        for warning in start_up_warnings(webchat) {
            warn!("{warning}");
        }
        let session = SessionCookie::new(cookie_key, config.public_is_https());
        Webchat {
            config,
            provider,
            metrics,
            session,
            opaque_lookups,
        }
    }

    pub fn settings(&self) -> &WebchatConfig {
        self.config
            .webchat
            .as_ref()
            .expect("Webchat exists only with a webchat section")
    }

    /// `/sso/webchat/token`, including its CORS preflight. Each GET is a login attempt (`attempt`); a
    /// preflight is not.
    pub async fn token(
        &self,
        request: &Request<Incoming>,
        id: RequestId,
        attempt: &Attempt,
    ) -> Response<Body> {
        let settings = self.settings();
        let headers = request.headers();
        let origin = cors::allowed_origin(headers, &settings.allowed_origins).map(str::to_owned);
        let has_origin = headers.contains_key(header::ORIGIN);
        if request.method() == Method::OPTIONS {
            return match &origin {
                Some(origin) => {
                    let mut response = empty(StatusCode::NO_CONTENT);
                    cors::preflight(response.headers_mut(), origin);
                    response
                }
                None => self.refuse(WebchatError::OriginNotAllowed, None, id),
            };
        }
        if request.method() != Method::GET {
            return json(
                StatusCode::METHOD_NOT_ALLOWED,
                &serde_json::json!({"error": "method_not_allowed"}),
            );
        }
        attempt.method(LoginMethod::WebchatToken);
        attempt.attempting();
        if has_origin && origin.is_none() {
            let error = WebchatError::OriginNotAllowed;
            attempt.ended(error.outcome(), error.code());
            return self.refuse(error, None, id);
        }
        match self.identify(headers, origin.as_deref(), id, attempt).await {
            Ok(identity) => {
                if let Some(email) = identity.get("email").and_then(Value::as_str) {
                    attempt.email(email);
                }
                attempt.ended(LoginOutcome::Success, "ok");
                let exp = unix_now() + settings.ttl.as_secs();
                let minted = token::mint(settings.secret.expose().as_bytes(), &identity, exp);
                self.metrics.login("webchat_token", "ok");
                info!(request_id = %id, "webchat token minted");
                let mut response = json(
                    StatusCode::OK,
                    &serde_json::json!({"token": minted, "expires_at": exp}),
                );
                if let Some(origin) = &origin {
                    cors::allow(response.headers_mut(), origin);
                }
                response
            }
            Err(error) => {
                attempt.ended(error.outcome(), error.code());
                self.refuse(error, origin.as_deref(), id)
            }
        }
    }

    /// Who is asking: from the bearer token when there is one, else from the browser session.
    async fn identify(
        &self,
        headers: &HeaderMap,
        origin: Option<&str>,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Map<String, Value>, WebchatError> {
        let settings = self.settings();
        if let Some(bearer) = bearer(headers) {
            attempt.credential("bearer");
            let claims = self.claims_from_access_token(bearer, id).await?;
            if let Some(subject) = claims.get("sub").and_then(Value::as_str) {
                attempt.subject(subject, Some(&self.provider.upstream.issuer));
            }
            let identity = token::identity(settings, &claims).map_err(|refusal| match refusal {
                token::NoIdentity::Missing(claim) => WebchatError::MissingIdentity {
                    claim: claim.to_owned(),
                },
                token::NoIdentity::NotOneAddress => WebchatError::NotOneAddress,
            })?;
            if token::email_unverified(settings, &claims, self.provider.upstream.email_verified) {
                return Err(WebchatError::EmailNotVerified);
            }
            return Ok(identity);
        }
        let Some(identity) = self.session.read(headers) else {
            return Err(WebchatError::NoCredentials);
        };
        attempt.credential("session");
        // The cookie rides along on any request to us: demand proof the caller is an allowed page's script.
        if origin.is_none() || headers.get(cors::CSRF_HEADER).is_none() {
            return Err(WebchatError::CsrfCheckFailed);
        }
        Ok(identity)
    }

    async fn claims_from_access_token(
        &self,
        bearer: &str,
        id: RequestId,
    ) -> Result<Map<String, Value>, WebchatError> {
        let settings = self.settings();
        let discovered = self
            .provider
            .current()
            .map_err(|detail| WebchatError::ProviderNotReady { detail })?;
        let upstream = &self.provider.upstream;
        if access_token::looks_like_jwt(bearer) {
            let mut result =
                access_token::validate(&discovered, &upstream.issuer, &settings.audience, bearer);
            if result == Err(AccessTokenError::UnknownKey)
                && self.provider.refresh_for_unknown_kid(id).await
            {
                let fresh = self
                    .provider
                    .current()
                    .map_err(|detail| WebchatError::ProviderNotReady { detail })?;
                result =
                    access_token::validate(&fresh, &upstream.issuer, &settings.audience, bearer);
            }
            let mut claims = result.map_err(|e| WebchatError::InvalidToken {
                detail: e.to_string(),
            })?;
            // Access tokens often carry only `sub`; userinfo may know the rest (it checks the token too).
            let policy = upstream.email_verified;
            if (matches!(
                token::identity(settings, &claims),
                Err(token::NoIdentity::Missing(_))
            ) || token::email_verified_unknown(settings, &claims, policy))
                && discovered.metadata.userinfo_endpoint().is_some()
            {
                let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
                if let Ok(extra) =
                    flow::userinfo(&self.provider, &discovered, bearer, subject.as_deref(), id)
                        .await
                {
                    crate::claims::merge_userinfo(&mut claims, extra);
                }
            }
            Ok(claims)
        } else if !settings.audience.is_empty() {
            // Userinfo accepts any access token of the provider, whichever client it was issued to; with an
            // audience configured, only a token that shows it (a JWT) may identify the user (RFC 9068 §4).
            Err(WebchatError::InvalidToken {
                detail:
                    "an opaque access token cannot show its audience, and webchat.audience is set"
                        .into(),
            })
        } else if !limit::plausible_opaque_token(bearer) {
            Err(WebchatError::InvalidToken {
                detail: "not a bearer token (RFC 6750 §2.1)".into(),
            })
        } else if !self.opaque_lookups.try_take() {
            Err(WebchatError::Busy)
        } else {
            flow::userinfo(&self.provider, &discovered, bearer, None, id)
                .await
                .map_err(|e| match e {
                    FlowError::Rejected(detail) => WebchatError::InvalidToken { detail },
                    other => WebchatError::ProviderError {
                        detail: other.to_string(),
                    },
                })
        }
    }

    fn refuse(&self, error: WebchatError, origin: Option<&str>, id: RequestId) -> Response<Body> {
        self.metrics.login("webchat_refused", error.code());
        warn!(request_id = %id, reason = error.code(), detail = %crate::logging::one_line(&error.detail()), "webchat token refused");
        let body = serde_json::json!({
            "error": error.code(),
            "message": error.message(),
            "request_id": id.to_string(),
        });
        let mut response = json(error.status(), &body);
        if let Some(challenge) = error.challenge()
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        if let WebchatError::Busy = error {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        match origin {
            // Let an allowed page read why it was refused.
            Some(origin) => cors::allow(response.headers_mut(), origin),
            None => cors::vary_origin(response.headers_mut()),
        }
        response
    }

    /// `/sso/webchat/widget.js`.
    pub fn widget_js(&self) -> Response<Body> {
        let settings = self.settings();
        let widget = settings.widget.as_ref();
        let config = serde_json::json!({
            "gateway": self.config.public(""),
            "host": widget.map(|w| w.host.as_str().trim_end_matches('/')),
            "token": widget.map(|w| w.token.as_str()),
            "widgetId": widget.map(|w| w.widget_id.as_str()),
        });
        // `</` cannot end the script early inside a JSON string that is escaped this way.
        let config = config.to_string().replace("</", "<\\/");
        script(WIDGET_JS.replace("/*FRESHGATE_CONFIG*/{}", &config))
    }
}

/// `widget.js` as served.
pub(crate) fn script(script: String) -> Response<Body> {
    let content_type = "text/javascript; charset=utf-8";
    security_headers::response(StatusCode::OK, content_type, script, Answer::Script)
}

/// RFC 6750 §2.1: `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

pub(crate) fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let content_type = "application/json";
    security_headers::response(status, content_type, value.to_string(), Answer::Token)
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_other_schemes_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer abc.def".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc.def"));
        headers.insert(header::AUTHORIZATION, "Basic Zm9vOmJhcg==".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
