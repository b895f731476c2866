//! A malicious OpenID provider in the test process: discovery, JWKS, an authorization endpoint that
//! approves at once, a token endpoint and userinfo, all serving what the test crafted. Its ID tokens are
//! validly signed (RS256, with a key it generates and publishes in its JWKS), so only the gateway's own
//! checks of their content stand between them and a signed Freshworks token.
//!
//! It runs on a thread of its own, so tests may block (the harness waits for log lines that way) while the
//! gateway talks to it. Its issuer is `PUBLIC_ORIGIN` + `ISSUER_PATH`; start a gateway with
//! `Setup::new(provider.port)` and `issuer_path = ISSUER_PATH`, so browsers reach it through the gateway and
//! the gateway's back channel goes to `127.0.0.1:<port>`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use super::{APP_ORIGIN, PUBLIC_ORIGIN, Setup};

/// The Web Chat widget secret of `setup_with_webchat`.
pub const WEBCHAT_SECRET: &str = "webchat-test-secret-0123456789abcdef";

/// Where the provider's issuer lives on the public origin.
pub const ISSUER_PATH: &str = "/realms/evil";
/// The user every crafted token names unless the test says otherwise.
pub const SUBJECT: &str = "eve-0001";
const KID: &str = "evil-key-1";

/// What the provider says about the user.
#[derive(Clone, Default)]
pub struct Crafted {
    /// ID token claims added to (or replacing) the protocol ones; `null` removes a claim.
    pub id_token: Map<String, Value>,
    /// The userinfo answer for any access token; `None`: 401.
    pub userinfo: Option<Value>,
}

struct Shared {
    issuer: String,
    key: EncodingKey,
    jwks: Value,
    crafted: Mutex<Crafted>,
    /// Claims changed in the ID token's payload after it was signed (the signature kept).
    altered: Mutex<Map<String, Value>>,
    /// Authorization code -> the nonce of its request.
    codes: Mutex<HashMap<String, String>>,
    userinfo_calls: AtomicUsize,
}

pub struct MaliciousProvider {
    pub port: u16,
    shared: Arc<Shared>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl MaliciousProvider {
    pub fn start() -> MaliciousProvider {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
        );
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(KID.into());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        let shared = Arc::new(Shared {
            issuer: format!("{PUBLIC_ORIGIN}{ISSUER_PATH}"),
            key,
            jwks: json!({ "keys": [jwk] }),
            crafted: Mutex::new(Crafted::default()),
            altered: Mutex::new(Map::new()),
            codes: Mutex::new(HashMap::new()),
            userinfo_calls: AtomicUsize::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = stopped => {}
                    _ = serve(listener, serving) => {}
                }
            });
        });
        MaliciousProvider {
            port,
            shared,
            _stop: stop,
        }
    }

    /// A gateway configuration with this provider as its upstream.
    pub fn setup(&self) -> Setup {
        let mut setup = Setup::new(self.port);
        setup.issuer_path = ISSUER_PATH;
        setup
    }

    /// `setup()` with a Web Chat section (no audience: opaque tokens are checked at userinfo).
    pub fn setup_with_webchat(&self) -> Setup {
        let mut setup = self.setup();
        setup.webchat = Some(format!(
            "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [{APP_ORIGIN}]\n"
        ));
        setup
    }

    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// What the next tokens and userinfo answers say.
    pub fn craft(&self, crafted: Crafted) {
        *self.shared.crafted.lock().unwrap() = crafted;
    }

    /// Claims the next ID tokens have changed after signing: their signature no longer matches.
    pub fn alter_after_signing(&self, claims: Map<String, Value>) {
        *self.shared.altered.lock().unwrap() = claims;
    }

    pub fn userinfo_calls(&self) -> usize {
        self.shared.userinfo_calls.load(Ordering::SeqCst)
    }

    /// Signs `claims` as they are, with `typ: at+jwt` (an access token for Web Chat).
    pub fn sign_access_token(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, claims, &self.shared.key).unwrap()
    }

    /// The claims of an ordinary access token for `SUBJECT`, issued now.
    pub fn access_token_claims(&self) -> Value {
        json!({
            "iss": self.issuer(),
            "sub": SUBJECT,
            "aud": "https://api.acme.test",
            "iat": now(),
            "exp": now() + 300,
        })
    }
}

impl Shared {
    fn id_token(&self, nonce: &str) -> String {
        let mut claims = json!({
            "iss": self.issuer,
            "sub": SUBJECT,
            "aud": "freshgate",
            "iat": now(),
            "exp": now() + 300,
            "nonce": nonce,
            "email": "eve@example.com",
            "email_verified": true,
            "given_name": "Eve",
            "family_name": "Evil",
        });
        let object = claims.as_object_mut().unwrap();
        for (name, value) in &self.crafted.lock().unwrap().id_token {
            if value.is_null() {
                object.remove(name);
            } else {
                object.insert(name.clone(), value.clone());
            }
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        let token = jsonwebtoken::encode(&header, &claims, &self.key).unwrap();
        let altered = self.altered.lock().unwrap().clone();
        if altered.is_empty() {
            return token;
        }
        let object = claims.as_object_mut().unwrap();
        object.extend(altered);
        let parts: Vec<&str> = token.split('.').collect();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims).unwrap());
        format!("{}.{payload}.{}", parts[0], parts[2])
    }

    fn discovery(&self) -> Value {
        let at = |path: &str| format!("{}{path}", self.issuer);
        json!({
            "issuer": self.issuer,
            "authorization_endpoint": at("/authorize"),
            "token_endpoint": at("/token"),
            "userinfo_endpoint": at("/userinfo"),
            "jwks_uri": at("/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        })
    }
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| handle(request, shared.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request
        .uri()
        .path()
        .strip_prefix(ISSUER_PATH)
        .unwrap_or("")
        .to_owned();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let response = match path.as_str() {
        "/.well-known/openid-configuration" => answer(StatusCode::OK, shared.discovery()),
        "/jwks" => answer(StatusCode::OK, shared.jwks.clone()),
        // Approves every request at once: the login page is not what these tests are about.
        "/authorize" => {
            let code = format!("code-{}", super::random("c"));
            let nonce = query.get("nonce").cloned().unwrap_or_default();
            shared.codes.lock().unwrap().insert(code.clone(), nonce);
            let mut target = url::Url::parse(&query["redirect_uri"]).unwrap();
            target
                .query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", query.get("state").map_or("", String::as_str));
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::FOUND;
            response
                .headers_mut()
                .insert("location", target.as_str().parse().unwrap());
            response
        }
        "/token" => {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let form: HashMap<String, String> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            let nonce = form
                .get("code")
                .and_then(|code| shared.codes.lock().unwrap().remove(code));
            match nonce {
                Some(nonce) => answer(
                    StatusCode::OK,
                    json!({
                        "access_token": "opaque-access-token",
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": shared.id_token(&nonce),
                    }),
                ),
                None => answer(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})),
            }
        }
        "/userinfo" => {
            shared.userinfo_calls.fetch_add(1, Ordering::SeqCst);
            match shared.crafted.lock().unwrap().userinfo.clone() {
                Some(claims) => answer(StatusCode::OK, claims),
                None => answer(StatusCode::UNAUTHORIZED, json!({"error": "invalid_token"})),
            }
        }
        _ => answer(StatusCode::NOT_FOUND, json!({"error": "not_found"})),
    };
    Ok(response)
}
