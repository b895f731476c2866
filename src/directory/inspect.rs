//! What `freshgate check` reads of the directory's lockout, on a connection of its own: the domain's
//! policy and every password settings object's, and one user's counters as the gateway sees them before a
//! bind. The same reads as a login's (`guarded`, `lockout`); no bind as a user.

use ldap3::{Scope, SearchEntry};

use super::guarded::domain_of;
use super::lockout::{self, Applies, Counters, Policy};
use super::{Directory, DirectoryError};

/// What `freshgate check` shows of the domain's lockout policies.
#[derive(Debug, Clone)]
pub struct DomainLockout {
    /// The domain object's DN.
    pub domain: String,
    /// Its policy; `None`: not readable.
    pub policy: Option<Policy>,
    /// The password settings objects (DN, policy when readable); `None`: the container cannot be listed.
    pub psos: Option<Vec<(String, Option<Policy>)>>,
}

/// What `freshgate check --test-user` shows of a user's lockout.
#[derive(Debug, Clone)]
pub struct LockoutView {
    pub applies: Applies,
    pub counters: Counters,
    /// The count the DC will use at the next failure (0 once the window passed); `None`: unreadable.
    pub effective_count: Option<u32>,
}

impl Directory {
    /// The domain's lockout policy and every password settings object the service account can list,
    /// each with its policy when readable (`freshgate check`). `None` for the objects: the container
    /// cannot be listed.
    pub async fn lockout_policies(&self) -> Result<DomainLockout, DirectoryError> {
        let mut ldap = self.connect().await?;
        let result = async {
            self.bind_service(&mut ldap).await?;
            let root = self
                .read_on(&mut ldap, "", &lockout::ROOT_ATTRIBUTES)
                .await?;
            let domain = root
                .as_ref()
                .and_then(|root| lockout::text(root, "defaultNamingContext"))
                .unwrap_or_else(|| domain_of(&self.settings.base_dn));
            let policy = self
                .read_on(&mut ldap, &domain, &lockout::DOMAIN_ATTRIBUTES)
                .await?
                .as_ref()
                .and_then(lockout::domain_policy);
            let container = format!("CN=Password Settings Container,CN=System,{domain}");
            // noSuchObject (32): no container (not AD), or not visible to the service account.
            let listed = ldap
                .with_timeout(self.settings.timeout)
                .search(
                    &container,
                    Scope::OneLevel,
                    // Not `(objectClass=msDS-PasswordSettings)`: without read access to the objects, the
                    // filter matches nothing, and an unreadable PSO would go unnoticed.
                    "(objectClass=*)",
                    lockout::PSO_ATTRIBUTES.to_vec(),
                )
                .await
                .map_err(|e| DirectoryError::from_ldap("search", e, self.settings.timeout))?;
            let psos = matches!(listed.1.rc, 0 | 32).then(|| {
                listed
                    .0
                    .into_iter()
                    .map(SearchEntry::construct)
                    .map(|entry| {
                        let policy = lockout::pso_policy(&entry);
                        (entry.dn, policy)
                    })
                    .collect()
            });
            Ok(DomainLockout {
                domain,
                policy,
                psos,
            })
        }
        .await;
        let _ = ldap.unbind().await;
        result
    }

    /// A user's lockout as the gateway sees it before a bind (`freshgate check --test-user`).
    pub async fn lockout_view(&self, dn: &str) -> Result<LockoutView, DirectoryError> {
        let mut ldap = self.connect().await?;
        let result = async {
            self.bind_service(&mut ldap).await?;
            let (root, counters) = self.read_counters(&mut ldap, dn).await?;
            let applies = self.applies(&mut ldap, &counters, root.as_ref()).await?;
            let effective_count = match &applies {
                Applies::Policy(policy) => match root.as_ref().and_then(lockout::current_time) {
                    Some(now) => counters.effective_count(policy.window, now, true),
                    None => counters.effective_count(
                        policy.window,
                        lockout::filetime(std::time::SystemTime::now()),
                        false,
                    ),
                },
                _ => counters.bad_pwd_count,
            };
            Ok(LockoutView {
                applies,
                counters,
                effective_count,
            })
        }
        .await;
        let _ = ldap.unbind().await;
        result
    }
}
