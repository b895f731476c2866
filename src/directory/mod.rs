//! Active Directory / LDAP: checks a user name and password and produces the user's `Identity`.
//!
//! Search, then bind (RFC 4513 §5.1.3 with a prior search): the read-only service account finds the one
//! entry the typed name matches (escaped once, RFC 4515), then a bind as that DN on a fresh connection
//! checks the password; a connection bound as a user is closed at once and never reused. An empty password
//! never reaches the directory: a bind with a DN and no password is an unauthenticated bind that AD and
//! many servers answer with success (RFC 4513 §5.1.2, §6.3.1).
//!
//! The account's state (disabled, locked out, expired, password expired) is told only to whoever knows
//! the password: from AD's bind sub-codes (`bind`), or from the entry once the bind succeeded (`entry`);
//! AD's "locked out" comes whatever the password, so it looks like a wrong password unless
//! `directory.show_lockouts` says otherwise. Failed passwords are throttled per typed name and per
//! address, and each bind is reserved against the entry's own count and the directory's lockout counters
//! (`throttle`, `lockout`), on the connection the bind goes to (`guarded`). Connections, each bounded by
//! `directory.timeout` and with TLS always checked, are `connection`'s.

mod bind;
mod connection;
mod entry;
pub mod error;
mod filter;
mod groups;
mod guarded;
pub mod hold;
mod inspect;
mod kerberos;
pub mod lockout;
mod login_error;
pub mod throttle;
pub mod username;

pub use entry::guid_text;
pub use inspect::{DomainLockout, LockoutView};

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use ldap3::{Ldap, Scope};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::config::{Directory as Settings, LoginMethod};
use crate::identity::Identity;
use crate::metrics::Metrics;
use crate::metrics::directory::Operation;
pub use entry::{AccountState, UserEntry};
pub use error::DirectoryError;
use guarded::Checked;
use hold::Hold;
pub use login_error::LoginError;
use throttle::Throttle;

/// User binds (password checks) in flight at once: each is a fresh connection to the directory.
const MAX_CONCURRENT_BINDS: usize = 32;

pub struct Directory {
    settings: Settings,
    tls: Arc<rustls::ClientConfig>,
    netbios_domain: String,
    /// The service account's connection, shared; `None` until made, or after it broke.
    service: tokio::sync::Mutex<Option<Ldap>>,
    throttle: Throttle,
    binds: Semaphore,
    /// Lockout policies read recently (`guarded`).
    policies: std::sync::Mutex<guarded::PolicyCache>,
    /// Primary groups found so far (`groups`).
    primary_groups: std::sync::Mutex<groups::PrimaryGroups>,
    /// Why the directory is not usable, for `/readyz`; `None` when the last service bind worked.
    health: std::sync::Mutex<Option<String>>,
    metrics: Arc<Metrics>,
    /// The Kerberos acceptor of the silent Windows login (`directory.kerberos`).
    #[cfg(feature = "kerberos")]
    kerberos: Option<crate::kerberos::Acceptor>,
}

/// What `freshgate check --test-user` shows: the entry found, its claims and groups.
#[derive(Debug)]
pub struct Lookup {
    pub dn: String,
    pub claims: serde_json::Map<String, serde_json::Value>,
    pub groups: Vec<String>,
    pub state: AccountState,
}

impl Directory {
    /// Reads the trust roots; connects lazily.
    pub fn new(
        settings: Settings,
        metrics: Arc<Metrics>,
        store: Arc<crate::store::Shared>,
    ) -> Result<Self, String> {
        let tls = crate::http_client::client_tls_config(settings.ca_file.as_deref())
            .map_err(|problem| format!("directory.ca_file: {problem}"))?;
        let netbios_domain = settings
            .netbios_domain
            .clone()
            .unwrap_or_else(|| username::default_netbios_domain(&settings.base_dn));
        #[cfg(feature = "kerberos")]
        let kerberos = settings
            .kerberos
            .as_ref()
            .map(|kerberos| crate::kerberos::Acceptor::new(kerberos, store.clone()))
            .transpose()?;
        #[cfg(not(feature = "kerberos"))]
        if settings.kerberos.is_some() {
            return Err(kerberos::NOT_BUILT_IN.into());
        }
        metrics.directory.up(false);
        Ok(Directory {
            throttle: Throttle::new(settings.throttle.clone(), store),
            settings,
            tls: Arc::new(tls),
            netbios_domain,
            service: tokio::sync::Mutex::new(None),
            binds: Semaphore::new(MAX_CONCURRENT_BINDS),
            policies: std::sync::Mutex::new(guarded::PolicyCache::default()),
            primary_groups: std::sync::Mutex::new(groups::PrimaryGroups::new()),
            health: std::sync::Mutex::new(Some("the directory has not been contacted yet".into())),
            metrics,
            #[cfg(feature = "kerberos")]
            kerberos,
        })
    }

    /// Checks `typed` and `password`; on success, the user's identity (with groups when `want_groups`).
    /// The password is dropped (and its memory cleared) when this returns.
    pub async fn authenticate(
        &self,
        typed: &str,
        password: Zeroizing<String>,
        client: IpAddr,
        want_groups: bool,
    ) -> Result<Identity, LoginError> {
        let result = self
            .authenticate_inner(typed, &password, client, want_groups)
            .await;
        drop(password);
        let (outcome, reason) = match &result {
            Ok(_) => ("success", "ok"),
            Err(e) => ("failure", e.reason()),
        };
        self.metrics.directory.login(outcome, reason);
        result
    }

    async fn authenticate_inner(
        &self,
        typed: &str,
        password: &str,
        client: IpAddr,
        want_groups: bool,
    ) -> Result<Identity, LoginError> {
        if password.is_empty() {
            return Err(LoginError::EmptyPassword);
        }
        let value = username::search_value(typed, &self.netbios_domain)
            .map_err(LoginError::UnusableName)?;
        // What the browser is told depends on what it typed and its address only.
        let mut attempt = self.throttle.begin(client, &value).await?;
        let found = match self.find(&value).await {
            Ok(found) => found,
            Err(e) => {
                let _ = attempt.release().await;
                return Err(e.into());
            }
        };
        let checked = match self
            .check_password(found.as_ref(), password, &mut attempt)
            .await
        {
            Ok(checked) => checked,
            Err(e) => {
                let _ = attempt.release().await;
                return Err(e);
            }
        };
        let user = match (found, checked) {
            (Some(user), Checked::Bound { started }) => {
                attempt.succeeded(started).await?;
                user
            }
            (None, _) | (Some(_), Checked::Decoy) => {
                attempt.failed().await?;
                return Err(LoginError::UnknownUser);
            }
            (Some(_), Checked::Held(hold)) => {
                attempt.failed().await?;
                return Err(match hold {
                    Hold::LockedOut => LoginError::LockedOut {
                        shown: self.settings.show_lockouts,
                    },
                    hold => LoginError::Held(hold),
                });
            }
            (Some(_), Checked::Refused(refusal)) => {
                return Err(match refusal {
                    bind::BindRefusal::WrongPassword | bind::BindRefusal::NoSuchUser => {
                        attempt.failed().await?;
                        LoginError::from_bind(refusal)
                    }
                    bind::BindRefusal::LockedOut => {
                        attempt.failed().await?;
                        LoginError::LockedOut {
                            shown: self.settings.show_lockouts,
                        }
                    }
                    // The password was right: the account's state is for this user to hear.
                    refusal => {
                        attempt.right_password().await?;
                        LoginError::from_bind(refusal)
                    }
                });
            }
        };
        self.identity_of(&user, want_groups).await
    }

    /// The identity of an entry whose user proved who they are (a password, a Kerberos ticket): refused
    /// when its account state says so; its claims, and its groups when `want_groups`.
    async fn identity_of(
        &self,
        user: &UserEntry,
        want_groups: bool,
    ) -> Result<Identity, LoginError> {
        match user.state(SystemTime::now()) {
            AccountState::Usable => {}
            state => return Err(LoginError::from_state(state)),
        }
        let groups = if want_groups {
            self.groups(user).await?
        } else {
            Vec::new()
        };
        Ok(Identity {
            method: LoginMethod::Directory,
            subject: user.dn.clone(),
            claims: user.claims(&self.settings.attributes),
            groups,
        })
    }

    /// The entry `typed` names, without any password (`freshgate check --test-user`).
    pub async fn lookup(&self, typed: &str) -> Result<Option<Lookup>, LoginError> {
        let value = username::search_value(typed, &self.netbios_domain)
            .map_err(LoginError::UnusableName)?;
        let Some(user) = self.find(&value).await? else {
            return Ok(None);
        };
        let groups = self.groups(&user).await?;
        Ok(Some(Lookup {
            dn: user.dn.clone(),
            claims: user.claims(&self.settings.attributes),
            groups,
            state: user.state(SystemTime::now()),
        }))
    }

    /// The one entry the user filter matches for `value`; `None` when none does.
    async fn find(&self, value: &str) -> Result<Option<UserEntry>, DirectoryError> {
        self.find_by(&filter::user_filter(&self.settings.user_filter, value))
            .await
    }

    /// The one entry `filter` matches; `None` when none does.
    async fn find_by(&self, filter: &str) -> Result<Option<UserEntry>, DirectoryError> {
        let mut attributes: Vec<&str> = self
            .settings
            .attributes
            .iter()
            .map(|(_, attribute)| attribute.as_str())
            .collect();
        attributes.extend(entry::STATE_ATTRIBUTES);
        let entries = self
            .search(
                &self.settings.base_dn,
                Scope::Subtree,
                filter,
                attributes,
                2,
                Operation::Search,
            )
            .await?;
        match entries.len() {
            0 => Ok(None),
            1 => Ok(entries.into_iter().next().map(UserEntry::new)),
            _ => Err(DirectoryError::Ambiguous),
        }
    }

    /// A DN under the base that no entry has: a random RDN value the directory cannot match.
    fn decoy_dn(&self) -> String {
        format!(
            "CN=freshgate-no-such-user-{},{}",
            crate::clock::random_token(),
            self.settings.base_dn
        )
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Directory messages on one line and short (they go to logs).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned()
}
