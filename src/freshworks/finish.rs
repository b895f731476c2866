//! The end of every Freshworks login, whatever proved who the user is: the account's `allow` rules, the
//! mapped claims, the RS256 token, and the redirect back to Freshworks with its state. After a provider
//! login a refusal of who the user is offers to sign out there and switch accounts, and the provider's ID
//! token is kept for logout (`logout_hint`).

use serde_json::{Map, Value};
use url::Url;

use super::logout_hint::LogoutHint;
use super::{Freshworks, claims};
use crate::audit::Attempt;
use crate::config::EmailVerified;
use crate::identity::Identity;
use crate::login::{Finished, Finisher, Identified, PendingLogin, SsoError, SwitchAccount, Target};
use crate::request_id::RequestId;

impl Finisher for Freshworks {
    fn any_missing(&self, claims: &Map<String, Value>, policy: EmailVerified) -> bool {
        self.config
            .freshworks
            .as_ref()
            .is_some_and(|freshworks| claims::any_missing(claims, &freshworks.claims, policy))
    }

    fn required_missing(&self, claims: &Map<String, Value>) -> bool {
        self.config
            .freshworks
            .as_ref()
            .is_some_and(|freshworks| claims::any_required_missing(claims, &freshworks.claims))
    }

    fn finish(
        &self,
        pending: &PendingLogin,
        who: &Identified,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Finished, SsoError> {
        let (freshworks, _) = self.signing()?;
        let account = pending.account().unwrap_or_default();
        let Some(id_token) = &who.id_token else {
            let location = self.sign_for(&who.identity, pending, id, attempt)?;
            return Ok(Finished {
                location,
                cookies: Vec::new(),
            });
        };
        // A provider login: the provider must vouch for the email address (`upstream.email_verified`).
        if let Some(provider) = &self.provider {
            claims::check_email_verified(
                &who.identity.claims,
                &freshworks.claims,
                provider.upstream.email_verified,
            )
            .map_err(|e| self.refused(e, id_token, account))?;
        }
        let location = self
            .sign_for(&who.identity, pending, id, attempt)
            .map_err(|e| match e {
                // Who the user is was refused: offer to sign out at the provider and switch.
                e @ (SsoError::MissingClaim { .. }
                | SsoError::NotOneAddress
                | SsoError::NotAllowed(_)) => self.refused(e, id_token, account),
                e => e,
            })?;
        let hint = LogoutHint {
            id_token: id_token.clone(),
            account: account.to_owned(),
        };
        let cookies = self.hints.set(&hint).into_iter().collect();
        Ok(Finished { location, cookies })
    }
}

impl Freshworks {
    /// The URL that hands the signed token to Freshworks: the account's `redirect_url` with `state` and
    /// `id_token` (the seeds: `${redirect_uri}?state=${state}&id_token=${jwt_token}`).
    fn sign_for(
        &self,
        identity: &Identity,
        pending: &PendingLogin,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<String, SsoError> {
        let (freshworks, key) = self.signing()?;
        let (account, fw_state, fw_nonce) = match &pending.target {
            Target::Freshworks {
                account,
                state,
                nonce,
            } => (account, state, nonce),
            Target::Webchat { .. } => return Err(SsoError::TamperedLogin { restart: None }),
        };
        let account = freshworks
            .accounts
            .get(account)
            .ok_or_else(|| SsoError::UnknownAccount {
                id: account.clone(),
            })?;
        let payload = claims::payload(
            &identity.claims,
            &freshworks.claims,
            fw_nonce,
            crate::clock::unix_now(),
        )?;
        let email = payload["email"].as_str().unwrap_or_default();
        identity
            .check_allowed(&account.allow, email)
            .map_err(SsoError::NotAllowed)?;
        let token = key.sign_rs256(&payload).map_err(|e| SsoError::Signing {
            detail: e.to_string(),
        })?;
        attempt.email(email);
        self.log_success(id, &account.id, &identity.subject, attempt);
        Ok(append_query(
            &account.redirect_url,
            &[("state", fw_state), ("id_token", &token)],
        ))
    }

    /// A refusal of who the user is (no email, an unverified one): the provider remembers the user, so the
    /// page offers to sign out there (with the ID token as `id_token_hint`) and log in as someone else.
    fn refused(&self, error: SsoError, id_token: &str, account: &str) -> SsoError {
        let hint = LogoutHint {
            id_token: id_token.to_owned(),
            account: account.to_owned(),
        };
        let account: String = url::form_urlencoded::byte_serialize(account.as_bytes()).collect();
        SsoError::AtCallback {
            error: Box::new(error),
            restart: None,
            switch: Some(SwitchAccount {
                href: format!("/sso/jwt/logout?client_id={account}"),
                hint_cookie: self.hints.set(&hint),
            }),
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
}
