//! The gateway's request handler: give the request an id, refuse what no route may see, pick the route,
//! answer, count, log.

use std::sync::Arc;
use std::time::Instant;

use http::header::HeaderValue;
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use tracing::{Instrument, info, warn};

use arc_swap::ArcSwap;

use crate::body::Body;
use crate::forwarding::claimed_hosts;
use crate::metrics::{Metrics, Refusal};
use crate::pages::Page;
use crate::reload::Snapshot;
use crate::request_id::{self, RequestId, RequestIds, X_REQUEST_ID};
use crate::route::{Refused, Route};
use crate::server::{ConnInfo, Handler};

pub struct App {
    /// The running configuration and what was built from it; a reload swaps it, and each request keeps
    /// the one it started with.
    pub current: Arc<ArcSwap<Snapshot>>,
    pub ids: RequestIds,
    pub metrics: Arc<Metrics>,
}

impl Handler for App {
    async fn handle(&self, request: Request<Incoming>, conn: ConnInfo) -> Response<Body> {
        let snapshot = self.current.load_full();
        let peer = conn.peer.ip();
        let (id, origin) = self
            .ids
            .for_request(request.headers(), || snapshot.forwarding.trusts(peer));
        if origin == request_id::Origin::Replaced {
            replaced_id_warning(id, peer);
        }
        // Only the path: query strings carry codes and states (and, on the provider's pages, session codes).
        // Nothing of this is taken, not even the clock, when the access log is off.
        let logged = snapshot.access_log.then(|| {
            (
                request.method().clone(),
                request.uri().path().to_owned(),
                Instant::now(),
            )
        });

        let (route, mut response) = match admit(&snapshot, &request, &conn) {
            Err(refusal) => {
                self.metrics.refused(refusal);
                warn!(request_id = %id, peer = %peer, reason = refusal.name(), "request refused before routing");
                (Route::Refused, refusal_page(refusal, request.headers(), id))
            }
            Ok((Route::Passthrough, host)) => (
                Route::Passthrough,
                self.passthrough(&snapshot, request, conn, host, id).await,
            ),
            Ok((Route::SsoUnknown, _)) => (Route::SsoUnknown, not_found(request.headers(), id)),
            Ok((route, _)) => (
                route,
                match &snapshot.sso {
                    // Boxed: hyper keeps room for this future in every connection for the connection's
                    // life, and the sign-in paths' state is many times the passthrough's (README, Performance).
                    // The span puts the request id on every line logged on the way (the provider, the
                    // directory, the store); passthrough, the hot path, names it in its few lines instead.
                    Some(sso) => {
                        let span = tracing::info_span!("request", request_id = %id);
                        Box::pin(sso.handle(route, request, conn, id).instrument(span)).await
                    }
                    None => sso_not_configured(request.headers(), id),
                },
            ),
        };

        response
            .headers_mut()
            .insert(&X_REQUEST_ID, id.header_value());
        let status = response.status();
        self.metrics.request(route, status.as_u16());
        if let Some((method, path, started)) = logged {
            info!(
                request_id = %id,
                peer = %peer,
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

/// Says once per process that a trusted proxy's `X-Request-ID` was unusable (its value is not logged: it
/// is what made it unusable); later ones only at debug level.
fn replaced_id_warning(id: RequestId, peer: std::net::IpAddr) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        warn!(
            request_id = %id,
            peer = %peer,
            "a trusted proxy sent an X-Request-ID that is not 1 to {} characters of A-Z a-z 0-9 - _ . : + / = @; the gateway uses its own ids for such requests (said once; later ones at debug level)",
            request_id::MAX_LEN
        );
    } else {
        tracing::debug!(request_id = %id, peer = %peer, "unusable X-Request-ID from a trusted proxy replaced");
    }
}

/// The route, and the checked host to forward, for a request whose target, `Host` and (from a trusted
/// proxy) forwarded host are all acceptable.
fn admit(
    snapshot: &Snapshot,
    request: &Request<Incoming>,
    conn: &ConnInfo,
) -> Result<(Route, Option<HeaderValue>), Refusal> {
    let route =
        Route::classify(request.method(), request.uri().path()).map_err(
            |refused| match refused {
                Refused::Connect => Refusal::ConnectMethod,
                Refused::NotAPath => Refusal::BadRequestTarget,
                Refused::NonCanonicalSso => Refusal::NonCanonicalPath,
            },
        )?;
    let host = snapshot.hosts.check(request)?;
    // A trusted proxy's word on the original host is passed on, so it is held to the same names.
    if snapshot.forwarding.trusts(conn.peer.ip())
        && !claimed_hosts(request.headers()).all(|name| snapshot.hosts.accepts_name(name))
    {
        return Err(Refusal::MisdirectedRequest);
    }
    // The declared length (`Content-Length`, as hyper read and checked it) is known before any of the body
    // arrives: waiting for a body the route would refuse lets a client hold the request open at will.
    if let Some(limit) = route.max_body_bytes()
        && http_body::Body::size_hint(request.body()).lower() > limit
    {
        return Err(Refusal::BodyTooLarge);
    }
    Ok((route, host))
}

impl App {
    async fn passthrough(
        &self,
        snapshot: &Snapshot,
        request: Request<Incoming>,
        conn: ConnInfo,
        host: Option<HeaderValue>,
        id: RequestId,
    ) -> Response<Body> {
        let Some(proxy) = &snapshot.proxy else {
            return not_found(request.headers(), id);
        };
        // Only what an error page needs; a refcount bump, not a copy of the headers.
        let accept = request.headers().get(http::header::ACCEPT).cloned();
        match proxy.forward(request, &conn, host, id).await {
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
                let mut response = error.page().render(&headers, id);
                if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                    response
                        .headers_mut()
                        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                }
                response
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

/// The page for a request refused before routing. None of these comes from a browser following a link,
/// so the pages are short; the log line with the same request id says more.
fn refusal_page(refusal: Refusal, headers: &HeaderMap, id: RequestId) -> Response<Body> {
    let page = match refusal {
        // RFC 9110 §15.5.20: the request names a host this gateway is not configured to answer for.
        Refusal::MisdirectedRequest => Page::new(
            StatusCode::MISDIRECTED_REQUEST,
            refusal.name(),
            "This address is not served here",
            "The sign-in gateway answers only for the address it is configured with.",
        )
        .advice("Open your Freshworks portal and log in from there. If this address should work, ask your IT team to add it under allowed_hosts."),
        Refusal::ConflictingHost | Refusal::BadHost => Page::new(
            StatusCode::BAD_REQUEST,
            refusal.name(),
            "The request's host is not clear",
            "The request named its host in two different ways, or named it more than once.",
        )
        .advice("Open your Freshworks portal and log in from there; if a proxy sits in front of the gateway, ask your IT team to check that it forwards one Host."),
        Refusal::ConnectMethod => Page::new(
            StatusCode::METHOD_NOT_ALLOWED,
            refusal.name(),
            "Not a proxy for other sites",
            "The sign-in gateway does not open tunnels (CONNECT) to other addresses.",
        )
        .advice("Use the gateway's address directly, without a proxy setting that points at it."),
        Refusal::BadRequestTarget => Page::new(
            StatusCode::BAD_REQUEST,
            refusal.name(),
            "No such page",
            "The request does not name a page.",
        )
        .advice("Start from your Freshworks portal's login page."),
        Refusal::NonCanonicalPath => Page::new(
            StatusCode::BAD_REQUEST,
            refusal.name(),
            "This address is written in an unusual way",
            "It spells one of the sign-in gateway's own addresses differently (case, encoding, extra slashes or dots), so it is not served.",
        )
        .advice("Start from your Freshworks portal's login page, or type the address exactly as it was given to you."),
        Refusal::BodyTooLarge => Page::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            refusal.name(),
            "This request is too large",
            "It carries more data than any of the sign-in gateway's pages takes.",
        )
        .advice("Start from your Freshworks portal's login page."),
    };
    let mut response = page.render(headers, id);
    if refusal == Refusal::BodyTooLarge {
        // The body is not read: the connection cannot carry another request after it (RFC 9112 §9.6).
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if refusal == Refusal::ConnectMethod {
        response.headers_mut().insert(
            http::header::ALLOW,
            HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
    }
    response
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
