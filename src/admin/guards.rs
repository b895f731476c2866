//! Metrics of the gateway's self-protection: requests refused before routing, load shed at a limit, and
//! connections the gateway closed. Each has a fixed set of labels, counted in atomics.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A limit that turned work away; the `limit` label of `freshgate_overload_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overload {
    /// `limits.max_connections_per_ip`: a connection was refused.
    ConnectionsPerIp,
    /// `limits.max_upstream_requests`: a request got a 503 page.
    UpstreamRequests,
    /// `limits.max_upstream_requests_per_connection`: a request got a 503 page.
    UpstreamRequestsPerConnection,
    /// `limits.max_upstream_connections`: a request waited `upstream.response_timeout` for a provider
    /// connection and got a 503 page.
    UpstreamConnections,
}

impl Overload {
    const ALL: [Overload; 4] = [
        Overload::ConnectionsPerIp,
        Overload::UpstreamRequests,
        Overload::UpstreamRequestsPerConnection,
        Overload::UpstreamConnections,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Overload::ConnectionsPerIp => "max_connections_per_ip",
            Overload::UpstreamRequests => "max_upstream_requests",
            Overload::UpstreamRequestsPerConnection => "max_upstream_requests_per_connection",
            Overload::UpstreamConnections => "max_upstream_connections",
        }
    }
}

/// Why the gateway closed a client connection; the `reason` label of `freshgate_connections_closed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No request within `limits.header_read_timeout` of the handshake.
    HeaderTimeout,
    /// No request in flight for `limits.idle_timeout`.
    Idle,
    /// A request in flight but no byte moved either way for `limits.idle_timeout`.
    Stalled,
    /// Older than `limits.max_connection_age`.
    MaxAge,
}

impl Closed {
    const ALL: [Closed; 4] = [
        Closed::HeaderTimeout,
        Closed::Idle,
        Closed::Stalled,
        Closed::MaxAge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::Idle => "idle",
            Closed::Stalled => "stalled",
            Closed::MaxAge => "max_age",
        }
    }
}

/// Why a request was refused before it reached a route; the `reason` label of
/// `freshgate_requests_refused_total` and the code of the page the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Host` (or `X-Forwarded-Host` from a trusted proxy) names a host the gateway does not serve.
    MisdirectedRequest,
    /// `Host` and the request target's authority (or HTTP/2 `:authority`) name different hosts.
    ConflictingHost,
    /// More than one `Host` field, or one that is not a host.
    BadHost,
    ConnectMethod,
    BadRequestTarget,
    NonCanonicalPath,
    /// A request to the gateway's own routes declares a body longer than the route takes.
    BodyTooLarge,
}

impl Refusal {
    const ALL: [Refusal; 7] = [
        Refusal::MisdirectedRequest,
        Refusal::ConflictingHost,
        Refusal::BadHost,
        Refusal::ConnectMethod,
        Refusal::BadRequestTarget,
        Refusal::NonCanonicalPath,
        Refusal::BodyTooLarge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Refusal::MisdirectedRequest => "misdirected_request",
            Refusal::ConflictingHost => "conflicting_host",
            Refusal::BadHost => "bad_host",
            Refusal::ConnectMethod => "connect_method",
            Refusal::BadRequestTarget => "bad_request_target",
            Refusal::NonCanonicalPath => "non_canonical_path",
            Refusal::BodyTooLarge => "body_too_large",
        }
    }
}

#[derive(Default)]
pub struct Guards {
    overload: [AtomicU64; Overload::ALL.len()],
    closed: [AtomicU64; Closed::ALL.len()],
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl Guards {
    pub fn overload(&self, limit: Overload) {
        self.overload[limit as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn closed(&self, reason: Closed) {
        self.closed[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn refused(&self, reason: Refusal) {
        self.refused[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, out: &mut String) {
        let count = |counters: &[AtomicU64], i: usize| counters[i].load(Ordering::Relaxed);
        render_counter(
            out,
            "freshgate_overload_total",
            "Work turned away at a limit, by limit.",
            "limit",
            Overload::ALL
                .iter()
                .map(|l| (l.name(), count(&self.overload, *l as usize))),
        );
        render_counter(
            out,
            "freshgate_connections_closed_total",
            "Client connections the gateway closed, by reason.",
            "reason",
            Closed::ALL
                .iter()
                .map(|r| (r.name(), count(&self.closed, *r as usize))),
        );
        render_counter(
            out,
            "freshgate_requests_refused_total",
            "Requests refused before routing, by reason.",
            "reason",
            Refusal::ALL
                .iter()
                .map(|r| (r.name(), count(&self.refused, *r as usize))),
        );
    }
}

/// One counter family with one label: its `# HELP` and `# TYPE` lines, then a line per label value.
pub(super) fn render_counter<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    values: impl Iterator<Item = (&'a str, u64)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (value, n) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_is_rendered_and_counts_add_up() {
        let guards = Guards::default();
        guards.overload(Overload::UpstreamRequests);
        guards.overload(Overload::UpstreamRequests);
        guards.closed(Closed::MaxAge);
        guards.refused(Refusal::NonCanonicalPath);
        let mut out = String::new();
        guards.render(&mut out);
        assert!(out.contains("freshgate_overload_total{limit=\"max_upstream_requests\"} 2\n"));
        assert!(out.contains("freshgate_overload_total{limit=\"max_connections_per_ip\"} 0\n"));
        assert!(out.contains("freshgate_connections_closed_total{reason=\"max_age\"} 1\n"));
        assert!(
            out.contains("freshgate_requests_refused_total{reason=\"non_canonical_path\"} 1\n")
        );
        assert_eq!(out.lines().filter(|l| !l.starts_with('#')).count(), 15);
    }
}
