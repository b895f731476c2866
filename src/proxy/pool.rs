//! The provider connections of passthrough: HTTP/1.1 connections to the one provider origin, kept open and
//! reused.
//!
//! Passthrough always talks to one origin and already waits for its turn on `limits.max_upstream_connections`
//! before it asks for a connection, so the pool is a stack of idle connections, newest on top: a burst
//! reuses what it opened, and the connections a quieter time no longer needs sink to the bottom and are
//! closed once idle for [`http_client::pool_idle_timeout`] (checked that often, so they go within twice that).
//! Each connection is a hyper client connection running as its own task, as hyper-util's pooled client
//! runs them; this replaces that client's pool for passthrough, which keyed every request's connection by
//! scheme and authority in a hash map (SipHash on every checkout and return), raced every checkout against
//! a new connection and boxed every request's future: together about a seventh of the gateway's
//! instructions per passed-through request (`bench/instructions`, README "Performance").
//!
//! A connection goes back to the pool when the response that used it has been read to its end and passed
//! on, and hyper is ready to send the next request on it (if it is not quite yet, a small task waits for
//! it, as hyper-util's did). A response the client stopped reading half-way leaves its connection
//! mid-response: that connection is closed, never reused. A request
//! that finds its pooled connection closed by the provider before any of it was written (a provider that
//! closes idle connections sooner than we do, as hyper finds out before it writes the request) is sent
//! again on another connection: nothing of it reached the provider, so this is safe for any method. (One
//! that hyper had already written when it saw the connection close fails with a 502, as with hyper-util's
//! client: the request body has gone and cannot be sent again.)
//!
//! A response longer than [`LONG_RESPONSE`] closes its connection instead of returning it: hyper grows a
//! connection's read buffer while a long response streams (up to [`MAX_READ_BUFFER`]) and never
//! shrinks it, so every pooled connection that once carried a large file would keep that memory for as
//! long as it stays open. Closing it gives the memory back when the response ends; the next request opens
//! a new connection, which costs little beside a response of that size.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use http::{Request, Response, Uri};
use http_body::Body as HttpBody;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use tower_service::Service;
use tracing::debug;

use crate::http_client::{self, Connector};

/// A response body longer than this closes its provider connection once done (see the module's doc).
pub const LONG_RESPONSE: u64 = 256 * 1024;

/// The most a response from the provider may have buffered per connection before it is passed on: hyper
/// reads in pieces that grow up to this while a large response streams (see [`LONG_RESPONSE`] for what
/// happens to that memory afterwards).
pub const MAX_READ_BUFFER: usize = 32 * 1024;

/// Why a request could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection to the provider could be made (refused, timed out, TLS failed).
    #[error("cannot connect to the provider")]
    Connect(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The connection was made, but the HTTP/1.1 exchange on it failed.
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

impl Error {
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Connect(_))
    }
}

/// What a request body must be to go out on a pooled connection (passthrough's is the client's
/// `Incoming`).
pub trait RequestBody:
    HttpBody<Data: Send, Error: Into<BoxError>> + Send + Unpin + 'static
{
}
impl<B: HttpBody<Data: Send, Error: Into<BoxError>> + Send + Unpin + 'static> RequestBody for B {}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct Pool<B = Incoming> {
    inner: Arc<Inner<B>>,
}

struct Inner<B> {
    connector: Connector,
    /// `scheme://authority/` of the provider: what the connector dials.
    origin: Uri,
    builder: http1::Builder,
    idle: Mutex<Vec<Idle<B>>>,
    max_idle: usize,
    /// Counts the reaper's rounds; an idle connection remembers the round it was put back in.
    round: AtomicU64,
    reaper_started: AtomicBool,
    idle_timeout: Duration,
}

struct Idle<B> {
    sender: SendRequest<B>,
    round: u64,
}

impl<B: RequestBody> Pool<B> {
    /// A pool of connections to `origin` (`scheme://authority`) that keeps at most `max_idle` idle.
    pub fn new(connector: Connector, origin: Uri, max_idle: usize) -> Self {
        let mut builder = http1::Builder::new();
        builder.max_buf_size(MAX_READ_BUFFER);
        Pool {
            inner: Arc::new(Inner {
                connector,
                origin,
                builder,
                idle: Mutex::new(Vec::new()),
                max_idle,
                round: AtomicU64::new(0),
                reaper_started: AtomicBool::new(false),
                idle_timeout: http_client::pool_idle_timeout(),
            }),
        }
    }

    /// Sends `request` (origin-form target, `Host` set) on an idle connection, or on a new one, and returns
    /// the response with the lease on its connection, which goes back to the pool when dropped.
    pub async fn send(
        &self,
        mut request: Request<B>,
    ) -> Result<(Response<Incoming>, Lease<B>), Error> {
        loop {
            let (mut sender, reused) = match self.inner.checkout() {
                Some(sender) => (sender, true),
                // Boxed: a connection being made (its TLS session, hyper's handshake) is kilobytes, and
                // every request's future would otherwise carry room for it, though few ever connect.
                None => (Box::pin(self.inner.connect()).await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let lease = Lease {
                        sender: Some(sender),
                        pool: self.inner.clone(),
                        length: 0,
                        complete: response.body().is_end_stream(),
                    };
                    return Ok((response, lease));
                }
                Err(mut failed) => match failed.take_message() {
                    // Not a byte of it was written, and the connection was an old one the provider may
                    // have closed meanwhile: try the next.
                    Some(unsent) if reused => {
                        debug!(error = %failed.error(), "pooled provider connection closed; sending on another");
                        request = unsent;
                    }
                    _ => return Err(Error::Http(failed.into_error())),
                },
            }
        }
    }

    /// Idle connections now (for tests).
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.inner.idle.lock().expect("not poisoned").len()
    }
}

impl<B: RequestBody> Inner<B> {
    /// The newest idle connection that is still open.
    fn checkout(&self) -> Option<SendRequest<B>> {
        let mut idle = self.idle.lock().expect("the pool's lock is never poisoned");
        while let Some(entry) = idle.pop() {
            if entry.sender.is_ready() {
                return Some(entry.sender);
            }
            // Closed by the provider, or by hyper after an error: dropped.
        }
        None
    }

    async fn connect(&self) -> Result<SendRequest<B>, Error> {
        let io = self
            .connector
            .clone()
            .call(self.origin.clone())
            .await
            .map_err(Error::Connect)?;
        let (mut sender, connection) = self.builder.handshake(io).await?;
        tokio::spawn(async move {
            // Upgrades: a WebSocket opening's 101 hands the connection over to the tunnel.
            if let Err(error) = connection.with_upgrades().await {
                debug!(error = %error, "provider connection ended with an error");
            }
        });
        sender.ready().await?;
        Ok(sender)
    }

    fn put(self: &Arc<Self>, sender: SendRequest<B>) {
        if sender.is_ready() {
            self.push(sender);
        } else if !sender.is_closed() {
            // hyper has not yet read the end of the response (or is closing the connection): wait.
            let pool = self.clone();
            let mut sender = sender;
            tokio::spawn(async move {
                if sender.ready().await.is_ok() {
                    pool.push(sender);
                }
            });
        }
    }

    fn push(self: &Arc<Self>, sender: SendRequest<B>) {
        if !self.reaper_started.swap(true, Ordering::Relaxed) {
            tokio::spawn(reap(Arc::downgrade(self), self.idle_timeout));
        }
        let round = self.round.load(Ordering::Relaxed);
        let mut idle = self.idle.lock().expect("the pool's lock is never poisoned");
        if idle.len() < self.max_idle {
            idle.push(Idle { sender, round });
        }
    }

    /// One round of the reaper: closes the connections idle since before the previous round, and those
    /// the provider closed.
    fn reap(&self) {
        let round = self.round.fetch_add(1, Ordering::Relaxed) + 1;
        let mut idle = self.idle.lock().expect("the pool's lock is never poisoned");
        idle.retain(|entry| entry.round + 1 >= round && !entry.sender.is_closed());
    }
}

/// Closes idle connections every `every`, for as long as the pool exists.
async fn reap<B: RequestBody>(pool: Weak<Inner<B>>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(pool) = pool.upgrade() else { return };
        pool.reap();
    }
}

/// A connection in use by one response; back to the pool when dropped, if the response was read to its
/// end.
pub struct Lease<B: RequestBody = Incoming> {
    sender: Option<SendRequest<B>>,
    pool: Arc<Inner<B>>,
    /// Response body bytes passed so far.
    length: u64,
    /// The response body was read to its end.
    complete: bool,
}

impl<B: RequestBody> Lease<B> {
    /// Counts body bytes that went through.
    pub fn passed(&mut self, bytes: usize) {
        self.length += bytes as u64;
    }

    /// The response body has been read to its end.
    pub fn complete(&mut self) {
        self.complete = true;
    }

    /// The connection is not to be reused (it was upgraded to a tunnel).
    pub fn discard(mut self) {
        self.sender = None;
    }
}

impl<B: RequestBody> Drop for Lease<B> {
    fn drop(&mut self) {
        let Some(sender) = self.sender.take() else {
            return;
        };
        // Half-read, the connection is mid-response; after a long response, its read buffer has grown:
        // either way it is closed (by dropping its sender) instead of kept.
        if self.complete && self.length <= LONG_RESPONSE {
            self.pool.put(sender);
        }
    }
}

#[cfg(test)]
mod tests;
