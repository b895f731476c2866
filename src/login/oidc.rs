//! Signing in at the OpenID provider: the authorization-code flow with PKCE S256 and a fresh state and
//! nonce of our own (RFC 9700 §2.1.1), started from the Login URL or `/sso/webchat/login`; at the callback
//! the provider's answer checked (RFC 9207 `iss`), the code exchanged, the ID token validated, and userinfo
//! asked when the side the login is for lacks a claim (OIDC Core §5.3).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Response};
use serde_json::{Map, Value};

use super::pending::{Method, PendingLogin, Target};
use super::{Failure, Finisher, Identified, Login, SsoError, redirect};
use crate::audit::Attempt;
use crate::body::Body;
use crate::clock;
use crate::config::LoginMethod;
use crate::identity::{Identity, groups_from_claim};
use crate::oidc::flow::{self, authorization_url};
use crate::oidc::id_token::{IdClaims, IdTokenError, validate_id_token};
use crate::oidc::{Discovered, Provider};
use crate::request_id::RequestId;

/// What a successful provider login established.
struct Authenticated {
    discovered: Arc<Discovered>,
    claims: Map<String, Value>,
    subject: String,
    access_token: Option<String>,
    /// The provider's ID token as received, kept for logout's `id_token_hint`.
    id_token: String,
}

impl Login {
    /// Seals a new pending login for `target` in a cookie and sends the browser to the provider's
    /// authorization endpoint. The browser's oldest pending login is dropped when it already has
    /// `MAX_PENDING_LOGINS` (see `pending::list`).
    pub fn start_oidc(
        &self,
        headers: &HeaderMap,
        target: Target,
    ) -> Result<Response<Body>, Failure> {
        let provider = self.provider().map_err(|e| (e, None))?;
        let discovered = provider
            .current()
            .map_err(|detail| (SsoError::ProviderNotReady { detail }, None))?;
        let (nonce, pkce_verifier) = (clock::random_token(), clock::random_token());
        let method = Method::Oidc {
            nonce: nonce.clone(),
            pkce_verifier: pkce_verifier.clone(),
        };
        let pending = self.new_pending(method, target);
        let url = authorization_url(
            &discovered,
            &provider.upstream,
            &self.callback_url(),
            &pending.state,
            &nonce,
            &pkce_verifier,
        );
        let cookies =
            self.pending
                .start_login_cookies(headers, &pending, self.login_timeout().as_secs());
        Ok(redirect(url.as_str(), &cookies))
    }

    /// The gateway's redirect URI at the provider.
    fn callback_url(&self) -> String {
        self.config.public(super::pending::CALLBACK_PATH)
    }

    /// Who the provider says the user is, from the callback's parameters: the code exchanged, the ID token
    /// validated against our nonce, userinfo asked when `finisher` lacks a claim.
    pub(super) async fn identify_at_provider(
        &self,
        params: &HashMap<String, String>,
        pending: &PendingLogin,
        finisher: &dyn Finisher,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Identified, SsoError> {
        let upstream = &self.provider()?.upstream;
        let policy = upstream.email_verified;
        let mut auth = self.authenticate(params, pending, id).await?;
        attempt.subject(&auth.subject, Some(&upstream.issuer));
        if finisher.any_missing(&auth.claims, policy) {
            self.add_userinfo(&mut auth, |all| finisher.required_missing(all), id)
                .await?;
        }
        Ok(Identified {
            identity: Identity {
                method: LoginMethod::Oidc,
                subject: auth.subject,
                groups: groups_from_claim(&auth.claims, &upstream.groups_claim),
                claims: auth.claims,
            },
            id_token: Some(auth.id_token),
        })
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
        let Method::Oidc {
            nonce,
            pkce_verifier,
        } = &pending.method
        else {
            return Err(SsoError::TamperedLogin { restart: None });
        };
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
            pkce_verifier,
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
            nonce,
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
    discovered: Arc<Discovered>,
    id_token: &str,
    nonce: &str,
    max_age: Duration,
    id: RequestId,
) -> Result<(Arc<Discovered>, IdClaims), SsoError> {
    let upstream = &provider.upstream;
    match validate_id_token(&discovered, upstream, id_token, nonce, max_age) {
        Ok(claims) => Ok((discovered, claims)),
        Err(IdTokenError::UnknownKey) => {
            provider.refresh_for_unknown_kid(id).await;
            let fresh = provider
                .current()
                .map_err(|detail| SsoError::ProviderNotReady { detail })?;
            validate_id_token(&fresh, upstream, id_token, nonce, max_age)
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
