//! Connection exhaustion (slowloris and its HTTP/2 cousins): a connection holds a slot only while it asks
//! for something, for a bounded time, and one client address cannot take every slot.

use std::time::{Duration, Instant};

use http::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::raw::{exchange, metric_reaches, passthrough, status};
use crate::support::origin;
use crate::support::{Gateway, PUBLIC_HOST};

const DEFAULT_LIMITS: &str = "limits: { shutdown_grace: 5s, idle_timeout: 5s }";

fn gateway_with_limits(origin: &origin::Origin, limits: &str, extra: &str) -> Gateway {
    let mut setup = passthrough(origin);
    setup.extra_top = extra.into();
    let yaml = setup.yaml().replace(
        DEFAULT_LIMITS,
        &format!("limits: {{ shutdown_grace: 5s, {limits} }}"),
    );
    assert!(
        yaml.contains(limits),
        "the test harness's limits line changed"
    );
    Gateway::start_yaml(&yaml)
}

/// Seconds until the server closes `stream` (reads until EOF or reset), at most `limit`.
async fn seconds_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<f64> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buffer),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed().as_secs_f64()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout_not_the_idle_timeout() {
    let origin = origin::start().await;
    let gateway = gateway_with_limits(&origin, "header_read_timeout: 1s, idle_timeout: 60s", "");
    let mut silent = TcpStream::connect(gateway.addr).await.unwrap();
    let closed = seconds_until_closed(&mut silent, Duration::from_secs(20)).await;
    assert!(
        closed.is_some_and(|s| s < 10.0),
        "closed after {closed:?} s"
    );
    assert!(
        metric_reaches(
            &gateway,
            "freshgate_connections_closed_total{reason=\"header_timeout\"} 1"
        )
        .await,
        "{}",
        gateway.metrics().await
    );
}

/// Opens an HTTP/2 connection, optionally makes one request, then sends only PINGs every 200 ms.
/// Returns how long the gateway kept the connection, at most `limit`.
async fn h2_pings_only(gateway: &Gateway, one_request_first: bool, limit: Duration) -> Option<f64> {
    let stream = TcpStream::connect(gateway.addr).await.unwrap();
    let (mut client, mut connection) = h2::client::handshake(stream).await.unwrap();
    let mut ping_pong = connection.ping_pong().expect("a ping handle");
    let started = Instant::now();
    let mut connection = tokio::spawn(connection);
    if one_request_first {
        let request = Request::get(format!("http://{PUBLIC_HOST}/headers"))
            .body(())
            .unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        assert_eq!(response.await.unwrap().status(), 200);
    }
    while started.elapsed() < limit {
        tokio::select! {
            _ = &mut connection => return Some(started.elapsed().as_secs_f64()),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if ping_pong.ping(h2::Ping::opaque()).await.is_err() {
                    return Some(started.elapsed().as_secs_f64());
                }
            }
        }
    }
    None
}

#[tokio::test]
async fn an_http2_client_that_sends_only_pings_is_closed_like_an_idle_one() {
    let origin = origin::start().await;
    let gateway = gateway_with_limits(&origin, "header_read_timeout: 1s, idle_timeout: 1s", "");
    let never_asked = h2_pings_only(&gateway, false, Duration::from_secs(15)).await;
    assert!(
        never_asked.is_some_and(|s| s < 10.0),
        "no request, only PINGs: kept {never_asked:?} s"
    );
    let asked_once = h2_pings_only(&gateway, true, Duration::from_secs(15)).await;
    assert!(
        asked_once.is_some_and(|s| s < 10.0),
        "one request, then PINGs: kept {asked_once:?} s"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_connections_closed_total{reason=\"idle\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_busy_connection_is_closed_once_it_reaches_the_maximum_age() {
    let origin = origin::start().await;
    let gateway = gateway_with_limits(&origin, "max_connection_age: 2s, idle_timeout: 60s", "");
    let stream = TcpStream::connect(gateway.addr).await.unwrap();
    let (client, connection) = h2::client::handshake(stream).await.unwrap();
    let started = Instant::now();
    let mut connection = tokio::spawn(connection);
    let mut answered = 0;
    let ended = loop {
        if started.elapsed() > Duration::from_secs(15) {
            break None;
        }
        tokio::select! {
            _ = &mut connection => break Some(started.elapsed().as_secs_f64()),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                let Ok(ready) = client.clone().ready().await else { break Some(started.elapsed().as_secs_f64()) };
                let request = Request::get(format!("http://{PUBLIC_HOST}/headers")).body(()).unwrap();
                let mut ready = ready;
                if let Ok((response, _)) = ready.send_request(request, true)
                    && response.await.is_ok_and(|r| r.status() == 200)
                {
                    answered += 1;
                }
            }
        }
    };
    assert!(
        answered >= 5,
        "the connection served requests before its age ran out ({answered})"
    );
    assert!(
        ended.is_some_and(|s| (1.5..10.0).contains(&s)),
        "ended after {ended:?} s"
    );
    assert!(
        metric_reaches(
            &gateway,
            "freshgate_connections_closed_total{reason=\"max_age\"} 1"
        )
        .await,
        "{}",
        gateway.metrics().await
    );
}

#[tokio::test]
async fn one_client_address_cannot_hold_more_than_max_connections_per_ip() {
    let origin = origin::start().await;
    let gateway = gateway_with_limits(&origin, "max_connections_per_ip: 3, idle_timeout: 60s", "");
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
        let request = format!("GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buffer = [0u8; 512];
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    let mut fourth = TcpStream::connect(gateway.addr).await.unwrap();
    let _ = fourth
        .write_all(format!("GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n\r\n").as_bytes())
        .await;
    let closed = seconds_until_closed(&mut fourth, Duration::from_secs(5)).await;
    assert!(
        closed.is_some_and(|s| s < 2.0),
        "the fourth connection was served or kept: {closed:?}"
    );
    assert!(
        metric_reaches(
            &gateway,
            "freshgate_overload_total{limit=\"max_connections_per_ip\"} 1"
        )
        .await,
        "{}",
        gateway.metrics().await
    );
    assert!(
        gateway.has_logged("max_connections_per_ip"),
        "{}",
        gateway.logs()
    );
    // A slot given back is a slot to use again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = exchange(
        gateway.addr,
        &format!("GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status(&again), 200);
}

#[tokio::test]
async fn a_trusted_proxy_is_not_held_to_the_per_address_cap() {
    let origin = origin::start().await;
    let gateway = gateway_with_limits(
        &origin,
        "max_connections_per_ip: 1, idle_timeout: 60s",
        "trusted_proxies: [127.0.0.0/8]\n",
    );
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
        stream
            .write_all(format!("GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buffer = [0u8; 512];
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(
            buffer[..n].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buffer[..n])
        );
        held.push(stream);
    }
}

/// Sends a request on a new keep-alive connection and reads its response's status line; the connection is
/// kept. `None` when the connection is refused, closed or unanswered.
async fn served_connection(addr: std::net::SocketAddr) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buffer = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer))
        .await
        .ok()?
        .ok()?;
    buffer[..n].starts_with(b"HTTP/1.1 200").then_some(stream)
}

/// A helpdesk of 1000 agents behind one NAT address, each browser with two keep-alive connections: 2000
/// connections from one address, all open at once, each with a request answered, and none refused, with
/// the default limits. The gateway starts with the soft open-file limit a systemd service gets (1024),
/// which it raises to the hard limit.
#[tokio::test]
async fn two_thousand_connections_from_one_address_are_all_served_with_the_default_limits() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    const CONNECTIONS: usize = 2000;
    const AT_ONCE: usize = 100;
    // This process holds the 2000 client sockets itself.
    let hard = getrlimit(Resource::Nofile).maximum.unwrap_or(1 << 20);
    assert!(
        hard >= 4 * CONNECTIONS as u64,
        "the hard open-file limit ({hard}) is too low for {CONNECTIONS} connections: raise it (ulimit -Hn)"
    );
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        },
    )
    .unwrap();
    let origin = origin::start().await;
    let yaml = passthrough(&origin)
        .yaml()
        .replace(DEFAULT_LIMITS, "limits: { shutdown_grace: 5s }");
    let nofile = format!("--nofile=1024:{hard}");
    let gateway = Gateway::start_yaml_through(&yaml, &["prlimit", &nofile]);
    assert!(
        gateway.has_logged("open-file limit raised"),
        "{}",
        gateway.logs()
    );

    let mut held = Vec::with_capacity(CONNECTIONS);
    let mut refused = 0;
    for _ in 0..CONNECTIONS / AT_ONCE {
        let batch =
            futures_util::future::join_all((0..AT_ONCE).map(|_| served_connection(gateway.addr)))
                .await;
        for stream in batch {
            match stream {
                Some(stream) => held.push(stream),
                None => refused += 1,
            }
        }
    }
    assert_eq!(refused, 0, "{}", gateway.metrics().await);
    assert_eq!(held.len(), CONNECTIONS);
    let metrics = gateway.metrics().await;
    let open: usize = metrics
        .lines()
        .find_map(|line| line.strip_prefix("freshgate_connections_open "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(open >= CONNECTIONS, "{open} connections open: {metrics}");
    assert!(
        metrics.contains("freshgate_overload_total{limit=\"max_connections_per_ip\"} 0"),
        "{metrics}"
    );
}
