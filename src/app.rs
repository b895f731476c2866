//! The gateway's request handler: give the request an id, pick the route, answer, count, log.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use tracing::{info, warn};

use crate::admin::metrics::Metrics;
use crate::body::Body;
use crate::freshworks::Sso;
use crate::host::Hosts;
use crate::pages::Page;
use crate::proxy::Passthrough;
use crate::request_id::{RequestId, RequestIds};
use crate::route::Route;
use crate::server::{ConnInfo, Handler};

pub struct App {
    /// The names this gateway answers for (`public_url`, `allowed_hosts`).
    pub hosts: Hosts,
    pub ids: RequestIds,
    pub metrics: Arc<Metrics>,
    pub proxy: Passthrough,
    pub sso: Option<Sso>,
    pub access_log: bool,
}

impl Handler for App {
    async fn handle(&self, request: Request<Incoming>, conn: ConnInfo) -> Response<Body> {
        let id = self.ids.next();
        let route = Route::of(request.uri().path());
        let started = Instant::now();
        // Only the path: query strings carry codes and states (and, on the provider's pages, session codes).
        let logged = self
            .access_log
            .then(|| (request.method().clone(), request.uri().path().to_owned()));

        let response = match route {
            _ if !self.hosts.accepts(&request) => {
                warn!(request_id = %id, peer = %conn.peer.ip(), reason = "misdirected_request", "request for a host this gateway does not serve");
                misdirected(request.headers(), id)
            }
            Route::Passthrough => self.passthrough(request, conn, id).await,
            Route::SsoUnknown => not_found(request.headers(), id),
            _ => match &self.sso {
                Some(sso) => sso.handle(route, request, conn, id).await,
                None => sso_not_configured(request.headers(), id),
            },
        };

        let status = response.status();
        self.metrics.request(route, status.as_u16());
        if let Some((method, path)) = logged {
            info!(
                request_id = %id,
                peer = %conn.peer.ip(),
                method = %method,
                route = route.name(),
                path = %path,
                status = status.as_u16(),
                elapsed_ms = (started.elapsed().as_secs_f64() * 1e4).round() / 10.0,
                "request"
            );
        }
        response
    }
}

impl App {
    async fn passthrough(
        &self,
        request: Request<Incoming>,
        conn: ConnInfo,
        id: RequestId,
    ) -> Response<Body> {
        // Only what an error page needs; a refcount bump, not a copy of the headers.
        let accept = request.headers().get(http::header::ACCEPT).cloned();
        match self.proxy.forward(request, conn.peer, id).await {
            Ok(response) => response,
            Err(error) => {
                if let Some(kind) = error.upstream_kind() {
                    self.metrics.upstream_error(kind);
                }
                warn!(request_id = %id, error = %error, "passthrough failed");
                let mut headers = HeaderMap::new();
                if let Some(accept) = accept {
                    headers.insert(http::header::ACCEPT, accept);
                }
                error.page().render(&headers, id)
            }
        }
    }
}

fn not_found(headers: &HeaderMap, id: RequestId) -> Response<Body> {
    Page::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "Page not found",
        "This address is not one of the sign-in gateway's pages.",
    )
    .advice("Start from your Freshworks portal's login page.")
    .render(headers, id)
}

/// RFC 9110 §15.5.20: the request names a host this gateway is not configured to answer for.
fn misdirected(headers: &HeaderMap, id: RequestId) -> Response<Body> {
    Page::new(
        StatusCode::MISDIRECTED_REQUEST,
        "misdirected_request",
        "This address is not served here",
        "The sign-in gateway answers only for the address it is configured with.",
    )
    .advice("Open your Freshworks portal and log in from there. If this address should work, ask your IT team to add it under allowed_hosts.")
    .render(headers, id)
}

fn sso_not_configured(headers: &HeaderMap, id: RequestId) -> Response<Body> {
    Page::new(
        StatusCode::NOT_FOUND,
        "sso_not_configured",
        "Sign-in is not set up here",
        "This gateway's configuration has neither a `freshworks` nor a `webchat` section, so it serves no sign-in.",
    )
    .advice("Ask your IT team to configure Freshworks JWT SSO on the gateway.")
    .render(headers, id)
}
