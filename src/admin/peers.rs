//! How long the gateway's own calls to its peers take: the provider's back channel (discovery, JWKS,
//! token, userinfo) and the shared store. With `freshgate_directory_duration_seconds` (`directory.rs`)
//! they answer "is login slow, and at which peer": one family per peer, `{operation, result}` each.
//!
//! `result` is `ok` (the peer answered as asked), `refused` (the provider answered with a 4xx: a spent
//! code, a revoked token; a fault of the request, not of the provider) or `error` (no answer in time,
//! unreachable, a 5xx, an unreadable body; the store failed).

use std::time::Duration;

use super::histogram::{Histogram, header};

/// Upper bounds, in seconds, of the provider calls' buckets (`upstream.connect_timeout` +
/// `response_timeout` bound a call; the defaults add up to 15 s).
const PROVIDER_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Upper bounds of the store's buckets: a Redis round trip is well under a millisecond on a LAN;
/// `store.timeout` defaults to 500 ms.
const STORE_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A call to the provider; the `operation` label of `freshgate_provider_duration_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderCall {
    /// `/.well-known/openid-configuration` (OIDC Discovery 1.0 §4).
    Discovery,
    /// The key set at `jwks_uri`.
    Jwks,
    /// The code exchange at `token_endpoint` (RFC 6749 §4.1.3).
    Token,
    /// `userinfo_endpoint` (OIDC Core §5.3).
    Userinfo,
}

impl ProviderCall {
    pub const ALL: [ProviderCall; 4] = [
        ProviderCall::Discovery,
        ProviderCall::Jwks,
        ProviderCall::Token,
        ProviderCall::Userinfo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProviderCall::Discovery => "discovery",
            ProviderCall::Jwks => "jwks",
            ProviderCall::Token => "token",
            ProviderCall::Userinfo => "userinfo",
        }
    }
}

/// A shared-store operation; the `operation` label of `freshgate_store_duration_seconds` and
/// `freshgate_store_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreCall {
    /// The callback replay guard.
    FirstUse,
    /// The throttle records a failed password.
    AddFailure,
    /// The throttle reads a window.
    Failures,
    /// The throttle forgets a user's failures after a success.
    Clear,
    /// The throttle reserves a try before the directory sees it.
    Reserve,
    /// The throttle settles a reserved try once the directory answered.
    Settle,
    /// The health check every 5 s.
    Ping,
}

impl StoreCall {
    pub const ALL: [StoreCall; 7] = [
        StoreCall::FirstUse,
        StoreCall::AddFailure,
        StoreCall::Failures,
        StoreCall::Clear,
        StoreCall::Reserve,
        StoreCall::Settle,
        StoreCall::Ping,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StoreCall::FirstUse => "first_use",
            StoreCall::AddFailure => "add_failure",
            StoreCall::Failures => "failures",
            StoreCall::Clear => "clear",
            StoreCall::Reserve => "reserve",
            StoreCall::Settle => "settle",
            StoreCall::Ping => "ping",
        }
    }
}

/// How a call ended; the `result` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult {
    Ok,
    Refused,
    Error,
}

impl CallResult {
    const ALL: [CallResult; 3] = [CallResult::Ok, CallResult::Refused, CallResult::Error];

    fn name(self) -> &'static str {
        match self {
            CallResult::Ok => "ok",
            CallResult::Refused => "refused",
            CallResult::Error => "error",
        }
    }

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

pub struct PeerMetrics {
    provider: Vec<Histogram>,
    store: Vec<Histogram>,
}

impl Default for PeerMetrics {
    fn default() -> Self {
        let table =
            |n: usize, bounds: &'static [f64]| (0..n).map(|_| Histogram::new(bounds)).collect();
        PeerMetrics {
            provider: table(
                ProviderCall::ALL.len() * CallResult::ALL.len(),
                &PROVIDER_BUCKETS,
            ),
            store: table(StoreCall::ALL.len() * CallResult::ALL.len(), &STORE_BUCKETS),
        }
    }
}

impl PeerMetrics {
    pub fn provider(&self, call: ProviderCall, result: CallResult, elapsed: Duration) {
        self.provider[call as usize * CallResult::ALL.len() + result as usize].observe(elapsed);
    }

    /// A store operation: `ok` or `error` (the store has no refusals).
    pub fn store(&self, call: StoreCall, ok: bool, elapsed: Duration) {
        let result = if ok {
            CallResult::Ok
        } else {
            CallResult::Error
        };
        self.store[call as usize * CallResult::ALL.len() + result as usize].observe(elapsed);
    }

    /// Series with at least one observation (labels that never happened are left out).
    pub fn render(&self, out: &mut String) {
        let provider = "freshgate_provider_duration_seconds";
        header(
            out,
            provider,
            "histogram",
            "Time a call to the provider's back channel took, by operation (discovery, jwks, token, userinfo) and result (ok, refused, error).",
        );
        for call in ProviderCall::ALL {
            for result in CallResult::ALL {
                let histogram =
                    &self.provider[call as usize * CallResult::ALL.len() + result as usize];
                if histogram.count() > 0 {
                    let labels =
                        format!("operation=\"{}\",result=\"{}\"", call.name(), result.name());
                    histogram.render(out, provider, &labels);
                }
            }
        }
        let store = "freshgate_store_duration_seconds";
        header(
            out,
            store,
            "histogram",
            "Time a shared-store operation took, by operation and result (ok, error).",
        );
        for call in StoreCall::ALL {
            for result in [CallResult::Ok, CallResult::Error] {
                let histogram =
                    &self.store[call as usize * CallResult::ALL.len() + result as usize];
                if histogram.count() > 0 {
                    let labels =
                        format!("operation=\"{}\",result=\"{}\"", call.name(), result.name());
                    histogram.render(out, store, &labels);
                }
            }
        }
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
