//! Upgrade smuggling: a lenient upstream that switches to whatever it is offered (h2c) or answers 101
//! without a WebSocket handshake must never get a raw tunnel past the gateway's controls.

use crate::raw::{exchange, status};
use crate::support::lenient_upstream;
use crate::support::{Gateway, Idp, PUBLIC_HOST, Setup};

/// The example key of RFC 6455 §1.3 and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

async fn gateway_before(upstream: &lenient_upstream::Lenient) -> Gateway {
    let mut setup = Setup::new(Idp::shared().port);
    setup.proxy_to = Some(upstream.url());
    Gateway::start(&setup)
}

fn opening(upgrade: &str, key: Option<&str>) -> String {
    let key = key
        .map(|key| format!("Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"))
        .unwrap_or_default();
    format!(
        "GET /chat HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\n\
         Upgrade: {upgrade}\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n{key}\r\n"
    )
}

#[tokio::test]
async fn an_upstream_that_switches_to_h2c_gets_no_tunnel_and_is_offered_only_websocket() {
    let upstream = lenient_upstream::start(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
    )
    .await;
    let gateway = gateway_before(&upstream).await;
    let response = exchange(gateway.addr, &opening("h2c, websocket", Some(KEY))).await;
    assert_eq!(status(&response), 502, "{response}");
    assert!(response.contains("provider_bad_response"), "{response}");
    let heads = upstream.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    let head = heads[0].to_ascii_lowercase();
    assert!(head.contains("\r\nupgrade: websocket\r\n"), "{head}");
    assert!(
        !head.contains("h2c") && !head.contains("http2-settings"),
        "{head}"
    );
}

#[tokio::test]
async fn a_101_to_a_request_that_asked_for_no_websocket_is_a_502() {
    let upstream = lenient_upstream::start(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
    )
    .await;
    let gateway = gateway_before(&upstream).await;
    let response = exchange(gateway.addr, &opening("h2c", None)).await;
    assert_eq!(status(&response), 502, "{response}");
    let head = upstream.heads()[0].to_ascii_lowercase();
    assert!(!head.contains("upgrade:"), "{head}");
}

#[tokio::test]
async fn a_websocket_101_without_the_right_accept_value_is_a_502() {
    for response_head in [
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
    ] {
        let upstream = lenient_upstream::start(response_head).await;
        let gateway = gateway_before(&upstream).await;
        let response = exchange(gateway.addr, &opening("websocket", Some(KEY))).await;
        assert_eq!(status(&response), 502, "{response_head}: {response}");
        let metrics = gateway.metrics().await;
        assert!(
            metrics.contains("freshgate_upstream_errors_total{kind=\"protocol\"} 1"),
            "{metrics}"
        );
    }
}

#[tokio::test]
async fn a_correct_websocket_handshake_still_opens_the_tunnel() {
    let upstream = lenient_upstream::start(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    )
    .await;
    let gateway = gateway_before(&upstream).await;
    let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(opening("websocket", Some(KEY)).as_bytes())
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let n = stream.read(&mut buffer).await.unwrap();
    let head = String::from_utf8_lossy(&buffer[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // The lenient upstream echoes: bytes now flow through the tunnel.
    stream.write_all(b"ping-through-tunnel").await.unwrap();
    let mut echoed = vec![0u8; 19];
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_exact(&mut echoed),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(&echoed, b"ping-through-tunnel");
}
