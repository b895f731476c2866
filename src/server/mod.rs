//! Listeners: accept, TLS, HTTP/1.1 and HTTP/2 (hyper-util's auto builder), limits, graceful shutdown.
//!
//! Every connection holds a permit of a semaphore sized `limits.max_connections`; at the limit the gateway
//! stops accepting and the kernel's backlog absorbs the burst. One client address holds at most
//! `limits.max_connections_per_ip` of them ([`per_ip`]). Shutdown comes in two steps ([`drain`]): first
//! the gateway keeps accepting while every connection is asked to close after its current response; then
//! the accept loop ends, every connection is asked to finish its in-flight requests and close, and the
//! drain is bounded by `limits.shutdown_grace`: waiting for all permits to come back is waiting for all
//! connections to end.
//!
//! A connection's life is bounded by [`Connection::serve`]'s timers: a first request within
//! `limits.header_read_timeout` of the handshake, no more than `limits.idle_timeout` without a request in
//! flight ([`requests`]: bytes alone, such as HTTP/2 PINGs, do not count), no stalled transfer longer than
//! `limits.idle_timeout`, and an age of at most `limits.max_connection_age`.

pub mod drain;
mod handler;
pub mod idle;
pub mod open_files;
pub mod per_ip;
pub mod reclaim;
pub mod requests;
pub mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::{CONNECTION, HeaderValue};
use http::{Request, StatusCode, Version};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::config::Limits;
use crate::metrics::{Closed, Metrics, Overload};
pub use drain::Shutdown;
pub use handler::{ConnInfo, Handler};
use idle::{Activity, IdleIo};
use per_ip::PerIp;
use requests::{Requests, Tracked};

/// Refusals of one kind are logged at most this often; the rest are counted in the next line.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(1);

pub struct Listener<H> {
    pub name: &'static str,
    pub listener: TcpListener,
    pub tls: Option<TlsAcceptor>,
    pub limits: Limits,
    /// The per-client-address cap; `PerIp::new(0, ..)` for none.
    pub per_ip: Arc<PerIp>,
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
            per_ip,
            handler,
            metrics,
        } = self;
        let limits = Arc::new(limits);
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        let builder = Arc::new(builder(&limits));
        let mut last_refusal_log: Option<Instant> = None;
        let mut refusals_not_logged = 0u64;
        loop {
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                _ = shutdown.stopped() => break,
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
                _ = shutdown.stopped() => break,
            };
            let Some(slot) = per_ip.admit(peer.ip()) else {
                metrics.overload(Overload::ConnectionsPerIp);
                if last_refusal_log.is_none_or(|at| at.elapsed() >= REFUSAL_LOG_INTERVAL) {
                    warn!(
                        listener = name,
                        peer = %peer.ip(),
                        limit = per_ip.limit(),
                        reason = "max_connections_per_ip",
                        refused_meanwhile = refusals_not_logged,
                        "connection refused: this client address already holds limits.max_connections_per_ip connections"
                    );
                    last_refusal_log = Some(Instant::now());
                    refusals_not_logged = 0;
                } else {
                    refusals_not_logged += 1;
                }
                drop(stream);
                continue;
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
                drop(slot);
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
        .max_concurrent_streams(limits.max_concurrent_streams)
        // No server PINGs: the idle timeout (no request in flight) closes idle and dead connections alike,
        // and a stalled transfer is caught by the absence of bytes.
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
            // Boxed: a TLS session's state is several kilobytes, and every plain connection's task would
            // otherwise reserve room for it (README, Performance: memory per connection).
            Some(acceptor) => {
                match Box::pin(tokio::time::timeout(
                    self.limits.tls_handshake_timeout,
                    acceptor.accept(stream),
                ))
                .await
                {
                    Ok(Ok(stream)) => {
                        Box::pin(self.serve(
                            IdleIo::new(stream, activity.clone()),
                            activity,
                            true,
                            shutdown,
                        ))
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
            upstream_permits: Arc::new(Semaphore::new(
                self.limits.max_upstream_requests_per_connection,
            )),
        };
        let requests = Requests::new();
        let handler = self.handler.clone();
        let tracker = requests.clone();
        let leaving = shutdown.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let version = request.version();
            if version == Version::HTTP_2 {
                tracker.mark_http2();
            }
            let in_flight = tracker.start();
            let handler = handler.clone();
            let info = info.clone();
            let leaving = leaving.clone();
            async move {
                let mut response = handler.handle(request, info).await;
                // Shutting down: an HTTP/1.1 client opens its next request elsewhere (RFC 9112 §9.6); the
                // connection closes once this response is sent. (A 101 keeps its `Connection: upgrade`.)
                if leaving.is_closing()
                    && version <= Version::HTTP_11
                    && response.status() != StatusCode::SWITCHING_PROTOCOLS
                {
                    response
                        .headers_mut()
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, Infallible>(response.map(|body| Tracked::new(body, in_flight)))
            }
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(conn);
        let timers = Timers {
            limits: &self.limits,
            requests: &requests,
            activity: &activity,
        };
        // How far the gateway is on its way out, as this connection knows it; `leaving` once it is
        // shutting down at all (the first step, `limits.shutdown_delay`).
        let (mut phase, mut leaving) = (drain::Phase::Serving, false);
        // When the connection was asked to close (idle, too old, shutting down); `None` while it serves.
        let mut closing: Option<Instant> = None;
        // A connection closing for its age is dropped this long after, however busy.
        let mut drop_at: Option<Instant> = None;
        loop {
            // Shutting down, an HTTP/2 connection gets its GOAWAY once it has made a request: hyper's
            // graceful shutdown is h2's two-step GOAWAY, so streams the client sent before it saw it still
            // complete. (Before its first request a GOAWAY could end a connection that was just opened and
            // meant for us; an HTTP/1.1 connection is told with its next response instead.)
            if leaving && closing.is_none() && requests.http2() {
                closing = Some(Instant::now());
                conn.as_mut().graceful_shutdown();
            }
            // Read before the deadline is worked out, so a first request that arrives in between still
            // wakes the loop.
            let awaiting_first = requests.none_yet();
            let (deadline, _) = timers.next(closing, drop_at);
            // In this order, without drawing a random one on every wake-up: the connection first.
            tokio::select! {
                biased;
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        debug!(peer = %self.peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                // The first request moves the deadline from the header timeout to the request's own.
                _ = requests.first_arrived(), if awaiting_first => continue,
                now = shutdown.past(phase), if phase < drain::Phase::Stopping => {
                    phase = now;
                    leaving = true;
                    if phase == drain::Phase::Stopping && closing.is_none() {
                        closing = Some(Instant::now());
                        conn.as_mut().graceful_shutdown();
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    // Re-read the clocks: a request may have started or ended while we slept.
                    let (deadline, why) = timers.next(closing, drop_at);
                    if deadline > Instant::now() {
                        continue;
                    }
                    match why {
                        Deadline::Drop(reason) => {
                            debug!(peer = %self.peer, reason = reason.name(), "connection dropped");
                            self.metrics.connection_closed_by_us(reason);
                            break;
                        }
                        Deadline::Close(reason) => {
                            debug!(peer = %self.peer, reason = reason.name(), "connection asked to close");
                            self.metrics.connection_closed_by_us(reason);
                            let now = Instant::now();
                            closing = Some(now);
                            if reason == Closed::MaxAge {
                                drop_at = Some(now + self.limits.shutdown_grace);
                            }
                            // In-flight requests still finish: graceful shutdown only stops new ones.
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        }
    }
}

/// What happens when a connection's next deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    /// Ask it to close: GOAWAY for HTTP/2, no keep-alive for HTTP/1.1; requests in flight finish.
    Close(Closed),
    /// Drop it at once.
    Drop(Closed),
}

/// The clocks that decide when a connection has had its time.
struct Timers<'a> {
    limits: &'a Limits,
    requests: &'a Requests,
    activity: &'a Activity,
}

impl Timers<'_> {
    /// The earliest deadline that applies now, and what to do when it passes.
    fn next(&self, closing: Option<Instant>, drop_at: Option<Instant>) -> (Instant, Deadline) {
        let limits = self.limits;
        let started = self.requests.started();
        let busy = self.requests.in_flight() > 0;
        // A transfer in flight that moved no byte either way for a whole idle timeout is stalled (a client
        // that stopped reading, or sends its body a byte a minute).
        let stalled_at = self.activity.last().max(closing.unwrap_or(started)) + limits.idle_timeout;
        let mut next = match closing {
            // Asked to close and nothing in flight, yet still open (a client that ignores GOAWAY): drop it.
            Some(since) if !busy => (
                since + limits.idle_timeout.min(CLOSE_GRACE),
                Deadline::Drop(Closed::Idle),
            ),
            Some(_) => (stalled_at, Deadline::Drop(Closed::Stalled)),
            None if busy => (stalled_at, Deadline::Close(Closed::Stalled)),
            // RFC 9112 §9.3 lets a server close an idle connection at any time. The first request must come
            // within the header timeout, counted from the handshake, not from the first byte.
            None if self.requests.none_yet() => (
                started + limits.header_read_timeout,
                Deadline::Drop(Closed::HeaderTimeout),
            ),
            None => (
                self.requests.quiet_since() + limits.idle_timeout,
                Deadline::Close(Closed::Idle),
            ),
        };
        if closing.is_none() {
            let aged = started + limits.max_connection_age;
            if aged < next.0 {
                next = (aged, Deadline::Close(Closed::MaxAge));
            }
        }
        if let Some(at) = drop_at
            && at < next.0
        {
            next = (at, Deadline::Drop(Closed::MaxAge));
        }
        next
    }
}

/// How long a connection asked to close with nothing in flight may take to go (an HTTP/2 client answers the
/// GOAWAY's PING and closes within a round trip).
const CLOSE_GRACE: Duration = Duration::from_secs(5);
