//! The one response body type the gateway returns.
//!
//! Passthrough responses stream the upstream's body as it arrives; pages the gateway writes itself are small
//! and complete. An enum instead of a boxed trait object keeps the hot path free of a per-response allocation.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::sync::OwnedSemaphorePermit;

use crate::proxy::pool::Lease;

pub enum Body {
    /// Streamed from the upstream, frame by frame, holding its provider connection and its places under
    /// the upstream request limits until the last frame is sent or the body is dropped. (Fields drop in
    /// order: the connection is back in the pool before its turn is given to the next request.)
    Upstream(Incoming, Lease, [OwnedSemaphorePermit; 3]),
    /// Written by the gateway.
    Full(Full<Bytes>),
}

impl Body {
    pub fn empty() -> Self {
        Body::Full(Full::new(Bytes::new()))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::Full(Full::new(Bytes::from(text)))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::Full(Full::new(Bytes::from_static(text.as_bytes())))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::Full(Full::new(Bytes::from(bytes)))
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Upstream(body, lease, _) => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                match &polled {
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Some(data) = frame.data_ref() {
                            lease.passed(data.len());
                        }
                        // hyper stops polling once the body says it is at its end.
                        if body.is_end_stream() {
                            lease.complete();
                        }
                    }
                    Poll::Ready(None) => lease.complete(),
                    _ => {}
                }
                polled
            }
            Body::Full(body) => Pin::new(body)
                .poll_frame(cx)
                .map_err(|never| match never {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Upstream(body, _, _) => body.is_end_stream(),
            Body::Full(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Upstream(body, _, _) => body.size_hint(),
            Body::Full(body) => body.size_hint(),
        }
    }
}
