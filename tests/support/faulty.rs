//! A provider that fails on cue: a pass-through proxy in front of the real OpenID provider test server that
//! answers one endpoint badly when told to (a 5xx, a body that is not JSON, no answer at all). Everything
//! else reaches the real provider unchanged, so a login runs for real up to the failure. It also notes
//! the path and `X-Request-ID` of every request it sees, as a provider's access log would.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, hyper::Error>;

/// How the chosen endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `503 Service Unavailable` with an HTML body.
    ServerError,
    /// `200 OK` with an HTML body where JSON belongs.
    NotJson,
    /// Accepts the request and never answers.
    Hang,
    /// The provider's JSON answer without `end_session_endpoint` (a provider without RP-initiated logout).
    NoEndSession,
}

type Rule = Option<(String, Fault)>;

/// A request the provider received: its path (no query) and `X-Request-ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub request_id: Option<String>,
}

pub struct FaultyProvider {
    pub addr: SocketAddr,
    rule: Arc<Mutex<Rule>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FaultyProvider {
    /// Starts the proxy in front of the provider listening on `idp`.
    pub async fn start(idp: SocketAddr) -> FaultyProvider {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rule: Arc<Mutex<Rule>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let shared = rule.clone();
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (rule, client, log) = (shared.clone(), client.clone(), log.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        log.lock().unwrap().push(Seen {
                            path: request.uri().path().to_owned(),
                            request_id: request
                                .headers()
                                .get("x-request-id")
                                .map(|v| v.to_str().unwrap_or("<not text>").to_owned()),
                        });
                        forward(request, idp, rule.clone(), client.clone())
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultyProvider { addr, rule, seen }
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// From now on, requests whose path ends with `path_suffix` get `fault`.
    pub fn fail(&self, path_suffix: &str, fault: Fault) {
        *self.rule.lock().unwrap() = Some((path_suffix.to_owned(), fault));
    }

    pub fn heal(&self) {
        *self.rule.lock().unwrap() = None;
    }
}

fn text(status: u16, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/html")
        .body(
            Full::new(Bytes::from_static(body.as_bytes()))
                .map_err(|e| match e {})
                .boxed(),
        )
        .unwrap()
}

async fn forward(
    mut request: Request<Incoming>,
    idp: SocketAddr,
    rule: Arc<Mutex<Rule>>,
    client: Client<HttpConnector, Incoming>,
) -> Result<Response<Body>, Infallible> {
    let fault = rule
        .lock()
        .unwrap()
        .as_ref()
        .filter(|(suffix, _)| request.uri().path().ends_with(suffix.as_str()))
        .map(|(_, fault)| *fault);
    match fault {
        Some(Fault::ServerError) => return Ok(text(503, "<h1>Service Unavailable</h1>")),
        Some(Fault::NotJson) => return Ok(text(200, "<html><body>maintenance</body></html>")),
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Some(Fault::NoEndSession) | None => {}
    }
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    *request.uri_mut() = format!("http://{idp}{path}").parse().unwrap();
    let response = match client.request(request).await {
        Ok(response) => response,
        Err(_) => return Ok(text(502, "<h1>Bad Gateway</h1>")),
    };
    if fault != Some(Fault::NoEndSession) {
        return Ok(response.map(|body| body.boxed()));
    }
    let (mut parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut document: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(object) = document.as_object_mut() {
        object.remove("end_session_endpoint");
    }
    parts.headers.remove("content-length");
    let body = Full::new(Bytes::from(document.to_string()));
    Ok(Response::from_parts(
        parts,
        body.map_err(|e| match e {}).boxed(),
    ))
}
