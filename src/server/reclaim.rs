//! Gives memory back to the system after a burst of connections.
//!
//! glibc's allocator keeps what the process frees for reuse and returns only the top of its heap; after a
//! burst of a thousand connections the gateway's resident memory stayed near its peak long after the
//! connections were gone (`bench/passthrough --settle`, README "Performance"). `malloc_trim(0)` releases the
//! free pages inside the heap too. It walks the allocator's free lists and holds each arena's lock while it
//! does, so it runs only when there is something to give back: when a quarter or more of the connections
//! seen since the last trim have closed, and once more a little later, when the provider connections that
//! burst opened have gone idle and closed (`http_client`'s pool timeout).

#![allow(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use crate::metrics::Metrics;
use crate::server::Shutdown;

/// How often the connection count is looked at: an atomic swap, so often enough that the memory of a
/// burst is given back about a second after it ended.
const TICK: Duration = Duration::from_secs(1);
/// The follow-up trim, after the pool's idle provider connections have closed (they go within 40 s).
const FOLLOW_UP: Duration = Duration::from_secs(45);
/// Fewer closed connections than this are not worth a trim.
const MIN_CLOSED: i64 = 16;

/// When to trim, from the most connections open since the last trim and the number open now.
#[derive(Debug, Default)]
struct Policy {
    follow_up: Option<Instant>,
    /// The most connections open at once since the last trim (a burst that ends slowly, over many ticks,
    /// still counts as one).
    peak: i64,
}

impl Policy {
    /// `peak`: the most open since the previous tick; `open`: open now.
    fn decide(&mut self, peak: i64, open: i64, now: Instant) -> bool {
        self.peak = self.peak.max(peak);
        let burst_over = self.peak - open >= MIN_CLOSED && open * 4 <= self.peak * 3;
        let due = self.follow_up.is_some_and(|at| now >= at);
        if burst_over {
            self.peak = open;
            self.follow_up = Some(now + FOLLOW_UP);
        } else if due {
            self.follow_up = None;
        }
        burst_over || due
    }
}

/// Runs until shutdown.
pub async fn run(metrics: Arc<Metrics>, mut shutdown: Shutdown) {
    let mut policy = Policy::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.stopped() => return,
        }
        let (peak, open) = metrics.take_connection_peak();
        if policy.decide(peak, open, Instant::now()) {
            let started = std::time::Instant::now();
            let released = trim();
            debug!(
                peak,
                open,
                released,
                elapsed_us = started.elapsed().as_micros() as u64,
                "memory trimmed"
            );
        }
    }
}

/// True when the allocator gave memory back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() -> bool {
    // SAFETY: malloc_trim takes the allocator's own locks and has no preconditions.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_trim_follows_the_end_of_a_burst_and_once_more_after_the_pool_has_closed() {
        let mut policy = Policy::default();
        let start = Instant::now();
        assert!(!policy.decide(1000, 1000, start), "busy");
        assert!(policy.decide(1000, 10, start), "burst over");
        assert!(!policy.decide(10, 10, start + TICK), "nothing new");
        assert!(policy.decide(10, 10, start + FOLLOW_UP), "follow-up");
        assert!(
            !policy.decide(10, 10, start + FOLLOW_UP + TICK),
            "only once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_few_closed_connections_or_a_steady_load_do_not_trim() {
        let now = Instant::now();
        assert!(!Policy::default().decide(20, 10, now), "ten closed");
        let mut steady = Policy::default();
        for _ in 0..10 {
            assert!(!steady.decide(1000, 800, now), "a fifth closed");
        }
        assert!(!Policy::default().decide(0, 0, now), "idle");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_that_ends_over_many_ticks_is_trimmed_once_a_quarter_has_closed() {
        let mut policy = Policy::default();
        let mut now = Instant::now();
        assert!(!policy.decide(1000, 1000, now));
        for open in [900, 800] {
            now += TICK;
            assert!(!policy.decide(open + 100, open, now), "{open} open");
        }
        now += TICK;
        assert!(policy.decide(800, 700, now), "700 of 1000 open");
        now += TICK;
        assert!(
            !policy.decide(700, 600, now),
            "since the trim, 100 of 700 closed"
        );
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn memory_freed_inside_the_heap_is_given_back() {
        // 4 MiB in blocks below glibc's mmap threshold, so they come from the heap, with a block after them
        // that stays, so free() cannot simply lower the top of the heap: only a trim gives them back.
        let blocks: Vec<Vec<u8>> =
            std::hint::black_box((0..64).map(|i| vec![i as u8; 64 * 1024]).collect());
        let stays = vec![1u8; 1024];
        drop(blocks);
        assert!(trim(), "malloc_trim released nothing");
        assert_eq!(stays[0], 1);
    }
}
