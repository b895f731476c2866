//! What can go wrong on the passthrough path, who caused it, and what the client sees.

use http::StatusCode;

use crate::metrics::{Overload, UpstreamError};
use crate::pages::Page;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the provider at {target} could not be reached: {detail}")]
    Unreachable { target: String, detail: String },
    #[error("the provider at {target} did not answer within {seconds} s")]
    Timeout { target: String, seconds: u64 },
    #[error("the provider's answer was not valid HTTP: {detail}")]
    Protocol { detail: String },
    /// Caused by load, ours to shed: not an upstream error.
    #[error("too many requests to the provider in flight (limits.{})", limit.name())]
    Overloaded { limit: Overload },
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::Unreachable { .. } | ProxyError::Protocol { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The metrics label, for errors caused by the upstream.
    pub fn upstream_kind(&self) -> Option<UpstreamError> {
        match self {
            ProxyError::Unreachable { .. } => Some(UpstreamError::Unreachable),
            ProxyError::Timeout { .. } => Some(UpstreamError::Timeout),
            ProxyError::Protocol { .. } => Some(UpstreamError::Protocol),
            ProxyError::Overloaded { .. } => None,
        }
    }

    pub fn page(&self) -> Page {
        let status = self.status();
        match self {
            ProxyError::Unreachable { .. } => Page::new(
                status,
                "provider_unreachable",
                "The sign-in service is not reachable",
                "The gateway could not connect to the identity provider behind it.",
            )
            .advice("Try again in a minute. If it keeps happening, tell your IT team and quote the request id below."),
            ProxyError::Timeout { .. } => Page::new(
                status,
                "provider_timeout",
                "The sign-in service is too slow to answer",
                "The identity provider behind the gateway did not answer in time.",
            )
            .advice("Try again in a minute. If it keeps happening, tell your IT team and quote the request id below."),
            ProxyError::Protocol { .. } => Page::new(
                status,
                "provider_bad_response",
                "The sign-in service answered incorrectly",
                "The identity provider behind the gateway sent an answer the gateway could not understand.",
            )
            .advice("Tell your IT team and quote the request id below."),
            ProxyError::Overloaded { .. } => Page::new(
                status,
                "gateway_busy",
                "The sign-in service is busy",
                "Too many requests are waiting for the identity provider right now.",
            )
            .advice("Wait a few seconds and reload the page. If it keeps happening, tell your IT team and quote the request id below."),
        }
    }
}
