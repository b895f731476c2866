//! Raw clients: requests no well-behaved library would send.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::origin::Origin;
use crate::support::{Idp, Setup};

/// A gateway setup that passes everything through to `origin`.
pub fn passthrough(origin: &Origin) -> Setup {
    let mut setup = Setup::new(Idp::shared().port);
    setup.proxy_to = Some(origin.url());
    setup
}

/// Sends `head` (a whole HTTP/1.1 request, `Connection: close` included) and returns the whole response.
pub async fn exchange(addr: SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the gateway answers and closes")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// The status code of a raw response.
pub fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

/// An HTTP/2 connection with prior knowledge (h2c) to the gateway's plain listener.
pub async fn h2(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// True once the gateway's metrics have exactly the line `line`, polling for up to 10 s.
pub async fn metric_reaches(gateway: &crate::support::Gateway, line: &str) -> bool {
    for _ in 0..100 {
        if gateway.metrics().await.lines().any(|l| l == line) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Asks for a Web Chat token with `bearer`; returns the status and the JSON body.
pub async fn webchat_token(
    gateway: &crate::support::Gateway,
    bearer: &str,
) -> (u16, serde_json::Value) {
    let response = crate::support::client()
        .get(format!("http://{}/sso/webchat/token", gateway.addr))
        .header("host", crate::support::PUBLIC_HOST)
        .header("authorization", format!("Bearer {bearer}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
