//! The in-memory side of `reservation`: per key, its failures (ms, oldest first, kept until `keep_until`)
//! and its tries in flight (id, expiry). One mutex makes checking every limit of a try and recording it
//! atomic. At most `MAX_KEYS` keys: when full, keys with nothing in flight go first, those whose last
//! failure is oldest first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::reservation::{Held, MAX_FAILURES_PER_KEY, Outcome, Reserve, Settle, decide, ms};

/// Upper bound on keys (typed names, addresses, entries).
const MAX_KEYS: usize = 65_536;

#[derive(Default)]
pub struct Attempts {
    keys: Mutex<HashMap<String, KeyState>>,
}

#[derive(Default)]
struct KeyState {
    failures: VecDeque<u64>,
    /// The failures are forgotten at this time (ms): `keep` after the last one.
    keep_until: u64,
    /// (id, expiry in ms) of the tries not settled yet.
    in_flight: Vec<(String, u64)>,
}

impl KeyState {
    fn expire(&mut self, now: u64) {
        self.in_flight.retain(|(_, expiry)| *expiry > now);
        if self.keep_until <= now {
            self.failures.clear();
        }
    }

    fn is_empty(&self) -> bool {
        self.failures.is_empty() && self.in_flight.is_empty()
    }
}

impl Attempts {
    pub fn reserve(&self, reserve: &Reserve) -> Option<Held> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let now = reserve.now;
        for (index, limit) in reserve.limits.iter().enumerate() {
            let (times, in_flight) = match keys.get_mut(&limit.key) {
                Some(state) => {
                    state.expire(now);
                    let times: Vec<u64> = state.failures.iter().copied().collect();
                    (
                        times,
                        u32::try_from(state.in_flight.len()).unwrap_or(u32::MAX),
                    )
                }
                None => (Vec::new(), 0),
            };
            if let Err((by_guard, retry_after)) = decide(&limit.rule, &times, in_flight, now) {
                return Some(Held {
                    limit: index,
                    by_guard,
                    retry_after,
                });
            }
        }
        let expiry = now.saturating_add(ms(reserve.ttl));
        for limit in &reserve.limits {
            if keys.len() >= MAX_KEYS && !keys.contains_key(&limit.key) {
                make_room(&mut keys, now);
            }
            let state = keys.entry(limit.key.clone()).or_default();
            state.in_flight.push((reserve.id.clone(), expiry));
        }
        None
    }

    pub fn settle(&self, settle: &Settle) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let now = settle.now;
        for (key, outcome) in &settle.keys {
            let Some(state) = keys.get_mut(key) else {
                if let Outcome::Failed { keep } = outcome {
                    let mut state = KeyState::default();
                    state.failures.push_back(now);
                    state.keep_until = now.saturating_add(ms(*keep));
                    keys.insert(key.clone(), state);
                }
                continue;
            };
            state.in_flight.retain(|(id, _)| *id != settle.id);
            match *outcome {
                Outcome::Released => {}
                Outcome::Failed { keep } => {
                    state.expire(now);
                    state.failures.push_back(now);
                    state.keep_until = now.saturating_add(ms(keep));
                    while state.failures.len() > MAX_FAILURES_PER_KEY {
                        state.failures.pop_front();
                    }
                }
                Outcome::Cleared { before } => state.failures.retain(|t| *t >= before),
            }
            if state.is_empty() {
                keys.remove(key);
            }
        }
    }
}

/// Frees an eighth of the table: expired keys, then those with nothing in flight and the oldest failures.
fn make_room(keys: &mut HashMap<String, KeyState>, now: u64) {
    keys.retain(|_, state| {
        state.expire(now);
        !state.is_empty()
    });
    if keys.len() < MAX_KEYS {
        return;
    }
    let mut idle: Vec<(u64, String)> = keys
        .iter()
        .filter(|(_, state)| state.in_flight.is_empty())
        .map(|(key, state)| (state.failures.back().copied().unwrap_or(0), key.clone()))
        .collect();
    idle.sort();
    for (_, key) in idle.into_iter().take(MAX_KEYS / 8) {
        keys.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::reservation::{Limit, Rule};

    fn reserve(id: &str, now: u64, key: &str, max: u32) -> Reserve {
        Reserve {
            id: id.into(),
            now,
            ttl: Duration::from_secs(30),
            limits: vec![Limit {
                key: key.into(),
                rule: Rule::Sliding {
                    window: Duration::from_secs(60),
                    max,
                    backoff: false,
                },
            }],
        }
    }

    fn settle(id: &str, now: u64, key: &str, outcome: Outcome) -> Settle {
        Settle {
            id: id.into(),
            now,
            keys: vec![(key.into(), outcome)],
        }
    }

    #[test]
    fn a_burst_gets_no_more_reservations_than_the_limit() {
        let attempts = Attempts::default();
        let granted = (0..50)
            .filter(|i| {
                attempts
                    .reserve(&reserve(&format!("t{i}"), 0, "k", 3))
                    .is_none()
            })
            .count();
        assert_eq!(granted, 3);
    }

    #[test]
    fn a_released_try_frees_its_place_and_a_failed_one_keeps_it() {
        let attempts = Attempts::default();
        let failed = Outcome::Failed {
            keep: Duration::from_secs(60),
        };
        assert!(attempts.reserve(&reserve("a", 0, "k", 2)).is_none());
        assert!(attempts.reserve(&reserve("b", 0, "k", 2)).is_none());
        assert!(attempts.reserve(&reserve("c", 0, "k", 2)).is_some());
        attempts.settle(&settle("a", 10, "k", Outcome::Released));
        assert!(attempts.reserve(&reserve("c", 10, "k", 2)).is_none());
        attempts.settle(&settle("b", 20, "k", failed));
        attempts.settle(&settle("c", 20, "k", failed));
        assert!(attempts.reserve(&reserve("d", 30, "k", 2)).is_some());
        // A success clears the failures recorded before it.
        attempts.settle(&settle("x", 40, "k", Outcome::Cleared { before: 40 }));
        assert!(attempts.reserve(&reserve("d", 50, "k", 2)).is_none());
    }

    #[test]
    fn a_try_never_settled_stops_counting_after_its_time_to_live() {
        let attempts = Attempts::default();
        assert!(attempts.reserve(&reserve("lost", 0, "k", 1)).is_none());
        assert!(attempts.reserve(&reserve("next", 1_000, "k", 1)).is_some());
        assert!(attempts.reserve(&reserve("next", 30_001, "k", 1)).is_none());
    }
}
