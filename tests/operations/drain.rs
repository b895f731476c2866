//! Shutting down behind a load balancer loses nothing: on SIGTERM `/readyz` turns 503 while the gateway
//! keeps accepting and serving for `limits.shutdown_delay` and tells keep-alive connections to go
//! elsewhere (HTTP/1.1 `Connection: close`, HTTP/2 GOAWAY); only then does the listener close and the rest
//! drain. Checked with Debian's HAProxy health-checking two replicas while clients send without pause.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use crate::support::haproxy::{Backend, Haproxy};
use crate::support::{self, Gateway, Idp, PUBLIC_HOST, Setup, origin};

/// A passthrough replica in front of `origin` with the given shutdown settings.
fn replica(origin: &origin::Origin, limits: &str) -> Gateway {
    let mut setup = Setup::new(Idp::shared().port);
    setup.proxy_to = Some(origin.url());
    let yaml = setup.yaml().replace(
        "limits: { shutdown_grace: 5s, idle_timeout: 5s }",
        &format!("limits: {{ {limits} }}"),
    );
    assert!(yaml.contains(limits), "the limits line was replaced");
    Gateway::start_yaml(&yaml)
}

fn sigterm(gateway: &Gateway) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the gateway process to exit and returns its status.
async fn exited(gateway: &mut Gateway, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = gateway.try_wait() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not exit within {within:?}:\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    failed: AtomicU64,
    /// Answered by the replica that is shut down, and when the last of those came.
    by_leaving: AtomicU64,
    last_by_leaving: Mutex<Option<Instant>>,
    failures: Mutex<Vec<String>>,
}

/// Sends `GET /headers` through the balancer until `stop`, over one client: a keep-alive connection, or
/// (`pool_max_idle_per_host(0)`) a new connection for every request.
async fn keep_sending(
    balancer: SocketAddr,
    keep_alive: bool,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(support::rustls_client_config(None))
        .resolve(PUBLIC_HOST, balancer)
        .timeout(Duration::from_secs(20));
    if !keep_alive {
        builder = builder.pool_max_idle_per_host(0);
    }
    let client = builder.build().unwrap();
    let url = format!("http://{PUBLIC_HOST}/headers");
    while !stop.load(Ordering::Relaxed) {
        tally.sent.fetch_add(1, Ordering::Relaxed);
        match client.get(&url).send().await {
            Ok(response) if response.status() == 200 => {
                if response
                    .headers()
                    .get("x-served-by")
                    .is_some_and(|s| s == "s0")
                {
                    tally.by_leaving.fetch_add(1, Ordering::Relaxed);
                    *tally.last_by_leaving.lock().unwrap() = Some(Instant::now());
                }
                let _ = response.bytes().await;
            }
            Ok(response) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                tally
                    .failures
                    .lock()
                    .unwrap()
                    .push(format!("{status}: {body}"));
            }
            Err(e) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                tally.failures.lock().unwrap().push(format!("{e:?}"));
            }
        }
    }
}

/// The first moment `/readyz` answered 503, and the first moment the listener refused a connection.
#[derive(Default)]
struct Watch {
    not_ready: Mutex<Option<Instant>>,
    refused: Mutex<Option<Instant>>,
}

async fn watch_readiness(admin: SocketAddr, stop: Arc<AtomicBool>, watch: Arc<Watch>) {
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(support::rustls_client_config(None))
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    while !stop.load(Ordering::Relaxed) && watch.not_ready.lock().unwrap().is_none() {
        if let Ok(response) = client.get(format!("http://{admin}/readyz")).send().await
            && response.status() == 503
        {
            *watch.not_ready.lock().unwrap() = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn watch_listener(addr: SocketAddr, stop: Arc<AtomicBool>, watch: Arc<Watch>) {
    while !stop.load(Ordering::Relaxed) && watch.refused.lock().unwrap().is_none() {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            *watch.refused.lock().unwrap() = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_shut_down_behind_a_load_balancer_fails_no_request() {
    const DELAY: Duration = Duration::from_secs(4);
    let origin = origin::start().await;
    let mut leaving = replica(
        &origin,
        "shutdown_delay: 4s, shutdown_grace: 5s, idle_timeout: 5s",
    );
    let staying = replica(
        &origin,
        "shutdown_delay: 4s, shutdown_grace: 5s, idle_timeout: 5s",
    );
    leaving.wait_ready().await;
    staying.wait_ready().await;
    let balancer = Haproxy::start(
        &[
            Backend {
                addr: leaving.addr,
                admin: leaving.admin.unwrap(),
            },
            Backend {
                addr: staying.addr,
                admin: staying.admin.unwrap(),
            },
        ],
        Duration::from_millis(200),
    );

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut clients = Vec::new();
    // Four clients on keep-alive connections, two opening a new connection for every request.
    for keep_alive in [true, true, true, true, false, false] {
        clients.push(tokio::spawn(keep_sending(
            balancer.addr,
            keep_alive,
            stop.clone(),
            tally.clone(),
        )));
    }
    // Both replicas serve before the shutdown (the balancer's checks passed).
    let deadline = Instant::now() + Duration::from_secs(20);
    while tally.by_leaving.load(Ordering::Relaxed) < 20
        || tally.sent.load(Ordering::Relaxed) < tally.by_leaving.load(Ordering::Relaxed) + 20
    {
        assert!(
            Instant::now() < deadline,
            "traffic never reached both replicas:\n{}",
            balancer.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent_before = tally.sent.load(Ordering::Relaxed);

    let watch = Arc::new(Watch::default());
    let watchers = [
        tokio::spawn(watch_readiness(
            leaving.admin.unwrap(),
            stop.clone(),
            watch.clone(),
        )),
        tokio::spawn(watch_listener(leaving.addr, stop.clone(), watch.clone())),
    ];
    let signalled = Instant::now();
    sigterm(&leaving);
    let status = exited(&mut leaving, Duration::from_secs(30)).await;
    let exit = Instant::now();
    // A little more traffic after the exit, all of it to the other replica.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    for watcher in watchers {
        watcher.await.unwrap();
    }

    let sent = tally.sent.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    let not_ready = *watch.not_ready.lock().unwrap();
    let refused = *watch.refused.lock().unwrap();
    let last_served = *tally.last_by_leaving.lock().unwrap();
    let after = |at: Option<Instant>| at.map(|at| at.saturating_duration_since(signalled));
    eprintln!(
        "drain: {sent} requests sent ({} after SIGTERM), {failed} failed; after SIGTERM: /readyz 503 at {:?}, \
         listener closed at {:?}, last response from the leaving replica at {:?}, exit at {:?}",
        sent - sent_before,
        after(not_ready),
        after(refused),
        after(last_served),
        exit - signalled,
    );
    assert!(
        failed == 0,
        "{failed} of {sent} requests failed: {:?}\n{}\n{}",
        tally.failures.lock().unwrap(),
        leaving.logs(),
        balancer.log()
    );
    let not_ready = not_ready.expect("/readyz turned 503");
    let refused = refused.expect("the listener closed before the process exited");
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        leaving.logs()
    );
    assert!(
        not_ready < refused,
        "/readyz turned 503 before the listener closed"
    );
    assert!(
        refused - signalled >= DELAY - Duration::from_millis(100),
        "the listener stayed open for limits.shutdown_delay"
    );
    assert!(
        sent - sent_before > 100,
        "clients kept sending through the shutdown ({} requests)",
        sent - sent_before
    );
    assert!(
        leaving.logs().contains("shutdown delay over"),
        "{}",
        leaving.logs()
    );
}

/// An HTTP/1.1 connection of its own: sends requests one after another.
async fn http1(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    tokio::task::JoinHandle<()>,
) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, task)
}

async fn get(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    path: &str,
) -> http::Response<Bytes> {
    sender.ready().await.unwrap();
    let request = http::Request::get(path)
        .header("host", PUBLIC_HOST)
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn while_shutting_down_the_gateway_serves_on_and_asks_keep_alive_connections_to_close() {
    let origin = origin::start().await;
    const DELAY: Duration = Duration::from_secs(5);
    let mut gateway = replica(
        &origin,
        "shutdown_delay: 5s, shutdown_grace: 5s, idle_timeout: 30s",
    );
    gateway.wait_ready().await;

    // Before: keep-alive as usual, on HTTP/1.1 and HTTP/2.
    let (mut one, one_open) = http1(gateway.addr).await;
    let before = get(&mut one, "/headers").await;
    assert_eq!(before.status(), 200);
    assert!(before.headers().get("connection").is_none());
    let stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let (two, connection) = h2::client::handshake(stream).await.unwrap();
    let mut two_open = tokio::spawn(connection);
    let h2_request = |path: &str| {
        http::Request::get(format!("http://{PUBLIC_HOST}{path}"))
            .body(())
            .unwrap()
    };
    let (response, _) = two
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(h2_request("/headers"), true)
        .unwrap();
    assert_eq!(response.await.unwrap().status(), 200);
    // A request in flight across the shutdown (the origin answers /delay after 800 ms).
    let (in_flight, _) = two
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(h2_request("/delay"), true)
        .unwrap();

    let signalled = Instant::now();
    sigterm(&gateway);
    let client = support::client();
    let readiness = loop {
        let response = client
            .get(gateway.admin_url("/readyz"))
            .send()
            .await
            .unwrap();
        if response.status() == 503 {
            break response.json::<serde_json::Value>().await.unwrap();
        }
        assert!(signalled.elapsed() < DELAY, "/readyz stayed 200");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(readiness["shutting_down"], true, "{readiness}");
    assert!(
        readiness["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("shutting down")),
        "{readiness}"
    );

    // HTTP/1.1: the next response on the open connection says `Connection: close`, and the gateway closes it.
    let during = get(&mut one, "/headers").await;
    assert_eq!(during.status(), 200);
    assert_eq!(during.headers()["connection"], "close");
    tokio::time::timeout(Duration::from_secs(5), one_open)
        .await
        .expect("the gateway closed the HTTP/1.1 connection after that response")
        .unwrap();
    // HTTP/2: the stream in flight completes, then the GOAWAY ends the connection.
    let delayed = in_flight.await.unwrap();
    assert_eq!(delayed.status(), 200);
    let mut body = delayed.into_body();
    let mut text = Vec::new();
    while let Some(chunk) = body.data().await {
        text.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(text, b"finished");
    tokio::time::timeout(DELAY, &mut two_open)
        .await
        .expect("the GOAWAY ended the HTTP/2 connection")
        .unwrap()
        .unwrap();
    assert!(
        signalled.elapsed() < DELAY,
        "the GOAWAY came during the shutdown delay, not when the listener closed ({:?})",
        signalled.elapsed()
    );
    // A new connection is still accepted and served, once.
    let (mut late, late_open) = http1(gateway.addr).await;
    let response = get(&mut late, "/headers").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["connection"], "close");
    tokio::time::timeout(Duration::from_secs(5), late_open)
        .await
        .unwrap()
        .unwrap();

    let status = exited(&mut gateway, Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}\n{}", gateway.logs());
    assert!(
        signalled.elapsed() >= DELAY,
        "the gateway served on for limits.shutdown_delay"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_during_the_shutdown_delay_exits_at_once() {
    let origin = origin::start().await;
    let mut gateway = replica(&origin, "shutdown_delay: 60s, shutdown_grace: 60s");
    gateway.wait_ready().await;
    sigterm(&gateway);
    assert!(gateway.has_logged("shutting down"), "{}", gateway.logs());
    let signalled = Instant::now();
    sigterm(&gateway);
    let status = exited(&mut gateway, Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(1), "{}", gateway.logs());
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert!(gateway.has_logged("second signal"), "{}", gateway.logs());
}
