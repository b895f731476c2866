//! The pool against a provider stand-in.

use super::*;

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A provider stand-in that answers every request with `body` bytes (its length in `Content-Length`)
/// and counts the connections it accepted; with `close_after_one`, it closes each connection after its
/// first response without saying so (no `Connection: close`), as a provider whose keep-alive timeout
/// ran out just then would. A stand-in: a real server cannot be made to close at exactly that moment.
async fn origin(body: usize, close_after_one: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        buffer.drain(..end + 4);
                        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {body}\r\n\r\n");
                        if stream.write_all(head.as_bytes()).await.is_err()
                            || stream.write_all(&vec![b'x'; body]).await.is_err()
                        {
                            return;
                        }
                        if close_after_one {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, accepted)
}

fn new_pool(addr: SocketAddr) -> Pool<Empty<Bytes>> {
    let tls = http_client::client_tls_config(None).unwrap();
    let connector = http_client::connector(tls, Duration::from_secs(5));
    Pool::new(connector, format!("http://{addr}/").parse().unwrap(), 8)
}

fn request(addr: SocketAddr) -> Request<Empty<Bytes>> {
    Request::builder()
        .uri("/")
        .header(http::header::HOST, addr.to_string())
        .body(Empty::new())
        .unwrap()
}

/// One GET through `pool`, its body read to the end and counted as passthrough's body counts it; the
/// lease dropped after it. The body's length.
async fn get(pool: &Pool<Empty<Bytes>>, addr: SocketAddr) -> usize {
    let (response, mut lease) = pool.send(request(addr)).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    lease.passed(body.len());
    lease.complete();
    drop(lease);
    body.len()
}

/// Waits (up to 10 s) until the pool holds `count` idle connections.
async fn idle(pool: &Pool<Empty<Bytes>>, count: usize) {
    for _ in 0..1000 {
        if pool.idle() == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} idle connections, not {count}", pool.idle());
}

#[tokio::test]
async fn sequential_requests_share_one_provider_connection() {
    let (addr, accepted) = origin(1024, false).await;
    let pool = new_pool(addr);
    for _ in 0..5 {
        assert_eq!(get(&pool, addr).await, 1024);
        idle(&pool, 1).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_provider_closed_while_idle_is_not_used_again() {
    let (addr, accepted) = origin(16, true).await;
    let pool = new_pool(addr);
    for _ in 0..6 {
        assert_eq!(get(&pool, addr).await, 16);
        // Once hyper has seen the provider close it, the pooled connection is passed over.
        for _ in 0..1000 {
            if !pool
                .inner
                .idle
                .lock()
                .unwrap()
                .iter()
                .any(|c| c.sender.is_ready())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn a_long_or_half_read_response_closes_its_connection_and_a_short_one_keeps_it() {
    let (addr, accepted) = origin(LONG_RESPONSE as usize + 1, false).await;
    let pool = new_pool(addr);
    get(&pool, addr).await;
    get(&pool, addr).await;
    assert_eq!(pool.idle(), 0, "not kept after a long response");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    let (addr, accepted) = origin(LONG_RESPONSE as usize, false).await;
    let pool = new_pool(addr);
    get(&pool, addr).await;
    idle(&pool, 1).await;
    get(&pool, addr).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    // Its body dropped unread: the connection is mid-response and is not reused.
    let (response, lease) = pool.send(request(addr)).await.unwrap();
    drop(response);
    drop(lease);
    assert_eq!(pool.idle(), 0);
    get(&pool, addr).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn connections_idle_since_before_the_last_round_are_closed() {
    let (addr, _) = origin(16, false).await;
    let pool = new_pool(addr);
    get(&pool, addr).await;
    idle(&pool, 1).await;
    pool.inner.reap();
    assert_eq!(pool.idle(), 1, "idle for less than a round, maybe");
    pool.inner.reap();
    assert_eq!(pool.idle(), 0, "idle for a whole round");
    // One that was used meanwhile stays.
    get(&pool, addr).await;
    idle(&pool, 1).await;
    pool.inner.reap();
    get(&pool, addr).await;
    idle(&pool, 1).await;
    pool.inner.reap();
    assert_eq!(pool.idle(), 1);
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    match new_pool(addr).send(request(addr)).await {
        Err(error) => assert!(error.is_connect(), "{error:?}"),
        Ok(_) => panic!("a response from a closed port"),
    }
}
