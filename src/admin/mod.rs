//! The admin listener: `/healthz`, `/readyz`, `/metrics`. Bind it to loopback or a cluster-internal address;
//! it exposes no secrets but tells a reader about the deployment.

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::body::Body;
use crate::metrics::{self, Metrics};
use crate::security_headers::{self, Answer};
use crate::server::{ConnInfo, Handler};

/// Whether the gateway is ready for traffic, and the JSON body of `/readyz` that says why (or why not).
/// Wired in `crate::serve` to the running snapshot (`crate::reload`) and the shutdown, so this listener
/// depends on neither.
pub type Readiness = Box<dyn Fn() -> (bool, serde_json::Value) + Send + Sync>;

pub struct Admin {
    pub metrics: Arc<Metrics>,
    pub readiness: Readiness,
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
                let (ready, body) = (self.readiness)();
                let status = if ready {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                text(status, "application/json", format!("{body}\n"))
            }
            "/metrics" => {
                let mut body = self.metrics.render();
                metrics::render_ready(&mut body, (self.readiness)().0);
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

pub(crate) fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    security_headers::response(status, content_type, body, Answer::Plain)
}
