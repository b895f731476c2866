//! The in-memory store (the default): this process's replay guard and the throttle's reservations.
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
//! The throttle's reservations are `super::attempts`, bounded there.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};

use super::attempts::Attempts;
use super::{Held, Reserve, Settle, Store, StoreError};

/// Upper bound on remembered states, so a flood of callbacks cannot grow memory without limit.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct MemoryStore {
    used: UsedStates,
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
}
