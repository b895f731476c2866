//! A lenient upstream: a raw TCP server that answers every request with a fixed response, whatever was
//! asked, then echoes any bytes that follow. It stands in for an origin that accepts upgrades the gateway
//! must never let through (an `h2c` 101, a 101 without a proper WebSocket handshake): hyper, as a correct
//! server, cannot be made to answer like that. It records each request head it receives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct Lenient {
    pub addr: SocketAddr,
    /// Every request head received, as text, in order.
    pub heads: Arc<Mutex<Vec<String>>>,
}

impl Lenient {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// Starts a server that answers `response` (a whole HTTP/1.1 response head, `\r\n\r\n` included) to each
/// connection's first request, then echoes.
pub async fn start(response: &'static str) -> Lenient {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                if stream.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
                let (mut reader, mut writer) = stream.split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    Lenient { addr, heads }
}
