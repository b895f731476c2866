//! The gateway's Prometheus metrics: every family it exports, declared once, and the text exposition
//! `/metrics` serves (`crate::admin`). The vocabulary every module records in (label enums, the
//! [`Metrics`] handle), so it sits at the bottom: it imports no feature module.
//!
//! Names follow Prometheus' conventions: base units in the name (`_seconds`, `_bytes`), `_total` on
//! counters. The families live beside this file, one idea each: `guards` (self-protection), `directory`,
//! `peers` (provider and store calls), `logins` (login durations), `process` (process, build,
//! certificate); `family` holds the typed tables they are made of.
//!
//! Why not the `prometheus-client` crate. Two reasons, the first measured:
//!
//! - The passthrough path records a request (`freshgate_requests_total{route,status}`) and an upstream
//!   latency (`freshgate_upstream_duration_seconds`) for every request. Here the counter is one relaxed
//!   atomic add into a table indexed by enums, inlined into the handler. With `prometheus-client` 0.24 it
//!   is a `Family` lookup: a read lock on the family's map and a SipHash of the label set. Counted with
//!   callgrind (release build, one worker thread, one keep-alive connection, 1 KiB responses; the
//!   difference between 2200 and 200 requests): 258 instructions per increment against none left to
//!   see, and 59,499 instructions per passthrough request against 58,657 here (58,768 before the
//!   families were typed). Its histogram costs the same as this one (39 against 43 per observation).
//!   Every worker thread taking the same lock word on every request also makes cores contend for its
//!   cache line, which a one-thread count cannot show.
//! - Its encoder writes OpenMetrics, not the text format 0.0.4 served here: bucket bounds as `le="1.0"`
//!   where this writes `le="1"` (a changed label value splits every `histogram_quantile` over a rollout on
//!   Prometheus 2.x, which does not normalise them), counters' `# TYPE` under the name without `_total`,
//!   a period appended to every help text, and `# EOF`. The dashboard, the alert rules and the tests
//!   read the series as they are, so one writer serves every family.

pub mod directory;
pub mod family;
pub mod guards;
pub mod histogram;
pub mod logins;
pub mod peers;
pub mod process;

use std::fmt::Write;
use std::time::Duration;

use crate::route::Route;
use family::{Counter, Desc, Dynamic, Family, Gauge, Histogram, LabelValue, Show, label_values};
use guards::Guards;

pub use directory::DirectoryMetrics;
pub use guards::{Closed, Overload, Refusal, UpstreamError};
pub use logins::{LoginMetrics, Method as LoginMethod, Outcome as LoginOutcome};
pub use peers::{CallResult, PeerMetrics, ProviderCall, StoreCall};
pub use process::CertificateExpiry;

/// An HTTP status code as a label value: a table place for each of 0 to 599 (a code above counts as
/// 599; none is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16);

impl LabelValue for Status {
    const COUNT: usize = 600;
    fn index(self) -> usize {
        usize::from(self.0).min(Self::COUNT - 1)
    }
    fn at(index: usize) -> Self {
        Status(index as u16)
    }
    fn write(self, out: &mut String) {
        let _ = write!(out, "{}", self.0);
    }
}

impl LabelValue for Route {
    const COUNT: usize = Route::ALL.len();
    fn index(self) -> usize {
        Route::index(self)
    }
    fn at(index: usize) -> Self {
        Route::ALL[index]
    }
    fn write(self, out: &mut String) {
        out.push_str(self.name());
    }
}

label_values! {
    /// How a fetch of the provider's discovery document or JWKS ended; the `result` label of
    /// `freshgate_jwks_fetches_total`.
    pub enum JwksFetch {
        Ok => "ok",
        Error => "error",
    }
}

label_values! {
    /// How a reload attempt ended; the `result` label of `freshgate_config_reloads_total`.
    pub enum ReloadResult {
        /// The new configuration took effect.
        Success => "success",
        /// The configuration has problems: the running one stays.
        Invalid => "invalid",
        /// A file it names could not be loaded: the running one stays.
        Failed => "failed",
    }
}

const REQUESTS: Desc = Desc {
    name: "freshgate_requests_total",
    help: "Requests answered, by route and status code.",
    labels: &["route", "status"],
};
const UPSTREAM_DURATION: Desc = Desc {
    name: "freshgate_upstream_duration_seconds",
    help: "Time to the upstream's response head.",
    labels: &[],
};
const UPSTREAM_ERRORS: Desc = Desc {
    name: "freshgate_upstream_errors_total",
    help: "Upstream exchanges that failed, by kind.",
    labels: &["kind"],
};
const LOGINS: Desc = Desc {
    name: "freshgate_logins_total",
    help: "Finished login attempts, by outcome and reason.",
    labels: &["outcome", "reason"],
};
const JWKS_FETCHES: Desc = Desc {
    name: "freshgate_jwks_fetches_total",
    help: "Fetches of the provider's JWKS, by result.",
    labels: &["result"],
};
const CONNECTIONS_OPEN: Desc = Desc {
    name: "freshgate_connections_open",
    help: "Client connections currently open.",
    labels: &[],
};
const PROVIDER_READY: Desc = Desc {
    name: "freshgate_provider_ready",
    help: "1 when the provider's discovery document and JWKS are loaded.",
    labels: &[],
};
const STORE_UP: Desc = Desc {
    name: "freshgate_store_up",
    help: "1 when the shared store (replay guard, throttle) answers.",
    labels: &[],
};
const STORE_ERRORS: Desc = Desc {
    name: "freshgate_store_errors_total",
    help: "Shared store operations that failed, by operation.",
    labels: &["operation"],
};
const RELOADS: Desc = Desc {
    name: "freshgate_config_reloads_total",
    help: "Configuration reloads, by result (success, invalid, failed).",
    labels: &["result"],
};
const LAST_RELOAD_SUCCESS: Desc = Desc {
    name: "freshgate_config_last_reload_success_timestamp_seconds",
    help: "When the configuration in use was loaded (Unix time).",
    labels: &[],
};
const READY: Desc = Desc {
    name: "freshgate_ready",
    help: "1 when /readyz answers 200 (ready for traffic), 0 when it answers 503.",
    labels: &[],
};

pub struct Metrics {
    requests: Family<(Route, Status), Counter>,
    latency: Histogram,
    upstream_errors: Family<UpstreamError, Counter>,
    connections: Gauge,
    /// The most connections open at once since `take_connection_peak` last ran.
    connections_peak: Gauge,
    logins: Dynamic<2>,
    provider_ready: Gauge,
    jwks_fetches: Family<JwksFetch, Counter>,
    guards: Guards,
    pub directory: DirectoryMetrics,
    /// -1 until a store reports (none is configured until then), then 0 or 1.
    store_up: Gauge,
    store_errors: Family<StoreCall, Counter>,
    reloads: Family<ReloadResult, Counter>,
    /// Unix seconds of the last configuration that took effect (the start counts as one).
    last_reload_success: Gauge,
    /// Provider and store calls.
    pub peers: PeerMetrics,
    /// Login durations by method and outcome.
    pub logins_timed: LoginMetrics,
    pub certificate: CertificateExpiry,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            requests: Family::default(),
            latency: Histogram::new(histogram::EXCHANGE_SECONDS),
            upstream_errors: Family::default(),
            connections: Gauge::default(),
            connections_peak: Gauge::default(),
            logins: Dynamic::default(),
            provider_ready: Gauge::default(),
            jwks_fetches: Family::default(),
            guards: Guards::default(),
            directory: DirectoryMetrics::new(),
            store_up: Gauge::new(-1),
            store_errors: Family::default(),
            reloads: Family::default(),
            last_reload_success: Gauge::default(),
            peers: PeerMetrics::default(),
            logins_timed: LoginMetrics::default(),
            certificate: CertificateExpiry::default(),
        }
    }

    pub fn request(&self, route: Route, status: u16) {
        self.requests.get((route, Status(status))).inc();
    }

    /// Time from sending a request upstream to receiving its response head.
    pub fn upstream_latency(&self, elapsed: Duration) {
        self.latency.observe(elapsed);
    }

    pub fn upstream_error(&self, kind: UpstreamError) {
        self.upstream_errors.get(kind).inc();
    }

    pub fn connection_opened(&self) {
        let open = self.connections.add(1);
        self.connections_peak.raise_to(open);
    }

    /// The most connections open at once since the last call, and the number open now (`server::reclaim`).
    pub fn take_connection_peak(&self) -> (i64, i64) {
        let open = self.connections.get();
        let peak = self.connections_peak.swap(open);
        (peak.max(open), open)
    }

    pub fn connection_closed(&self) {
        self.connections.add(-1);
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
        self.logins.inc([outcome, reason]);
    }

    pub fn provider_ready(&self, ready: bool) {
        self.provider_ready.set(i64::from(ready));
    }

    pub fn jwks_fetch(&self, result: JwksFetch) {
        self.jwks_fetches.get(result).inc();
    }

    pub fn store_up(&self, up: bool) {
        self.store_up.set(i64::from(up));
    }

    pub fn store_error(&self, operation: StoreCall) {
        self.store_errors.get(operation).inc();
    }

    /// One reload attempt. A success (and the start) sets the last-success time.
    pub fn reload(&self, result: ReloadResult) {
        self.reloads.get(result).inc();
        if result == ReloadResult::Success {
            self.config_loaded();
        }
    }

    /// The configuration in use was loaded now.
    pub fn config_loaded(&self) {
        self.last_reload_success.set(unix_now());
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        process::render_build_info(&mut out);
        self.requests.render(&mut out, &REQUESTS, Show::Observed);
        family::header(
            &mut out,
            UPSTREAM_DURATION.name,
            "histogram",
            UPSTREAM_DURATION.help,
        );
        self.latency.render(&mut out, UPSTREAM_DURATION.name, "");
        self.upstream_errors
            .render(&mut out, &UPSTREAM_ERRORS, Show::Every);
        self.logins.render(&mut out, &LOGINS);
        self.jwks_fetches
            .render(&mut out, &JWKS_FETCHES, Show::Every);
        family::render_one(&mut out, &CONNECTIONS_OPEN, &self.connections);
        family::render_one(&mut out, &PROVIDER_READY, &self.provider_ready);
        self.guards.render(&mut out);
        self.directory.render(&mut out);
        if self.store_up.get() >= 0 {
            family::render_one(&mut out, &STORE_UP, &self.store_up);
            self.store_errors
                .render(&mut out, &STORE_ERRORS, Show::Every);
        }
        self.reloads.render(&mut out, &RELOADS, Show::Every);
        family::render_one(&mut out, &LAST_RELOAD_SUCCESS, &self.last_reload_success);
        self.peers.render(&mut out);
        self.logins_timed.render(&mut out);
        self.certificate.render(&mut out, unix_now());
        process::render_process(&mut out);
        out
    }
}

/// `freshgate_ready`: what `/readyz` would answer at the scrape, so a flapping readiness shows in
/// `changes(freshgate_ready[…])` and a replica out of its load balancer's rotation shows as 0.
pub fn render_ready(out: &mut String, ready: bool) {
    family::render_one(out, &READY, &Gauge::new(i64::from(ready)));
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
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
