//! What the listeners hand a request to: a [`Handler`], with what is known of the connection
//! ([`ConnInfo`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::sync::Semaphore;

use crate::body::Body;

/// What a handler knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
    /// Requests to the provider this connection may still have in flight
    /// (`limits.max_upstream_requests_per_connection`).
    pub upstream_permits: Arc<Semaphore>,
}

/// Answers requests. Errors are the handler's business: it always returns a response.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        request: Request<Incoming>,
        conn: ConnInfo,
    ) -> impl Future<Output = Response<Body>> + Send;
}
