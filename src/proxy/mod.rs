//! Passthrough: every request outside `/sso/` goes to the provider, streamed both ways, never buffered.
//!
//! The browser keeps talking to the provider's own pages (login form, account pages, its static files)
//! through the gateway's public origin; the gateway only rewrites what a well-behaved reverse proxy must:
//! hop-by-hop fields (RFC 9110 §7.6.1), forwarding fields, and its own cookies.

pub mod client;
pub mod error;
pub mod headers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tracing::debug;

use crate::admin::metrics::Metrics;
use crate::body::Body;
use crate::config::Upstream;
use crate::request_id::RequestId;
use crate::server::idle::{Activity, IdleIo};
pub use error::ProxyError;
use headers::Forwarding;

pub struct Passthrough {
    client: Client<client::Connector, Incoming>,
    scheme: Scheme,
    authority: Authority,
    preserve_host: bool,
    response_timeout: Duration,
    /// A WebSocket tunnel with no byte either way for this long is closed (`limits.idle_timeout`).
    tunnel_idle_timeout: Duration,
    forwarding: Forwarding,
    metrics: Arc<Metrics>,
}

impl Passthrough {
    pub fn new(
        upstream: &Upstream,
        tunnel_idle_timeout: Duration,
        forwarding: Forwarding,
        tls: rustls::ClientConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let connector = client::connector(tls, upstream.connect_timeout);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(client::pool_idle_timeout())
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(connector);
        let scheme = if upstream.proxy_to.scheme() == "https" {
            Scheme::HTTPS
        } else {
            Scheme::HTTP
        };
        let authority = origin_authority(&upstream.proxy_to);
        Passthrough {
            client,
            scheme,
            authority,
            preserve_host: upstream.preserve_host,
            response_timeout: upstream.response_timeout,
            tunnel_idle_timeout,
            forwarding,
            metrics,
        }
    }

    /// Sends the request to the provider and returns its response with the body still streaming.
    pub async fn forward(
        &self,
        mut request: Request<Incoming>,
        peer: SocketAddr,
        id: RequestId,
    ) -> Result<Response<Body>, ProxyError> {
        let upgrade =
            request.version() == Version::HTTP_11 && headers::is_upgrade_request(request.headers());
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));

        let (mut parts, body) = request.into_parts();
        let host = parts.headers.get(header::HOST).cloned().or_else(|| {
            parts
                .uri
                .authority()
                .and_then(|authority| HeaderValue::from_str(authority.as_str()).ok())
        });
        headers::remove_hop_by_hop(&mut parts.headers, upgrade);
        headers::strip_gateway_cookies(&mut parts.headers);
        self.forwarding
            .apply(&mut parts.headers, peer.ip(), host.clone());
        match (self.preserve_host, host) {
            (true, Some(host)) => {
                parts.headers.insert(header::HOST, host);
            }
            _ => {
                let value = HeaderValue::from_str(self.authority.as_str()).map_err(|e| {
                    ProxyError::BadRequest {
                        detail: e.to_string(),
                    }
                })?;
                parts.headers.insert(header::HOST, value);
            }
        }
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        parts.uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|e| ProxyError::BadRequest {
                detail: e.to_string(),
            })?;
        parts.version = Version::HTTP_11;

        let started = Instant::now();
        let outcome = tokio::time::timeout(
            self.response_timeout,
            self.client.request(Request::from_parts(parts, body)),
        )
        .await;
        let mut response = match outcome {
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
            Ok(Ok(response)) => response,
        };
        self.metrics.upstream_latency(started.elapsed());

        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_upgrade) = client_upgrade {
                let upstream_upgrade = hyper::upgrade::on(&mut response);
                tokio::spawn(tunnel(
                    client_upgrade,
                    upstream_upgrade,
                    self.tunnel_idle_timeout,
                    id,
                ));
            }
            let (parts, _) = response.into_parts();
            return Ok(Response::from_parts(parts, Body::empty()));
        }
        let (mut parts, body) = response.into_parts();
        headers::remove_hop_by_hop(&mut parts.headers, false);
        Ok(Response::from_parts(parts, Body::Upstream(body)))
    }
}

/// Copies bytes both ways between the client's and the provider's upgraded connections until either closes,
/// or until no byte has moved either way for `idle_timeout` (an upgraded connection has left hyper's
/// timers, so the tunnel keeps its own).
async fn tunnel(
    client: hyper::upgrade::OnUpgrade,
    upstream: hyper::upgrade::OnUpgrade,
    idle_timeout: Duration,
    id: RequestId,
) {
    let (client, upstream) = match tokio::join!(client, upstream) {
        (Ok(client), Ok(upstream)) => (client, upstream),
        (Err(e), _) | (_, Err(e)) => {
            debug!(request_id = %id, error = %e, "upgrade did not complete");
            return;
        }
    };
    let activity = Activity::new();
    let mut client = IdleIo::new(TokioIo::new(client), activity.clone());
    let mut upstream = TokioIo::new(upstream);
    let copy = tokio::io::copy_bidirectional(&mut client, &mut upstream);
    tokio::pin!(copy);
    loop {
        tokio::select! {
            result = copy.as_mut() => {
                match result {
                    Ok((sent, received)) => {
                        debug!(request_id = %id, sent, received, "upgraded connection closed")
                    }
                    Err(e) => {
                        debug!(request_id = %id, error = %e, "upgraded connection ended with an error")
                    }
                }
                return;
            }
            _ = tokio::time::sleep_until(activity.last() + idle_timeout) => {
                if activity.last() + idle_timeout <= tokio::time::Instant::now() {
                    debug!(request_id = %id, "upgraded connection idle; closed");
                    return;
                }
            }
        }
    }
}

/// `host[:port]` of a URL as an authority; the port is explicit only when the URL had one. (`host_str`
/// already brackets IPv6 literals.)
pub fn origin_authority(url: &url::Url) -> Authority {
    let host = url.host_str().unwrap_or("localhost");
    let text = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    text.parse()
        .unwrap_or_else(|_| Authority::from_static("localhost"))
}

/// The error and its sources on one line, for the log (never for a page).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
