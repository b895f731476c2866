//! Which requests a connection has in flight, so idleness can mean "no open request" rather than "no byte".
//!
//! An HTTP/2 client that sends only PINGs (or SETTINGS, or WINDOW_UPDATEs) moves bytes forever without
//! asking for anything; counting those bytes as activity let such clients hold every connection slot. A
//! request is in flight from the moment hyper hands it to the service until its response body has been sent
//! or dropped (a client reset included), tracked by a guard that travels inside the response body.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::Instant;

pub struct Requests {
    base: Instant,
    in_flight: AtomicUsize,
    seen: AtomicU64,
    /// Milliseconds after `base` at which the in-flight count last fell to zero (0: never had a request).
    last_done_ms: AtomicU64,
    first: Notify,
    /// The connection speaks HTTP/2 (seen on its first request).
    http2: AtomicBool,
}

impl Requests {
    pub fn new() -> Arc<Self> {
        Arc::new(Requests {
            base: Instant::now(),
            in_flight: AtomicUsize::new(0),
            seen: AtomicU64::new(0),
            last_done_ms: AtomicU64::new(0),
            first: Notify::new(),
            http2: AtomicBool::new(false),
        })
    }

    /// Counts a request in; the guard counts it out when dropped.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if self.seen.fetch_add(1, Ordering::Relaxed) == 0 {
            self.first.notify_one();
        }
        InFlight(self.clone())
    }

    /// Resolves when the first request arrives, or at once if it arrived since the last call. Only for a
    /// caller that saw [`Requests::none_yet`] true: afterwards it would wait forever.
    pub async fn first_arrived(&self) {
        self.first.notified().await;
    }

    /// Marks the connection as HTTP/2; call before [`Requests::start`] so whoever wakes on the first
    /// request sees it.
    pub fn mark_http2(&self) {
        self.http2.store(true, Ordering::Relaxed);
    }

    pub fn http2(&self) -> bool {
        self.http2.load(Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// True until the first request has arrived.
    pub fn none_yet(&self) -> bool {
        self.seen.load(Ordering::Relaxed) == 0
    }

    /// When the connection last had no request in flight: the end of its last request, or its start.
    pub fn quiet_since(&self) -> Instant {
        self.base + Duration::from_millis(self.last_done_ms.load(Ordering::Relaxed))
    }

    pub fn started(&self) -> Instant {
        self.base
    }
}

/// Held while one request is in flight.
pub struct InFlight(Arc<Requests>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let requests = &self.0;
        if requests.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            let ms = requests.base.elapsed().as_millis() as u64;
            requests
                .last_done_ms
                .fetch_max(ms.max(1), Ordering::Relaxed);
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request counted as in flight until it is done with.
    pub struct Tracked<B> {
        #[pin]
        body: B,
        _in_flight: InFlight,
    }
}

impl<B> Tracked<B> {
    pub fn new(body: B, in_flight: InFlight) -> Self {
        Tracked {
            body,
            _in_flight: in_flight,
        }
    }
}

impl<B: HttpBody> HttpBody for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_quiet_only_once_its_last_request_is_done() {
        let requests = Requests::new();
        assert!(requests.none_yet());
        assert_eq!(requests.quiet_since(), requests.started());
        tokio::time::advance(Duration::from_secs(2)).await;
        let first = requests.start();
        let second = requests.start();
        assert!(!requests.none_yet());
        assert_eq!(requests.in_flight(), 2);
        tokio::time::advance(Duration::from_secs(3)).await;
        drop(first);
        assert_eq!(requests.quiet_since(), requests.started(), "one still open");
        tokio::time::advance(Duration::from_secs(4)).await;
        drop(second);
        assert_eq!(requests.in_flight(), 0);
        assert_eq!(
            requests.quiet_since(),
            requests.started() + Duration::from_secs(9)
        );
    }
}
