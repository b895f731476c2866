//! Callback replay guard: a state is accepted once per process.
//!
//! The cookie is cleared after a successful login, but a copy of it could be presented again with the same
//! callback URL; the provider also refuses a second use of the code (RFC 6749 §4.1.2), and this guard turns
//! the replay into a clear page before anything is sent to the provider. Entries live as long as a login may.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upper bound on remembered states, so a flood of callbacks cannot grow memory without limit.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct UsedStates {
    seen: Mutex<HashMap<String, Instant>>,
}

impl UsedStates {
    /// Records `state`; false when it was already used within `ttl`.
    pub fn first_use(&self, state: &str, ttl: Duration) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if seen.len() >= MAX_ENTRIES {
            seen.retain(|_, at| now.duration_since(*at) < ttl);
        }
        match seen.get(state) {
            Some(at) if now.duration_since(*at) < ttl => false,
            _ => {
                seen.insert(state.to_owned(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_accepted_once() {
        let used = UsedStates::default();
        assert!(used.first_use("s", Duration::from_secs(60)));
        assert!(!used.first_use("s", Duration::from_secs(60)));
        assert!(used.first_use("t", Duration::from_secs(60)));
    }
}
