//! The way out: a shutdown in two steps, so that nothing a load balancer still sends is refused.
//!
//! A load balancer learns that a replica is going away some time after the replica does: Kubernetes removes
//! a terminating pod's endpoint while kube-proxy and ingress controllers catch up over seconds, and a
//! balancer that health-checks notices only after its interval times its failure threshold. A gateway that
//! closed its listener on SIGTERM refused every connection sent in that time. So SIGTERM first makes the
//! gateway [`Phase::Closing`] for `limits.shutdown_delay`: `/readyz` answers 503, the listener still accepts
//! and serves, and connections are told to go elsewhere after their current response (HTTP/1.1
//! `Connection: close`, RFC 9112 §9.6; HTTP/2 GOAWAY, RFC 9113 §6.8, whose two steps let streams the client
//! sent before it saw the GOAWAY still complete). Then [`Phase::Stopping`]: the listener closes and the
//! connections left drain within `limits.shutdown_grace`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// Where the gateway is on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Serving,
    /// Not ready, still accepting and serving; connections are asked to close after their response.
    Closing,
    /// No longer accepting; connections finish what is in flight and close.
    Stopping,
}

/// The switch, held by whoever decides when the gateway goes (`serve`, a test, the simulator).
pub struct Lifecycle {
    phase: watch::Sender<Phase>,
    closing: Arc<AtomicBool>,
}

impl Lifecycle {
    pub fn new() -> (Lifecycle, Shutdown) {
        let (phase, receiver) = watch::channel(Phase::Serving);
        let closing = Arc::new(AtomicBool::new(false));
        let shutdown = Shutdown {
            phase: receiver,
            closing: closing.clone(),
        };
        (Lifecycle { phase, closing }, shutdown)
    }

    /// The first step: readiness 503, connections asked to close, the listener still open.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.phase.send_if_modified(|phase| {
            let changed = *phase < Phase::Closing;
            if changed {
                *phase = Phase::Closing;
            }
            changed
        });
    }

    /// The second step: the listener closes and connections drain.
    pub fn stop(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.phase.send_replace(Phase::Stopping);
    }
}

/// What listeners, connections, the admin endpoints and background tasks watch.
#[derive(Clone)]
pub struct Shutdown {
    phase: watch::Receiver<Phase>,
    /// The same as `phase >= Closing`, read on every response without the channel's lock.
    closing: Arc<AtomicBool>,
}

impl Shutdown {
    /// True from the first step on.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// Resolves once the first step was taken (at once if it was).
    pub async fn closing(&mut self) {
        let _ = self.phase.wait_for(|phase| *phase >= Phase::Closing).await;
    }

    /// Resolves once the second step was taken (at once if it was).
    pub async fn stopped(&mut self) {
        let _ = self.phase.wait_for(|phase| *phase == Phase::Stopping).await;
    }

    /// Resolves with the phase once it is past `known` (at once if it is already): one watcher for both
    /// steps, for a connection, which is polled each time anything on it moves. Without the switch (the
    /// gateway is going away without its two steps), `Stopping`.
    pub async fn past(&mut self, known: Phase) -> Phase {
        match self.phase.wait_for(|phase| *phase > known).await {
            Ok(phase) => *phase,
            Err(_) => Phase::Stopping,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn closing_comes_before_stopping_and_both_are_seen_by_late_watchers() {
        let (lifecycle, shutdown) = Lifecycle::new();
        let mut watcher = shutdown.clone();
        assert!(!shutdown.is_closing());
        assert!(
            tokio::time::timeout(Duration::from_millis(50), watcher.closing())
                .await
                .is_err(),
            "serving is not closing"
        );
        lifecycle.close();
        assert!(shutdown.is_closing());
        watcher.closing().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(50), watcher.stopped())
                .await
                .is_err(),
            "closing is not stopping"
        );
        lifecycle.stop();
        let mut late = shutdown.clone();
        late.closing().await;
        late.stopped().await;
        // Closing again after stopping does not go back.
        lifecycle.close();
        late.stopped().await;
    }

    #[tokio::test]
    async fn a_watcher_is_told_each_step_past_the_one_it_knows_even_when_it_came_late() {
        let (lifecycle, shutdown) = Lifecycle::new();
        let mut watcher = shutdown.clone();
        assert!(
            tokio::time::timeout(Duration::from_millis(50), watcher.past(Phase::Serving))
                .await
                .is_err(),
            "nothing past serving yet"
        );
        lifecycle.close();
        assert_eq!(watcher.past(Phase::Serving).await, Phase::Closing);
        // A connection accepted after the first step (a clone of a receiver that saw it) learns it too.
        let mut late = shutdown.clone();
        assert_eq!(late.past(Phase::Serving).await, Phase::Closing);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), late.past(Phase::Closing))
                .await
                .is_err(),
            "closing is not stopping"
        );
        lifecycle.stop();
        assert_eq!(late.past(Phase::Closing).await, Phase::Stopping);
        drop(lifecycle);
        assert_eq!(
            watcher.past(Phase::Stopping).await,
            Phase::Stopping,
            "switch gone"
        );
    }
}
