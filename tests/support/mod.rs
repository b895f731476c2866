//! Shared test harness: real peers for the built gateway.
//!
//! - `Idp`: the project's OpenID provider test server (npm `oidc-provider`, tests/idp/server.mjs).
//! - `Gateway`: the built `freshgate` binary, started on 127.0.0.1 port 0 with a generated configuration,
//!   its JSON log captured (and checked for leaked secrets by the tests that care).
//! - `Browser`: an HTTP client with a cookie jar that resolves the public host to the gateway.
//! - `origin`: a plain HTTP origin server (hyper) for passthrough tests.
//! - `malicious_provider`: an OpenID provider (hyper, in the test process) that signs crafted ID tokens.
//! - `slapd`: the test directory (Debian's slapd with an AD-like schema, tests/ldap/slapd.sh).
//! - `kdc`: the test KDC (Debian's MIT krb5kdc with a throwaway realm, tests/krb5/kdc.sh).
//! - `haproxy`: Debian's HAProxy as the load balancer in front of replicas (the shutdown tests).
//! - `prometheus`: Debian's prometheus scraping a gateway, and promtool.
//! - `samba`: the test Active Directory (Debian's Samba AD DC with a throwaway domain, tests/samba/dc.sh).
//! - `ad_standin`: an LDAP server in the test process for what slapd cannot do like Active Directory (bind
//!   failure sub-codes, the in-chain matching rule).
//! - `redis`: Debian's `redis-server`; `always_ok`: a server that answers `+OK` to every command, which no
//!   real Redis does.
#![allow(dead_code)]

pub mod ad_standin;
pub mod always_ok;
pub mod faulty;
pub mod haproxy;
pub mod kdc;
pub mod lenient_upstream;
pub mod malicious_provider;
pub mod origin;
pub mod prometheus;
pub mod redis;
pub mod samba;
pub mod script;
pub mod slapd;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The public origin of gateway and provider in tests; clients resolve it to the gateway's port.
pub const PUBLIC_HOST: &str = "sso.freshgate.test";
pub const PUBLIC_ORIGIN: &str = "http://sso.freshgate.test";
pub const CLIENT_SECRET: &str = "freshgate-secret";
pub const FRESHWORKS_REDIRECT: &str = "http://acme.freshworks.test/sp/OIDC/12344/implicit";
pub const POST_LOGOUT: &str = "http://acme.freshworks.test/logged-out";
/// A web app that uses the same provider (Web Chat tests): its origin and its own redirect URI.
pub const APP_ORIGIN: &str = "http://app.freshgate.test";
pub const APP_CALLBACK: &str = "http://app.freshgate.test/callback";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_freshgate")
}

/// A signing key of its own at `path`, made as the README says (`freshgate keygen --out PATH`): a gateway
/// whose `public_url` is not local refuses the keys committed to the repository.
pub fn keygen(path: &Path) {
    let output = Command::new(binary())
        .args(["keygen", "--out"])
        .arg(path)
        .output()
        .expect("the freshgate binary runs");
    assert!(
        output.status.success(),
        "freshgate keygen --out {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running OpenID provider test server.
pub struct Idp {
    child: Child,
    /// Kept open: the server exits when it closes (the test process ended).
    _stdin: ChildStdin,
    pub port: u16,
}

impl Idp {
    /// Starts a provider on `port` (0: any free port).
    pub fn start(port: u16) -> Idp {
        Idp::start_at(port, PUBLIC_ORIGIN)
    }

    /// Starts a provider whose public origin is `origin` (e.g. `https://sso.freshgate.test`).
    pub fn start_at(port: u16, origin: &str) -> Idp {
        let mut child = Command::new("node")
            .arg(repo().join("tests/idp/server.mjs"))
            .args(["--port", &port.to_string(), "--origin", origin])
            .args([
                "--post-logout-redirect-uri",
                POST_LOGOUT,
                "--exit-on-stdin-close",
            ])
            .arg("--redirect-uri")
            .arg(format!("{origin}/sso/jwt/callback"))
            .args(["--redirect-uri", APP_CALLBACK])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs tests/idp/server.mjs (run `npm ci` first)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the provider prints its ready line");
        let ready: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("provider ready line: {line:?}"));
        let port = ready["port"].as_u64().expect("port in the ready line") as u16;
        let stdin = child.stdin.take().expect("piped stdin");
        Idp {
            child,
            _stdin: stdin,
            port,
        }
    }

    /// One provider shared by the tests of this binary that do not change its modes.
    pub fn shared() -> &'static Idp {
        static SHARED: OnceLock<Idp> = OnceLock::new();
        SHARED.get_or_init(|| Idp::start(0))
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Reads a test control (`GET /__admin/...`).
    pub async fn admin_get(&self, path: &str) -> Value {
        client()
            .get(format!("http://{}{path}", self.addr()))
            .send()
            .await
            .expect("provider admin endpoint answers")
            .json()
            .await
            .unwrap()
    }

    /// Calls a test control (`/__admin/...`).
    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let response = client()
            .post(format!("http://{}{path}", self.addr()))
            .json(&body)
            .send()
            .await
            .expect("provider admin endpoint answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain client (no cookies) trusting the development CA.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(rustls_client_config(Some(&repo().join("certs/dev-ca.pem"))))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub async fn get(url: String) -> reqwest::Response {
    client()
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// A port that was free a moment ago (for a provider that starts after the gateway).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a test gateway's configuration says; `yaml()` renders it.
#[derive(Clone)]
pub struct Setup {
    pub issuer_path: &'static str,
    pub idp_port: u16,
    pub proxy_to: Option<String>,
    pub tls: bool,
    pub extra_top: String,
    pub upstream_extra: String,
    pub freshworks: bool,
    /// Lines of a `webchat:` section (already indented), if any.
    pub webchat: Option<String>,
    pub claims: String,
    pub login_timeout: &'static str,
}

impl Setup {
    pub fn new(idp_port: u16) -> Setup {
        Setup {
            issuer_path: "/realms/acme",
            idp_port,
            proxy_to: None,
            tls: false,
            extra_top: String::new(),
            upstream_extra: String::new(),
            freshworks: true,
            webchat: None,
            claims: "    family_name: [family_name, { value: \"-\" }]\n".into(),
            login_timeout: "10m",
        }
    }

    pub fn yaml(&self) -> String {
        let repo = repo();
        let scheme = if self.tls { "https" } else { "http" };
        let mut yaml = format!(
            "listen: 127.0.0.1:0\npublic_url: {scheme}://{PUBLIC_HOST}\nadmin_listen: 127.0.0.1:0\n\
             log: {{ format: json, level: \"info\" }}\n\
             limits: {{ shutdown_grace: 5s, idle_timeout: 5s }}\n{}",
            self.extra_top
        );
        if self.tls {
            yaml += &format!(
                "tls:\n  cert_file: {}\n  key_file: {}\n",
                repo.join("certs/gateway.crt").display(),
                repo.join("certs/gateway.key").display()
            );
        }
        yaml += &format!(
            "upstream:\n  issuer: {scheme}://{PUBLIC_HOST}{}\n  backchannel_url: http://127.0.0.1:{}\n  client_id: freshgate\n  \
             client_secret: {CLIENT_SECRET}\n  scopes: [openid, email, profile, phone, address]\n  \
             connect_timeout: 2s\n  response_timeout: 2s\n{}",
            self.issuer_path, self.idp_port, self.upstream_extra
        );
        if let Some(proxy_to) = &self.proxy_to {
            yaml += &format!("  proxy_to: {proxy_to}\n");
        }
        if self.freshworks {
            yaml += &format!(
                "freshworks:\n  signing_key_file: {}\n  login_timeout: {}\n  accounts:\n    \"12344\":\n      \
                 redirect_url: {FRESHWORKS_REDIRECT}\n      logout_redirect_url: {POST_LOGOUT}\n  claims:\n{}",
                repo.join("certs/freshworks-signing.key").display(),
                self.login_timeout,
                self.claims
            );
        }
        if let Some(webchat) = &self.webchat {
            yaml += &format!("webchat:\n{webchat}");
        }
        yaml
    }
}

/// The listener name and address of a "listening" log line, in the JSON or the text format.
fn listening_line(line: &str) -> Option<(String, SocketAddr)> {
    if let Ok(value) = serde_json::from_str::<Value>(line) {
        if value["message"] != "listening" {
            return None;
        }
        let addr = value["addr"].as_str()?.parse().ok()?;
        return Some((value["listener"].as_str()?.to_owned(), addr));
    }
    // Text: `... INFO listening listener="gateway" addr=127.0.0.1:8080 ...`
    let rest = line.split_once(" listening ")?.1;
    let field = |name: &str| {
        let value = rest.split_once(&format!("{name}="))?.1;
        Some(value.split(' ').next()?.trim_matches('"').to_owned())
    };
    Some((field("listener")?, field("addr")?.parse().ok()?))
}

/// A running gateway process.
pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    pub admin: Option<SocketAddr>,
    logs: Arc<Mutex<Vec<String>>>,
    pub dir: tempfile::TempDir,
}

impl Gateway {
    pub fn start(setup: &Setup) -> Gateway {
        Gateway::start_yaml(&setup.yaml())
    }

    pub fn start_yaml(yaml: &str) -> Gateway {
        Gateway::start_wrapped(yaml, &[], &[])
    }

    /// `start_yaml` with these environment variables set for the gateway.
    pub fn start_yaml_with_env(yaml: &str, env: &[(&str, &str)]) -> Gateway {
        let env: Vec<(&str, Option<&str>)> = env.iter().map(|(k, v)| (*k, Some(*v))).collect();
        Gateway::start_wrapped(yaml, &[], &env)
    }

    /// `start_yaml`, with the binary started by the command `wrapper` (e.g. `prlimit --nofile=…`), which
    /// must run it in its own process (exec), so that the pid is the gateway's.
    pub fn start_yaml_through(yaml: &str, wrapper: &[&str]) -> Gateway {
        Gateway::start_wrapped(yaml, wrapper, &[])
    }

    /// A gateway run through `wrapper` (a program and its arguments that end by running the binary with
    /// the arguments after it, e.g. `unshare …`; none: the binary itself), with `env` set on it (a
    /// `None` value removes the variable).
    pub fn start_wrapped(yaml: &str, wrapper: &[&str], env: &[(&str, Option<&str>)]) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gateway.yaml");
        std::fs::File::create(&config)
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary());
                command
            }
            None => Command::new(binary()),
        };
        command
            .args(["serve", "-c"])
            .arg(&config)
            .env_remove("FRESHGATE_LOG");
        for (name, value) in env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the freshgate binary starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let logs = logs.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(listening) = listening_line(&line) {
                        let _ = tx.send(listening);
                    }
                    logs.lock().unwrap().push(line);
                }
            });
        }
        let mut addr = None;
        let mut admin = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        while addr.is_none() || (admin.is_none() && yaml.contains("admin_listen: 127")) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((listener, parsed)) => {
                    if listener == "gateway" {
                        addr = Some(parsed);
                    } else {
                        admin = Some(parsed);
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "gateway did not start:\n{}",
                        logs.lock().unwrap().join("\n")
                    );
                }
            }
        }
        Gateway {
            child,
            addr: addr.unwrap(),
            admin,
            logs,
            dir,
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits (up to 5 s) for a log line containing `text`: log lines arrive through a pipe, after the
    /// response that caused them.
    pub fn has_logged(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.logs().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The JSON log lines so far, parsed (lines that are not JSON are left out).
    pub fn json_lines(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The sign-in audit trail so far: the JSON log lines of target `freshgate::audit`.
    pub fn audit_events(&self) -> Vec<Value> {
        self.json_lines()
            .into_iter()
            .filter(|line| line["target"] == "freshgate::audit")
            .collect()
    }

    /// Waits (up to 10 s) until the audit trail holds `n` events, and returns them; log lines arrive
    /// through a pipe, after the response that caused them. More than `n` is returned as it is.
    pub fn wait_audit_events(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.audit_events();
            if events.len() >= n || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A browser: cookie jar, no automatic redirects, the public host resolved to this gateway.
    pub fn browser(&self) -> Browser {
        Browser::new(self.addr, false)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin.expect("admin listener"))
    }

    /// Waits until `/readyz` answers 200 (the provider was discovered).
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = client().get(self.admin_url("/readyz")).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gateway never became ready:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The admin listener's `/metrics` text.
    pub async fn metrics(&self) -> String {
        get(self.admin_url("/metrics")).await.text().await.unwrap()
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one audit event of the request `request_id` among `events` (there must be exactly one), after
/// checking the fields every event has: the request id, an outcome and reason, the client address and
/// the request's duration.
pub fn audit_event_of(events: &[Value], request_id: &str) -> Value {
    let matching: Vec<&Value> = events
        .iter()
        .filter(|event| event["request_id"] == request_id)
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "exactly one audit event for request {request_id}: {events:#?}"
    );
    let event = matching[0].clone();
    assert!(
        ["success", "refusal", "failure"].contains(&event["outcome"].as_str().unwrap_or("")),
        "{event}"
    );
    assert!(event["reason"].is_string(), "{event}");
    assert!(
        event["client"]
            .as_str()
            .is_some_and(|client| client.parse::<std::net::IpAddr>().is_ok()),
        "{event}"
    );
    assert!(
        event["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{event}"
    );
    event
}

/// The `X-Request-ID` of a response.
pub fn request_id_of(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The browser's part, played by an HTTP client with a cookie jar.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub tls: bool,
}

pub fn rustls_client_config(extra_root: Option<&Path>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = extra_root {
        let pem = std::fs::read(path).unwrap();
        for cert in
            <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::pem_slice_iter(
                &pem,
            )
        {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

impl Browser {
    pub fn new(gateway: SocketAddr, tls: bool) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(rustls_client_config(Some(&repo().join("certs/dev-ca.pem"))))
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .resolve(PUBLIC_HOST, gateway)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Browser { client, jar, tls }
    }

    /// The `Cookie` header this browser would send to `url`.
    pub fn cookies_for(&self, url: &str) -> String {
        use reqwest::cookie::CookieStore;
        self.jar
            .cookies(&url::Url::parse(url).unwrap())
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{PUBLIC_HOST}{path}")
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// Follows redirects while they stay on the public host; returns the last response and its URL.
    pub async fn follow(&self, start: &str) -> (String, reqwest::Response) {
        let mut url = start.to_owned();
        for _ in 0..20 {
            let response = self.get(&url).await;
            let Some(location) = redirect_target(&url, &response) else {
                return (url, response);
            };
            if !on_public_host(&location) {
                return (location, response);
            }
            url = location;
        }
        panic!("too many redirects from {start}");
    }

    /// From Freshworks' Login URL to the provider's login form: returns the form's action URL.
    pub async fn open_login_form(&self, login_query: &str) -> String {
        self.open_form_from(&self.url(&format!("/sso/jwt/login?{login_query}")))
            .await
    }

    /// Follows redirects from `start` to the provider's login page; returns the form's action URL.
    pub async fn open_form_from(&self, start: &str) -> String {
        let (url, response) = self.follow(start).await;
        assert_eq!(
            response.status(),
            200,
            "expected the provider's login page at {url}"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Sign in to Acme"),
            "not the login page: {html}"
        );
        let action = html
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the login form has an action")
            .replace("&amp;", "&");
        absolute(&url, &action)
    }

    /// Submits the provider's login form; follows until the browser leaves the public host, returning the
    /// URL it is sent to (Freshworks' redirect) or the page it ends on.
    pub async fn submit_credentials(
        &self,
        action: &str,
        username: &str,
        password: &str,
    ) -> (String, reqwest::Response) {
        let response = self.post_credentials(action, username, password).await;
        match redirect_target(action, &response) {
            Some(location) if on_public_host(&location) => self.follow(&location).await,
            Some(location) => (location, response),
            None => (action.to_owned(), response),
        }
    }

    /// POSTs the provider's login form, following nothing.
    async fn post_credentials(
        &self,
        action: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        self.client
            .post(action)
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    pub async fn cancel(&self, action: &str) -> (String, reqwest::Response) {
        let response = self
            .client
            .post(action)
            .form(&[("cancel", "1")])
            .send()
            .await
            .unwrap();
        let location = redirect_target(action, &response).expect("cancel redirects");
        self.follow(&location).await
    }

    /// Logs in at the provider but stops before the gateway's callback: returns the callback URL (with the
    /// provider's code and our state) that the browser would open next.
    pub async fn login_until_callback(
        &self,
        login_query: &str,
        username: &str,
        password: &str,
    ) -> String {
        let action = self.open_login_form(login_query).await;
        self.submit_until_callback(&action, username, password)
            .await
    }

    /// Submits an open login form and follows the provider's redirects up to (not into) the callback.
    pub async fn submit_until_callback(
        &self,
        action: &str,
        username: &str,
        password: &str,
    ) -> String {
        let response = self.post_credentials(action, username, password).await;
        let mut url = redirect_target(action, &response).expect("the login form redirects");
        for _ in 0..10 {
            if url.contains("/sso/jwt/callback") {
                return url;
            }
            let response = self.get(&url).await;
            url = redirect_target(&url, &response)
                .unwrap_or_else(|| panic!("no redirect from {url}"));
        }
        panic!("never reached the callback");
    }

    /// The whole login: returns the Freshworks redirect URL.
    pub async fn login(&self, login_query: &str, username: &str, password: &str) -> String {
        let action = self.open_login_form(login_query).await;
        let (url, response) = self.submit_credentials(&action, username, password).await;
        assert!(
            url.starts_with(FRESHWORKS_REDIRECT),
            "login did not end at Freshworks but at {url} ({})",
            response.status()
        );
        url
    }
}

fn on_public_host(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h == PUBLIC_HOST))
        == Some(true)
}

fn redirect_target(from: &str, response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get("location")?.to_str().ok()?;
    Some(absolute(from, location))
}

fn absolute(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// Query parameters of a URL.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Verifies a JWT with the independent implementation (npm `jose`), returning header and payload.
pub fn verify_jwt_independently(
    token: &str,
    public_key_pem: &Path,
) -> Result<(Value, Value), String> {
    let output = Command::new("node")
        .arg(repo().join("tests/idp/verify-jwt.mjs"))
        .args(["--alg", "RS256", "--public-key-file"])
        .arg(public_key_pem)
        .args(["--token", token])
        .output()
        .expect("node runs verify-jwt.mjs");
    let value: Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("{e}: {output:?}"))?;
    if output.status.success() {
        Ok((value["header"].clone(), value["payload"].clone()))
    } else {
        Err(value["error"].as_str().unwrap_or("?").to_owned())
    }
}

/// The payload of a JWT, unverified: for tokens the provider checks itself (an `id_token_hint`).
pub fn jwt_payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("a JSON payload")
}

/// A fresh random-looking value for Freshworks' state and nonce.
pub fn random(label: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}{t:x}{n}")
}

/// The callback path and `Cookie` header of a provider login for the account `12344` that started 11
/// minutes ago, sealed with `cookie_key` as a gateway with that `session.cookie_key_file` seals it: older
/// than the default `login_timeout`.
pub fn expired_pending_login(cookie_key: &[u8; 32]) -> (String, String) {
    use freshgate::login::pending::{Method, PendingJar, PendingLogin, Target};
    let started = std::time::SystemTime::now() - Duration::from_secs(11 * 60);
    let started_secs = started
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let jar = PendingJar::new(cookie_key, false);
    let pending = PendingLogin {
        state: "ExpiredStateAAAAAAAAAAAAAAAAAAAA".into(),
        started_ms: started_secs * 1000,
        method: Method::Oidc {
            nonce: "n".into(),
            pkce_verifier: "v".into(),
        },
        target: Target::Freshworks {
            account: "12344".into(),
            state: "fs".into(),
            nonce: "fn".into(),
        },
    };
    (
        format!("/sso/jwt/callback?state={}&code=c", pending.state),
        format!("{}={}", jar.name(&pending.state), jar.seal(&pending)),
    )
}
