//! The label values of the gateway's self-protection: requests refused before routing, load shed at a
//! limit, and connections the gateway closed.

use super::family::{Counter, Desc, Family, Show, label_values};

label_values! {
    /// A limit that turned work away; the `limit` label of `freshgate_overload_total`.
    pub enum Overload {
        /// `limits.max_connections_per_ip`: a connection was refused.
        ConnectionsPerIp => "max_connections_per_ip",
        /// `limits.max_upstream_requests`: a request got a 503 page.
        UpstreamRequests => "max_upstream_requests",
        /// `limits.max_upstream_requests_per_connection`: a request got a 503 page.
        UpstreamRequestsPerConnection => "max_upstream_requests_per_connection",
        /// `limits.max_upstream_connections`: a request waited `upstream.response_timeout` for a provider
        /// connection and got a 503 page.
        UpstreamConnections => "max_upstream_connections",
    }
}

label_values! {
    /// Why the gateway closed a client connection; the `reason` label of
    /// `freshgate_connections_closed_total`.
    pub enum Closed {
        /// No request within `limits.header_read_timeout` of the handshake.
        HeaderTimeout => "header_timeout",
        /// No request in flight for `limits.idle_timeout`.
        Idle => "idle",
        /// A request in flight but no byte moved either way for `limits.idle_timeout`.
        Stalled => "stalled",
        /// Older than `limits.max_connection_age`.
        MaxAge => "max_age",
    }
}

label_values! {
    /// Why a request was refused before it reached a route; the `reason` label of
    /// `freshgate_requests_refused_total` and the code of the page the client gets.
    pub enum Refusal {
        /// `Host` (or `X-Forwarded-Host` from a trusted proxy) names a host the gateway does not serve.
        MisdirectedRequest => "misdirected_request",
        /// `Host` and the request target's authority (or HTTP/2 `:authority`) name different hosts.
        ConflictingHost => "conflicting_host",
        /// More than one `Host` field, or one that is not a host.
        BadHost => "bad_host",
        ConnectMethod => "connect_method",
        BadRequestTarget => "bad_request_target",
        NonCanonicalPath => "non_canonical_path",
        /// A request to the gateway's own routes declares a body longer than the route takes.
        BodyTooLarge => "body_too_large",
    }
}

label_values! {
    /// Why an upstream exchange failed; the `kind` label of `freshgate_upstream_errors_total`.
    pub enum UpstreamError {
        Unreachable => "unreachable",
        Timeout => "timeout",
        Protocol => "protocol",
    }
}

/// The three families, every label value from zero.
#[derive(Default)]
pub struct Guards {
    overload: Family<Overload, Counter>,
    closed: Family<Closed, Counter>,
    refused: Family<Refusal, Counter>,
}

const OVERLOAD: Desc = Desc {
    name: "freshgate_overload_total",
    help: "Work turned away at a limit, by limit.",
    labels: &["limit"],
};
const CLOSED: Desc = Desc {
    name: "freshgate_connections_closed_total",
    help: "Client connections the gateway closed, by reason.",
    labels: &["reason"],
};
const REFUSED: Desc = Desc {
    name: "freshgate_requests_refused_total",
    help: "Requests refused before routing, by reason.",
    labels: &["reason"],
};

impl Guards {
    pub fn overload(&self, limit: Overload) {
        self.overload.get(limit).inc();
    }

    pub fn closed(&self, reason: Closed) {
        self.closed.get(reason).inc();
    }

    pub fn refused(&self, reason: Refusal) {
        self.refused.get(reason).inc();
    }

    pub fn render(&self, out: &mut String) {
        self.overload.render(out, &OVERLOAD, Show::Every);
        self.closed.render(out, &CLOSED, Show::Every);
        self.refused.render(out, &REFUSED, Show::Every);
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
