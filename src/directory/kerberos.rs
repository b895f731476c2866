//! The silent Windows login's directory side: a Negotiate token (RFC 4559) accepted by
//! `crate::kerberos`, its principal mapped to the one directory entry it names, and that entry's account
//! state, claims and groups, exactly as for a password login. There is no bind (the KDC checked the
//! password), so the throttle does not apply; outcomes are counted in `freshgate_directory_logins_total`
//! with `kerberos_*` reasons.
//!
//! Mapping a principal `name@REALM` to an entry: by the short name (`sAMAccountName`, `uid` for
//! OpenLDAP) when the realm is the service principal's own or its first label is the NetBIOS domain,
//! which is how Active Directory's KDC names its users (RFC 4120 §6.1: names are unique within a realm);
//! else, or when that finds nothing, by the user principal name (`userPrincipalName`, which AD matches
//! case-insensitively; `krb5PrincipalName` for OpenLDAP). Each lookup is the configured `user_filter`
//! narrowed to that one attribute, so the filter's other conditions still hold, and must find exactly one
//! entry.

use std::time::SystemTime;

use super::entry::AccountState;
use super::{Directory, LoginError, filter};
use crate::config::{DirectoryKind, LoginMethod};
use crate::identity::Identity;
use crate::kerberos::principal::UserPrincipal;
use crate::kerberos::{Accepted, Refused, TokenError, token};

/// Why a configuration with `directory.kerberos` cannot run in this build (validation says it first).
#[cfg(not(feature = "kerberos"))]
pub(super) const NOT_BUILT_IN: &str = "directory.kerberos: this freshgate was built without Kerberos support; build it with `cargo build --release --locked --features kerberos` or use the container image";

/// A successful Kerberos login.
#[derive(Debug)]
pub struct TicketLogin {
    pub identity: Identity,
    /// The client's principal, e.g. `jdoe@CORP.EXAMPLE`.
    pub principal: String,
    /// The mutual-authentication token for `WWW-Authenticate: Negotiate <token>`, base64.
    pub mutual_token: Option<String>,
}

impl Directory {
    /// Whether the Login URL offers Negotiate (`directory.kerberos` is set).
    pub fn negotiates(&self) -> bool {
        self.settings.kerberos.is_some()
    }

    /// Accepts the base64 token of `Authorization: Negotiate` and finds its user; with groups when
    /// `want_groups`. A refused token is `LoginError::Ticket`.
    pub async fn authenticate_ticket(
        &self,
        token: &str,
        want_groups: bool,
    ) -> Result<TicketLogin, LoginError> {
        let result = self.authenticate_ticket_inner(token, want_groups).await;
        let (outcome, reason) = match &result {
            Ok(_) => ("success", "kerberos_ok"),
            Err(e) => ("failure", e.reason()),
        };
        self.metrics.directory.login(outcome, reason);
        result
    }

    async fn authenticate_ticket_inner(
        &self,
        token: &str,
        want_groups: bool,
    ) -> Result<TicketLogin, LoginError> {
        let bytes = token::decode(token).map_err(|e| LoginError::Ticket(e.into()))?;
        let Accepted {
            principal,
            mutual_token,
        } = self.accept(bytes).await.map_err(LoginError::Ticket)?;
        let identity = self.identity_for_principal(&principal, want_groups).await?;
        Ok(TicketLogin {
            identity,
            principal,
            mutual_token,
        })
    }

    #[cfg(feature = "kerberos")]
    async fn accept(&self, token: Vec<u8>) -> Result<Accepted, Refused> {
        match &self.kerberos {
            Some(acceptor) => acceptor.accept(token).await,
            None => Err(TokenError::Unsupported.into()),
        }
    }

    #[cfg(not(feature = "kerberos"))]
    async fn accept(&self, _token: Vec<u8>) -> Result<Accepted, Refused> {
        Err(Refused {
            error: TokenError::Unsupported,
            detail: "this freshgate was built without Kerberos support".into(),
        })
    }

    /// The identity of the directory entry `principal` names (see the module's doc), after the same
    /// account-state checks as a password login.
    pub async fn identity_for_principal(
        &self,
        principal: &str,
        want_groups: bool,
    ) -> Result<Identity, LoginError> {
        let unknown = || LoginError::UnknownPrincipal(principal.to_owned());
        let user = UserPrincipal::parse(principal).ok_or_else(unknown)?;
        let (short_attribute, upn_attribute) = match self.settings.kind {
            DirectoryKind::ActiveDirectory => ("sAMAccountName", "userPrincipalName"),
            DirectoryKind::OpenLdap => ("uid", "krb5PrincipalName"),
        };
        let template = &self.settings.user_filter;
        let mut found = None;
        if let Some(short) = user.short_name()
            && self.realm_is_ours(&user.realm)
        {
            found = self
                .find_by(&filter::user_filter_with(template, short, short_attribute))
                .await?;
        }
        if found.is_none() {
            found = self
                .find_by(&filter::user_filter_with(
                    template,
                    &user.upn(),
                    upn_attribute,
                ))
                .await?;
        }
        let entry = found.ok_or_else(unknown)?;
        match entry.state(SystemTime::now()) {
            AccountState::Usable => {}
            state => return Err(LoginError::from_state(state)),
        }
        let groups = if want_groups {
            self.groups(&entry).await?
        } else {
            Vec::new()
        };
        Ok(Identity {
            method: LoginMethod::Directory,
            subject: entry.dn.clone(),
            claims: entry.claims(&self.settings.attributes),
            groups,
        })
    }

    /// The service principal's realm, or a realm whose first label is the NetBIOS domain.
    fn realm_is_ours(&self, realm: &str) -> bool {
        let service_realm = self
            .settings
            .kerberos
            .as_ref()
            .and_then(|k| k.service_principal.rsplit_once('@'))
            .map(|(_, realm)| realm);
        service_realm.is_some_and(|ours| ours.eq_ignore_ascii_case(realm))
            || realm
                .split('.')
                .next()
                .is_some_and(|label| label.eq_ignore_ascii_case(&self.netbios_domain))
    }
}
