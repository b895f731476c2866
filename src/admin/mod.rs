//! The admin listener: `/healthz`, `/readyz`, `/metrics`. Bind it to loopback or a cluster-internal address;
//! it exposes no secrets but tells a reader about the deployment.

pub mod directory;
pub mod guards;
pub mod histogram;
pub mod logins;
pub mod metrics;
pub mod peers;
pub mod process;

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::body::Body;
use arc_swap::ArcSwap;

use crate::reload::Snapshot;
use crate::server::{ConnInfo, Handler, Shutdown};
use metrics::Metrics;

pub struct Admin {
    pub metrics: Arc<Metrics>,
    /// The running snapshot: readiness describes what serves requests now.
    pub current: Arc<ArcSwap<Snapshot>>,
    /// Shutting down, the gateway is not ready whatever else holds: load balancers stop sending to it
    /// while it still serves (`limits.shutdown_delay`, `server::drain`).
    pub shutdown: Shutdown,
}

impl Admin {
    /// Ready when the signing key is loaded, the provider's discovery document and JWKS are fetched, the
    /// directory's service account binds and the shared store answers (each when configured; the store
    /// only with `on_error: fail_closed`), and the gateway is not shutting down.
    pub fn readiness(&self) -> (bool, serde_json::Value) {
        let snapshot = self.current.load();
        let mut reasons = Vec::new();
        let shutting_down = self.shutdown.is_closing();
        if shutting_down {
            reasons.push(
                "shutting down: finishing what is in flight, new requests belong on another replica"
                    .to_owned(),
            );
        }
        // A snapshot with a `freshworks` section always has its key: one that does not load is refused.
        let signing_key = if snapshot.signing_key.is_some() {
            "ok"
        } else {
            "not configured"
        };
        let provider = match snapshot.provider.as_ref().map(|p| p.current()) {
            None => "not configured",
            Some(Ok(_)) => "ok",
            Some(Err(reason)) => {
                reasons.push(reason.clone());
                "not ready"
            }
        };
        let directory = match snapshot.directory.as_ref().map(|d| d.health()) {
            None => "not configured",
            Some(None) => "ok",
            Some(Some(reason)) => {
                reasons.push(format!("directory: {reason}"));
                "not ready"
            }
        };
        let store = match snapshot.store.health() {
            None => "ok",
            Some(reason) => {
                if snapshot.store.blocks_readiness() {
                    reasons.push(reason);
                    "not ready"
                } else {
                    "degraded"
                }
            }
        };
        let ready = reasons.is_empty();
        let body = serde_json::json!({
            "ready": ready,
            "checks": {
                "signing_key": signing_key,
                "provider": provider,
                "directory": directory,
                "store": store,
            },
            "shutting_down": shutting_down,
            "reasons": reasons,
        });
        (ready, body)
    }
}

impl Handler for Admin {
    async fn handle(&self, request: Request<Incoming>, _conn: ConnInfo) -> Response<Body> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "only GET and HEAD\n".to_owned(),
            );
        }
        match request.uri().path() {
            "/healthz" => text(StatusCode::OK, "text/plain", "ok\n".to_owned()),
            "/readyz" => {
                let (ready, body) = self.readiness();
                let status = if ready {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                text(status, "application/json", format!("{body}\n"))
            }
            "/metrics" => {
                let mut body = self.metrics.render();
                render_ready(&mut body, self.readiness().0);
                text(
                    StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    body,
                )
            }
            _ => text(
                StatusCode::NOT_FOUND,
                "text/plain",
                "not found: the admin listener serves /healthz, /readyz and /metrics\n".to_owned(),
            ),
        }
    }
}

/// `freshgate_ready`: what `/readyz` would answer at the scrape, so a flapping readiness shows in
/// `changes(freshgate_ready[…])` and a replica out of its load balancer's rotation shows as 0.
fn render_ready(out: &mut String, ready: bool) {
    histogram::header(
        out,
        "freshgate_ready",
        "gauge",
        "1 when /readyz answers 200 (ready for traffic), 0 when it answers 503.",
    );
    out.push_str(if ready {
        "freshgate_ready 1\n"
    } else {
        "freshgate_ready 0\n"
    });
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
