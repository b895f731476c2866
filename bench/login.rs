//! Gateway CPU per whole Freshworks login, the provider's CPU excluded.
//!
//! Starts the project's OpenID provider test server (tests/idp/, npm `oidc-provider`) and the release
//! gateway, then drives N logins the way the issue measured them: Freshworks' Login URL and the callback
//! (code exchange, ID-token check, RS256 signing) go through the gateway, while the provider's own pages
//! (authorization endpoint, login form) are fetched from the provider directly, so that passthrough of its
//! HTML is not counted as login cost. The gateway's CPU is its utime+stime from /proc/<pid>/stat, read
//! before and after; the provider runs in another process and is not in it.
//!
//!     bench/login                     # 300 logins, access log on (the default configuration)
//!     bench/login --logins 1000 --quiet --threads 1
//!
//! It prints numbers; it asserts nothing about them.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{FRESHWORKS_REDIRECT, Gateway, Idp, PUBLIC_HOST, Setup};

const REDIRECT_ENCODED: &str = "http%3A%2F%2Facme.freshworks.test%2Fsp%2FOIDC%2F12344%2Fimplicit";

fn main() {
    let mut logins = 300usize;
    let mut quiet = false;
    let mut threads: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--logins" => {
                logins = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=100_000).contains(n))
                    .expect("--logins takes a number from 1 to 100000")
            }
            "--quiet" => quiet = true,
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=256).contains(n))
                    .map(Some)
                    .expect("--threads takes a number from 1 to 256")
            }
            // `cargo bench` passes `--bench`; anything else is a mistake.
            "--bench" => {}
            other => panic!("unknown argument {other}; use --logins N, --quiet and --threads N"),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(logins, quiet, threads));
}

async fn run(logins: usize, quiet: bool, threads: Option<usize>) {
    let idp = Idp::start(0);
    let mut yaml = Setup::new(idp.port).yaml();
    if quiet {
        yaml = yaml.replace(
            "log: { format: json, level: \"info\" }",
            "log: { format: json, level: \"info\", access_log: false }",
        );
    }
    if let Some(threads) = threads {
        yaml = yaml.replace(
            "limits: { ",
            &format!("limits: {{ worker_threads: {threads}, "),
        );
    }
    let gateway = Gateway::start_yaml(&yaml);
    gateway.wait_ready().await;

    let provider_addr = format!("127.0.0.1:{}", idp.port).parse().unwrap();
    // Each login is a new browser (its own cookie jar), so each one signs in at the provider's form.
    let browser = || {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        (client(&jar, gateway.addr), client(&jar, provider_addr))
    };

    // One login first: discovery, JWKS and pooled connections are in place before counting.
    let (to_gateway, to_provider) = browser();
    login(&to_gateway, &to_provider, 0).await;
    let cpu_before = cpu_seconds(gateway.pid());
    let started = Instant::now();
    for n in 1..=logins {
        let (to_gateway, to_provider) = browser();
        login(&to_gateway, &to_provider, n).await;
    }
    let wall = started.elapsed();
    let cpu = cpu_seconds(gateway.pid()) - cpu_before;
    println!(
        "{logins} logins in {:.1} s ({}, worker_threads {}): gateway CPU {:.0} ms in all, {:.3} ms per login",
        wall.as_secs_f64(),
        if quiet {
            "access log off"
        } else {
            "access log on"
        },
        threads.map_or("default".to_owned(), |n| n.to_string()),
        cpu * 1e3,
        cpu * 1e3 / logins as f64
    );
    let per_login_ms = cpu * 1e3 / logins as f64;
    println!(
        "target (README, Performance): at most {TARGET_MS} ms of gateway CPU per login: {} ({:.2}× the target)",
        if per_login_ms <= TARGET_MS {
            "met"
        } else {
            "not met"
        },
        per_login_ms / TARGET_MS
    );
}

/// Gateway CPU per whole login the project aims at (README, "Performance").
const TARGET_MS: f64 = 0.6;

fn client(jar: &Arc<reqwest::cookie::Jar>, to: std::net::SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(support::rustls_client_config(None))
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .resolve(PUBLIC_HOST, to)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// One login: Login URL (gateway), the provider's pages and form (provider), callback (gateway).
async fn login(gateway: &reqwest::Client, provider: &reqwest::Client, n: usize) {
    let public = format!("http://{PUBLIC_HOST}");
    let start = format!(
        "{public}/sso/jwt/login?client_id=12344&state=bench-state-{n}&nonce=bench-nonce-{n}\
         &response_type=id_token&scope=openid%20email%20profile&redirect_uri={REDIRECT_ENCODED}"
    );
    let mut url = location(&start, gateway.get(&start).send().await.unwrap());
    // The provider's redirects up to its login form.
    let form = loop {
        let response = provider.get(&url).send().await.unwrap();
        if response.status().is_redirection() {
            url = location(&url, response);
            continue;
        }
        let html = response.text().await.unwrap();
        let action = html
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no login form at {url}"))
            .replace("&amp;", "&");
        break join(&url, &action);
    };
    let response = provider
        .post(&form)
        .form(&[("username", "alice"), ("password", "alice-password")])
        .send()
        .await
        .unwrap();
    url = location(&form, response);
    while !url.contains("/sso/jwt/callback") {
        url = location(&url, provider.get(&url).send().await.unwrap());
    }
    let done = location(&url, gateway.get(&url).send().await.unwrap());
    assert!(
        done.starts_with(FRESHWORKS_REDIRECT) && done.contains("id_token="),
        "login {n} did not end at Freshworks with a token: {done}"
    );
}

fn location(from: &str, response: reqwest::Response) -> String {
    let status = response.status();
    let to = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{from}: {status} without a redirect"));
    join(from, to)
}

fn join(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// utime + stime of a process, all its threads, in seconds (/proc/<pid>/stat fields 14 and 15).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the gateway runs");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux for /proc, whatever the kernel's internal tick.
    ticks as f64 / 100.0
}
