//! A plain HTTP origin for passthrough tests: echoes, streams gated on the test, stalls, upgrades.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::Notify;

type Body = BoxBody<Bytes, std::io::Error>;

/// Signals between the test and the origin, for proving that bodies stream instead of being buffered.
#[derive(Default)]
pub struct Gates {
    /// The test received the first chunk of `/stream`: the origin may send the rest.
    pub client_saw_first_chunk: Notify,
    /// The origin received the first chunk of an `/upload` body: the client may send the rest.
    pub origin_saw_first_chunk: Notify,
    /// `/hold` requests wait for this.
    pub release: Notify,
    /// `/hold` requests waiting now, and the most that ever waited at once.
    pub holding: AtomicUsize,
    pub most_held: AtomicUsize,
    /// Connections the origin accepted.
    pub connections: AtomicUsize,
    /// `METHOD path` of every request the origin received, in order.
    pub seen: Mutex<Vec<String>>,
}

impl Gates {
    /// True when a request for `path` (without query) ever reached the origin.
    pub fn saw_path(&self, path: &str) -> bool {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.split_once(' ').is_some_and(|(_, p)| p == path))
    }

    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

pub struct Origin {
    pub addr: SocketAddr,
    pub gates: Arc<Gates>,
}

impl Origin {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub async fn start() -> Origin {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gates = Arc::new(Gates::default());
    let shared = gates.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let gates = shared.clone();
            gates.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request| handle(request, gates.clone()));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Origin { addr, gates }
}

fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into())
        .map_err(|never| match never {})
        .boxed()
}

async fn handle(
    mut request: Request<Incoming>,
    gates: Arc<Gates>,
) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_owned();
    gates
        .seen
        .lock()
        .unwrap()
        .push(format!("{} {path}", request.method()));
    let response = match path.as_str() {
        "/headers" => {
            let headers: serde_json::Map<String, serde_json::Value> = request
                .headers()
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").into()))
                .collect();
            let body = serde_json::json!({
                "method": request.method().as_str(),
                "uri": request.uri().to_string(),
                "version": format!("{:?}", request.version()),
                "headers": headers,
                "cookie_fields": request.headers().get_all("cookie").iter().count(),
            });
            let mut response = Response::new(full(body.to_string()));
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            response
                .headers_mut()
                .insert("keep-alive", "timeout=99".parse().unwrap());
            response
                .headers_mut()
                .insert("connection", "x-origin-hop".parse().unwrap());
            response
                .headers_mut()
                .insert("x-origin-hop", "secret".parse().unwrap());
            response
                .headers_mut()
                .insert("x-origin-end", "kept".parse().unwrap());
            response
        }
        // Echoes the request body as it arrives.
        "/echo" => {
            let body = request.into_body().map_err(std::io::Error::other);
            Response::new(BoxBody::new(body))
        }
        // Reads the first chunk, tells the test, then counts the rest and answers with the total.
        "/upload" => {
            let mut body = request.into_body();
            let mut total = 0usize;
            let mut first = true;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.map(|f| f.into_data()) {
                    if let Ok(data) = data {
                        total += data.len();
                        if first {
                            first = false;
                            gates.origin_saw_first_chunk.notify_one();
                        }
                    }
                } else {
                    break;
                }
            }
            Response::new(full(total.to_string()))
        }
        // Sends one chunk, waits until the test saw it, then sends the second.
        "/stream" => {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(2);
            tokio::spawn(async move {
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from_static(b"first;"))))
                    .await;
                gates.client_saw_first_chunk.notified().await;
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from_static(b"second"))))
                    .await;
            });
            let stream = tokio_stream_from(rx);
            Response::new(BoxBody::new(StreamBody::new(stream)))
        }
        // 32 MiB, far more than socket buffers hold: a client that does not read stalls the writer.
        "/large" => Response::new(full(vec![0u8; 32 << 20])),
        // Answers at once, but holds its body until the test releases it: counts how many requests the
        // gateway keeps in flight at once.
        "/hold" => {
            let now = gates.holding.fetch_add(1, Ordering::SeqCst) + 1;
            gates.most_held.fetch_max(now, Ordering::SeqCst);
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
            let notified = gates.clone();
            tokio::spawn(async move {
                notified.release.notified().await;
                notified.holding.fetch_sub(1, Ordering::SeqCst);
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from_static(b"released"))))
                    .await;
            });
            Response::new(BoxBody::new(StreamBody::new(tokio_stream_from(rx))))
        }
        "/delay" => {
            tokio::time::sleep(Duration::from_millis(800)).await;
            Response::new(full("finished"))
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Response::new(full("too late"))
        }
        "/ws" => {
            let key = request.headers().get("sec-websocket-key").cloned();
            let Some(key) = key else {
                return Ok(Response::builder()
                    .status(400)
                    .body(full("not a websocket request"))
                    .unwrap());
            };
            let upgrade = hyper::upgrade::on(&mut request);
            tokio::spawn(async move {
                let Ok(upgraded) = upgrade.await else { return };
                let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    tokio_tungstenite::tungstenite::protocol::Role::Server,
                    None,
                )
                .await;
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_text() || message.is_binary() {
                        let text = format!("echo:{}", message.into_text().unwrap_or_default());
                        if ws.send(text.into()).await.is_err() {
                            break;
                        }
                    }
                }
            });
            Response::builder()
                .status(101)
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header(
                    "sec-websocket-accept",
                    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()),
                )
                .body(full(""))
                .unwrap()
        }
        _ => Response::builder()
            .status(404)
            .body(full("origin: no such path"))
            .unwrap(),
    };
    Ok(response)
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
