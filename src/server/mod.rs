//! Listeners: accept, TLS, HTTP/1.1 and HTTP/2 (hyper-util's auto builder), limits, graceful shutdown.
//!
//! Every connection holds a permit of a semaphore sized `limits.max_connections`; at the limit the gateway
//! stops accepting and the kernel's backlog absorbs the burst. On shutdown the accept loop ends, every
//! connection is asked to finish its in-flight requests and close, and the drain is bounded by
//! `limits.shutdown_grace`: waiting for all permits to come back is waiting for all connections to end.

pub mod idle;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::admin::metrics::Metrics;
use crate::body::Body;
use crate::config::Limits;
use idle::{Activity, IdleIo};

/// What a handler knows about the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
}

/// Answers requests. Errors are the handler's business: it always returns a response.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        request: Request<Incoming>,
        conn: ConnInfo,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// Shutdown is a watch channel that flips to `true` once.
pub type Shutdown = watch::Receiver<bool>;

/// Resolves once shutdown has been asked for (at once if it already was).
pub async fn stopped(shutdown: &mut Shutdown) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

pub struct Listener<H> {
    pub name: &'static str,
    pub listener: TcpListener,
    pub tls: Option<TlsAcceptor>,
    pub limits: Limits,
    pub handler: Arc<H>,
    pub metrics: Arc<Metrics>,
}

impl<H: Handler> Listener<H> {
    /// Accepts until `shutdown`, then drains. Returns when every connection has ended or the grace is over.
    pub async fn run(self, mut shutdown: Shutdown) {
        let Listener {
            name,
            listener,
            tls,
            limits,
            handler,
            metrics,
        } = self;
        let limits = Arc::new(limits);
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        let builder = Arc::new(builder(&limits));
        loop {
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                _ = stopped(&mut shutdown) => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        warn!(listener = name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stopped(&mut shutdown) => break,
            };
            let connection = Connection {
                peer,
                tls: tls.clone(),
                builder: builder.clone(),
                handler: handler.clone(),
                limits: limits.clone(),
                metrics: metrics.clone(),
            };
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                connection.run(stream, shutdown).await;
                drop(permit);
            });
        }
        drop(listener);
        let open = limits.max_connections - permits.available_permits();
        if open > 0 {
            info!(listener = name, open, grace = ?limits.shutdown_grace, "draining connections");
        }
        let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all))
            .await
            .is_err()
        {
            warn!(
                listener = name,
                open = limits.max_connections - permits.available_permits(),
                "shutdown grace over; closing the remaining connections"
            );
        }
    }
}

fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256)
        // No server PINGs: each one (and its ACK) would count as activity and keep an idle HTTP/2
        // connection, and its slot under `limits.max_connections`, forever. The idle timeout closes
        // idle and dead connections alike.
        .keep_alive_interval(None);
    builder
}

struct Connection<H> {
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    handler: Arc<H>,
    limits: Arc<Limits>,
    metrics: Arc<Metrics>,
}

impl<H: Handler> Connection<H> {
    async fn run(self, stream: TcpStream, shutdown: Shutdown) {
        self.metrics.connection_opened();
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        match self.tls.clone() {
            None => {
                self.serve(
                    IdleIo::new(stream, activity.clone()),
                    activity,
                    false,
                    shutdown,
                )
                .await
            }
            Some(acceptor) => {
                match tokio::time::timeout(
                    self.limits.tls_handshake_timeout,
                    acceptor.accept(stream),
                )
                .await
                {
                    Ok(Ok(stream)) => {
                        self.serve(
                            IdleIo::new(stream, activity.clone()),
                            activity,
                            true,
                            shutdown,
                        )
                        .await
                    }
                    Ok(Err(e)) => debug!(peer = %self.peer, error = %e, "TLS handshake failed"),
                    Err(_) => debug!(peer = %self.peer, "TLS handshake timed out"),
                }
            }
        }
        self.metrics.connection_closed();
    }

    async fn serve<I>(&self, io: I, activity: Arc<Activity>, tls: bool, mut shutdown: Shutdown)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let info = ConnInfo {
            peer: self.peer,
            tls,
        };
        let handler = self.handler.clone();
        let service = service_fn(move |request| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(handler.handle(request, info).await) }
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(conn);
        let idle_timeout = self.limits.idle_timeout;
        let mut closing = false;
        // Idleness counts from the last byte, or from the start of closing, whichever is later.
        let mut quiet_since = tokio::time::Instant::now();
        loop {
            let idle_deadline = activity.last().max(quiet_since) + idle_timeout;
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        debug!(peer = %self.peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = shutdown.wait_for(|stop| *stop), if !closing => {
                    closing = true;
                    quiet_since = tokio::time::Instant::now();
                    conn.as_mut().graceful_shutdown();
                }
                _ = tokio::time::sleep_until(idle_deadline) => {
                    let now = tokio::time::Instant::now();
                    if activity.last().max(quiet_since) + idle_timeout > now {
                        continue;
                    }
                    if closing {
                        // Already closing and still no byte moved for a whole idle timeout (a client
                        // that stopped reading a response): drop the connection.
                        debug!(peer = %self.peer, "connection still idle while closing; dropped");
                        break;
                    }
                    // In-flight requests still finish: graceful shutdown only stops new ones.
                    closing = true;
                    quiet_since = now;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
