//! Prometheus metrics, kept lock-free on the request path.
//!
//! Requests are counted in a fixed table of atomics indexed by route and status code, so recording one costs
//! two relaxed atomic adds and no allocation or hashing. Login outcomes are rare and use a small locked map.
//! Names follow Prometheus' conventions: base units in the name (`_seconds`, `_bytes`), `_total` on counters.
//! The families live beside this file, one idea each: `guards` (self-protection), `directory`, `peers`
//! (provider and store calls), `logins` (login durations), `process` (process, build, certificate).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

pub use super::guards::{Closed, Overload, Refusal};
use super::guards::{Guards, render_counter};
use super::histogram::Histogram;
pub use super::logins::{Method as LoginMethod, Outcome as LoginOutcome};
pub use super::peers::{CallResult, ProviderCall, StoreCall};
use crate::route::Route;

/// Upper bounds, in seconds, of the upstream latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const STATUS_SLOTS: usize = 600;

/// Why an upstream exchange failed; the `kind` label of `freshgate_upstream_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamError {
    Unreachable,
    Timeout,
    Protocol,
}

impl UpstreamError {
    const ALL: [UpstreamError; 3] = [
        UpstreamError::Unreachable,
        UpstreamError::Timeout,
        UpstreamError::Protocol,
    ];
    fn name(self) -> &'static str {
        match self {
            UpstreamError::Unreachable => "unreachable",
            UpstreamError::Timeout => "timeout",
            UpstreamError::Protocol => "protocol",
        }
    }
}

pub struct Metrics {
    requests: Vec<AtomicU64>,
    latency: Histogram,
    upstream_errors: [AtomicU64; 3],
    connections: AtomicI64,
    /// The most connections open at once since `take_connection_peak` last ran.
    connections_peak: AtomicI64,
    logins: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    provider_ready: AtomicI64,
    jwks_fetches: Mutex<BTreeMap<&'static str, u64>>,
    guards: Guards,
    pub directory: super::directory::DirectoryMetrics,
    store_up: AtomicI64,
    store_errors: Mutex<BTreeMap<&'static str, u64>>,
    reloads: Mutex<BTreeMap<&'static str, u64>>,
    /// Unix seconds of the last configuration that took effect (the start counts as one).
    last_reload_success: AtomicI64,
    /// Provider and store calls.
    pub peers: super::peers::PeerMetrics,
    /// Login durations by method and outcome.
    pub logins_timed: super::logins::LoginMetrics,
    pub certificate: super::process::CertificateExpiry,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            requests: (0..Route::ALL.len() * STATUS_SLOTS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            latency: Histogram::new(&LATENCY_BUCKETS),
            upstream_errors: Default::default(),
            connections: AtomicI64::new(0),
            connections_peak: AtomicI64::new(0),
            logins: Mutex::new(BTreeMap::new()),
            provider_ready: AtomicI64::new(0),
            jwks_fetches: Mutex::new(BTreeMap::new()),
            guards: Guards::default(),
            directory: super::directory::DirectoryMetrics::new(),
            store_up: AtomicI64::new(-1),
            store_errors: Mutex::new(BTreeMap::new()),
            reloads: Mutex::new(BTreeMap::new()),
            last_reload_success: AtomicI64::new(0),
            peers: Default::default(),
            logins_timed: Default::default(),
            certificate: Default::default(),
        }
    }

    pub fn request(&self, route: Route, status: u16) {
        let status = (status as usize).min(STATUS_SLOTS - 1);
        self.requests[route.index() * STATUS_SLOTS + status].fetch_add(1, Ordering::Relaxed);
    }

    /// Time from sending a request upstream to receiving its response head.
    pub fn upstream_latency(&self, elapsed: Duration) {
        self.latency.observe(elapsed);
    }

    pub fn upstream_error(&self, kind: UpstreamError) {
        self.upstream_errors[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_opened(&self) {
        let open = self.connections.fetch_add(1, Ordering::Relaxed) + 1;
        self.connections_peak.fetch_max(open, Ordering::Relaxed);
    }

    /// The most connections open at once since the last call, and the number open now (`server::reclaim`).
    pub fn take_connection_peak(&self) -> (i64, i64) {
        let open = self.connections.load(Ordering::Relaxed);
        let peak = self.connections_peak.swap(open, Ordering::Relaxed);
        (peak.max(open), open)
    }

    pub fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn overload(&self, limit: Overload) {
        self.guards.overload(limit);
    }

    pub fn connection_closed_by_us(&self, reason: Closed) {
        self.guards.closed(reason);
    }

    pub fn refused(&self, reason: Refusal) {
        self.guards.refused(reason);
    }

    /// One finished login attempt: `outcome` is `success` or `failure`, `reason` a short fixed code.
    pub fn login(&self, outcome: &'static str, reason: &'static str) {
        let mut logins = self
            .logins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *logins.entry((outcome, reason)).or_insert(0) += 1;
    }

    pub fn provider_ready(&self, ready: bool) {
        self.provider_ready.store(ready as i64, Ordering::Relaxed);
    }

    pub fn jwks_fetch(&self, result: &'static str) {
        let mut fetches = self
            .jwks_fetches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *fetches.entry(result).or_insert(0) += 1;
    }

    pub fn store_up(&self, up: bool) {
        self.store_up.store(i64::from(up), Ordering::Relaxed);
    }

    pub fn store_error(&self, operation: &'static str) {
        *self
            .store_errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(operation)
            .or_insert(0) += 1;
    }

    /// One reload attempt: `success`, `invalid` (the configuration has problems) or `failed` (a file it
    /// names could not be loaded). A success (and the start) sets the last-success time.
    pub fn reload(&self, result: &'static str) {
        *self
            .reloads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(result)
            .or_insert(0) += 1;
        if result == "success" {
            self.config_loaded();
        }
    }

    /// The configuration in use was loaded now.
    pub fn config_loaded(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.last_reload_success.store(now, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        super::process::render_build_info(&mut out);
        out.push_str(
            "# HELP freshgate_requests_total Requests answered, by route and status code.\n",
        );
        out.push_str("# TYPE freshgate_requests_total counter\n");
        for route in Route::ALL {
            for status in 0..STATUS_SLOTS {
                let n =
                    self.requests[route.index() * STATUS_SLOTS + status].load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "freshgate_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                        route.name()
                    );
                }
            }
        }

        out.push_str(
            "# HELP freshgate_upstream_duration_seconds Time to the upstream's response head.\n",
        );
        out.push_str("# TYPE freshgate_upstream_duration_seconds histogram\n");
        self.latency
            .render(&mut out, "freshgate_upstream_duration_seconds", "");

        render_counter(
            &mut out,
            "freshgate_upstream_errors_total",
            "Upstream exchanges that failed, by kind.",
            "kind",
            UpstreamError::ALL.iter().map(|kind| {
                let n = self.upstream_errors[*kind as usize].load(Ordering::Relaxed);
                (kind.name(), n)
            }),
        );

        out.push_str(
            "# HELP freshgate_logins_total Finished login attempts, by outcome and reason.\n",
        );
        out.push_str("# TYPE freshgate_logins_total counter\n");
        for ((outcome, reason), n) in self.logins.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "freshgate_logins_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {n}"
            );
        }

        let jwks = self.jwks_fetches.lock().unwrap_or_else(|p| p.into_inner());
        render_counter(
            &mut out,
            "freshgate_jwks_fetches_total",
            "Fetches of the provider's JWKS, by result.",
            "result",
            ["ok", "error"]
                .into_iter()
                .map(|result| (result, jwks.get(result).copied().unwrap_or(0))),
        );
        drop(jwks);

        out.push_str("# HELP freshgate_connections_open Client connections currently open.\n");
        out.push_str("# TYPE freshgate_connections_open gauge\n");
        let _ = writeln!(
            out,
            "freshgate_connections_open {}",
            self.connections.load(Ordering::Relaxed)
        );
        out.push_str("# HELP freshgate_provider_ready 1 when the provider's discovery document and JWKS are loaded.\n");
        out.push_str("# TYPE freshgate_provider_ready gauge\n");
        let _ = writeln!(
            out,
            "freshgate_provider_ready {}",
            self.provider_ready.load(Ordering::Relaxed)
        );
        self.guards.render(&mut out);
        self.directory.render(&mut out);
        let store_up = self.store_up.load(Ordering::Relaxed);
        if store_up >= 0 {
            out.push_str("# HELP freshgate_store_up 1 when the shared store (replay guard, throttle) answers.\n");
            out.push_str("# TYPE freshgate_store_up gauge\n");
            let _ = writeln!(out, "freshgate_store_up {store_up}");
            // Every operation from zero, so that rate() and increase() see the first error.
            let errors = self.store_errors.lock().unwrap_or_else(|p| p.into_inner());
            render_counter(
                &mut out,
                "freshgate_store_errors_total",
                "Shared store operations that failed, by operation.",
                "operation",
                StoreCall::ALL
                    .iter()
                    .map(|call| (call.name(), errors.get(call.name()).copied().unwrap_or(0))),
            );
        }
        render_counter(
            &mut out,
            "freshgate_config_reloads_total",
            "Configuration reloads, by result (success, invalid, failed).",
            "result",
            ["success", "invalid", "failed"].into_iter().map(|result| {
                let n = self
                    .reloads
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(result)
                    .copied()
                    .unwrap_or(0);
                (result, n)
            }),
        );
        out.push_str("# HELP freshgate_config_last_reload_success_timestamp_seconds When the configuration in use was loaded (Unix time).\n");
        out.push_str("# TYPE freshgate_config_last_reload_success_timestamp_seconds gauge\n");
        let _ = writeln!(
            out,
            "freshgate_config_last_reload_success_timestamp_seconds {}",
            self.last_reload_success.load(Ordering::Relaxed)
        );
        self.peers.render(&mut out);
        self.logins_timed.render(&mut out);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.certificate.render(&mut out, now);
        super::process::render_process(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status() {
        let metrics = Metrics::new();
        metrics.request(Route::Passthrough, 200);
        metrics.request(Route::Passthrough, 200);
        metrics.request(Route::SsoLogin, 400);
        let text = metrics.render();
        assert!(
            text.contains("freshgate_requests_total{route=\"passthrough\",status=\"200\"} 2\n")
        );
        assert!(text.contains("freshgate_requests_total{route=\"sso_login\",status=\"400\"} 1\n"));
        assert!(!text.contains("status=\"404\""));
    }

    #[test]
    fn latency_histogram_buckets_are_cumulative() {
        let metrics = Metrics::new();
        metrics.upstream_latency(Duration::from_millis(3));
        metrics.upstream_latency(Duration::from_millis(70));
        metrics.upstream_latency(Duration::from_secs(60));
        let text = metrics.render();
        assert!(text.contains("freshgate_upstream_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("freshgate_upstream_duration_seconds_bucket{le=\"0.1\"} 2\n"));
        assert!(text.contains("freshgate_upstream_duration_seconds_bucket{le=\"30\"} 2\n"));
        assert!(text.contains("freshgate_upstream_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("freshgate_upstream_duration_seconds_count 3\n"));
    }

    #[test]
    fn login_outcomes_are_labelled_by_reason() {
        let metrics = Metrics::new();
        metrics.login("failure", "unknown_account");
        metrics.login("failure", "unknown_account");
        metrics.login("success", "ok");
        let text = metrics.render();
        assert!(text.contains(
            "freshgate_logins_total{outcome=\"failure\",reason=\"unknown_account\"} 2\n"
        ));
        assert!(text.contains("freshgate_logins_total{outcome=\"success\",reason=\"ok\"} 1\n"));
    }
}
