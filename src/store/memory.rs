//! The in-memory store (the default): this process's replay guard and failure windows.
//!
//! Replay guard: a state is accepted once. The cookie is cleared after a successful login, but a copy of it could be presented again with the same
//! callback URL; the provider also refuses a second use of the code (RFC 6749 §4.1.2), and this guard turns
//! the replay into a clear page before anything is sent to the provider. Entries live as long as a login may.
//!
//! Memory and time are bounded whatever a client sends: entries sit in a queue in the order they were
//! added, expired ones leave from the front on each call (an entry of a shorter time to live may wait
//! behind a longer-lived one: it is kept too long, never forgotten early), and past `MAX_ENTRIES` the
//! oldest is dropped. Dropping a callback state is safe: a replay of it still meets the provider's
//! single-use code. Dropping a Kerberos authenticator early (`crate::kerberos`) would let it be used
//! again: that takes more than `MAX_ENTRIES` sign-ins within its ten minutes, which docs/directory.md
//! states as the memory store's limit.

//!
//! Failure windows (the throttle): failure times per key, the expired ones dropped on each call; at most
//! `MAX_FAILURE_KEYS` keys, the ones whose last failure is oldest dropped first when full.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};

use super::attempts::Attempts;
use super::{Held, Reserve, Settle, Store, StoreError};

/// Upper bound on remembered states, so a flood of callbacks cannot grow memory without limit.
const MAX_ENTRIES: usize = 100_000;
/// Upper bound on throttle keys.
const MAX_FAILURE_KEYS: usize = 65_536;
/// More failures per key than any limit needs.
const MAX_FAILURES_PER_KEY: usize = 1024;

#[derive(Default)]
pub struct MemoryStore {
    used: UsedStates,
    failures: Mutex<HashMap<String, VecDeque<u64>>>,
    /// The throttle's reservations (`super::reservation`).
    attempts: Attempts,
}

impl Store for MemoryStore {
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let first = self.used.first_use(key, ttl);
        async move { Ok(first) }.boxed()
    }

    fn add_failure<'a>(
        &'a self,
        key: &'a str,
        now: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<u64>, StoreError>> {
        let times = self.add_failure_now(key, now, window);
        async move { Ok(times) }.boxed()
    }

    fn failures<'a>(
        &'a self,
        key: &'a str,
        now: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<u64>, StoreError>> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let times = match failures.get_mut(key) {
            Some(times) => {
                expire(times, now, window);
                let list: Vec<u64> = times.iter().copied().collect();
                if list.is_empty() {
                    failures.remove(key);
                }
                list
            }
            None => Vec::new(),
        };
        async move { Ok(times) }.boxed()
    }

    fn clear<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        async { Ok(()) }.boxed()
    }

    fn reserve<'a>(
        &'a self,
        reserve: &'a Reserve,
    ) -> BoxFuture<'a, Result<Option<Held>, StoreError>> {
        let held = self.attempts.reserve(reserve);
        async move { Ok(held) }.boxed()
    }

    fn settle<'a>(&'a self, settle: &'a Settle) -> BoxFuture<'a, Result<(), StoreError>> {
        self.attempts.settle(settle);
        async { Ok(()) }.boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        async { Ok(()) }.boxed()
    }

    fn kind(&self) -> &'static str {
        Self::KIND
    }
}

impl MemoryStore {
    pub const KIND: &str = "memory";

    /// `first_use` without the future: records `key` for `ttl`; false when it was recorded already.
    pub fn spend(&self, key: &str, ttl: Duration) -> bool {
        self.used.first_use(key, ttl)
    }

    fn add_failure_now(&self, key: &str, now: u64, window: Duration) -> Vec<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_FAILURE_KEYS && !failures.contains_key(key) {
            failures.retain(|_, times| {
                expire(times, now, window);
                !times.is_empty()
            });
            if failures.len() >= MAX_FAILURE_KEYS {
                let mut by_age: Vec<(u64, String)> = failures
                    .iter()
                    .filter_map(|(k, times)| times.back().map(|t| (*t, k.clone())))
                    .collect();
                by_age.sort();
                for (_, k) in by_age.into_iter().take(MAX_FAILURE_KEYS / 8) {
                    failures.remove(&k);
                }
            }
        }
        let times = failures.entry(key.to_owned()).or_default();
        expire(times, now, window);
        times.push_back(now);
        while times.len() > MAX_FAILURES_PER_KEY {
            times.pop_front();
        }
        times.iter().copied().collect()
    }
}

/// Drops failures older than `window` before `now` (ms).
fn expire(times: &mut VecDeque<u64>, now: u64, window: Duration) {
    let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    while times
        .front()
        .is_some_and(|t| now.saturating_sub(*t) >= window)
    {
        times.pop_front();
    }
}

#[derive(Default)]
struct UsedStates {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    states: HashSet<String>,
    /// (expiry, state), oldest first.
    queue: VecDeque<(Instant, String)>,
}

impl UsedStates {
    /// Records `state`; false when it was already used within `ttl`.
    fn first_use(&self, state: &str, ttl: Duration) -> bool {
        self.first_use_at(state, ttl, Instant::now(), MAX_ENTRIES)
    }

    fn first_use_at(&self, state: &str, ttl: Duration, now: Instant, max: usize) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((expiry, _)) = inner.queue.front()
            && (*expiry <= now || inner.queue.len() >= max)
        {
            if let Some((_, old)) = inner.queue.pop_front() {
                inner.states.remove(&old);
            }
        }
        if inner.states.contains(state) {
            return false;
        }
        inner.states.insert(state.to_owned());
        inner.queue.push_back((now + ttl, state.to_owned()));
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap().queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_state_is_accepted_once() {
        let used = UsedStates::default();
        assert!(used.first_use("s", MINUTE));
        assert!(!used.first_use("s", MINUTE));
        assert!(used.first_use("t", MINUTE));
    }

    #[test]
    fn a_state_is_forgotten_once_its_login_could_no_longer_finish() {
        let used = UsedStates::default();
        let start = Instant::now();
        assert!(used.first_use_at("s", MINUTE, start, 10));
        assert!(!used.first_use_at("s", MINUTE, start + MINUTE / 2, 10));
        assert!(used.first_use_at("s", MINUTE, start + MINUTE * 2, 10));
        assert_eq!(used.len(), 1, "the expired entry left the queue");
    }

    #[test]
    fn a_flood_of_states_keeps_memory_bounded_by_dropping_the_oldest() {
        let used = UsedStates::default();
        let now = Instant::now();
        for i in 0..1_000 {
            assert!(used.first_use_at(&format!("s{i}"), MINUTE, now, 100));
        }
        assert_eq!(used.len(), 100);
        assert!(
            !used.first_use_at("s999", MINUTE, now, 100),
            "recent states are still refused"
        );
        assert!(
            used.first_use_at("s0", MINUTE, now, 100),
            "the oldest was dropped"
        );
    }

    #[tokio::test]
    async fn failures_leave_the_window_and_a_clear_forgets_them() {
        let store = MemoryStore::default();
        let window = Duration::from_secs(10);
        assert_eq!(
            store.add_failure("k", 1_000, window).await.unwrap(),
            [1_000]
        );
        assert_eq!(
            store.add_failure("k", 5_000, window).await.unwrap(),
            [1_000, 5_000]
        );
        assert_eq!(store.failures("k", 11_000, window).await.unwrap(), [5_000]);
        store.clear("k").await.unwrap();
        assert!(
            store
                .failures("k", 11_000, window)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
