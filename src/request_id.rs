//! Request ids: every request gets one, it appears in every log line about the request and on every page the
//! gateway shows, so a user's screenshot leads an operator straight to the log line.
//!
//! A random per-process prefix plus a counter: unique across replicas in practice, and no randomness or
//! allocation beyond the 16-character string on the hot path.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct RequestIds {
    prefix: u32,
    counter: AtomicU32,
}

impl RequestIds {
    pub fn new() -> Self {
        let mut seed = [0u8; 8];
        aws_lc_rs::rand::fill(&mut seed).expect("the system random number generator works");
        RequestIds {
            prefix: u32::from_le_bytes([seed[0], seed[1], seed[2], seed[3]]),
            counter: AtomicU32::new(u32::from_le_bytes([seed[4], seed[5], seed[6], seed[7]])),
        }
    }

    pub fn next(&self) -> RequestId {
        RequestId {
            prefix: self.prefix,
            n: self.counter.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId {
    prefix: u32,
    n: u32,
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}{:08x}", self.prefix, self.n)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ids_differ_and_are_sixteen_hex_digits() {
        let ids = RequestIds::new();
        let a = ids.next().to_string();
        let b = ids.next().to_string();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
