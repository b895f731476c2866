//! Directory accounts: the Login URL shows the gateway's own sign-in form, which posts the user name and
//! password to the callback.
//!
//! The form is bound to this browser's pending login: its hidden `state` names the sealed pending-login
//! cookie (scoped to the callback, `SameSite=Lax`, so a cross-site POST never carries it), and the state
//! inside the cookie must equal the posted one. A post from another origin is refused before the cookie is
//! read (`Origin`, `Sec-Fetch-Site`), so login CSRF needs both a forged origin and the browser's cookie.
//!
//! With `directory.kerberos` the Login URL also offers the silent Windows login (`negotiate`).
//!
//! How the password is checked is not this module's business: `crate::directory` answers with an
//! `Identity` or a `LoginError`, and the end is the same as for a provider login (`finish`). Passwords
//! live in zeroized buffers and are never logged.

use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tracing::{info, warn};
use zeroize::Zeroizing;

use super::error::SsoError;
use super::login::LoginRequest;
use super::pending::{CALLBACK_PATH, PendingLogin, find_cookie};
use super::{Failure, Sso, redirect};
use crate::body::Body;
use crate::directory::LoginError;
use crate::kerberos::TokenError;
use crate::kerberos::token::{self, Offered};

mod negotiate;
use crate::audit::Attempt;
use crate::login_form::LoginForm;
use crate::metrics::LoginMethod;
use crate::oidc::flow::{random_token, unix_now};
use crate::request_id::RequestId;
use crate::server::ConnInfo;

/// Largest form accepted: a user name of 256 characters and a long password, percent-encoded. A longer
/// declared length is refused before routing (`Route::max_body_bytes`); this bounds a body of no declared
/// length (chunked).
const MAX_FORM_BYTES: usize = crate::route::SSO_MAX_BODY_BYTES as usize;
/// How long the form body may take to arrive.
const FORM_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the form posted.
struct Posted {
    state: String,
    username: String,
    password: Zeroizing<String>,
}

impl Sso {
    /// `GET /sso/jwt/login` for a directory account: a pending login sealed in a cookie, and the form.
    ///
    /// With `directory.kerberos`, the form comes with `401` and `WWW-Authenticate: Negotiate` (RFC 4559
    /// §4.1): a browser that has a Kerberos ticket for the gateway asks the same URL again with
    /// `Authorization: Negotiate <token>` and is signed in without a prompt (`negotiate`); one without
    /// a ticket shows the form it already has.
    pub(super) async fn start_directory_login(
        &self,
        headers: &HeaderMap,
        checked: &LoginRequest<'_>,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Response<Body>, Failure> {
        let directory = self.directory().map_err(|e| (e, None))?;
        let pending = PendingLogin {
            state: random_token(),
            nonce: String::new(),
            pkce_verifier: String::new(),
            account: checked.account.id.clone(),
            fw_state: checked.state.clone(),
            fw_nonce: checked.nonce.clone(),
            started: unix_now(),
            started_ms: crate::store::now_ms(),
            return_to: None,
            directory: true,
        };
        let negotiates = directory.negotiates();
        let mut notice = None;
        if negotiates {
            match token::offered(headers) {
                Offered::Nothing => {}
                Offered::Token(token) => {
                    attempt.method(LoginMethod::Kerberos);
                    attempt.attempting();
                    match self.negotiate(token, &pending, checked, id, attempt).await {
                        Ok(done) => return done,
                        Err(why) => notice = why,
                    }
                }
                Offered::Malformed => {
                    attempt.method(LoginMethod::Kerberos);
                    self.ticket_refused(
                        &LoginError::Ticket(TokenError::Malformed.into()),
                        checked,
                        id,
                        attempt,
                    );
                }
            }
        }
        let cookies =
            self.cookies
                .start_login_cookies(headers, &pending, self.login_timeout().as_secs());
        let status = if negotiates {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        let mut response = self.form_with_notice(&pending, "", None, notice, status, id);
        if negotiates {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(token::SCHEME),
            );
        }
        for cookie in cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        Ok(response)
    }

    /// `POST /sso/jwt/callback`: the sign-in form.
    pub(super) async fn password(
        &self,
        request: Request<Incoming>,
        conn: &ConnInfo,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Response<Body>, Failure> {
        let fallback_restart = self.only_account_restart();
        check_origin(request.headers(), &self.config.public_url).map_err(|e| (e, None))?;
        let headers = request.headers().clone();
        let posted = read_form(request).await.map_err(|e| (e, None))?;
        attempt.username(&posted.username);
        let no_pending = || {
            (
                SsoError::NoPendingLogin {
                    restart: fallback_restart.clone(),
                },
                None,
            )
        };
        if posted.state.is_empty() {
            return Err(no_pending());
        }
        let name = self.cookies.name(&posted.state);
        let value = find_cookie(&headers, &name).ok_or_else(no_pending)?;
        let clear = self.cookies.clear_cookie(&name);
        let pending = match self.cookies.open(&name, value) {
            Some(pending) if pending.state == posted.state && pending.directory => pending,
            _ => {
                let error = SsoError::TamperedLogin {
                    restart: fallback_restart,
                };
                return Err((error, Some(clear)));
            }
        };
        attempt.account(&pending.account);
        attempt.login_started(pending.started_unix_ms());
        let restart = self.restart_url(&pending);
        let timeout = self.login_timeout();
        if unix_now().saturating_sub(pending.started) > timeout.as_secs() {
            let minutes = timeout.as_secs().div_ceil(60);
            return Err((SsoError::ExpiredLogin { restart, minutes }, Some(clear)));
        }
        let at_callback = |e: SsoError| (e.at_callback(restart.clone()), Some(clear.clone()));
        let (freshworks, _) = self.freshworks().map_err(at_callback)?;
        let account = freshworks
            .accounts
            .get(&pending.account)
            .filter(|account| account.login == crate::config::LoginMethod::Directory)
            .ok_or_else(|| at_callback(SsoError::TamperedLogin { restart: None }))?;
        let directory = self.directory().map_err(at_callback)?;
        let client = self.forwarding.client_ip(&headers, conn.peer.ip());
        let want_groups = !account.allow.groups.is_empty();
        let Posted {
            username, password, ..
        } = posted;
        let identity = match directory
            .authenticate(&username, password, client, want_groups)
            .await
        {
            Ok(identity) => identity,
            // Counted, logged and audited as a refusal at the callback, with its page.
            Err(error) if error.form_message().is_none() => {
                return Err(at_callback(SsoError::Directory(error)));
            }
            Err(error) => {
                self.metrics.login("failure", error.reason());
                warn!(
                    request_id = %id,
                    peer = %client,
                    account = %account.id,
                    reason = error.reason(),
                    detail = %crate::logging::one_line(&error.detail()),
                    "directory login refused"
                );
                attempt.ended(error.outcome(), error.reason());
                let message = error.form_message().unwrap_or_default();
                return Ok(self.form_again(&pending, &username, &message, &error, id));
            }
        };
        attempt.subject(&identity.subject, None);
        if !self.first_use(&pending.state).await.map_err(at_callback)? {
            return Err(at_callback(SsoError::ReplayedCallback { restart: None }));
        }
        let location = self
            .sign_for(&identity, &pending, id, attempt)
            .map_err(|e| at_callback(self.directory_claim_error(e)))?;
        info!(request_id = %id, account = %account.id, user = %identity.subject, "directory login succeeded");
        let cookies =
            self.cookies
                .finish_login_cookies(&headers, &pending.state, timeout.as_secs());
        Ok(redirect(&location, &cookies))
    }

    /// The form again after a failed try, with the message and the name typed (never the password).
    fn form_again(
        &self,
        pending: &PendingLogin,
        username: &str,
        message: &str,
        error: &LoginError,
        id: RequestId,
    ) -> Response<Body> {
        let status = match error {
            LoginError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::OK,
        };
        let kept: String = username.chars().take(256).collect();
        let mut response = self.form(pending, &kept, Some(message), status, id);
        // Rounded up, as the page's "Wait N seconds" is.
        if let LoginError::Throttled(held) = error
            && let Ok(value) = HeaderValue::from_str(
                &held
                    .retry_after()
                    .as_millis()
                    .div_ceil(1000)
                    .max(1)
                    .to_string(),
            )
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    fn form(
        &self,
        pending: &PendingLogin,
        username: &str,
        message: Option<&str>,
        status: StatusCode,
        id: RequestId,
    ) -> Response<Body> {
        self.form_with_notice(pending, username, message, None, status, id)
    }

    /// The form with a `notice` above it: something the user should know that is not a mistake of theirs.
    fn form_with_notice(
        &self,
        pending: &PendingLogin,
        username: &str,
        message: Option<&str>,
        notice: Option<&str>,
        status: StatusCode,
        id: RequestId,
    ) -> Response<Body> {
        let portal = self.restart_url(pending);
        let account = self
            .config
            .freshworks
            .as_ref()
            .and_then(|f| f.accounts.get(&pending.account));
        let label = account
            .and_then(|account| account.redirect_url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "Freshworks".to_owned());
        let redirect_origin = account
            .map(|account| account.redirect_url.origin().ascii_serialization())
            .unwrap_or_default();
        LoginForm {
            action: CALLBACK_PATH,
            state: &pending.state,
            account_label: &label,
            username,
            message,
            notice,
            cancel: portal.as_deref(),
            redirect_origin: &redirect_origin,
        }
        .render(status, id)
    }

    /// A required claim missing from a directory login names the directory attribute to fill.
    fn directory_claim_error(&self, error: SsoError) -> SsoError {
        let SsoError::MissingClaim { claim, sources } = error else {
            return error;
        };
        let Some(directory) = &self.directory else {
            return SsoError::MissingClaim { claim, sources };
        };
        let attributes: Vec<String> = sources
            .split(", ")
            .filter_map(|source| {
                directory
                    .settings()
                    .attributes
                    .iter()
                    .find(|(mapped, _)| mapped == source)
                    .map(|(_, attribute)| format!("`{attribute}`"))
            })
            .collect();
        if attributes.is_empty() {
            return SsoError::MissingClaim { claim, sources };
        }
        SsoError::MissingAttribute {
            claim,
            attributes: attributes.join(" or "),
        }
    }
}

/// Refuses a form posted by another site: `Sec-Fetch-Site` must be `same-origin` (or `none`, typed by
/// the user), and `Origin`, when sent, must be the gateway's own (RFC 6454; browsers send it with every
/// POST). Neither header can be set by a page.
fn check_origin(headers: &HeaderMap, public_url: &url::Url) -> Result<(), SsoError> {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Err(SsoError::ForgedForm {
            reason: "cross_site_form",
        });
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ours = public_url.origin().ascii_serialization();
        if origin.as_bytes() != ours.as_bytes() {
            return Err(SsoError::ForgedForm {
                reason: "cross_site_form",
            });
        }
    }
    Ok(())
}

/// The posted form, each field at most once, from an `application/x-www-form-urlencoded` body of at most
/// `MAX_FORM_BYTES`. The body and the password are held in buffers that are cleared when dropped.
async fn read_form(request: Request<Incoming>) -> Result<Posted, SsoError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(SsoError::ForgedForm {
            reason: "not_a_form",
        });
    }
    let body = Limited::new(request.into_body(), MAX_FORM_BYTES);
    let collected = tokio::time::timeout(FORM_READ_TIMEOUT, body.collect())
        .await
        .map_err(|_| SsoError::ForgedForm {
            reason: "form_too_slow",
        })?
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                SsoError::FormTooLarge
            } else {
                SsoError::ForgedForm {
                    reason: "form_unreadable",
                }
            }
        })?;
    let bytes = Zeroizing::new(collected.to_bytes().to_vec());
    let mut state = None;
    let mut username = None;
    let mut password: Option<Zeroizing<String>> = None;
    for (name, value) in url::form_urlencoded::parse(&bytes) {
        let duplicate = match name.as_ref() {
            "state" => state.replace(value.into_owned()).is_some(),
            "username" => username.replace(value.into_owned()).is_some(),
            "password" => password
                .replace(Zeroizing::new(value.into_owned()))
                .is_some(),
            _ => false,
        };
        if duplicate {
            return Err(SsoError::ForgedForm {
                reason: "duplicate_field",
            });
        }
    }
    Ok(Posted {
        state: state.unwrap_or_default(),
        username: username.unwrap_or_default(),
        password: password.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_a_form_from_the_gateways_own_origin_is_taken() {
        let public: url::Url = "https://sso.corp.example".parse().unwrap();
        for ok in [
            headers(&[]),
            headers(&[
                ("origin", "https://sso.corp.example"),
                ("sec-fetch-site", "same-origin"),
            ]),
            headers(&[("sec-fetch-site", "none")]),
        ] {
            assert!(check_origin(&ok, &public).is_ok(), "{ok:?}");
        }
        for forged in [
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "null")]),
            headers(&[("origin", "https://sso.corp.example:8443")]),
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
        ] {
            assert!(check_origin(&forged, &public).is_err(), "{forged:?}");
        }
    }
}
