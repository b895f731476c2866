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
//! In memory; the maps are bounded (the oldest entries go first when full).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Throttle as Settings;

/// Keys each map holds at most; past it the entries with the oldest last failure are dropped.
const MAX_KEYS: usize = 65_536;
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

pub struct Throttle {
    settings: Settings,
    users: Mutex<Window<String>>,
    addresses: Mutex<Window<IpAddr>>,
}

impl Throttle {
    pub fn new(settings: Settings) -> Self {
        Throttle {
            settings,
            users: Mutex::new(Window::default()),
            addresses: Mutex::new(Window::default()),
        }
    }

    /// Whether a try from `address` may go to the directory at all (checked before the search).
    pub fn check_address(&self, address: IpAddr, now: Instant) -> Result<(), Held> {
        let key = address_key(address);
        let window = self.settings.window;
        let mut addresses = lock(&self.addresses);
        match addresses.wait(&key, now, window, self.settings.max_failures_per_ip, false) {
            None => Ok(()),
            Some(retry_after) => Err(Held::Address { retry_after }),
        }
    }

    /// Whether a bind for `user` may be sent now.
    pub fn check_user(&self, user: &str, now: Instant) -> Result<(), Held> {
        let window = self.settings.window;
        let mut users = lock(&self.users);
        match users.wait(
            &user.to_lowercase(),
            now,
            window,
            self.settings.max_failures,
            true,
        ) {
            None => Ok(()),
            Some(retry_after) => Err(Held::User { retry_after }),
        }
    }

    /// A wrong password (or an unknown user) for `user` from `address`.
    pub fn failed(&self, user: &str, address: IpAddr, now: Instant) {
        let window = self.settings.window;
        lock(&self.users).record(user.to_lowercase(), now, window);
        lock(&self.addresses).record(address_key(address), now, window);
    }

    /// The password was right: the user's count starts again, as the domain's own does.
    pub fn succeeded(&self, user: &str) {
        lock(&self.users).clear(&user.to_lowercase());
    }
}

/// Failure times per key.
struct Window<K> {
    failures: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for Window<K> {
    fn default() -> Self {
        Window {
            failures: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Window<K> {
    /// How long `key` must wait, if at all: until the oldest failure leaves the window once `max` are
    /// in it, and with `backoff`, 2^(n-1) seconds after the n-th.
    fn wait(
        &mut self,
        key: &K,
        now: Instant,
        window: Duration,
        max: u32,
        backoff: bool,
    ) -> Option<Duration> {
        let times = self.failures.get_mut(key)?;
        expire(times, now, window);
        let (Some(oldest), Some(latest)) = (times.front().copied(), times.back().copied()) else {
            self.failures.remove(key);
            return None;
        };
        if times.len() >= max as usize {
            return Some(
                (oldest + window)
                    .saturating_duration_since(now)
                    .max(Duration::from_secs(1)),
            );
        }
        if backoff {
            let exponent = u32::try_from(times.len() - 1).unwrap_or(u32::MAX).min(16);
            let delay = Duration::from_secs(1u64 << exponent)
                .min(MAX_BACKOFF)
                .min(window);
            let ready = latest + delay;
            if ready > now {
                return Some(ready - now);
            }
        }
        None
    }

    fn record(&mut self, key: K, now: Instant, window: Duration) {
        if self.failures.len() >= MAX_KEYS && !self.failures.contains_key(&key) {
            self.failures.retain(|_, times| {
                expire(times, now, window);
                !times.is_empty()
            });
            if self.failures.len() >= MAX_KEYS {
                let mut by_age: Vec<(Instant, K)> = self
                    .failures
                    .iter()
                    .filter_map(|(k, times)| times.back().map(|t| (*t, k.clone())))
                    .collect();
                by_age.sort_by_key(|(t, _)| *t);
                for (_, k) in by_age.into_iter().take(MAX_KEYS / 8) {
                    self.failures.remove(&k);
                }
            }
        }
        let times = self.failures.entry(key).or_default();
        expire(times, now, window);
        times.push_back(now);
        // More than any limit needs: the limits are small numbers.
        while times.len() > 1024 {
            times.pop_front();
        }
    }

    fn clear(&mut self, key: &K) {
        self.failures.remove(key);
    }
}

fn expire(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        times.pop_front();
    }
}

/// IPv4 addresses as they are; IPv6 by /64, the block one host is usually given.
fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(Settings {
            max_failures: 3,
            window: Duration::from_secs(300),
            max_failures_per_ip: 5,
        })
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn each_failure_doubles_the_wait_and_the_limit_holds_until_the_window_moves() {
        let t = throttle();
        let start = Instant::now();
        assert!(t.check_user("CN=J", start).is_ok());
        t.failed("CN=J", A, start);
        assert_eq!(
            t.check_user("cn=j", start),
            Err(Held::User {
                retry_after: Duration::from_secs(1)
            })
        );
        let later = start + Duration::from_secs(1);
        assert!(t.check_user("CN=J", later).is_ok());
        t.failed("CN=J", A, later);
        assert_eq!(
            t.check_user("CN=J", later),
            Err(Held::User {
                retry_after: Duration::from_secs(2)
            })
        );
        let third = later + Duration::from_secs(2);
        t.failed("CN=J", A, third);
        // Three failures: held until the first leaves the 300 s window.
        let held = t
            .check_user("CN=J", third + Duration::from_secs(60))
            .unwrap_err();
        assert_eq!(held.retry_after(), Duration::from_secs(237));
        assert!(
            t.check_user("CN=J", start + Duration::from_secs(300))
                .is_ok()
        );
    }

    #[test]
    fn no_more_than_max_failures_binds_fail_in_any_window() {
        // Whatever the timing of tries, a user's failed binds in any window stay at max_failures.
        let t = throttle();
        let start = Instant::now();
        let mut failed = Vec::new();
        for second in 0..3600u64 {
            let now = start + Duration::from_secs(second);
            if t.check_user("u", now).is_ok() {
                t.failed(
                    "u",
                    IpAddr::V4(std::net::Ipv4Addr::from(second as u32)),
                    now,
                );
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
    }

    #[test]
    fn a_success_clears_the_user_but_not_the_address() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..5 {
            t.failed("other", A, now);
        }
        t.failed("u", A, now);
        t.succeeded("u");
        assert!(t.check_user("u", now).is_ok());
        assert!(matches!(t.check_address(A, now), Err(Held::Address { .. })));
    }

    #[test]
    fn ipv6_addresses_are_counted_per_64() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..5u16 {
            let address = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i));
            t.failed(&format!("user{i}"), address, now);
        }
        let sibling = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        let elsewhere = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(t.check_address(sibling, now).is_err());
        assert!(t.check_address(elsewhere, now).is_ok());
    }
}
