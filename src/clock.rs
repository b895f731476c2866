//! The wall clock and fresh random tokens: what makes a login start at a time and unique.
//!
//! Code that decides by the time (a pending login's age, a session's end, the throttle's windows, how long
//! a login took) reads it from a [`Clock`] it was given, so a test sets the time with a [`ManualClock`]
//! instead of sleeping until it has passed. The free functions read the system's clock, for code that only
//! stamps a time.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The wall clock. Replicas read the same one (keep their clocks in sync, as NTP does): a login started
/// on one finishes on another, and the throttle's counts are shared.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;

    /// Seconds since the Unix epoch.
    fn unix_secs(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
    }

    /// Milliseconds since the Unix epoch.
    fn unix_ms(&self) -> u64 {
        self.now().duration_since(UNIX_EPOCH).map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until it is moved: tests make time pass with [`ManualClock::advance`].
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    pub fn at(time: SystemTime) -> Self {
        ManualClock(Mutex::new(time))
    }

    /// A clock showing `ms` milliseconds after the Unix epoch.
    pub fn at_unix_ms(ms: u64) -> Self {
        Self::at(UNIX_EPOCH + Duration::from_millis(ms))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The system's clock, as the shared handle components keep (one for the process).
pub fn system() -> Arc<dyn Clock> {
    static SYSTEM: LazyLock<Arc<dyn Clock>> = LazyLock::new(|| Arc::new(SystemClock));
    SYSTEM.clone()
}

/// Seconds since the Unix epoch, by the system's clock.
pub fn unix_now() -> u64 {
    SystemClock.unix_secs()
}

/// Milliseconds since the Unix epoch, by the system's clock.
pub fn now_ms() -> u64 {
    SystemClock.unix_ms()
}

/// A random URL-safe string of 32 bytes of entropy: states, nonces, PKCE verifiers (RFC 7636 §4.1), ids.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random number generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_reads_in_seconds_and_milliseconds() {
        let clock = ManualClock::at_unix_ms(1_700_000_000_250);
        assert_eq!(
            (clock.unix_secs(), clock.unix_ms()),
            (1_700_000_000, 1_700_000_000_250)
        );
        clock.advance(Duration::from_millis(800));
        assert_eq!(
            (clock.unix_secs(), clock.unix_ms()),
            (1_700_000_001, 1_700_000_001_050)
        );
    }

    #[test]
    fn random_tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }
}
