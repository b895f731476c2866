//! The silent Windows login at the Login URL: `Authorization: Negotiate <token>` (RFC 4559 §4.2) on a
//! directory account's Login URL. The directory accepts the token and finds the user
//! (`Directory::authenticate_ticket`); the end is the target's finisher, as for a password. A refused
//! token is logged and counted here (with what IT can do about it), and the caller answers with the form
//! and a new challenge; when the refusal is the gateway's keytab or the user's old ticket, the form says
//! so, since every Windows user would otherwise wonder why the silent sign-in stopped.

use http::Response;
use http::header::{self, HeaderValue};
use tracing::{info, warn};

use super::pending::PendingLogin;
use super::{Failure, Finisher, Identified, Login, SsoError, redirect};
use crate::audit::Attempt;
use crate::body::Body;
use crate::config::Account;
use crate::directory::LoginError;
use crate::kerberos::{TokenError, token};
use crate::request_id::RequestId;

impl Login {
    /// A Login URL request with `Authorization: Negotiate <token>`: the redirect to Freshworks (with the
    /// mutual-authentication token, RFC 4559 §5), or the page of a known user who may not sign in. `Err`
    /// when the token is refused (NTLM, malformed, forged, expired, replayed, …): the caller answers with
    /// the form and a new challenge, as for a browser without a ticket, and the notice if there is one. A
    /// refusal by the finisher is the caller's to explain in the directory's words.
    pub(super) async fn negotiate(
        &self,
        token: &str,
        pending: &PendingLogin,
        account: &Account,
        id: RequestId,
        attempt: &Attempt,
        finisher: &dyn Finisher,
    ) -> Result<Result<Response<Body>, Failure>, Option<&'static str>> {
        let directory = self.directory().map_err(|_| None)?;
        let want_groups = !account.allow.groups.is_empty();
        attempt.login_started(pending.started_ms);
        let login = match directory.authenticate_ticket(token, want_groups).await {
            Ok(login) => login,
            Err(error) if error.is_ticket_refusal() => {
                self.ticket_refused(&error, &account.id, id, attempt);
                return Err(notice(&error));
            }
            Err(error) => {
                if let LoginError::UnknownPrincipal(principal) = &error {
                    attempt.principal(principal);
                }
                return Ok(Err((SsoError::Directory(error), None)));
            }
        };
        attempt.principal(&login.principal);
        attempt.subject(&login.identity.subject, None);
        // Our state is new with this request; the guard keeps the one-use rule of every login.
        match self.first_use(&pending.state).await {
            Ok(true) => {}
            Ok(false) => return Ok(Err((SsoError::ReplayedCallback { restart: None }, None))),
            Err(e) => return Ok(Err((e, None))),
        }
        let who = Identified {
            identity: login.identity,
            id_token: None,
        };
        let finished = match finisher.finish(pending, &who, id, attempt) {
            Ok(finished) => finished,
            Err(e) => return Ok(Err((e, None))),
        };
        info!(
            request_id = %id,
            account = %account.id,
            user = %who.identity.subject,
            principal = %crate::logging::one_line(&login.principal),
            "kerberos login succeeded"
        );
        let mut response = redirect(&finished.location, &finished.cookies);
        if let Some(mutual) = login.mutual_token
            && let Ok(value) = HeaderValue::from_str(&format!("{} {mutual}", token::SCHEME))
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        Ok(Ok(response))
    }

    /// Counts and logs a refused Negotiate token (never the token itself), with what IT can do about it.
    pub(super) fn ticket_refused(
        &self,
        error: &LoginError,
        account: &str,
        id: RequestId,
        attempt: &Attempt,
    ) {
        attempt.ended(error.outcome(), error.reason());
        self.metrics.login("failure", error.reason());
        let fix = match (error, self.directory()) {
            (LoginError::Ticket(refused), Ok(directory)) => directory
                .settings()
                .kerberos
                .as_ref()
                .and_then(|k| refused.error.fix(&k.service_principal)),
            _ => None,
        };
        warn!(
            request_id = %id,
            account = %account,
            reason = error.reason(),
            detail = %crate::logging::one_line(&error.detail()),
            fix = fix.as_deref(),
            "kerberos token refused; the sign-in form is shown"
        );
    }
}

/// What the form says above the fields after a refusal that is no one's fault at the browser: the
/// silent sign-in stopped working for everyone (a stale keytab), or for this computer (an old ticket).
fn notice(error: &LoginError) -> Option<&'static str> {
    match error {
        LoginError::Ticket(refused) => match refused.error {
            TokenError::StaleKey => Some(
                "Signing in with your Windows account does not work here at the moment: this sign-in service's Kerberos key is out of date. \
                 Sign in with your password instead, and tell your IT team (with the request id below): the keytab must be exported again (ktpass, samba-tool domain exportkeytab or kadmin ktadd) for this service.",
            ),
            TokenError::StaleTicket => Some(
                "Your computer's Windows sign-in ticket for this service is older than the service's key, so it was not accepted. \
                 Sign in with your password, or sign out of Windows and in again (or run klist purge) to get a new ticket.",
            ),
            _ => None,
        },
        _ => None,
    }
}
