//! Directory accounts: the Login URL shows the gateway's own sign-in form (`form`), which posts the user
//! name and password to the callback (`posted`).
//!
//! The form is bound to this browser's pending login: its hidden `state` names the sealed pending-login
//! cookie (scoped to the callback, `SameSite=Lax`, so a cross-site POST never carries it), and the state
//! inside the cookie must equal the posted one. A post from another origin is refused before the cookie is
//! read (`Origin`, `Sec-Fetch-Site`), so login CSRF needs both a forged origin and the browser's cookie.
//!
//! With `directory.kerberos` the Login URL also offers the silent Windows login (`kerberos`).
//!
//! How the password is checked is not this module's business: `crate::directory` answers with an
//! `Identity` or a `LoginError`, and the end is the target's finisher, as for a provider login. Passwords
//! live in zeroized buffers and are never logged.

use std::net::IpAddr;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use tracing::{info, warn};

use super::form::LoginForm;
use super::pending::{CALLBACK_PATH, Method, PendingLogin, Target};
use super::posted::Posted;
use super::{Failure, Finished, Finisher, Finishers, Identified, Login, Opened, SsoError};
use crate::audit::Attempt;
use crate::body::Body;
use crate::config::Account;
use crate::directory::LoginError;
use crate::kerberos::TokenError;
use crate::kerberos::token::{self, Offered};
use crate::metrics::LoginMethod;
use crate::request_id::RequestId;

/// What a post of the sign-in form comes to.
pub(super) enum Posting {
    /// The form again, with why the try failed.
    Again(Response<Body>),
    /// The login, finished by its target's side.
    Finished(Finished),
}

impl Login {
    /// `GET /sso/jwt/login` for a directory account: a pending login sealed in a cookie, and the form.
    ///
    /// With `directory.kerberos`, the form comes with `401` and `WWW-Authenticate: Negotiate` (RFC 4559
    /// §4.1): a browser that has a Kerberos ticket for the gateway asks the same URL again with
    /// `Authorization: Negotiate <token>` and is signed in without a prompt (`kerberos`); one without
    /// a ticket shows the form it already has.
    pub async fn start_directory(
        &self,
        headers: &HeaderMap,
        account: &Account,
        target: Target,
        id: RequestId,
        attempt: &Attempt,
        finisher: &dyn Finisher,
    ) -> Result<Response<Body>, Failure> {
        let directory = self.directory().map_err(|e| (e, None))?;
        let pending = self.new_pending(Method::Password, target);
        let negotiates = directory.negotiates();
        let mut notice = None;
        if negotiates {
            match token::offered(headers) {
                Offered::Nothing => {}
                Offered::Token(token) => {
                    attempt.method(LoginMethod::Kerberos);
                    attempt.attempting();
                    match self
                        .negotiate(token, &pending, account, id, attempt, finisher)
                        .await
                    {
                        Ok(done) => {
                            return done
                                .map_err(|(e, clear)| (self.directory_claim_error(e), clear));
                        }
                        Err(why) => notice = why,
                    }
                }
                Offered::Malformed => {
                    attempt.method(LoginMethod::Kerberos);
                    self.ticket_refused(
                        &LoginError::Ticket(TokenError::Malformed.into()),
                        &account.id,
                        id,
                        attempt,
                    );
                }
            }
        }
        let cookies =
            self.pending
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

    /// The sign-in form's post from `client`, once `callback` has opened its pending login: the password
    /// checked by the directory, then the form again after a failed try, or the identity handed to the
    /// finisher.
    pub(super) async fn password(
        &self,
        opened: &Opened,
        posted: Posted,
        client: IpAddr,
        id: RequestId,
        attempt: &Attempt,
        finishers: &Finishers<'_>,
    ) -> Result<Posting, Failure> {
        let pending = &opened.pending;
        let at_callback = |e: SsoError| {
            (
                e.at_callback(opened.restart.clone()),
                Some(opened.clear.clone()),
            )
        };
        let finisher = finishers.of(&pending.target).map_err(at_callback)?;
        let account = pending
            .account()
            .and_then(|id| self.config.freshworks.as_ref()?.accounts.get(id))
            .filter(|account| account.login == crate::config::LoginMethod::Directory)
            .ok_or_else(|| at_callback(SsoError::TamperedLogin { restart: None }))?;
        let directory = self.directory().map_err(at_callback)?;
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
                let again = self.form_again(pending, &username, &message, &error, id);
                return Ok(Posting::Again(again));
            }
        };
        attempt.subject(&identity.subject, None);
        if !self.first_use(&pending.state).await.map_err(at_callback)? {
            return Err(at_callback(SsoError::ReplayedCallback { restart: None }));
        }
        let who = Identified {
            identity,
            id_token: None,
        };
        let finished = finisher
            .finish(pending, &who, id, attempt)
            .map_err(|e| at_callback(self.directory_claim_error(e)))?;
        info!(request_id = %id, account = %account.id, user = %who.identity.subject, "directory login succeeded");
        Ok(Posting::Finished(finished))
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
        let mut response = self.form_with_notice(pending, &kept, Some(message), None, status, id);
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
        let account = pending
            .account()
            .and_then(|id| self.config.freshworks.as_ref()?.accounts.get(id));
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
