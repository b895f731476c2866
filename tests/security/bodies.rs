//! Request bodies sent to the gateway's own routes: a client that declares a huge body and then sends it a
//! byte at a time must not hold a request open, and a body of no declared length is read no further than
//! the route takes. Passthrough bodies are the provider's business and are not limited.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::raw::{exchange, metric_reaches, passthrough, status};
use crate::support::origin;
use crate::support::{Gateway, Idp, PUBLIC_HOST, Setup};

/// The largest body an `/sso/` route takes (the sign-in form).
const SSO_MAX_BODY: usize = 8 * 1024;

/// How long an answer may take while the body trickles in. Without the check the sign-in form waits for its
/// body for 10 s (its read timeout) and the other routes until the body ends; at one byte every 100 ms a
/// declared 100 MB never does.
const PROMPTLY: Duration = Duration::from_secs(5);

/// Sends `head`, then `chunk` every `pace` until the gateway answers; returns the response head and how long
/// it took from the end of `head`.
async fn trickle(
    gateway: &Gateway,
    head: &str,
    chunk: &[u8],
    pace: Duration,
) -> (String, Duration) {
    let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut read, mut write) = stream.split();
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut writing = true;
    loop {
        tokio::select! {
            read = read.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    response.extend_from_slice(&buffer[..n]);
                    if response.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            },
            _ = tokio::time::sleep(pace), if writing => {
                // The gateway may close its side of the connection while we are still sending.
                writing = write.write_all(chunk).await.is_ok();
            }
            _ = tokio::time::sleep(Duration::from_secs(30)) => panic!("no answer in 30 s to {head}"),
        }
    }
    (
        String::from_utf8_lossy(&response).into_owned(),
        started.elapsed(),
    )
}

fn head(method: &str, path: &str, framing: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n"
    )
}

async fn gateway() -> Gateway {
    let mut setup = Setup::new(Idp::shared().port);
    setup.webchat = Some(format!(
        "  secret: webchat-test-secret-0123456789abcdef\n  allowed_origins: [{}]\n",
        crate::support::APP_ORIGIN
    ));
    let gateway = Gateway::start(&setup);
    gateway.wait_ready().await;
    gateway
}

#[tokio::test]
async fn every_sso_route_answers_a_declared_body_over_its_limit_with_413_before_reading_it() {
    let gateway = gateway().await;
    let routes = [
        ("POST", "/sso/jwt/callback"),
        ("GET", "/sso/jwt/login?client_id=12344&state=s&nonce=n"),
        ("GET", "/sso/jwt/logout"),
        ("GET", "/sso/webchat/token"),
        ("POST", "/sso/webchat/token"),
        ("GET", "/sso/webchat/login"),
        ("GET", "/sso/webchat/widget.js"),
        ("PUT", "/sso/elsewhere"),
    ];
    for (method, path) in routes {
        let (response, took) = trickle(
            &gateway,
            &head(method, path, "Content-Length: 100000000\r\n"),
            b"a",
            Duration::from_millis(100),
        )
        .await;
        assert_eq!(status(&response), 413, "{method} {path}: {response}");
        assert!(
            response.to_ascii_lowercase().contains("connection: close"),
            "{response}"
        );
        assert!(took < PROMPTLY, "{method} {path} took {took:?}");
        eprintln!("{method} {path}: 413 after {took:?}");
    }
    assert!(
        metric_reaches(
            &gateway,
            &format!(
                "freshgate_requests_refused_total{{reason=\"body_too_large\"}} {}",
                routes.len()
            )
        )
        .await,
        "{}",
        gateway.metrics().await
    );

    // At the limit, the sign-in form is read as before (here: a form of nobody's, refused as such).
    let body = format!(
        "state=x&username=u&password={}",
        "p".repeat(SSO_MAX_BODY - 28)
    );
    assert_eq!(body.len(), SSO_MAX_BODY);
    let response = exchange(
        gateway.addr,
        &format!(
            "{}{body}",
            head(
                "POST",
                "/sso/jwt/callback",
                &format!(
                    "Content-Length: {}\r\nOrigin: http://{PUBLIC_HOST}\r\nConnection: close\r\n",
                    body.len()
                )
            )
        ),
    )
    .await;
    assert_eq!(status(&response), 400, "{response}");
}

#[tokio::test]
async fn a_sign_in_form_of_no_declared_length_is_read_no_further_than_the_limit() {
    let gateway = gateway().await;
    // Chunks of 1 KiB, one every 50 ms: past 8 KiB the form is refused without waiting for the rest.
    let chunk = format!("400\r\n{}\r\n", "a".repeat(1024));
    let (response, took) = trickle(
        &gateway,
        &head(
            "POST",
            "/sso/jwt/callback",
            &format!("Transfer-Encoding: chunked\r\nOrigin: http://{PUBLIC_HOST}\r\n"),
        ),
        chunk.as_bytes(),
        Duration::from_millis(50),
    )
    .await;
    assert_eq!(status(&response), 413, "{response}");
    assert!(took < PROMPTLY, "took {took:?}");
    assert!(gateway.has_logged("form_too_large"), "{}", gateway.logs());

    // The routes that read no body answer at once, whatever follows.
    let (response, took) = trickle(
        &gateway,
        &head(
            "GET",
            "/sso/webchat/widget.js",
            "Transfer-Encoding: chunked\r\n",
        ),
        b"1\r\na\r\n",
        Duration::from_millis(100),
    )
    .await;
    assert_eq!(status(&response), 200, "{response}");
    assert!(took < PROMPTLY, "took {took:?}");
}

#[tokio::test]
async fn passthrough_bodies_longer_than_the_sso_limit_still_reach_the_provider() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough(&origin));
    let body = "b".repeat(64 * 1024);
    let response = exchange(
        gateway.addr,
        &format!(
            "POST /upload HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status(&response), 200, "{response}");
    assert!(response.ends_with(&body.len().to_string()), "{response}");
}
