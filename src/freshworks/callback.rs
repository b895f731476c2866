//! `GET /sso/jwt/callback`: the provider sends the browser back here with `code` and our `state`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::{Map, Value};
use url::Url;

use super::claims;
use super::error::{SsoError, SwitchAccount};
use super::login::parse_query;
use super::pending::{LogoutHint, PendingLogin, find_cookie};
use super::{Failure, Sso, redirect};
use crate::audit::{Attempt, Kind};
use crate::body::Body;
use crate::config::LoginMethod;
use crate::identity::{Identity, groups_from_claim};
use crate::metrics::LoginOutcome;
use crate::oidc::flow;
use crate::oidc::id_token::{IdClaims, IdTokenError, validate_id_token};
use crate::oidc::{Discovered, Provider};
use crate::request_id::RequestId;
use crate::webchat::token;

impl Sso {
    pub(super) async fn callback(
        &self,
        request: &Request<Incoming>,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Response<Body>, Failure> {
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
        let name = self.cookies.name(state);
        let value = find_cookie(request.headers(), &name).ok_or_else(no_pending)?;
        let clear = self.cookies.clear_cookie(&name);
        let pending = match self.cookies.open(&name, value) {
            Some(pending) if pending.state == *state => pending,
            _ => {
                let error = SsoError::TamperedLogin {
                    restart: fallback_restart.clone(),
                };
                return Err((error, Some(clear)));
            }
        };
        if !pending.account.is_empty() {
            attempt.account(&pending.account);
        }
        if pending.return_to.is_some() {
            attempt.kind(Kind::WebchatSession);
        }
        attempt.login_started(pending.started_unix_ms());
        if pending.directory {
            // A directory login finishes by posting its form, never by a GET.
            return Err((
                SsoError::TamperedLogin {
                    restart: self.restart_url(&pending),
                },
                Some(clear),
            ));
        }
        let restart = self.restart_url(&pending);
        if flow::unix_now().saturating_sub(pending.started) > timeout.as_secs() {
            let minutes = timeout.as_secs().div_ceil(60);
            return Err((SsoError::ExpiredLogin { restart, minutes }, Some(clear)));
        }
        match self.first_use(state).await {
            Ok(true) => {}
            Ok(false) => return Err((SsoError::ReplayedCallback { restart }, Some(clear))),
            Err(e) => return Err((e.at_callback(restart), Some(clear))),
        }
        let finished = match &pending.return_to {
            None => self.finish_freshworks(&params, &pending, id, attempt).await,
            Some(return_to) => {
                self.finish_webchat(&params, &pending, return_to, id, attempt)
                    .await
            }
        };
        match finished {
            Ok((location, mut cookies)) => {
                cookies.extend(self.cookies.finish_login_cookies(
                    request.headers(),
                    state,
                    timeout.as_secs(),
                ));
                Ok(redirect(&location, &cookies))
            }
            Err(error) => Err((error.at_callback(restart), Some(clear))),
        }
    }

    /// The provider's answer checked, the code exchanged, the ID token validated: its claims, the
    /// provider's state it was validated against, the subject and the access token.
    async fn authenticate(
        &self,
        params: &HashMap<String, String>,
        pending: &PendingLogin,
        id: RequestId,
    ) -> Result<Authenticated, SsoError> {
        if let Some(code) = params.get("error") {
            // Only the code is kept (and shown); descriptions are free text from the request.
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(SsoError::ProviderError {
                code,
                restart: None,
            });
        }
        let provider = self.provider()?;
        let discovered = provider
            .current()
            .map_err(|detail| SsoError::ProviderNotReady { detail })?;
        check_issuer(params.get("iss"), &discovered, &provider.upstream.issuer)?;
        let code = params
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or(SsoError::MissingCode)?;
        let tokens = flow::exchange_code(
            provider,
            &discovered,
            code,
            &self.callback_url(),
            &pending.pkce_verifier,
            id,
        )
        .await
        .map_err(|e| SsoError::TokenExchange {
            detail: e.to_string(),
        })?;
        let (discovered, id_claims) = validate(
            provider,
            discovered,
            &tokens.id_token,
            pending,
            self.login_timeout(),
            id,
        )
        .await?;
        Ok(Authenticated {
            discovered,
            claims: id_claims.claims,
            subject: id_claims.subject,
            access_token: tokens.access_token,
            id_token: tokens.id_token,
        })
    }

    /// Fills what the ID token lacks from userinfo (OIDC Core §5.3). A failure is fatal only when
    /// `required_missing` says something indispensable is still missing.
    async fn add_userinfo(
        &self,
        auth: &mut Authenticated,
        required_missing: impl Fn(&Map<String, Value>) -> bool,
        id: RequestId,
    ) -> Result<(), SsoError> {
        let Some(access_token) = &auth.access_token else {
            return Ok(());
        };
        if auth.discovered.metadata.userinfo_endpoint().is_none() {
            return Ok(());
        }
        match flow::userinfo(
            self.provider()?,
            &auth.discovered,
            access_token,
            Some(&auth.subject),
            id,
        )
        .await
        {
            Ok(extra) => crate::claims::merge_userinfo(&mut auth.claims, extra),
            Err(e) if required_missing(&auth.claims) => {
                return Err(SsoError::UserinfoFailed {
                    detail: e.to_string(),
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "userinfo failed; going on without the optional claims it might have added")
            }
        }
        Ok(())
    }

    /// Freshworks: sign the mapped claims and send the browser to the account's redirect URL.
    async fn finish_freshworks(
        &self,
        params: &HashMap<String, String>,
        pending: &PendingLogin,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<(String, Vec<String>), SsoError> {
        let (freshworks, _) = self.freshworks()?;
        let upstream = &self.provider()?.upstream;
        let policy = upstream.email_verified;
        let mut auth = self.authenticate(params, pending, id).await?;
        attempt.subject(&auth.subject, Some(&upstream.issuer));
        if claims::any_missing(&auth.claims, &freshworks.claims, policy) {
            self.add_userinfo(
                &mut auth,
                |all| claims::any_required_missing(all, &freshworks.claims),
                id,
            )
            .await?;
        }
        claims::check_email_verified(&auth.claims, &freshworks.claims, policy)
            .map_err(|e| self.refused(e, &auth, &pending.account))?;
        let identity = Identity {
            method: LoginMethod::Oidc,
            subject: auth.subject.clone(),
            groups: groups_from_claim(&auth.claims, &upstream.groups_claim),
            claims: auth.claims.clone(),
        };
        let location = self
            .sign_for(&identity, pending, id, attempt)
            .map_err(|e| match e {
                // Who the user is was refused: offer to sign out at the provider and switch.
                e @ (SsoError::MissingClaim { .. }
                | SsoError::NotOneAddress
                | SsoError::NotAllowed(_)) => self.refused(e, &auth, &pending.account),
                e => e,
            })?;
        let hint = LogoutHint {
            id_token: auth.id_token,
            account: pending.account.clone(),
        };
        let cookies = self.cookies.set_logout_hint(&hint).into_iter().collect();
        Ok((location, cookies))
    }

    /// Web Chat: keep who the user is in the session cookie and send the browser back to the app.
    async fn finish_webchat(
        &self,
        params: &HashMap<String, String>,
        pending: &PendingLogin,
        return_to: &str,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<(String, Vec<String>), SsoError> {
        let webchat = self.webchat()?;
        let settings = webchat.settings();
        let upstream = &self.provider()?.upstream;
        let policy = upstream.email_verified;
        let mut auth = self.authenticate(params, pending, id).await?;
        attempt.subject(&auth.subject, Some(&upstream.issuer));
        if token::any_missing(settings, &auth.claims, policy) {
            self.add_userinfo(
                &mut auth,
                |all| {
                    matches!(
                        token::identity(settings, all),
                        Err(token::NoIdentity::Missing(_))
                    )
                },
                id,
            )
            .await?;
        }
        let identity =
            token::identity(settings, &auth.claims).map_err(|refusal| match refusal {
                token::NoIdentity::Missing(claim) => SsoError::MissingClaim {
                    claim,
                    sources: crate::claims::describe(&settings.identity),
                },
                token::NoIdentity::NotOneAddress => SsoError::NotOneAddress,
            })?;
        if token::email_unverified(settings, &auth.claims, policy) {
            return Err(SsoError::EmailNotVerified);
        }
        let cookie = webchat
            .session
            .set(&identity, settings.session_ttl.as_secs());
        if let Some(email) = identity.get("email").and_then(Value::as_str) {
            attempt.email(email);
        }
        attempt.ended(LoginOutcome::Success, "ok");
        self.metrics.login("success", "webchat");
        tracing::info!(request_id = %id, sub = %auth.subject, "web chat session started");
        Ok((super::login::return_to_url(return_to), vec![cookie]))
    }

    /// A refusal of who the user is (no email, an unverified one): the provider remembers the user, so the
    /// page offers to sign out there (with the ID token as `id_token_hint`) and log in as someone else.
    fn refused(&self, error: SsoError, auth: &Authenticated, account: &str) -> SsoError {
        let hint = LogoutHint {
            id_token: auth.id_token.clone(),
            account: account.to_owned(),
        };
        let account: String = url::form_urlencoded::byte_serialize(account.as_bytes()).collect();
        SsoError::AtCallback {
            error: Box::new(error),
            restart: None,
            switch: Some(SwitchAccount {
                href: format!("/sso/jwt/logout?client_id={account}"),
                hint_cookie: self.cookies.set_logout_hint(&hint),
            }),
        }
    }

    /// Where "start the login again" leads: the Freshworks portal of the account, or the app page of a Web
    /// Chat login.
    pub(super) fn restart_url(&self, pending: &PendingLogin) -> Option<String> {
        if let Some(return_to) = &pending.return_to {
            return Some(super::login::return_to_url(return_to));
        }
        self.account_portal(&pending.account)
    }

    fn account_portal(&self, account: &str) -> Option<String> {
        let account = self.config.freshworks.as_ref()?.accounts.get(account)?;
        Some(format!(
            "{}/",
            account.redirect_url.origin().ascii_serialization()
        ))
    }

    /// With a single configured account, the restart link is known even without a cookie.
    pub(super) fn only_account_restart(&self) -> Option<String> {
        let accounts = &self.config.freshworks.as_ref()?.accounts;
        if accounts.len() == 1 {
            accounts
                .keys()
                .next()
                .and_then(|id| self.account_portal(id))
        } else {
            None
        }
    }
}

/// What a successful provider login established.
struct Authenticated {
    discovered: Arc<Discovered>,
    claims: Map<String, Value>,
    subject: String,
    access_token: Option<String>,
    /// The provider's ID token as received, kept for logout's `id_token_hint`.
    id_token: String,
}

/// RFC 9207 §2.4: when the provider sends `iss` it must be exactly our issuer; when it says it always sends
/// it, its absence is an error too (a mix-up attack would strip it).
fn check_issuer(
    iss: Option<&String>,
    discovered: &Discovered,
    issuer: &str,
) -> Result<(), SsoError> {
    match iss {
        Some(iss) if iss != issuer => Err(SsoError::IssuerMismatch),
        None if discovered
            .metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
            == Some(true) =>
        {
            Err(SsoError::IssuerMismatch)
        }
        _ => Ok(()),
    }
}

/// Validates the ID token; on an unknown key id re-fetches the JWKS once (the provider rotated its keys) and
/// tries again with the new keys.
async fn validate(
    provider: &Provider,
    discovered: std::sync::Arc<Discovered>,
    id_token: &str,
    pending: &PendingLogin,
    max_age: Duration,
    id: RequestId,
) -> Result<(std::sync::Arc<Discovered>, IdClaims), SsoError> {
    let upstream = &provider.upstream;
    match validate_id_token(&discovered, upstream, id_token, &pending.nonce, max_age) {
        Ok(claims) => Ok((discovered, claims)),
        Err(IdTokenError::UnknownKey) => {
            provider.refresh_for_unknown_kid(id).await;
            let fresh = provider
                .current()
                .map_err(|detail| SsoError::ProviderNotReady { detail })?;
            validate_id_token(&fresh, upstream, id_token, &pending.nonce, max_age)
                .map(|claims| (fresh, claims))
                .map_err(|e| SsoError::InvalidIdToken {
                    detail: e.to_string(),
                })
        }
        Err(e) => Err(SsoError::InvalidIdToken {
            detail: e.to_string(),
        }),
    }
}

/// `url` with `pairs` appended to its query, keeping whatever query it already has.
pub fn append_query(url: &Url, pairs: &[(&str, &str)]) -> String {
    let mut url = url.clone();
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_parameters_keep_an_existing_query_and_are_encoded() {
        let url: Url = "https://acme.freshworks.com/auth/12344/jwt?portal=1"
            .parse()
            .unwrap();
        let out = append_query(&url, &[("state", "a b&c"), ("id_token", "x.y.z")]);
        assert_eq!(
            out,
            "https://acme.freshworks.com/auth/12344/jwt?portal=1&state=a+b%26c&id_token=x.y.z"
        );
    }
}
