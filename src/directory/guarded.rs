//! The password check of one login try, on a connection of its own to the first directory URL that
//! answers: with Active Directory, the service account binds there, the user's lockout counters and
//! policy are read there (`lockout`), the throttle reserves the bind against them, and only then is the
//! bind as the user sent, on the same connection: so the counters read are those of the domain controller
//! that counts this bind (`badPwdCount` is per DC), even with several URLs or a name that resolves to
//! several DCs. The connection is closed right after.
//!
//! A try that may not be sent (held), and a name that matches no entry, cost a bind too: to a DN that
//! cannot exist, on the same connection after the same reads, so that neither the answer nor (within a
//! few milliseconds) its timing tells a held or unknown name from a wrong password.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ldap3::{Ldap, Scope, SearchEntry};
use tracing::warn;

use super::bind::{self, BindRefusal};
use super::entry::UserEntry;
use super::hold::Hold;
use super::lockout::{self, Applies, Counters, EntryPolicy, Policy};
use super::throttle::Attempt;
use super::{Directory, DirectoryError, LoginError, one_line};
use crate::clock::now_ms;
use crate::config::DirectoryKind;
use crate::metrics::directory::Operation;

/// How long a domain's or a password settings object's lockout policy is reused before it is read again.
const POLICY_TTL: Duration = Duration::from_secs(60);
/// At most this many password settings objects are remembered (a domain has a handful).
const MAX_PSOS: usize = 256;

/// What the check found.
pub(super) enum Checked {
    /// The password is right; the bind was sent at `started` (ms).
    Bound { started: u64 },
    /// The directory refused the bind.
    Refused(BindRefusal),
    /// No bind was sent for the entry (a decoy bind was).
    Held(Hold),
    /// No entry: a decoy bind was sent.
    Decoy,
}

/// Lockout policies read recently: the domain's, and each password settings object's (`None`: not
/// readable by the service account).
#[derive(Default)]
pub(super) struct PolicyCache {
    domain: Option<(Instant, Option<Policy>)>,
    psos: HashMap<String, (Instant, Option<Policy>)>,
}

impl Directory {
    pub(super) async fn check_password(
        &self,
        user: Option<&UserEntry>,
        password: &str,
        attempt: &mut Attempt,
    ) -> Result<Checked, LoginError> {
        let _permit = self
            .binds
            .acquire()
            .await
            .map_err(|_| DirectoryError::Unreachable {
                detail: "shutting down".into(),
            })?;
        let mut ldap = self.connect().await?;
        let result = self.check_on(&mut ldap, user, password, attempt).await;
        let _ = ldap.unbind().await;
        result
    }

    async fn check_on(
        &self,
        ldap: &mut Ldap,
        user: Option<&UserEntry>,
        password: &str,
        attempt: &mut Attempt,
    ) -> Result<Checked, LoginError> {
        let reads = self.settings.kind == DirectoryKind::ActiveDirectory;
        if reads {
            self.bind_service(ldap).await?;
        }
        let Some(user) = user else {
            if reads {
                let _ = self.read_counters(ldap, &self.decoy_dn()).await;
            }
            let _ = self.bind_on(ldap, &self.decoy_dn(), password).await;
            return Ok(Checked::Decoy);
        };
        let read_at = now_ms();
        let policy = if reads {
            let (root, counters) = self.read_counters(ldap, &user.dn).await?;
            let applies = self.applies(ldap, &counters, root.as_ref()).await?;
            EntryPolicy::new(
                &applies,
                &counters,
                root.as_ref().and_then(lockout::current_time),
            )
        } else {
            Ok(EntryPolicy::NONE)
        };
        let hold = match policy {
            Err(hold) => Some(hold),
            Ok(policy) => {
                self.throttle
                    .reserve_entry(attempt, &user.dn, &policy, read_at)
                    .await?
            }
        };
        if let Some(hold) = hold {
            let _ = self.bind_on(ldap, &self.decoy_dn(), password).await;
            return Ok(Checked::Held(hold));
        }
        attempt.bind_sent();
        let started = now_ms();
        Ok(match self.bind_on(ldap, &user.dn, password).await? {
            Ok(()) => Checked::Bound { started },
            Err(refusal) => Checked::Refused(refusal),
        })
    }

    /// The root DSE and `dn`'s counters, read at once on `ldap` (`None` when there is no such entry).
    pub(super) async fn read_counters(
        &self,
        ldap: &mut Ldap,
        dn: &str,
    ) -> Result<(Option<SearchEntry>, Counters), DirectoryError> {
        let mut other = ldap.clone();
        let (root, user) = tokio::join!(
            self.read_on(ldap, "", &lockout::ROOT_ATTRIBUTES),
            self.read_on(&mut other, dn, &lockout::USER_ATTRIBUTES),
        );
        let counters = user?.as_ref().map(Counters::from_entry).unwrap_or_default();
        Ok((root?, counters))
    }

    /// The policy that applies to a user with these counters: its PSO's or the domain's.
    pub(super) async fn applies(
        &self,
        ldap: &mut Ldap,
        counters: &Counters,
        root: Option<&SearchEntry>,
    ) -> Result<Applies, DirectoryError> {
        if let Some(pso) = &counters.resultant_pso {
            return Ok(match self.pso_policy(ldap, pso).await? {
                Some(policy) => Applies::Policy(policy),
                None => Applies::UnreadablePso(pso.clone()),
            });
        }
        Ok(match self.domain_lockout_policy(ldap, root).await? {
            Some(policy) => Applies::Policy(policy),
            None => Applies::Unknown,
        })
    }

    async fn pso_policy(
        &self,
        ldap: &mut Ldap,
        dn: &str,
    ) -> Result<Option<Policy>, DirectoryError> {
        let key = crate::identity::normalize_dn(dn);
        if let Some((read, policy)) = super::lock(&self.policies).psos.get(&key)
            && read.elapsed() < POLICY_TTL
        {
            return Ok(policy.clone());
        }
        let entry = self.read_on(ldap, dn, &lockout::PSO_ATTRIBUTES).await?;
        let policy = entry.as_ref().and_then(lockout::pso_policy);
        if policy.is_none() {
            warn!(
                pso = %dn,
                "directory: a password settings object applies to a user, and the service account cannot read its lockout settings: \
                 no password is sent for its users until it can (grant read access, docs/directory.md#setting-up-active-directory)"
            );
        }
        let mut cache = super::lock(&self.policies);
        if cache.psos.len() >= MAX_PSOS {
            cache.psos.clear();
        }
        cache.psos.insert(key, (Instant::now(), policy.clone()));
        Ok(policy)
    }

    /// The domain object's lockout policy (the root DSE's `defaultNamingContext`, else the `DC=` part of
    /// `base_dn`); `None` when it cannot be read.
    pub(super) async fn domain_lockout_policy(
        &self,
        ldap: &mut Ldap,
        root: Option<&SearchEntry>,
    ) -> Result<Option<Policy>, DirectoryError> {
        if let Some((read, policy)) = &super::lock(&self.policies).domain
            && read.elapsed() < POLICY_TTL
        {
            return Ok(policy.clone());
        }
        let domain = root
            .and_then(|root| lockout::text(root, "defaultNamingContext"))
            .unwrap_or_else(|| domain_of(&self.settings.base_dn));
        let entry = self
            .read_on(ldap, &domain, &lockout::DOMAIN_ATTRIBUTES)
            .await?;
        let policy = entry.as_ref().and_then(lockout::domain_policy);
        if policy.is_none() {
            warn!(
                domain = %domain,
                "directory: the domain's lockout policy cannot be read (lockoutThreshold); directory.throttle alone keeps accounts from being locked"
            );
        }
        super::lock(&self.policies).domain = Some((Instant::now(), policy.clone()));
        Ok(policy)
    }

    /// One entry's attributes on `ldap`; `None` when it does not exist (or is not visible).
    pub(super) async fn read_on(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        attributes: &[&str],
    ) -> Result<Option<SearchEntry>, DirectoryError> {
        let started = Instant::now();
        let result = ldap
            .with_timeout(self.settings.timeout)
            .search(dn, Scope::Base, "(objectClass=*)", attributes.to_vec())
            .await;
        match result {
            Ok(ldap3::SearchResult(entries, done)) => {
                // noSuchObject (32): a decoy, or an entry deleted since the search.
                if done.rc != 0 && done.rc != 32 {
                    self.observe(Operation::Search, false, started);
                    return Err(DirectoryError::Refused {
                        operation: "search",
                        detail: format!("rc={} {}", done.rc, one_line(&done.text)),
                    });
                }
                self.observe(Operation::Search, true, started);
                Ok(entries
                    .into_iter()
                    .filter(|e| !e.is_ref() && !e.is_intermediate())
                    .find_map(|e| {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            SearchEntry::construct(e)
                        }))
                        .ok()
                    }))
            }
            Err(e) => {
                self.observe(Operation::Search, false, started);
                Err(DirectoryError::from_ldap(
                    "search",
                    e,
                    self.settings.timeout,
                ))
            }
        }
    }

    /// A bind as `dn` on `ldap`. The outer `Err` is the directory failing; the inner one, the directory
    /// refusing the credentials.
    pub(super) async fn bind_on(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        password: &str,
    ) -> Result<Result<(), BindRefusal>, DirectoryError> {
        let started = Instant::now();
        let result = ldap
            .with_timeout(self.settings.timeout)
            .simple_bind(dn, password)
            .await;
        match result {
            Ok(done) if done.rc == 0 => {
                self.observe(Operation::UserBind, true, started);
                Ok(Ok(()))
            }
            Ok(done) if done.rc == bind::INVALID_CREDENTIALS => {
                self.observe(Operation::UserBind, true, started);
                Ok(Err(bind::refusal(&done.text)))
            }
            Ok(done) => {
                self.observe(Operation::UserBind, false, started);
                Err(DirectoryError::refused_bind(done.rc, &done.text))
            }
            Err(e) => {
                self.observe(Operation::UserBind, false, started);
                Err(DirectoryError::from_ldap("bind", e, self.settings.timeout))
            }
        }
    }
}

/// The `DC=` components of a DN: the domain object an AD base DN lies in.
pub(super) fn domain_of(base_dn: &str) -> String {
    base_dn
        .split(',')
        .map(str::trim)
        .filter(|rdn| {
            rdn.split_once('=')
                .is_some_and(|(attribute, _)| attribute.trim().eq_ignore_ascii_case("dc"))
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_domain_object_is_the_dc_part_of_the_base_dn() {
        assert_eq!(
            super::domain_of("OU=Staff, DC=corp,DC=example"),
            "DC=corp,DC=example"
        );
    }
}
