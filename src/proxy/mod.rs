//! Passthrough: every request outside `/sso/` goes to the provider, streamed both ways, never buffered.
//!
//! The browser keeps talking to the provider's own pages (login form, account pages, its static files)
//! through the gateway's public origin; the gateway only rewrites what a well-behaved reverse proxy must:
//! hop-by-hop fields (RFC 9110 §7.6.1), forwarding fields, and its own cookies.
//!
//! Each request to the provider holds a place under two limits until its response body is done:
//! `limits.max_upstream_requests` (all connections; past it, a 503 page at once: the gateway sheds load) and
//! `limits.max_upstream_requests_per_connection` (so one HTTP/2 connection cannot open a provider connection
//! per stream). A request past the per-connection limit waits for a place, at most
//! `upstream.response_timeout`, then gets the 503 page: a browser loading many files at once over one
//! HTTP/2 connection is slowed, not broken, while a client that stalls its own requests gains nothing.
//!
//! Requests that pass both wait their turn for one of `limits.max_upstream_connections` connections to the
//! provider (first come, first served, at most `upstream.response_timeout`). Each pooled HTTP/1.1 connection
//! costs hyper about 40 KB (its read and write buffers and its request channel), and a provider on the same
//! machine serves no faster with a thousand connections than with a hundred: without this bound, 1000
//! clients made 1000 provider connections and most of the gateway's memory (`bench/passthrough`, README).

pub mod error;
pub mod headers;
pub mod pool;
pub mod websocket;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::uri::{Authority, PathAndQuery};
use http::{Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::body::Body;
use crate::config::Upstream;
use crate::forwarding::Forwarding;
use crate::http_client::{self, error_chain, origin_authority};
use crate::metrics::{Metrics, Overload};
use crate::request_id::RequestId;
use crate::server::ConnInfo;
pub use error::ProxyError;

/// The places under `limits.max_upstream_requests` and the turns on `limits.max_upstream_connections`.
/// Made once per process and shared by every snapshot's `Passthrough`: a reload builds a new one, and the
/// requests in flight on the old one must still count, or each reload would let as many again through.
/// (`limits` need a restart to change, so the sizes never do.)
#[derive(Clone)]
pub struct UpstreamLimits {
    in_flight: Arc<Semaphore>,
    connections: Arc<Semaphore>,
}

impl UpstreamLimits {
    pub fn new(limits: &crate::config::Limits) -> Self {
        UpstreamLimits {
            in_flight: Arc::new(Semaphore::new(limits.max_upstream_requests)),
            connections: Arc::new(Semaphore::new(limits.max_upstream_connections)),
        }
    }
}

pub struct Passthrough {
    pool: pool::Pool,
    authority: Authority,
    /// `authority` as a `Host` value, made once.
    authority_host: HeaderValue,
    preserve_host: bool,
    response_timeout: Duration,
    /// A WebSocket tunnel with no byte either way for this long is closed (`limits.idle_timeout`).
    tunnel_idle_timeout: Duration,
    forwarding: Forwarding,
    /// Places under `limits.max_upstream_requests`, and turns on the provider connections
    /// (`limits.max_upstream_connections`): the process's, not this snapshot's.
    limits: UpstreamLimits,
    metrics: Arc<Metrics>,
}

impl Passthrough {
    pub fn new(
        upstream: &Upstream,
        tunnel_idle_timeout: Duration,
        limits: UpstreamLimits,
        max_connections: usize,
        forwarding: Forwarding,
        tls: rustls::ClientConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let connector = http_client::connector(tls, upstream.connect_timeout);
        let scheme = if upstream.proxy_to.scheme() == "https" {
            "https"
        } else {
            "http"
        };
        let authority = origin_authority(&upstream.proxy_to);
        let origin = Uri::builder()
            .scheme(scheme)
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .unwrap_or_else(|_| Uri::from_static("http://localhost/"));
        // At most `limits.max_upstream_connections` idle: requests wait for that many turns, so no more
        // are ever in use at once.
        let pool = pool::Pool::new(connector, origin, max_connections);
        let authority_host = HeaderValue::from_str(authority.as_str())
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        Passthrough {
            pool,
            authority,
            authority_host,
            preserve_host: upstream.preserve_host,
            response_timeout: upstream.response_timeout,
            tunnel_idle_timeout,
            forwarding,
            limits,
            metrics,
        }
    }

    /// True when `peer` is a trusted proxy, whose forwarding fields are believed.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.forwarding.trusts(peer)
    }

    /// A place under both upstream request limits and a turn on a provider connection, or the limit that
    /// stayed full.
    async fn permits(&self, conn: &ConnInfo) -> Result<[OwnedSemaphorePermit; 3], Overload> {
        // A free place is taken at once, without the timer a wait needs (a waiter queued before us would
        // have been handed it already, so this keeps the order).
        let connection = match conn.upstream_permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let waiting = conn.upstream_permits.clone().acquire_owned();
                match tokio::time::timeout(self.response_timeout, waiting).await {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Overload::UpstreamRequestsPerConnection),
                }
            }
        };
        let global = self
            .limits
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| Overload::UpstreamRequests)?;
        // Fair (FIFO): the earliest waiter gets the next free connection; a free one is handed to a waiter
        // as it is given back, so taking one that is free at once jumps no queue.
        let turn = match self.limits.connections.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let turn = self.limits.connections.clone().acquire_owned();
                match tokio::time::timeout(self.response_timeout, turn).await {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Overload::UpstreamConnections),
                }
            }
        };
        Ok([global, connection, turn])
    }

    /// Sends the request to the provider and returns its response with the body still streaming. `host`
    /// is the request's checked host (`host.rs`): the only name forwarded in `Host` and `X-Forwarded-Host`.
    pub async fn forward(
        &self,
        mut request: Request<Incoming>,
        conn: &ConnInfo,
        host: Option<HeaderValue>,
        id: RequestId,
    ) -> Result<Response<Body>, ProxyError> {
        let permits = self.permits(conn).await.map_err(|limit| {
            self.metrics.overload(limit);
            ProxyError::Overloaded { limit }
        })?;
        let websocket_key = (request.version() == Version::HTTP_11)
            .then(|| websocket::opening_key(request.headers()))
            .flatten();
        let client_upgrade = websocket_key
            .is_some()
            .then(|| hyper::upgrade::on(&mut request));

        let (mut parts, body) = request.into_parts();
        headers::remove_hop_by_hop(&mut parts.headers);
        if websocket_key.is_some() {
            websocket::forward_opening(&mut parts.headers);
        }
        headers::strip_gateway_cookies(&mut parts.headers);
        self.forwarding
            .apply(&mut parts.headers, conn.peer.ip(), host.clone());
        // The request's id (a trusted proxy's, or ours in place of a client's), so the provider's log
        // lines can be matched with the gateway's.
        parts
            .headers
            .insert(&crate::request_id::X_REQUEST_ID, id.header_value());
        match (self.preserve_host, host) {
            (true, Some(host)) => {
                parts.headers.insert(header::HOST, host);
            }
            _ => {
                parts
                    .headers
                    .insert(header::HOST, self.authority_host.clone());
            }
        }
        // Origin form (RFC 9112 §3.2.1): the connection already goes to the provider.
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        parts.uri = Uri::from(path);
        parts.version = Version::HTTP_11;

        let started = Instant::now();
        let sending = self.pool.send(Request::from_parts(parts, body));
        let outcome = tokio::time::timeout(self.response_timeout, sending).await;
        let (mut response, lease) = match outcome {
            Err(_) => {
                return Err(ProxyError::Timeout {
                    target: self.authority.to_string(),
                    seconds: self.response_timeout.as_secs(),
                });
            }
            Ok(Err(e)) if e.is_connect() => {
                return Err(ProxyError::Unreachable {
                    target: self.authority.to_string(),
                    detail: error_chain(&e),
                });
            }
            Ok(Err(e)) => {
                return Err(ProxyError::Protocol {
                    detail: error_chain(&e),
                });
            }
            Ok(Ok(exchanged)) => exchanged,
        };
        self.metrics.upstream_latency(started.elapsed());

        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let (Some(client_upgrade), Some(key)) = (client_upgrade, websocket_key) else {
                return Err(ProxyError::Protocol {
                    detail:
                        "the provider switched protocols for a request that asked for no WebSocket"
                            .into(),
                });
            };
            if !websocket::accepts(response.headers(), &key) {
                return Err(ProxyError::Protocol {
                    detail: "the provider's 101 is no WebSocket handshake (Upgrade other than websocket, or a missing or wrong Sec-WebSocket-Accept)".into(),
                });
            }
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            // The upgraded connection leaves the pool, so it gives its turn back; the tunnel stays under
            // the request limits until it closes.
            lease.discard();
            let [global, connection, _turn] = permits;
            tokio::spawn(websocket::tunnel(
                client_upgrade,
                upstream_upgrade,
                self.tunnel_idle_timeout,
                id,
                [global, connection],
            ));
            let (parts, _) = response.into_parts();
            return Ok(Response::from_parts(parts, Body::empty()));
        }
        let (mut parts, body) = response.into_parts();
        headers::remove_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(
            parts,
            Body::Upstream(body, lease, permits),
        ))
    }
}
