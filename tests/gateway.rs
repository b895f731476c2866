//! Gateway core against real peers: a plain HTTP origin, the OpenID provider test server, and the built
//! `freshgate` binary.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use support::{Gateway, Idp, Setup, origin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn passthrough_setup(origin: &origin::Origin) -> Setup {
    let mut setup = Setup::new(Idp::shared().port);
    setup.proxy_to = Some(origin.url());
    setup
}

#[tokio::test]
async fn get_is_passed_through_with_host_preserved_and_forwarding_headers_set() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    let response = browser.get(&browser.url("/headers?x=1")).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("x-origin-hop").is_none(),
        "hop-by-hop named in Connection leaked"
    );
    assert!(response.headers().get("keep-alive").is_none());
    assert_eq!(response.headers()["x-origin-end"], "kept");
    let seen: serde_json::Value = response.json().await.unwrap();
    assert_eq!(seen["uri"], "/headers?x=1");
    assert_eq!(seen["headers"]["host"], support::PUBLIC_HOST);
    assert_eq!(seen["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "http");
    assert_eq!(seen["headers"]["x-forwarded-host"], support::PUBLIC_HOST);
}

#[tokio::test]
async fn hop_by_hop_headers_and_the_gateways_cookies_do_not_reach_the_provider() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    let response = browser
        .client
        .get(browser.url("/headers"))
        .header("connection", "keep-alive, x-client-hop")
        .header("x-client-hop", "1")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .header("te", "trailers")
        .header("x-end-to-end", "kept")
        .header(
            "cookie",
            "KEYCLOAK_SESSION=abc; freshgate-login-AAAA=sealed; __Host-freshgate-login-BBBB=sealed",
        )
        .send()
        .await
        .unwrap();
    let seen: serde_json::Value = response.json().await.unwrap();
    let headers = &seen["headers"];
    for gone in ["x-client-hop", "proxy-authorization", "te"] {
        assert!(
            headers.get(gone).is_none(),
            "{gone} reached the origin: {headers}"
        );
    }
    assert_eq!(headers["x-end-to-end"], "kept");
    assert_eq!(headers["cookie"], "KEYCLOAK_SESSION=abc");
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_replaced_not_believed() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    let response = browser
        .client
        .get(browser.url("/headers"))
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "for=6.6.6.6;host=evil.example")
        .header("x-real-ip", "6.6.6.6")
        .send()
        .await
        .unwrap();
    let seen: serde_json::Value = response.json().await.unwrap();
    let headers = &seen["headers"];
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-host"], support::PUBLIC_HOST);
    assert!(headers.get("forwarded").is_none());
    assert!(headers.get("x-real-ip").is_none());
}

#[tokio::test]
async fn forwarding_headers_from_a_trusted_proxy_are_kept_and_extended() {
    let origin = origin::start().await;
    let mut setup = passthrough_setup(&origin);
    setup.extra_top = "trusted_proxies: [127.0.0.0/8]\n".into();
    let gateway = Gateway::start(&setup);
    let browser = gateway.browser();
    let response = browser
        .client
        .get(browser.url("/headers"))
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "SSO.freshgate.test")
        .header("x-forwarded-port", "443")
        .send()
        .await
        .unwrap();
    let seen: serde_json::Value = response.json().await.unwrap();
    assert_eq!(seen["headers"]["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
    assert_eq!(seen["headers"]["x-forwarded-host"], "SSO.freshgate.test");
    assert_eq!(seen["headers"]["x-forwarded-port"], "443");
}

#[tokio::test]
async fn a_one_mebibyte_post_is_echoed_intact() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    let body: Vec<u8> = (0..1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    let response = browser
        .client
        .post(browser.url("/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = response.bytes().await.unwrap();
    assert_eq!(echoed.len(), body.len());
    assert!(
        echoed.as_ref() == body.as_slice(),
        "the echoed body differs"
    );
}

#[tokio::test]
async fn the_response_body_streams_to_the_client_before_the_origin_finishes_it() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    let mut response = browser.get(&browser.url("/stream")).await;
    // The origin sends its second chunk only after we saw the first: a buffering proxy deadlocks here.
    let first = tokio::time::timeout(Duration::from_secs(5), response.chunk())
        .await
        .expect("the first chunk arrives while the origin still holds the rest")
        .unwrap()
        .unwrap();
    assert_eq!(first.as_ref(), b"first;");
    origin.gates.client_saw_first_chunk.notify_one();
    let rest = tokio::time::timeout(Duration::from_secs(5), response.bytes())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest.as_ref(), b"second");
}

#[tokio::test]
async fn the_request_body_streams_to_the_origin_before_the_client_finishes_it() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(futures_util::stream::poll_fn({
        let mut rx = rx;
        move |cx| rx.poll_recv(cx)
    }));
    let request = tokio::spawn(
        browser
            .client
            .post(browser.url("/upload"))
            .body(body)
            .send(),
    );
    tx.send(Ok(vec![b'a'; 512 * 1024])).await.unwrap();
    // The rest is sent only once the origin got the first half: a buffering proxy deadlocks here.
    tokio::time::timeout(
        Duration::from_secs(5),
        origin.gates.origin_saw_first_chunk.notified(),
    )
    .await
    .expect("the origin receives the first chunk while the client still holds the rest");
    tx.send(Ok(vec![b'b'; 512 * 1024])).await.unwrap();
    drop(tx);
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.text().await.unwrap(), (1024 * 1024).to_string());
}

type WebSocket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens a WebSocket to the origin's echo endpoint through the gateway.
async fn open_websocket(gateway: &Gateway) -> WebSocket {
    let stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{}/ws", support::PUBLIC_HOST),
    )
    .unwrap();
    let (ws, response) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    ws
}

#[tokio::test]
async fn websocket_upgrades_are_tunnelled_to_the_provider() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let mut ws = open_websocket(&gateway).await;
    ws.send("hello".into()).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo:hello");
    ws.send("again".into()).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo:again");
}

/// A passthrough gateway whose idle timeout is one second.
fn quick_idle_gateway(origin: &origin::Origin) -> Gateway {
    let yaml = passthrough_setup(origin)
        .yaml()
        .replace("idle_timeout: 5s", "idle_timeout: 1s");
    Gateway::start_yaml(&yaml)
}

#[tokio::test]
async fn an_idle_websocket_tunnel_is_closed_after_the_idle_timeout() {
    let origin = origin::start().await;
    let gateway = quick_idle_gateway(&origin);
    let mut ws = open_websocket(&gateway).await;
    ws.send("hello".into()).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo:hello");
    // Silence: the tunnel has left hyper's timers, so the gateway's own idle check must end it.
    let end = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("the idle tunnel was closed");
    assert!(
        !matches!(end, Some(Ok(ref m)) if m.is_text()),
        "no message, only the end: {end:?}"
    );
}

#[tokio::test]
async fn upgrades_other_than_websocket_are_passed_on_as_plain_requests() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    stream
        .write_all(
            format!(
                "GET /headers HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade, HTTP2-Settings\r\n\
                 Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
                support::PUBLIC_HOST
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let seen: serde_json::Value = serde_json::from_str(body).unwrap();
    let headers = seen["headers"].as_object().unwrap();
    assert!(
        !headers.contains_key("upgrade") && !headers.contains_key("http2-settings"),
        "{headers:?}"
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_a_response_is_dropped_after_two_idle_timeouts() {
    let origin = origin::start().await;
    let gateway = quick_idle_gateway(&origin);
    let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    stream
        .write_all(
            format!(
                "GET /large HTTP/1.1\r\nHost: {}\r\n\r\n",
                support::PUBLIC_HOST
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // The client never reads: the gateway's writes stall, the connection goes quiet, graceful close
    // cannot finish the response, and a second idle timeout drops the connection.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut opened = false;
    loop {
        let metrics = gateway.metrics().await;
        opened |= metrics.contains("freshgate_connections_open 1");
        if opened && metrics.contains("freshgate_connections_open 0") {
            assert!(
                metrics.contains("freshgate_connections_closed_total{reason=\"stalled\"} 2"),
                "asked to close, then dropped:\n{metrics}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled connection is still open:\n{metrics}\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(stream);
}

/// Sends a raw HTTP/1.1 GET with the given `Host` and returns the status code.
async fn status_for_host(gateway: &Gateway, path: &str, host: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn requests_for_another_host_get_a_421_page_and_never_reach_the_provider() {
    let origin = origin::start().await;
    let mut setup = passthrough_setup(&origin);
    setup.extra_top = "allowed_hosts: [sso.internal.test, \"10.0.0.5:8443\"]\n".into();
    let gateway = Gateway::start(&setup);
    // Host header poisoning: a provider that builds links from Host would mail them to evil.example.
    for (path, host) in [
        ("/headers", "evil.example"),
        ("/headers", "sso.freshgate.test.evil.example"),
        ("/headers", "sso.freshgate.test:8443"),
        (
            "/sso/jwt/login?client_id=12344&state=s&nonce=n",
            "evil.example",
        ),
    ] {
        assert_eq!(
            status_for_host(&gateway, path, host).await,
            421,
            "{host}{path}"
        );
    }
    for host in [
        "sso.freshgate.test",
        "SSO.freshgate.test:80",
        "sso.internal.test:1234",
        "10.0.0.5:8443",
    ] {
        assert_eq!(
            status_for_host(&gateway, "/headers", host).await,
            200,
            "{host}"
        );
    }
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_requests_total{route=\"refused\",status=\"421\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("freshgate_requests_refused_total{reason=\"misdirected_request\"} 4"),
        "{metrics}"
    );
    assert!(
        gateway.has_logged("misdirected_request"),
        "{}",
        gateway.logs()
    );

    let mut any = passthrough_setup(&origin);
    any.extra_top = "allowed_hosts: [\"*\"]\n".into();
    let gateway = Gateway::start(&any);
    assert_eq!(
        status_for_host(&gateway, "/headers", "anything.example").await,
        200
    );
}

#[tokio::test]
async fn an_unreachable_provider_gets_a_502_page_and_the_gateway_keeps_serving() {
    let mut setup = Setup::new(Idp::shared().port);
    setup.proxy_to = Some(format!("http://127.0.0.1:{}", support::free_port()));
    let gateway = Gateway::start(&setup);
    let browser = gateway.browser();
    for _ in 0..2 {
        let response = browser.get(&browser.url("/realms/acme/account")).await;
        assert_eq!(response.status(), 502);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = response.text().await.unwrap();
        assert!(
            html.contains("The sign-in service is not reachable"),
            "{html}"
        );
        assert!(html.contains(&request_id));
        assert!(
            !html.contains("Connection refused"),
            "internal detail on the page: {html}"
        );
    }
    let json = browser
        .client
        .get(browser.url("/api"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 502);
    let value: serde_json::Value = json.json().await.unwrap();
    assert_eq!(value["error"], "provider_unreachable");
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_requests_total{route=\"passthrough\",status=\"502\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("freshgate_upstream_errors_total{kind=\"unreachable\"} 3"),
        "{metrics}"
    );
    assert!(
        gateway.has_logged("passthrough failed"),
        "{}",
        gateway.logs()
    );
}

#[tokio::test]
async fn a_provider_slower_than_response_timeout_gets_a_504_page() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    let started = std::time::Instant::now();
    let response = browser.get(&browser.url("/slow")).await;
    assert_eq!(response.status(), 504);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the 2 s response_timeout was not applied"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("too slow to answer")
    );
    // Still serving.
    assert_eq!(browser.get(&browser.url("/headers")).await.status(), 200);
}

#[tokio::test]
async fn http2_over_tls_is_negotiated_and_passed_through() {
    let origin = origin::start().await;
    let mut setup = passthrough_setup(&origin);
    setup.tls = true;
    let gateway = Gateway::start(&setup);
    let browser = support::Browser::new(gateway.addr, true);
    let response = browser.get(&browser.url("/headers")).await;
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let seen: serde_json::Value = response.json().await.unwrap();
    assert_eq!(seen["version"], "HTTP/1.1", "the upstream hop is HTTP/1.1");
    assert_eq!(
        seen["headers"]["host"],
        support::PUBLIC_HOST,
        "h2 :authority becomes Host"
    );
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
    let body: Vec<u8> = vec![7; 300 * 1024];
    let echoed = browser
        .client
        .post(browser.url("/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.bytes().await.unwrap().len(), body.len());
}

#[tokio::test]
async fn readiness_reports_the_missing_provider_until_it_comes_up() {
    let port = support::free_port();
    let mut setup = Setup::new(port);
    setup.issuer_path = "/realms/acme";
    let gateway = Gateway::start(&setup);
    // Until the first discovery attempt has failed the reason says "not fetched yet"; after
    // it, the reason names the discovery URL. Both are 503s; wait for the second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let response = support::get(gateway.admin_url("/readyz")).await;
        assert_eq!(response.status(), 503);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["ready"], false);
        assert_eq!(body["checks"]["signing_key"], "ok");
        let reasons = body["reasons"].to_string();
        if reasons.contains("openid-configuration") {
            break;
        }
        assert!(
            reasons.contains("not been fetched yet"),
            "unexpected reason: {reasons}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the failed discovery was never reported: {reasons}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        support::get(gateway.admin_url("/healthz")).await.status(),
        200
    );
    let browser = gateway.browser();
    assert_eq!(
        browser.get(&browser.url("/realms/acme")).await.status(),
        502
    );
    let login = browser
        .get(&browser.url("/sso/jwt/login?client_id=12344&state=s&nonce=n"))
        .await;
    assert_eq!(
        login.status(),
        503,
        "a login before the provider is up gets a clear page"
    );

    let _idp = Idp::start(port);
    gateway.wait_ready().await;
    let body: serde_json::Value = support::get(gateway.admin_url("/readyz"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["checks"]["provider"], "ok");
    let metrics = gateway.metrics().await;
    assert!(metrics.contains("freshgate_provider_ready 1"));
}

#[tokio::test]
async fn paths_under_sso_are_never_passed_through() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    for path in ["/sso/", "/sso/headers", "/sso/jwt/login/x"] {
        let response = browser.get(&browser.url(path)).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("not one of the sign-in gateway")
        );
    }
}

#[tokio::test]
async fn oversized_request_headers_are_refused() {
    let origin = origin::start().await;
    let mut setup = passthrough_setup(&origin);
    setup.extra_top = "limits: { max_header_bytes: 16KiB }\n".into();
    let yaml = setup
        .yaml()
        .replace("limits: { shutdown_grace: 5s, idle_timeout: 5s }\n", "");
    let gateway = Gateway::start_yaml(&yaml);
    let browser = gateway.browser();
    let big = "a".repeat(40 * 1024);
    let response = browser
        .client
        .get(browser.url("/headers"))
        .header("x-big", big)
        .send()
        .await;
    match response {
        Ok(response) => assert_eq!(response.status(), 431),
        Err(e) => assert!(e.is_request() || e.is_connect(), "{e}"),
    }
    assert_eq!(browser.get(&browser.url("/headers")).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_in_flight_requests_finish_and_exits_zero() {
    let origin = origin::start().await;
    let mut gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    let in_flight = tokio::spawn(browser.client.get(browser.url("/delay")).send());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = tokio::task::block_in_place(|| gateway.terminate());
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        gateway.logs()
    );
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request finished");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "finished");
    assert!(gateway.has_logged("shutting down"), "{}", gateway.logs());
}

#[tokio::test]
async fn access_logs_carry_a_request_id_and_never_a_query_string() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough_setup(&origin));
    let browser = gateway.browser();
    browser
        .get(&browser.url("/headers?session_code=SECRET-CODE-123"))
        .await;
    browser
        .get(&browser.url("/sso/jwt/login?client_id=12344&state=SECRET-STATE&nonce=SECRET-NONCE"))
        .await;
    assert!(gateway.has_logged("\"path\":\"/sso/jwt/login\""));
    let logs = gateway.logs();
    for secret in [
        "SECRET-CODE-123",
        "SECRET-STATE",
        "SECRET-NONCE",
        support::CLIENT_SECRET,
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
    let line = logs
        .lines()
        .find(|l| l.contains("\"path\":\"/headers\""))
        .expect("an access log line for /headers");
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(value["request_id"].as_str().unwrap().len(), 16);
    assert_eq!(value["status"], 200);
}
