//! `freshgate simulate`: Freshworks' side of the JWT SSO handshake, to prove a setup before switching the
//! real Freshworks account over.
//!
//! It serves a small portal whose "Log in" button sends the browser to the gateway's Login URL with a fresh
//! random `state` and `nonce` (in either request shape), receives the redirect back on the account's
//! `redirect_url`, checks the token as Freshworks documents (`verdict.rs`), and shows the verdict as a page
//! and on stdout.

mod pages;
pub mod verdict;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::net::TcpListener;

use crate::body::Body;
use crate::clock::unix_now;
use crate::config::{Config, Limits, ProcessEnv, validate};
use crate::keys::SigningKey;
use crate::metrics::Metrics;
use crate::security_headers::{self, Answer};
use crate::server::{ConnInfo, Handler, Listener};

/// Where the simulator listens when neither `--listen` nor the account's redirect URL says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9911";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// `module_id`, `state`, `nonce`, `grant_type=implicit`, `scope` (Freshworks' JWT SSO article)
    Seed,
    /// `client_id`, `state`, `nonce`, `response_type=id_token`, `scope`, `redirect_uri` (current accounts)
    Current,
}

pub struct Options<'a> {
    pub config: &'a Path,
    pub account: Option<String>,
    pub listen: Option<SocketAddr>,
    pub shape: Shape,
    /// Verify with this public key (PEM, or the bare base64 body pasted into Freshworks) instead of the one
    /// derived from `freshworks.signing_key_file`.
    pub public_key: Option<std::path::PathBuf>,
}

struct SentLogin {
    nonce: String,
    sent_at: i64,
}

pub struct Simulator {
    login_url: String,
    account: String,
    redirect_url: url::Url,
    /// (label, PEM): the key in use, and during a rollover the staged one.
    public_keys: Vec<(String, String)>,
    shape: Shape,
    sent: Mutex<HashMap<String, SentLogin>>,
}

pub fn main(options: Options<'_>) -> ExitCode {
    let config = match validate::load(options.config, &ProcessEnv) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    let (simulator, listen) = match Simulator::from_config(&config, &options) {
        Ok(built) => built,
        Err(problem) => {
            eprintln!("freshgate simulate: {problem}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("the async runtime starts");
    runtime.block_on(async move {
        let listener = match TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("freshgate simulate: cannot listen on {listen}: {e}; use --listen");
                return ExitCode::from(2);
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        println!(
            "Freshworks simulator for account {} on http://{addr}/",
            simulator.account
        );
        println!("  Login URL (gateway):   {}", simulator.login_url);
        println!("  Redirect URL (here):   {}", simulator.redirect_url);
        println!("Open http://{addr}/ and press \"Log in\". Ctrl-C stops.");
        let (stop, stopped) = crate::server::drain::Lifecycle::new();
        let server = tokio::spawn(
            Listener {
                name: "simulator",
                listener,
                tls: None,
                limits: Limits::default(),
                per_ip: crate::server::per_ip::PerIp::new(0, Vec::new()),
                handler: Arc::new(simulator),
                metrics: Arc::new(Metrics::new()),
            }
            .run(stopped),
        );
        let _ = tokio::signal::ctrl_c().await;
        stop.stop();
        let _ = server.await;
        ExitCode::SUCCESS
    })
}

impl Simulator {
    fn from_config(
        config: &Config,
        options: &Options<'_>,
    ) -> Result<(Simulator, SocketAddr), String> {
        let freshworks = config.freshworks.as_ref().ok_or_else(|| {
            format!(
                "{} has no `freshworks` section: there is nothing to simulate",
                config.source.display()
            )
        })?;
        let listen_hint = options.listen;
        let account = match &options.account {
            Some(id) => freshworks
                .accounts
                .get(id)
                .ok_or_else(|| format!("no account `{id}` in freshworks.accounts"))?,
            None => {
                let local: Vec<_> = freshworks
                    .accounts
                    .values()
                    .filter(|a| listen_of(&a.redirect_url).is_some())
                    .collect();
                match (local.as_slice(), freshworks.accounts.len()) {
                    ([only], _) => *only,
                    (_, 1) => freshworks.accounts.values().next().expect("one account"),
                    _ => return Err("several accounts are configured; choose one with --account ID (add one whose redirect_url points at the simulator, e.g. http://127.0.0.1:9911/sso/callback)".into()),
                }
            }
        };
        let listen = match listen_hint.or_else(|| listen_of(&account.redirect_url)) {
            Some(listen) => listen,
            None => {
                return Err(format!(
                    "account {} redirects to {}, which is not this machine; add an account whose redirect_url is http://{DEFAULT_LISTEN}/sso/callback (docs/simulate.md) and pass --account",
                    account.id, account.redirect_url
                ));
            }
        };
        let mut public_keys = vec![match &options.public_key {
            Some(path) => (String::new(), read_public_key(path)?),
            None => (
                String::new(),
                SigningKey::load(&freshworks.signing_key_file)
                    .map_err(|e| e.to_string())?
                    .public_key_pem(),
            ),
        }];
        // During a rollover Freshworks may hold either key: a token signed by the staged one passes too.
        if options.public_key.is_none()
            && let Some(next) = &freshworks.next_signing_key_file
        {
            let next = SigningKey::load(next)
                .map_err(|e| format!("freshworks.next_signing_key_file: {e}"))?;
            public_keys[0].0 = "the key in use".into();
            public_keys.push(("the staged next key".into(), next.public_key_pem()));
        }
        let simulator = Simulator {
            login_url: config.public("/sso/jwt/login"),
            account: account.id.clone(),
            redirect_url: account.redirect_url.clone(),
            public_keys,
            shape: options.shape,
            sent: Mutex::new(HashMap::new()),
        };
        Ok((simulator, listen))
    }

    /// The gateway's Login URL with a fresh state and nonce, as Freshworks builds it.
    fn login_request(&self, shape: Shape) -> String {
        let state = random_alphanumeric(24);
        let nonce = random_alphanumeric(24);
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).insert(
            state.clone(),
            SentLogin {
                nonce: nonce.clone(),
                sent_at: unix_now() as i64,
            },
        );
        let mut url = url::Url::parse(&self.login_url).expect("public_url makes a valid URL");
        {
            let mut query = url.query_pairs_mut();
            match shape {
                Shape::Seed => {
                    query
                        .append_pair("module_id", &self.account)
                        .append_pair("state", &state)
                        .append_pair("nonce", &nonce)
                        .append_pair("grant_type", "implicit")
                        .append_pair("scope", "profile openid email");
                }
                Shape::Current => {
                    query
                        .append_pair("client_id", &self.account)
                        .append_pair("state", &state)
                        .append_pair("nonce", &nonce)
                        .append_pair("response_type", "id_token")
                        .append_pair("scope", "openid email profile")
                        .append_pair("redirect_uri", self.redirect_url.as_str());
                }
            }
        }
        url.to_string()
    }

    fn receive(&self, query: Option<&str>) -> verdict::Verdict {
        let params: HashMap<String, String> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        // Each state is used once, as Freshworks would.
        let sent = params.get("state").and_then(|state| {
            self.sent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(state)
        });
        let sent = sent.as_ref().map(|s| verdict::Sent {
            nonce: &s.nonce,
            sent_at: s.sent_at,
        });
        let keys: Vec<(&str, &str)> = self
            .public_keys
            .iter()
            .map(|(label, pem)| (label.as_str(), pem.as_str()))
            .collect();
        verdict::check_with_keys(&params, sent, &keys, unix_now() as i64)
    }
}

impl Handler for Simulator {
    async fn handle(&self, request: Request<Incoming>, _conn: ConnInfo) -> Response<Body> {
        let path = request.uri().path();
        if path == self.redirect_url.path() {
            let verdict = self.receive(request.uri().query());
            print!("{}", pages::verdict_text(&verdict));
            let status = if verdict.passed() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return html(status, pages::verdict_page(&verdict));
        }
        match path {
            "/" => html(
                StatusCode::OK,
                pages::portal(&self.account, &self.login_url, self.shape),
            ),
            "/login" => {
                let shape = match request.uri().query() {
                    Some(q) if q.contains("shape=seed") => Shape::Seed,
                    Some(q) if q.contains("shape=current") => Shape::Current,
                    _ => self.shape,
                };
                redirect(&self.login_request(shape))
            }
            _ => html(StatusCode::NOT_FOUND, pages::not_found()),
        }
    }
}

/// The simulated portal's redirect to the gateway's Login URL.
pub(crate) fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    security_headers::set(response.headers_mut(), Answer::Plain);
    response
}

pub(crate) fn html(status: StatusCode, body: String) -> Response<Body> {
    let content_type = "text/html; charset=utf-8";
    security_headers::response(status, content_type, body, Answer::Plain)
}

/// The simulator can serve a redirect URL on this machine: an IP literal or `localhost` host.
fn listen_of(url: &url::Url) -> Option<SocketAddr> {
    let port = url.port_or_known_default()?;
    match url.host()? {
        url::Host::Ipv4(ip) => Some(SocketAddr::from((ip, port))),
        url::Host::Ipv6(ip) => Some(SocketAddr::from((ip, port))),
        url::Host::Domain("localhost") => Some(SocketAddr::from(([127, 0, 0, 1], port))),
        url::Host::Domain(_) => None,
    }
}

/// A public key as PEM, or as the bare base64 body that Freshworks' form holds.
fn read_public_key(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--public-key {}: {e}", path.display()))?;
    let pem = if text.contains("-----BEGIN PUBLIC KEY-----") {
        text
    } else {
        let body: String = text.split_whitespace().collect();
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or(""))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    };
    jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
        format!("--public-key {}: not an RSA public key ({e}); give the PEM or the base64 body pasted into Freshworks", path.display())
    })?;
    Ok(pem)
}

/// Freshworks' nonce is "a random alpha-numeric string".
fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random number generator works");
    bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}
