//! How long the gateway's own calls to its peers take: the provider's back channel (discovery, JWKS,
//! token, userinfo) and the shared store. With `freshgate_directory_duration_seconds` (`directory.rs`)
//! they answer "is login slow, and at which peer": one family per peer, `{operation, result}` each.
//!
//! `result` is `ok` (the peer answered as asked), `refused` (the provider answered with a 4xx: a spent
//! code, a revoked token; a fault of the request, not of the provider) or `error` (no answer in time,
//! unreachable, a 5xx, an unreadable body; the store failed).

use std::time::Duration;

use super::family::{Buckets, Desc, Family, Show, Timer, label_values};
use super::histogram::EXCHANGE_SECONDS;

/// Upper bounds, in seconds, of the provider calls' buckets (`upstream.connect_timeout` +
/// `response_timeout` bound a call; the defaults add up to 15 s).
pub struct ProviderBuckets;
impl Buckets for ProviderBuckets {
    const BOUNDS: &'static [f64] = EXCHANGE_SECONDS;
}

/// Upper bounds of the store's buckets: a Redis round trip is well under a millisecond on a LAN;
/// `store.timeout` defaults to 500 ms.
pub struct StoreBuckets;
impl Buckets for StoreBuckets {
    const BOUNDS: &'static [f64] = &[
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ];
}

label_values! {
    /// A call to the provider; the `operation` label of `freshgate_provider_duration_seconds`.
    pub enum ProviderCall {
        /// `/.well-known/openid-configuration` (OIDC Discovery 1.0 §4).
        Discovery => "discovery",
        /// The key set at `jwks_uri`.
        Jwks => "jwks",
        /// The code exchange at `token_endpoint` (RFC 6749 §4.1.3).
        Token => "token",
        /// `userinfo_endpoint` (OIDC Core §5.3).
        Userinfo => "userinfo",
    }
}

label_values! {
    /// A shared-store operation; the `operation` label of `freshgate_store_duration_seconds` and
    /// `freshgate_store_errors_total`.
    pub enum StoreCall {
        /// The callback replay guard.
        FirstUse => "first_use",
        /// The throttle reserves a try before the directory sees it.
        Reserve => "reserve",
        /// The throttle settles a reserved try once the directory answered.
        Settle => "settle",
        /// The health check every 5 s.
        Ping => "ping",
    }
}

label_values! {
    /// How a call ended; the `result` label.
    pub enum CallResult {
        Ok => "ok",
        Refused => "refused",
        Error => "error",
    }
}

impl CallResult {
    /// The result of an HTTP answer with `status`.
    pub fn of_status(status: http::StatusCode) -> CallResult {
        if status.is_success() {
            CallResult::Ok
        } else if status.is_client_error() {
            CallResult::Refused
        } else {
            CallResult::Error
        }
    }
}

const PROVIDER: Desc = Desc {
    name: "freshgate_provider_duration_seconds",
    help: "Time a call to the provider's back channel took, by operation (discovery, jwks, token, userinfo) and result (ok, refused, error).",
    labels: &["operation", "result"],
};
const STORE: Desc = Desc {
    name: "freshgate_store_duration_seconds",
    help: "Time a shared-store operation took, by operation and result (ok, error).",
    labels: &["operation", "result"],
};

#[derive(Default)]
pub struct PeerMetrics {
    provider: Family<(ProviderCall, CallResult), Timer<ProviderBuckets>>,
    store: Family<(StoreCall, CallResult), Timer<StoreBuckets>>,
}

impl PeerMetrics {
    pub fn provider(&self, call: ProviderCall, result: CallResult, elapsed: Duration) {
        self.provider.get((call, result)).observe(elapsed);
    }

    /// A store operation: `ok` or `error` (the store has no refusals).
    pub fn store(&self, call: StoreCall, ok: bool, elapsed: Duration) {
        let result = if ok {
            CallResult::Ok
        } else {
            CallResult::Error
        };
        self.store.get((call, result)).observe(elapsed);
    }

    /// Series with at least one observation (labels that never happened are left out).
    pub fn render(&self, out: &mut String) {
        self.provider.render(out, &PROVIDER, Show::Observed);
        self.store.render(out, &STORE, Show::Observed);
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_that_happened_are_rendered_each_under_its_operation_and_result() {
        let peers = PeerMetrics::default();
        peers.provider(
            ProviderCall::Token,
            CallResult::Ok,
            Duration::from_millis(20),
        );
        peers.provider(
            ProviderCall::Token,
            CallResult::Refused,
            Duration::from_millis(3),
        );
        peers.store(StoreCall::FirstUse, false, Duration::from_millis(500));
        let mut out = String::new();
        peers.render(&mut out);
        assert!(out.contains("freshgate_provider_duration_seconds_bucket{operation=\"token\",result=\"ok\",le=\"0.025\"} 1\n"));
        assert!(out.contains(
            "freshgate_provider_duration_seconds_count{operation=\"token\",result=\"refused\"} 1\n"
        ));
        assert!(out.contains("freshgate_store_duration_seconds_bucket{operation=\"first_use\",result=\"error\",le=\"0.25\"} 0\n"));
        assert!(out.contains("freshgate_store_duration_seconds_bucket{operation=\"first_use\",result=\"error\",le=\"0.5\"} 1\n"));
        assert!(!out.contains("operation=\"jwks\""));
        assert!(!out.contains("operation=\"ping\""));
        assert_eq!(
            CallResult::of_status(http::StatusCode::BAD_REQUEST),
            CallResult::Refused
        );
        assert_eq!(
            CallResult::of_status(http::StatusCode::BAD_GATEWAY),
            CallResult::Error
        );
    }
}
