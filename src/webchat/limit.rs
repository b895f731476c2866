//! A bound on what anonymous callers can make the provider do.
//!
//! With an empty `webchat.audience`, an opaque bearer token can only be checked by asking the provider's
//! userinfo endpoint, so each junk token anyone sends would cost the provider one call. Tokens that cannot be
//! an RFC 6750 bearer token are refused without a call, and the calls for the others share one token bucket
//! across all callers: past it, callers get 503 with `Retry-After` while the provider is spared. JWT access
//! tokens are validated locally and do not count; with an audience set, opaque tokens are refused anyway.

use std::sync::Mutex;
use std::time::Instant;

/// Sustained userinfo look-ups per second for opaque tokens, across all callers.
pub const OPAQUE_LOOKUPS_PER_SECOND: u32 = 10;
/// Look-ups allowed at once before the sustained rate applies.
pub const OPAQUE_LOOKUP_BURST: u32 = 20;
/// Longest opaque token worth asking about: provider access tokens are far shorter.
const MAX_OPAQUE_TOKEN_BYTES: usize = 4096;

/// True when `token` has the shape of an RFC 6750 §2.1 `b64token`: `[A-Za-z0-9-._~+/]+` then `=`s.
pub fn plausible_opaque_token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= MAX_OPAQUE_TOKEN_BYTES
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// A token bucket: `capacity` takes at once, refilled at `per_second`.
pub struct Bucket {
    capacity: f64,
    per_second: f64,
    /// Tokens left and when they were counted.
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    pub fn new(capacity: u32, per_second: u32) -> Bucket {
        Bucket::starting_at(capacity, per_second, Instant::now())
    }

    fn starting_at(capacity: u32, per_second: u32, now: Instant) -> Bucket {
        Bucket {
            capacity: f64::from(capacity),
            per_second: f64::from(per_second),
            state: Mutex::new((f64::from(capacity), now)),
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (left, since) = *state;
        let elapsed = now.saturating_duration_since(since).as_secs_f64();
        let left = (left + elapsed * self.per_second).min(self.capacity);
        if left >= 1.0 {
            *state = (left - 1.0, now);
            true
        } else {
            *state = (left, now);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_rfc_6750_shaped_tokens_are_worth_a_lookup() {
        let cases: &[(&str, bool)] = &[
            ("2YotnFZFEjr1zCsicMWpAA", true),
            ("a.b-c_d~e+f/g==", true),
            ("opaque-access-token", true),
            ("", false),
            ("==", false),
            ("a=b", false),
            ("a b", false),
            ("tok\"en", false),
            ("tök", false),
            ("a,b", false),
        ];
        for (token, plausible) in cases {
            assert_eq!(plausible_opaque_token(token), *plausible, "{token:?}");
        }
        assert!(!plausible_opaque_token(
            &"a".repeat(MAX_OPAQUE_TOKEN_BYTES + 1)
        ));
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let bucket = Bucket::starting_at(3, 2, start);
        let taken = (0..10).filter(|_| bucket.try_take_at(start)).count();
        assert_eq!(taken, 3, "the burst");
        assert!(!bucket.try_take_at(start + Duration::from_millis(400)));
        assert!(
            bucket.try_take_at(start + Duration::from_millis(600)),
            "refilled at 2/s"
        );
        assert!(!bucket.try_take_at(start + Duration::from_millis(700)));
        let later = start + Duration::from_secs(60);
        let taken = (0..10).filter(|_| bucket.try_take_at(later)).count();
        assert_eq!(taken, 3, "never more than the capacity");
    }
}
