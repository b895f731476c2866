//! Callback replay guard: a state is accepted once per process.
//!
//! The cookie is cleared after a successful login, but a copy of it could be presented again with the same
//! callback URL; the provider also refuses a second use of the code (RFC 6749 §4.1.2), and this guard turns
//! the replay into a clear page before anything is sent to the provider. Entries live as long as a login may.
//!
//! Memory and time are bounded whatever a client sends: entries sit in a queue in the order they expire (every
//! entry has the same time to live), expired ones leave from the front on each call, and past
//! `MAX_ENTRIES` the oldest is dropped. Dropping it is safe: a replay of that state still meets the
//! provider's single-use code.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upper bound on remembered states, so a flood of callbacks cannot grow memory without limit.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct UsedStates {
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
    pub fn first_use(&self, state: &str, ttl: Duration) -> bool {
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
