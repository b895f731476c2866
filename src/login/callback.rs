//! `/sso/jwt/callback`: where every pending login ends. The provider sends the browser back here with
//! `code` and our `state` (`GET`); the sign-in form posts here (`POST`, `directory`). Either way the
//! pending-login cookie our `state` names is opened, its age checked, its method asked who the user is, and
//! the identity handed to the finisher of its target.

use http::{Request, Response};
use hyper::body::Incoming;

use super::directory::Posting;
use super::pending::{Method, Target};
use super::posted::{check_origin, read_form};
use super::{Failure, Finishers, Login, Opened, SsoError, parse_query, redirect};
use crate::audit::{Attempt, Kind};
use crate::body::Body;
use crate::metrics::LoginMethod;
use crate::request_id::RequestId;
use crate::server::ConnInfo;

impl Login {
    /// `GET /sso/jwt/callback`: the end of a login at the provider.
    pub async fn callback(
        &self,
        request: &Request<Incoming>,
        id: RequestId,
        attempt: &Attempt,
        finishers: &Finishers<'_>,
    ) -> Result<Response<Body>, Failure> {
        attempt.method(LoginMethod::Oidc);
        let timeout = self.login_timeout();
        let fallback_restart = self.only_account_restart();
        let no_pending = || {
            (
                SsoError::NoPendingLogin {
                    restart: fallback_restart.clone(),
                },
                None,
            )
        };
        let params = parse_query(request.uri().query()).map_err(|_| no_pending())?;
        let state = params
            .get("state")
            .filter(|s| !s.is_empty())
            .ok_or_else(no_pending)?;
        let (pending, clear) = self.open_pending(request.headers(), state, fallback_restart)?;
        if let Some(account) = pending.account().filter(|account| !account.is_empty()) {
            attempt.account(account);
        }
        if matches!(pending.target, Target::Webchat { .. }) {
            attempt.kind(Kind::WebchatSession);
        }
        attempt.login_started(pending.started_ms);
        if pending.method == Method::Password {
            // A sign-in form's login finishes by posting the form, never by a GET.
            return Err((
                SsoError::TamperedLogin {
                    restart: self.restart_url(&pending),
                },
                Some(clear),
            ));
        }
        let restart = self.restart_url(&pending);
        self.check_age(&pending, &restart, &clear)?;
        match self.first_use(state).await {
            Ok(true) => {}
            Ok(false) => return Err((SsoError::ReplayedCallback { restart }, Some(clear))),
            Err(e) => return Err((e.at_callback(restart), Some(clear))),
        }
        let finished = async {
            let finisher = finishers.of(&pending.target)?;
            let who = self
                .identify_at_provider(&params, &pending, finisher, id, attempt)
                .await?;
            finisher.finish(&pending, &who, id, attempt)
        }
        .await;
        match finished {
            Ok(finished) => {
                let mut cookies = finished.cookies;
                cookies.extend(self.pending.finish_login_cookies(
                    request.headers(),
                    state,
                    timeout.as_secs(),
                ));
                Ok(redirect(&finished.location, &cookies))
            }
            Err(error) => Err((error.at_callback(restart), Some(clear))),
        }
    }

    /// `POST /sso/jwt/callback`: the sign-in form, from the gateway's own page only (`posted`), for a
    /// pending login of the form; the password is the `directory` method's.
    pub async fn form_posted(
        &self,
        request: Request<Incoming>,
        conn: &ConnInfo,
        id: RequestId,
        attempt: &Attempt,
        finishers: &Finishers<'_>,
    ) -> Result<Response<Body>, Failure> {
        attempt.method(LoginMethod::Directory);
        let fallback_restart = self.only_account_restart();
        check_origin(request.headers(), &self.config.public_url).map_err(|e| (e, None))?;
        let headers = request.headers().clone();
        let posted = read_form(request).await.map_err(|e| (e, None))?;
        attempt.username(&posted.username);
        if posted.state.is_empty() {
            let error = SsoError::NoPendingLogin {
                restart: fallback_restart,
            };
            return Err((error, None));
        }
        let (pending, clear) =
            match self.open_pending(&headers, &posted.state, fallback_restart.clone()) {
                Ok((pending, clear)) if pending.method == Method::Password => (pending, clear),
                Ok((_, clear)) => {
                    let error = SsoError::TamperedLogin {
                        restart: fallback_restart,
                    };
                    return Err((error, Some(clear)));
                }
                Err(failure) => return Err(failure),
            };
        if let Some(account) = pending.account() {
            attempt.account(account);
        }
        attempt.login_started(pending.started_ms);
        let restart = self.restart_url(&pending);
        self.check_age(&pending, &restart, &clear)?;
        let opened = Opened {
            pending,
            clear,
            restart,
        };
        let client = self.forwarding.client_ip(&headers, conn.peer.ip());
        match self
            .password(&opened, posted, client, id, attempt, finishers)
            .await?
        {
            Posting::Again(form) => Ok(form),
            Posting::Finished(finished) => {
                let mut cookies = finished.cookies;
                cookies.extend(self.pending.finish_login_cookies(
                    &headers,
                    &opened.pending.state,
                    self.login_timeout().as_secs(),
                ));
                Ok(redirect(&finished.location, &cookies))
            }
        }
    }
}
