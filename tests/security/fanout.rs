//! Upstream fan-out (HTTP/2 stream multiplexing turned into provider connections, cf. CVE-2023-44487's
//! amplification): requests in flight to the provider are bounded per client connection and in all.

use std::sync::atomic::Ordering;
use std::time::Duration;

use http::Request;
use tokio::net::TcpStream;

use crate::raw::passthrough;
use crate::support::origin;
use crate::support::{Gateway, PUBLIC_HOST};

fn gateway(origin: &origin::Origin, limits: &str) -> Gateway {
    let yaml = passthrough(origin).yaml().replace(
        "limits: { shutdown_grace: 5s, idle_timeout: 5s }",
        &format!("limits: {{ shutdown_grace: 5s, idle_timeout: 5s, {limits} }}"),
    );
    Gateway::start_yaml(&yaml)
}

/// Opens `streams` requests to `/hold` on one HTTP/2 connection; each task reads its response to the end
/// (keeping the stream open as a browser would) and returns the status.
async fn hold_streams(gateway: &Gateway, streams: usize) -> Vec<tokio::task::JoinHandle<u16>> {
    let stream = TcpStream::connect(gateway.addr).await.unwrap();
    let (client, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(connection);
    let mut handles = Vec::new();
    for _ in 0..streams {
        let mut client = client.clone().ready().await.unwrap();
        let request = Request::post(format!("http://{PUBLIC_HOST}/hold"))
            .body(())
            .unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        handles.push(tokio::spawn(async move {
            let Ok(response) = response.await else {
                return 0;
            };
            let status = response.status().as_u16();
            let mut body = response.into_body();
            while let Some(Ok(_)) = body.data().await {}
            status
        }));
    }
    handles
}

async fn wait_for_held(origin: &origin::Origin, count: usize) {
    for _ in 0..100 {
        if origin.gates.holding.load(Ordering::SeqCst) >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the origin never held {count} requests");
}

/// Lets the held `/hold` requests finish, a batch every 50 ms, for two seconds.
fn release_every_50ms(origin: &origin::Origin) -> tokio::task::JoinHandle<()> {
    let gates = origin.gates.clone();
    tokio::spawn(async move {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            gates.release.notify_waiters();
        }
    })
}

async fn statuses(handles: Vec<tokio::task::JoinHandle<u16>>) -> Vec<u16> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(
            tokio::time::timeout(Duration::from_secs(10), handle)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn one_connection_with_many_stalled_streams_opens_only_its_share_of_provider_requests() {
    let origin = origin::start().await;
    let gateway = gateway(&origin, "max_upstream_requests_per_connection: 4");
    let handles = hold_streams(&gateway, 20).await;
    wait_for_held(&origin, 4).await;
    // The other 16 wait for a place for upstream.response_timeout (2 s here), then get 503.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    origin.gates.release.notify_waiters();
    let statuses = statuses(handles).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 503).count(),
        16,
        "{statuses:?}"
    );
    assert_eq!(origin.gates.most_held.load(Ordering::SeqCst), 4);
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_overload_total{limit=\"max_upstream_requests_per_connection\"} 16"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_burst_on_one_connection_waits_for_its_turn_instead_of_failing() {
    let origin = origin::start().await;
    let gateway = gateway(&origin, "max_upstream_requests_per_connection: 4");
    let handles = hold_streams(&gateway, 12).await;
    let releaser = release_every_50ms(&origin);
    let statuses = statuses(handles).await;
    releaser.abort();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(origin.gates.most_held.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn all_connections_together_stay_within_max_upstream_requests() {
    let origin = origin::start().await;
    let gateway = gateway(
        &origin,
        "max_upstream_requests: 5, max_upstream_requests_per_connection: 4",
    );
    let mut handles = hold_streams(&gateway, 4).await;
    wait_for_held(&origin, 4).await;
    handles.extend(hold_streams(&gateway, 4).await);
    wait_for_held(&origin, 5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    origin.gates.release.notify_waiters();
    let statuses = statuses(handles).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 503).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(origin.gates.most_held.load(Ordering::SeqCst), 5);
}

/// Reloads `gateway` (SIGHUP) and waits until it says it applied the configuration.
async fn reload(gateway: &Gateway) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        crate::raw::metric_reaches(
            gateway,
            "freshgate_config_reloads_total{result=\"success\"} 1"
        )
        .await,
        "{}",
        gateway.logs()
    );
}

/// A reload builds a new passthrough for new requests; the requests in flight on the old one still hold
/// their places, so the cap is the cap across reloads too.
#[tokio::test]
async fn max_upstream_requests_holds_across_a_reload() {
    let origin = origin::start().await;
    let gateway = gateway(&origin, "max_upstream_requests: 3");
    let mut handles = hold_streams(&gateway, 3).await;
    wait_for_held(&origin, 3).await;
    reload(&gateway).await;
    let after = hold_streams(&gateway, 3).await;
    let refused = statuses(after).await;
    assert_eq!(refused, [503, 503, 503], "the cap is still full");
    assert_eq!(origin.gates.most_held.load(Ordering::SeqCst), 3);
    // Once the first three finish, the new configuration's passthrough serves as usual.
    origin.gates.release.notify_waiters();
    assert_eq!(
        statuses(std::mem::take(&mut handles)).await,
        [200, 200, 200]
    );
    let again = hold_streams(&gateway, 1).await;
    wait_for_held(&origin, 1).await;
    origin.gates.release.notify_waiters();
    assert_eq!(statuses(again).await, [200]);
}

#[tokio::test]
async fn max_upstream_connections_holds_across_a_reload() {
    let origin = origin::start().await;
    let gateway = gateway(&origin, "max_upstream_connections: 2");
    let handles = hold_streams(&gateway, 2).await;
    wait_for_held(&origin, 2).await;
    reload(&gateway).await;
    let after = hold_streams(&gateway, 2).await;
    // The two new requests wait their turn instead of opening provider connections of their own.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(origin.gates.holding.load(Ordering::SeqCst), 2);
    let releaser = release_every_50ms(&origin);
    let mut all = statuses(handles).await;
    all.extend(statuses(after).await);
    releaser.abort();
    assert_eq!(all, [200, 200, 200, 200]);
    assert_eq!(origin.gates.most_held.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn requests_past_max_upstream_connections_wait_for_a_free_provider_connection() {
    let origin = origin::start().await;
    let gateway = gateway(&origin, "max_upstream_connections: 2");
    let handles = hold_streams(&gateway, 8).await;
    wait_for_held(&origin, 2).await;
    // The other six wait their turn instead of each opening a provider connection.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(origin.gates.holding.load(Ordering::SeqCst), 2);
    let releaser = release_every_50ms(&origin);
    let statuses = statuses(handles).await;
    releaser.abort();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(origin.gates.most_held.load(Ordering::SeqCst), 2);
    let connections = origin.gates.connections.load(Ordering::SeqCst);
    assert!(
        connections <= 4,
        "8 requests through 2 turns opened {connections} provider connections"
    );
}

#[tokio::test]
async fn a_request_that_waits_past_the_response_timeout_for_a_provider_connection_gets_a_503_page()
{
    let origin = origin::start().await;
    let gateway = gateway(&origin, "max_upstream_connections: 1");
    let handles = hold_streams(&gateway, 3).await;
    wait_for_held(&origin, 1).await;
    // upstream.response_timeout is 2 s here.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    origin.gates.release.notify_waiters();
    let statuses = statuses(handles).await;
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 503, 503], "{statuses:?}");
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_overload_total{limit=\"max_upstream_connections\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_gateway_advertises_its_stream_limit() {
    let origin = origin::start().await;
    let gateway = gateway(&origin, "max_concurrent_streams: 16");
    let stream = TcpStream::connect(gateway.addr).await.unwrap();
    let (client, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(connection);
    // The server's SETTINGS arrive with the first exchange.
    let mut ready = client.ready().await.unwrap();
    let request = Request::get(format!("http://{PUBLIC_HOST}/headers"))
        .body(())
        .unwrap();
    let (response, _) = ready.send_request(request, true).unwrap();
    assert_eq!(response.await.unwrap().status(), 200);
    assert_eq!(ready.current_max_send_streams(), 16);
}
