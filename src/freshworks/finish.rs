//! The end of every Freshworks login, whatever proved who the user is: the account's `allow` rules, the
//! mapped claims, the RS256 token, and the redirect back to Freshworks with its state.

use super::claims;
use super::error::SsoError;
use super::pending::PendingLogin;
use super::{Sso, callback::append_query};
use crate::audit::Attempt;
use crate::identity::Identity;
use crate::request_id::RequestId;

impl Sso {
    /// The URL that hands the signed token to Freshworks: the account's `redirect_url` with `state` and
    /// `id_token` (the seeds: `${redirect_uri}?state=${state}&id_token=${jwt_token}`).
    pub(super) fn sign_for(
        &self,
        identity: &Identity,
        pending: &PendingLogin,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<String, SsoError> {
        let (freshworks, key) = self.freshworks()?;
        let account =
            freshworks
                .accounts
                .get(&pending.account)
                .ok_or_else(|| SsoError::UnknownAccount {
                    id: pending.account.clone(),
                })?;
        let payload = claims::payload(
            &identity.claims,
            &freshworks.claims,
            &pending.fw_nonce,
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
            &[("state", &pending.fw_state), ("id_token", &token)],
        ))
    }
}
