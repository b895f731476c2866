//! Failed password logins, counted per user and per client address in a sliding window, so the gateway
//! never sends the directory enough wrong passwords to trip the domain's lockout, and one address cannot
//! try passwords against many users.
//!
//! - Per user (the entry's DN, or the typed name when no entry matched): after each failure the next try
//!   waits 1 s, 2 s, 4 s … (backoff); at `max_failures` within `window` no bind is sent until the oldest
//!   failure leaves the window. With `window` at least the domain's "reset account lockout counter after"
//!   and `max_failures` below its "account lockout threshold", the gateway alone can never lock an
//!   account.
//! - Per client address (an IPv6 /64): `max_failures_per_ip` within `window`, no backoff (an office behind
//!   one address shares it).
//!
//! The trade-off, documented in docs/directory.md: someone who knows a user name can keep that user from
//! logging in *through the gateway* for up to `window` after their last try (never at the domain, and
//! never for longer), from as many addresses as they have. A success clears the user's failures.
//!
//! The counters live in the shared store (`crate::store`): in memory by default, or in Redis / Valkey so
//! that replicas add up their counts. Times are milliseconds since the epoch, the clock replicas share.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Throttle as Settings;
use crate::store::{Shared, Unavailable, now_ms};

/// Longest wait between tries of one user.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why a try is not sent to the directory now, and when it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Too many recent failures for this user (or backoff).
    User { retry_after: Duration },
    /// Too many recent failures from this address.
    Address { retry_after: Duration },
}

impl Held {
    pub fn retry_after(self) -> Duration {
        match self {
            Held::User { retry_after } | Held::Address { retry_after } => retry_after,
        }
    }
}

/// A try that may not go on: held by the throttle, or the store that keeps the counts is unavailable.
#[derive(Debug, Clone)]
pub enum Refused {
    Held(Held),
    Store(Unavailable),
}

impl From<Unavailable> for Refused {
    fn from(e: Unavailable) -> Self {
        Refused::Store(e)
    }
}

pub struct Throttle {
    settings: Settings,
    store: Arc<Shared>,
}

impl Throttle {
    pub fn new(settings: Settings, store: Arc<Shared>) -> Self {
        Throttle { settings, store }
    }

    /// Whether a try from `address` may go to the directory at all (checked before the search).
    pub async fn check_address(&self, address: IpAddr) -> Result<(), Refused> {
        let now = now_ms();
        let times = self
            .store
            .failures(&address_key(address), now, self.settings.window)
            .await?;
        match wait(
            &times,
            now,
            self.settings.window,
            self.settings.max_failures_per_ip,
            false,
        ) {
            None => Ok(()),
            Some(retry_after) => Err(Refused::Held(Held::Address { retry_after })),
        }
    }

    /// Whether a bind for `user` may be sent now.
    pub async fn check_user(&self, user: &str) -> Result<(), Refused> {
        let now = now_ms();
        let times = self
            .store
            .failures(&user_key(user), now, self.settings.window)
            .await?;
        match wait(
            &times,
            now,
            self.settings.window,
            self.settings.max_failures,
            true,
        ) {
            None => Ok(()),
            Some(retry_after) => Err(Refused::Held(Held::User { retry_after })),
        }
    }

    /// A wrong password (or an unknown user) for `user` from `address`.
    pub async fn failed(&self, user: &str, address: IpAddr) -> Result<(), Unavailable> {
        let now = now_ms();
        let window = self.settings.window;
        self.store.add_failure(&user_key(user), now, window).await?;
        self.store
            .add_failure(&address_key(address), now, window)
            .await?;
        Ok(())
    }

    /// The password was right: the user's count starts again, as the domain's own does.
    pub async fn succeeded(&self, user: &str) -> Result<(), Unavailable> {
        self.store.clear(&user_key(user)).await
    }
}

fn user_key(user: &str) -> String {
    format!("throttle:user:{}", user.to_lowercase())
}

/// IPv4 addresses as they are; IPv6 by /64, the block one host is usually given.
fn address_key(address: IpAddr) -> String {
    let address = crate::server::per_ip::client_key(address.to_canonical());
    format!("throttle:ip:{address}")
}

/// How long a key with these failure times (ms, oldest first, all within the window) must wait at `now`:
/// until the oldest failure leaves the window once `max` are in it, and with `backoff`, 2^(n-1) seconds
/// after the n-th.
pub fn wait(
    times: &[u64],
    now: u64,
    window: Duration,
    max: u32,
    backoff: bool,
) -> Option<Duration> {
    let (Some(oldest), Some(latest)) = (times.first().copied(), times.last().copied()) else {
        return None;
    };
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    if times.len() >= max as usize {
        let free_at = oldest.saturating_add(window_ms);
        return Some(
            Duration::from_millis(free_at.saturating_sub(now)).max(Duration::from_secs(1)),
        );
    }
    if backoff {
        let exponent = u32::try_from(times.len() - 1).unwrap_or(u32::MAX).min(16);
        let delay = Duration::from_secs(1u64 << exponent)
            .min(MAX_BACKOFF)
            .min(window);
        let ready = latest.saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        if ready > now {
            return Some(Duration::from_millis(ready - now));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::metrics::Metrics;
    use crate::store::{MemoryStore, Store};

    const WINDOW: Duration = Duration::from_secs(300);

    #[test]
    fn each_failure_doubles_the_wait_and_the_limit_holds_until_the_window_moves() {
        let s = 1_000u64;
        assert_eq!(wait(&[], 0, WINDOW, 3, true), None);
        assert_eq!(wait(&[0], 0, WINDOW, 3, true), Some(Duration::from_secs(1)));
        assert_eq!(wait(&[0], s, WINDOW, 3, true), None);
        assert_eq!(
            wait(&[0, s], s, WINDOW, 3, true),
            Some(Duration::from_secs(2))
        );
        // Three failures: held until the first leaves the 300 s window.
        assert_eq!(
            wait(&[0, s, 3 * s], 63 * s, WINDOW, 3, true),
            Some(Duration::from_secs(237))
        );
        // The address limit has no backoff.
        assert_eq!(wait(&[0, s], s, WINDOW, 5, false), None);
    }

    #[tokio::test]
    async fn no_more_than_max_failures_binds_fail_in_any_window() {
        // Whatever the timing of tries, a user's failed binds in any window stay at max_failures.
        let store = MemoryStore::default();
        let mut failed = Vec::new();
        for second in 0..3600u64 {
            let now = second * 1000;
            let times = store.failures("u", now, WINDOW).await.unwrap();
            if wait(&times, now, WINDOW, 3, true).is_none() {
                store.add_failure("u", now, WINDOW).await.unwrap();
                failed.push(second);
            }
        }
        for (i, first) in failed.iter().enumerate() {
            let in_window = failed[i..].iter().take_while(|s| **s < first + 300).count();
            assert!(
                in_window <= 3,
                "{in_window} failures within 300 s of {first}"
            );
        }
        assert!(
            failed.len() >= 30,
            "the user is not locked out for good: {}",
            failed.len()
        );
    }

    fn throttle() -> Throttle {
        Throttle::new(
            Settings {
                max_failures: 3,
                window: WINDOW,
                max_failures_per_ip: 5,
            },
            Arc::new(Shared::memory(Arc::new(Metrics::new()))),
        )
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[tokio::test]
    async fn a_success_clears_the_user_but_not_the_address() {
        let t = throttle();
        for i in 0..5 {
            t.failed(&format!("other{i}"), A).await.unwrap();
        }
        t.failed("u", A).await.unwrap();
        t.succeeded("U").await.unwrap();
        assert!(t.check_user("u").await.is_ok());
        assert!(matches!(
            t.check_address(A).await,
            Err(Refused::Held(Held::Address { .. }))
        ));
    }

    #[tokio::test]
    async fn ipv6_addresses_are_counted_per_64() {
        let t = throttle();
        for i in 0..5u16 {
            let address = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i));
            t.failed(&format!("user{i}"), address).await.unwrap();
        }
        let sibling = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        let elsewhere = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(t.check_address(sibling).await.is_err());
        assert!(t.check_address(elsewhere).await.is_ok());
    }
}
