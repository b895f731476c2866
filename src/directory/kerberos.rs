//! The silent Windows login's directory side: a Negotiate token (RFC 4559) accepted by
//! `crate::kerberos`, its principal mapped to the one directory entry it names, and that entry's account
//! state, claims and groups, exactly as for a password login. There is no bind (the KDC checked the
//! password), so the throttle does not apply; outcomes are counted in `freshgate_directory_logins_total`
//! with `kerberos_*` reasons.
//!
//! Mapping a principal `name@REALM` to an entry (RFC 4120 §6.1: a name means something only within its
//! realm, and realms are compared exactly, case included):
//! - only a user name of one component, without an escaped `/`; and without an escaped `@` too, except
//!   in the gateway's own realm: an enterprise name (RFC 6806 §5) such as
//!   `jdoe\@corp.example@PARTNER.EXAMPLE` carries a UPN chosen by whoever runs that realm, while
//!   `jane\@corp.example@CORP.EXAMPLE` is a UPN our own KDC resolved (a client that asked for the
//!   enterprise name without canonicalisation gets it back as its principal);
//! - the gateway's own realm (the service principal's, exactly): the short name (`sAMAccountName`, `uid`
//!   for OpenLDAP), which is how Active Directory's KDC names its users, or when that finds nothing the
//!   user principal name `name@REALM` (`userPrincipalName`, which AD matches case-insensitively;
//!   `krb5PrincipalName` for OpenLDAP); an enterprise name only by the UPN it holds;
//! - another realm only with a `directory.kerberos.trusted_realms` rule: `upn` (the entry whose user
//!   principal name is `name@REALM`) or `short_name`;
//! - anything else is refused like a bad token (the form again), with the reason in the log.
//!
//! Each lookup is the configured `user_filter` narrowed to that one attribute, so the filter's other
//! conditions still hold, and must find exactly one entry.

use super::{Directory, LoginError, filter};
use crate::config::{DirectoryKind, RealmMapping};
use crate::identity::Identity;
use crate::kerberos::principal::UserPrincipal;
use crate::kerberos::{AcceptError, Accepted, Refused, TokenError, token};

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
        } = self.accept(bytes).await.map_err(|e| match e {
            AcceptError::Refused(refused) => LoginError::Ticket(refused),
            AcceptError::Store(unavailable) => LoginError::Store(unavailable),
        })?;
        let identity = self.identity_for_principal(&principal, want_groups).await?;
        Ok(TicketLogin {
            identity,
            principal,
            mutual_token,
        })
    }

    #[cfg(feature = "kerberos")]
    async fn accept(&self, token: Vec<u8>) -> Result<Accepted, AcceptError> {
        match &self.kerberos {
            Some(acceptor) => acceptor.accept(token).await,
            None => Err(Refused::from(TokenError::Unsupported).into()),
        }
    }

    #[cfg(not(feature = "kerberos"))]
    async fn accept(&self, _token: Vec<u8>) -> Result<Accepted, AcceptError> {
        Err(Refused {
            error: TokenError::Unsupported,
            detail: "this freshgate was built without Kerberos support".into(),
        }
        .into())
    }

    /// The identity of the directory entry `principal` names (see the module's doc), after the same
    /// account-state checks as a password login.
    pub async fn identity_for_principal(
        &self,
        principal: &str,
        want_groups: bool,
    ) -> Result<Identity, LoginError> {
        let refused = |error, detail: String| LoginError::Ticket(Refused { error, detail });
        let own_realm = self.settings.kerberos.as_ref().map_or("", |k| k.realm());
        let user = UserPrincipal::parse(principal)
            .filter(|user| user.is_plain() || (user.is_enterprise() && user.realm == own_realm))
            .ok_or_else(|| {
                refused(
                    TokenError::UnusablePrincipal,
                    format!(
                        "{principal} is not a user name of one component without an escaped @ or / \
                         (an enterprise name is one only in the gateway's realm {own_realm}, whose KDC resolved it)"
                    ),
                )
            })?;
        let rule = if user.realm == own_realm {
            None
        } else {
            let trusted = self.settings.kerberos.as_ref().and_then(|k| {
                k.trusted_realms
                    .iter()
                    .find(|(realm, _)| *realm == user.realm)
            });
            match trusted {
                Some((_, mapping)) => Some(*mapping),
                None => {
                    return Err(refused(
                        TokenError::ForeignRealm,
                        format!(
                            "{principal} is a principal of the realm {}, not of the gateway's realm {own_realm} (compared exactly), \
                             and directory.kerberos.trusted_realms has no rule for it",
                            user.realm
                        ),
                    ));
                }
            }
        };
        let (short_attribute, upn_attribute) = match self.settings.kind {
            DirectoryKind::ActiveDirectory => ("sAMAccountName", "userPrincipalName"),
            DirectoryKind::OpenLdap => ("uid", "krb5PrincipalName"),
        };
        let template = &self.settings.user_filter;
        let by_short_name = filter::user_filter_with(template, &user.name, short_attribute);
        let by_upn = filter::user_filter_with(template, &user.upn(), upn_attribute);
        let found = match rule {
            // An enterprise name of our own realm: the UPN our KDC resolved, and nothing else.
            None if user.is_enterprise() => self.find_by(&by_upn).await?,
            None => match self.find_by(&by_short_name).await? {
                Some(entry) => Some(entry),
                None => self.find_by(&by_upn).await?,
            },
            Some(RealmMapping::ShortName) => self.find_by(&by_short_name).await?,
            Some(RealmMapping::Upn) => self.find_by(&by_upn).await?,
        };
        let entry = found.ok_or_else(|| LoginError::UnknownPrincipal(principal.to_owned()))?;
        self.identity_of(&entry, want_groups).await
    }
}
