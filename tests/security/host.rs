//! Host header poisoning (the provider builds links from the host it is given): the name forwarded is the
//! one checked, however the client spells it.

use http::Request;

use crate::raw::{exchange, h2, passthrough, status};
use crate::support::origin;
use crate::support::{Gateway, PUBLIC_HOST};

#[tokio::test]
async fn an_absolute_form_target_with_another_host_field_is_refused_and_never_forwarded() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough(&origin));
    let conflicting = exchange(
        gateway.addr,
        &format!(
            "GET http://{PUBLIC_HOST}/headers HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status(&conflicting), 400, "{conflicting}");
    assert!(conflicting.contains("conflicting_host"), "{conflicting}");
    let twice = exchange(
        gateway.addr,
        &format!(
            "GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status(&twice), 400, "{twice}");
    let foreign_target = exchange(
        gateway.addr,
        &format!(
            "GET http://evil.example/headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status(&foreign_target), 400, "{foreign_target}");
    assert!(
        !origin.gates.saw_path("/headers"),
        "a refused request reached the provider"
    );
    // The same target with an agreeing Host goes through, and the provider sees that host.
    let agreeing = exchange(
        gateway.addr,
        &format!(
            "GET http://{PUBLIC_HOST}/headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status(&agreeing), 200, "{agreeing}");
    assert!(
        agreeing.contains(&format!("\"host\":\"{PUBLIC_HOST}\"")),
        "{agreeing}"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_requests_refused_total{reason=\"conflicting_host\"} 2"),
        "{metrics}"
    );
    assert!(gateway.has_logged("conflicting_host"), "{}", gateway.logs());
}

#[tokio::test]
async fn an_http2_host_field_beside_a_valid_authority_is_refused() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough(&origin));
    let mut client = h2(gateway.addr).await;
    let poisoned = Request::get(format!("http://{PUBLIC_HOST}/headers"))
        .header("host", "evil.example")
        .body(())
        .unwrap();
    let (response, _) = client.send_request(poisoned, true).unwrap();
    assert_eq!(response.await.unwrap().status(), 400);
    assert!(!origin.gates.saw_path("/headers"));

    let clean = Request::get(format!("http://{PUBLIC_HOST}/headers"))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(clean, true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let seen: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(seen["headers"]["host"], PUBLIC_HOST);
    assert_eq!(seen["headers"]["x-forwarded-host"], PUBLIC_HOST);
}

#[tokio::test]
async fn without_preserve_host_the_forwarded_host_is_still_only_the_checked_one() {
    let origin = origin::start().await;
    let mut setup = passthrough(&origin);
    setup.upstream_extra = "  preserve_host: false\n".into();
    let gateway = Gateway::start(&setup);
    let response = exchange(
        gateway.addr,
        &format!(
            "GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status(&response), 200, "{response}");
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let seen: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(seen["headers"]["host"], origin.addr.to_string());
    assert_eq!(seen["headers"]["x-forwarded-host"], PUBLIC_HOST);
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_host_outside_the_allowed_names_is_refused() {
    let origin = origin::start().await;
    let mut setup = passthrough(&origin);
    setup.extra_top = "trusted_proxies: [127.0.0.0/8]\n".into();
    let gateway = Gateway::start(&setup);
    for field in [
        "X-Forwarded-Host: evil.example",
        "X-Forwarded-Host: sso.freshgate.test, evil.example",
        "Forwarded: for=203.0.113.9;host=evil.example",
    ] {
        let response = exchange(
            gateway.addr,
            &format!("GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n{field}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status(&response), 421, "{field}: {response}");
    }
    assert!(!origin.gates.saw_path("/headers"));
    let allowed = exchange(
        gateway.addr,
        &format!("GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nX-Forwarded-Host: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status(&allowed), 200, "{allowed}");
}
