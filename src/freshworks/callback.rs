//! `GET /sso/jwt/callback`: the provider sends the browser back here with `code` and our `state`.

use std::collections::HashMap;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::{Map, Value};
use url::Url;

use super::claims;
use super::error::SsoError;
use super::login::parse_query;
use super::pending::{PendingLogin, find_cookie};
use super::{Failure, Sso, redirect};
use crate::body::Body;
use crate::oidc::flow::{self, IdTokenError};
use crate::oidc::{Discovered, Provider};
use crate::request_id::RequestId;

impl Sso {
    pub(super) async fn callback(
        &self,
        request: &Request<Incoming>,
        id: RequestId,
    ) -> Result<Response<Body>, Failure> {
        let freshworks = self.freshworks();
        let timeout = freshworks.login_timeout;
        let fallback_restart = self.only_account_restart();
        let params = parse_query(request.uri().query()).map_err(|_| {
            (
                SsoError::NoPendingLogin {
                    restart: fallback_restart.clone(),
                },
                None,
            )
        })?;
        let no_pending = || {
            (
                SsoError::NoPendingLogin {
                    restart: fallback_restart.clone(),
                },
                None,
            )
        };
        let state = params
            .get("state")
            .filter(|s| !s.is_empty())
            .ok_or_else(no_pending)?;
        let name = self.cookies.name(state);
        let value = find_cookie(request.headers(), &name).ok_or_else(no_pending)?;
        let clear = Some(self.cookies.clear_cookie(&name));
        let pending = match self.cookies.open(&name, value) {
            Some(pending) if pending.state == *state => pending,
            _ => {
                return Err((
                    SsoError::TamperedLogin {
                        restart: fallback_restart.clone(),
                    },
                    clear,
                ));
            }
        };
        let restart = self.restart_url(&pending.account);
        if flow::unix_now().saturating_sub(pending.started) > timeout.as_secs() {
            let minutes = timeout.as_secs().div_ceil(60);
            return Err((SsoError::ExpiredLogin { restart, minutes }, clear));
        }
        if !self
            .replay
            .first_use(state, timeout + Duration::from_secs(60))
        {
            return Err((SsoError::ReplayedCallback { restart }, clear));
        }
        match self.finish(&params, &pending).await {
            Ok((location, subject)) => {
                self.log_success(id, &pending.account, &subject);
                let cookie = self.cookies.clear_cookie(&name);
                Ok(redirect(&location, &[cookie]))
            }
            Err(error) => {
                let error = match error {
                    SsoError::ProviderError { code, .. } => {
                        SsoError::ProviderError { code, restart }
                    }
                    other => other,
                };
                Err((error, clear))
            }
        }
    }

    /// Everything after the pending login checked out: returns the Freshworks redirect and the subject.
    async fn finish(
        &self,
        params: &HashMap<String, String>,
        pending: &PendingLogin,
    ) -> Result<(String, String), SsoError> {
        let freshworks = self.freshworks();
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
        let discovered = self
            .provider
            .current()
            .map_err(|detail| SsoError::ProviderNotReady { detail })?;
        check_issuer(
            params.get("iss"),
            &discovered,
            &self.provider.upstream.issuer,
        )?;
        let code = params
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or(SsoError::MissingCode)?;
        let redirect_uri = self.callback_url();
        let tokens = flow::exchange_code(
            &self.provider,
            &discovered,
            code,
            &redirect_uri,
            &pending.pkce_verifier,
        )
        .await
        .map_err(|e| SsoError::TokenExchange {
            detail: e.to_string(),
        })?;
        let (discovered, id_claims) = validate(
            &self.provider,
            discovered,
            &tokens.id_token,
            pending,
            freshworks.login_timeout,
        )
        .await?;
        let mut all = id_claims.claims;
        if claims::any_missing(&all, &freshworks.claims)
            && discovered.metadata.userinfo_endpoint().is_some()
            && let Some(access_token) = &tokens.access_token
        {
            match flow::userinfo(
                &self.provider,
                &discovered,
                access_token,
                &id_claims.subject,
            )
            .await
            {
                Ok(extra) => merge(&mut all, extra),
                // Only fatal when a claim Freshworks requires is still missing; optional ones just stay out.
                Err(e) if claims::any_required_missing(&all, &freshworks.claims) => {
                    return Err(SsoError::UserinfoFailed {
                        detail: e.to_string(),
                    });
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "userinfo failed; the token goes without the optional claims it might have added"
                ),
            }
        }
        let payload = claims::payload(
            &all,
            &freshworks.claims,
            &pending.fw_nonce,
            flow::unix_now(),
        )?;
        let token = self
            .key
            .sign_rs256(&payload)
            .map_err(|e| SsoError::Signing {
                detail: e.to_string(),
            })?;
        let account =
            freshworks
                .accounts
                .get(&pending.account)
                .ok_or_else(|| SsoError::UnknownAccount {
                    id: pending.account.clone(),
                })?;
        let location = append_query(
            &account.redirect_url,
            &[("state", &pending.fw_state), ("id_token", &token)],
        );
        Ok((location, id_claims.subject))
    }

    /// Where "start the login again" leads: the Freshworks portal of the account.
    pub(super) fn restart_url(&self, account: &str) -> Option<String> {
        let account = self.freshworks().accounts.get(account)?;
        let url = &account.redirect_url;
        Some(format!("{}/", url.origin().ascii_serialization()))
    }

    /// With a single configured account, the restart link is known even without a cookie.
    fn only_account_restart(&self) -> Option<String> {
        let accounts = &self.freshworks().accounts;
        if accounts.len() == 1 {
            accounts.keys().next().and_then(|id| self.restart_url(id))
        } else {
            None
        }
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
    discovered: std::sync::Arc<Discovered>,
    id_token: &str,
    pending: &PendingLogin,
    max_age: Duration,
) -> Result<(std::sync::Arc<Discovered>, flow::IdClaims), SsoError> {
    let upstream = &provider.upstream;
    match flow::validate_id_token(&discovered, upstream, id_token, &pending.nonce, max_age) {
        Ok(claims) => Ok((discovered, claims)),
        Err(IdTokenError::UnknownKey) => {
            provider.refresh_for_unknown_kid().await;
            let fresh = provider
                .current()
                .map_err(|detail| SsoError::ProviderNotReady { detail })?;
            flow::validate_id_token(&fresh, upstream, id_token, &pending.nonce, max_age)
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

/// Userinfo fills what the ID token lacks; it never overrides a non-empty ID token claim.
fn merge(claims: &mut Map<String, Value>, extra: Map<String, Value>) {
    for (name, value) in extra {
        let empty = match claims.get(&name) {
            None | Some(Value::Null) => true,
            Some(Value::String(text)) => text.trim().is_empty(),
            _ => false,
        };
        if empty {
            claims.insert(name, value);
        }
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

    #[test]
    fn userinfo_fills_gaps_but_never_overrides() {
        let mut claims: Map<String, Value> =
            serde_json::from_str(r#"{"sub":"u","email":"a@x","name":""}"#).unwrap();
        let extra: Map<String, Value> =
            serde_json::from_str(r#"{"sub":"u","email":"evil@x","name":"Ann","family_name":"B"}"#)
                .unwrap();
        merge(&mut claims, extra);
        assert_eq!(claims["email"], "a@x");
        assert_eq!(claims["name"], "Ann");
        assert_eq!(claims["family_name"], "B");
    }
}
