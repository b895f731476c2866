//! Failed password logins, counted so that the gateway never sends the bind that would lock an account,
//! and one address cannot try passwords against many users.
//!
//! Every try is *reserved* in the shared store before anything reaches the directory, atomically with the
//! check of its limits (`crate::store::reservation`): tries in flight count like failures, so a burst of
//! 50 at once gets no further than one at a time would. Then it is settled: a failure stays counted, a
//! success clears the typed name's count, a try that never reached the directory is released. A try
//! dropped mid-bind (the browser went away) is settled by `Attempt`'s `Drop`, and the store forgets
//! unsettled tries after `IN_FLIGHT_TTL` in any case.
//!
//! Two layers:
//! - **What the browser is told** depends only on what it typed and its address, never on whether the
//!   name exists: per client address (an IPv6 /64) `max_failures_per_ip` within `window`; per typed name
//!   (as searched for, lower-cased) `max_failures` within `window`, each failure doubling the wait
//!   (1 s, 2 s, 4 s …). Past them: 429 "Too many failed sign-ins" with `Retry-After`.
//! - **What protects the account**, silently, per directory entry (so every spelling of a name counts
//!   together): the entry's failures counted as Active Directory counts them (a chain that resets only
//!   after a whole observation window without failures, `Rule::Chain`), at most `max_failures`, and the
//!   directory's own lockout guard (`lockout`): the bind is sent only if it cannot be the lockout
//!   threshold's failure. A held try gets the same answer as a wrong password (and costs the same decoy
//!   bind), so the hold tells nobody that the name exists.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::hold::{Held, Hold, Refused};
use super::lockout::EntryPolicy;
use crate::clock::{self, Clock};
use crate::config::Throttle as Settings;
use crate::store::reservation::{Guard, Limit, Outcome, Reserve, Rule, Settle};
use crate::store::{Shared, Unavailable};

/// How long a try counts as in flight if it is never settled (its process died). Longer than any try can
/// take: the directory's operations are bounded by `directory.timeout` (at most 60 s), a few of them per
/// try.
pub const IN_FLIGHT_TTL: Duration = Duration::from_secs(6 * 60);

/// Failures recorded by replicas whose clocks are this far apart still count as recent.
const CLOCK_SKEW: Duration = Duration::from_secs(2);

pub struct Throttle {
    settings: Settings,
    store: Arc<Shared>,
    /// What failures are timed by (the store keeps the times it is given).
    clock: Arc<dyn Clock>,
}

impl Throttle {
    pub fn new(settings: Settings, store: Arc<Shared>) -> Self {
        Throttle {
            settings,
            store,
            clock: clock::system(),
        }
    }

    /// The same throttle, its tries timed by `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reserves a try from `address` for the typed name `name` (as searched for), before the search.
    pub async fn begin(&self, address: IpAddr, name: &str) -> Result<Attempt, Refused> {
        let window = self.settings.window;
        let limits = vec![
            Limit {
                key: address_key(address),
                rule: Rule::Sliding {
                    window,
                    max: self.settings.max_failures_per_ip,
                    backoff: false,
                },
            },
            Limit {
                key: name_key(name),
                rule: Rule::Sliding {
                    window,
                    max: self.settings.max_failures,
                    backoff: true,
                },
            },
        ];
        let reserve = Reserve {
            id: clock::random_token(),
            now: self.clock.unix_ms(),
            ttl: IN_FLIGHT_TTL,
            limits,
        };
        if let Some(held) = self.store.reserve(&reserve).await? {
            let retry_after = held.retry_after;
            return Err(Refused::Held(if held.limit == 0 {
                Held::Address { retry_after }
            } else {
                Held::User { retry_after }
            }));
        }
        let mut keys = reserve.limits.into_iter().map(|l| l.key);
        Ok(Attempt {
            store: self.store.clone(),
            clock: self.clock.clone(),
            id: reserve.id,
            window,
            address_key: keys.next().unwrap_or_default(),
            name_key: keys.next().unwrap_or_default(),
            entry: None,
            bind_sent: false,
            settled: false,
        })
    }

    /// Reserves the bind for the entry `dn` under its own count and the directory's lockout guard (read
    /// at `read_at`, ms); `Ok(Some(_))`: not to be sent.
    pub async fn reserve_entry(
        &self,
        attempt: &mut Attempt,
        dn: &str,
        policy: &EntryPolicy,
        read_at: u64,
    ) -> Result<Option<Hold>, Unavailable> {
        let window = policy.window.unwrap_or(self.settings.window);
        let guard = policy.threshold.map(|threshold| Guard {
            count: policy.count,
            threshold,
            since: read_at.saturating_sub(crate::store::reservation::ms(CLOCK_SKEW)),
        });
        let reserve = Reserve {
            id: attempt.id.clone(),
            now: self.clock.unix_ms(),
            ttl: IN_FLIGHT_TTL,
            limits: vec![Limit {
                key: entry_key(dn),
                rule: Rule::Chain {
                    window,
                    max: self.settings.max_failures,
                    guard,
                },
            }],
        };
        Ok(match self.store.reserve(&reserve).await? {
            Some(held) if held.by_guard => Some(Hold::Lockout),
            Some(_) => Some(Hold::Entry),
            None => {
                attempt.entry = Some((entry_key(dn), window));
                None
            }
        })
    }
}

/// A reserved login try; settle it with `failed`, `succeeded` or `release` (dropping it releases it, and
/// counts a bind already sent as a failure).
pub struct Attempt {
    store: Arc<Shared>,
    clock: Arc<dyn Clock>,
    id: String,
    window: Duration,
    address_key: String,
    name_key: String,
    /// The entry's key and the window its failures are counted in, once its bind was reserved.
    entry: Option<(String, Duration)>,
    bind_sent: bool,
    settled: bool,
}

impl Attempt {
    /// The entry's bind is about to be sent: from now on its outcome may count at the directory.
    pub fn bind_sent(&mut self) {
        self.bind_sent = true;
    }

    /// A wrong password, an unknown name, or a try held without a bind: it counts everywhere.
    pub async fn failed(mut self) -> Result<(), Unavailable> {
        let keep = Outcome::Failed { keep: self.window };
        let mut keys = vec![
            (self.address_key.clone(), keep),
            (self.name_key.clone(), keep),
        ];
        if let Some((key, window)) = &self.entry {
            keys.push((key.clone(), Outcome::Failed { keep: *window }));
        }
        self.settle(keys).await
    }

    /// The password was right (`bind_started`: when the bind was sent, ms): the typed name's count starts
    /// again, and the entry's failures recorded before the bind are forgotten, as the directory's count is.
    pub async fn succeeded(mut self, bind_started: u64) -> Result<(), Unavailable> {
        let before = bind_started.saturating_sub(crate::store::reservation::ms(CLOCK_SKEW));
        let mut keys = vec![
            (self.address_key.clone(), Outcome::Released),
            (self.name_key.clone(), Outcome::Cleared { before: u64::MAX }),
        ];
        if let Some((key, _)) = &self.entry {
            keys.push((key.clone(), Outcome::Cleared { before }));
        }
        self.settle(keys).await
    }

    /// The password was right, and the account's state refused the login (disabled, expired, …): it does
    /// not count anywhere.
    pub async fn right_password(mut self) -> Result<(), Unavailable> {
        let mut keys = vec![
            (self.address_key.clone(), Outcome::Released),
            (self.name_key.clone(), Outcome::Released),
        ];
        if let Some((key, _)) = &self.entry {
            keys.push((key.clone(), Outcome::Released));
        }
        self.settle(keys).await
    }

    /// The directory failed (or the store did): it does not count, except a bind already sent, whose
    /// outcome is unknown and which may have counted at the directory.
    pub async fn release(mut self) -> Result<(), Unavailable> {
        let keys = self.release_keys();
        self.settle(keys).await
    }

    fn release_keys(&self) -> Vec<(String, Outcome)> {
        let mut keys = vec![
            (self.address_key.clone(), Outcome::Released),
            (self.name_key.clone(), Outcome::Released),
        ];
        if let Some((key, window)) = &self.entry {
            let outcome = if self.bind_sent {
                Outcome::Failed { keep: *window }
            } else {
                Outcome::Released
            };
            keys.push((key.clone(), outcome));
        }
        keys
    }

    async fn settle(&mut self, keys: Vec<(String, Outcome)>) -> Result<(), Unavailable> {
        self.settled = true;
        let settle = Settle {
            id: self.id.clone(),
            now: self.clock.unix_ms(),
            keys,
        };
        self.store.settle(&settle).await
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // The request went away mid-try: settle in the background (the store's time to live is the
        // backstop when there is no runtime left to do it).
        let settle = Settle {
            id: self.id.clone(),
            now: self.clock.unix_ms(),
            keys: self.release_keys(),
        };
        let store = self.store.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = store.settle(&settle).await;
            });
        }
    }
}

fn name_key(name: &str) -> String {
    format!("attempts:name:{}", name.to_lowercase())
}

fn entry_key(dn: &str) -> String {
    format!("attempts:entry:{}", crate::identity::normalize_dn(dn))
}

/// IPv4 addresses as they are; IPv6 by /64, the block one host is usually given.
fn address_key(address: IpAddr) -> String {
    let address = crate::server::per_ip::client_key(address.to_canonical());
    format!("attempts:ip:{address}")
}

#[cfg(test)]
mod tests;
