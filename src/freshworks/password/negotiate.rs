//! The silent Windows login at the Login URL: `Authorization: Negotiate <token>` (RFC 4559 §4.2) on a
//! directory account's Login URL. The directory accepts the token and finds the user
//! (`Directory::authenticate_ticket`); the end is the same as for a password (`sign_for`). A refused
//! token is logged and counted here, and the caller answers with the form and a new challenge.

use http::Response;
use http::header::{self, HeaderValue};
use tracing::{info, warn};

use super::super::error::SsoError;
use super::super::login::LoginRequest;
use super::super::pending::PendingLogin;
use super::super::{Failure, Sso, redirect};
use crate::audit::Attempt;
use crate::body::Body;
use crate::directory::LoginError;
use crate::kerberos::token;
use crate::request_id::RequestId;

impl Sso {
    /// A Login URL request with `Authorization: Negotiate <token>`: the redirect to Freshworks (with the
    /// mutual-authentication token, RFC 4559 §5), or the page of a known user who may not sign in. `None`
    /// when the token is refused (NTLM, malformed, forged, expired, replayed, …): the caller answers with
    /// the form and a new challenge, as for a browser without a ticket.
    pub(super) async fn negotiate(
        &self,
        token: &str,
        pending: &PendingLogin,
        checked: &LoginRequest<'_>,
        id: RequestId,
        attempt: &Attempt,
    ) -> Option<Result<Response<Body>, Failure>> {
        let directory = self.directory().ok()?;
        let want_groups = !checked.account.allow.groups.is_empty();
        attempt.login_started(pending.started_unix_ms());
        let login = match directory.authenticate_ticket(token, want_groups).await {
            Ok(login) => login,
            Err(error) if error.is_ticket_refusal() => {
                self.ticket_refused(&error, checked, id, attempt);
                return None;
            }
            Err(error) => {
                if let LoginError::UnknownPrincipal(principal) = &error {
                    attempt.principal(principal);
                }
                return Some(Err((SsoError::Directory(error), None)));
            }
        };
        attempt.principal(&login.principal);
        attempt.subject(&login.identity.subject, None);
        // Our state is new with this request; the guard keeps the one-use rule of every login.
        match self.first_use(&pending.state).await {
            Ok(true) => {}
            Ok(false) => return Some(Err((SsoError::ReplayedCallback { restart: None }, None))),
            Err(e) => return Some(Err((e, None))),
        }
        let location = match self.sign_for(&login.identity, pending, id, attempt) {
            Ok(location) => location,
            Err(e) => return Some(Err((self.directory_claim_error(e), None))),
        };
        info!(
            request_id = %id,
            account = %checked.account.id,
            user = %login.identity.subject,
            principal = %crate::logging::one_line(&login.principal),
            "kerberos login succeeded"
        );
        let mut response = redirect(&location, &[]);
        if let Some(mutual) = login.mutual_token
            && let Ok(value) = HeaderValue::from_str(&format!("{} {mutual}", token::SCHEME))
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        Some(Ok(response))
    }

    /// Counts and logs a refused Negotiate token (never the token itself).
    pub(super) fn ticket_refused(
        &self,
        error: &LoginError,
        checked: &LoginRequest<'_>,
        id: RequestId,
        attempt: &Attempt,
    ) {
        attempt.ended(error.outcome(), error.reason());
        self.metrics.login("failure", error.reason());
        warn!(
            request_id = %id,
            account = %checked.account.id,
            reason = error.reason(),
            detail = %crate::logging::one_line(&error.detail()),
            "kerberos token refused; the sign-in form is shown"
        );
    }
}
