//! The pooled HTTP client for passthrough (the back channel's is `crate::oidc::backchannel`'s; both are
//! made of `crate::http_client`'s parts).

use crate::http_client::{Connector, pool_idle_timeout};

/// The most a response from the provider may have buffered per connection before it is passed on. hyper
/// grows its read buffer up to this while a large response streams and keeps it while the connection
/// lives, so it counts once per pooled connection. Measured with `bench/passthrough` (1 MiB responses, 64
/// connections, two rounds each): 256 KiB peaked at 45 MB and ended at 36 MB; 64 KiB at 26 and 21 MB; 32 KiB
/// at 20 and 19 MB for the same CPU per response as 64 KiB (about 12% more than 256 KiB, still 1.9 times
/// nginx's req/s); 16 KiB saved 2 MB more but cost 50% more CPU.
const MAX_READ_BUFFER: usize = 32 * 1024;

/// The pooled client for passthrough. At most `max_idle` idle connections are kept
/// (`limits.max_upstream_connections`, which requests wait for): a burst can reuse all it opened, and
/// the pool's idle timeout closes them once it is over.
pub fn passthrough_client<B>(
    connector: Connector,
    max_idle: usize,
) -> hyper_util::client::legacy::Client<Connector, B>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(pool_idle_timeout())
        .pool_max_idle_per_host(max_idle)
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .http1_max_buf_size(MAX_READ_BUFFER)
        .build(connector)
}
