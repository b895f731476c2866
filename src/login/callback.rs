//! `/sso/jwt/callback`: where every pending login ends. The provider sends the browser back here with
//! `code` and our `state` (`GET`); the sign-in form posts here (`POST`, `directory`). Either way the
//! pending-login cookie our `state` names is opened, its age checked, its method asked who the user is, and
//! the identity handed to the finisher of its target.

use http::{Request, Response};
use hyper::body::Incoming;

use super::pending::{Method, Target};
use super::{Failure, Finishers, Login, SsoError, parse_query, redirect};
use crate::admin::metrics::LoginMethod;
use crate::audit::{Attempt, Kind};
use crate::body::Body;
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

    /// `POST /sso/jwt/callback`: the sign-in form (see `directory`).
    pub async fn form_posted(
        &self,
        request: Request<Incoming>,
        conn: &ConnInfo,
        id: RequestId,
        attempt: &Attempt,
        finishers: &Finishers<'_>,
    ) -> Result<Response<Body>, Failure> {
        attempt.method(LoginMethod::Directory);
        self.password(request, conn, id, attempt, finishers).await
    }
}
