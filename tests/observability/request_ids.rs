//! `X-Request-ID` from the edge to the provider: a trusted proxy's id is the request's id everywhere (the
//! response, the pages, every log line, every request the gateway makes for it); anyone else's is
//! replaced and never reaches a log line or the provider.

use serde_json::Value;

use crate::support::{audit_event_of, random, request_id_of};
use crate::{Stack, login_query};

/// Trusts the test client's address, as a gateway behind an ingress trusts the ingress.
const TRUST_LOCALHOST: &str = "trusted_proxies: [127.0.0.1/32]\n";

#[tokio::test]
async fn a_trusted_proxys_request_id_reaches_the_provider_the_response_the_page_and_every_log_line()
{
    let stack = Stack::start(TRUST_LOCALHOST).await;
    // Userinfo too: the provider keeps the claims out of the ID token.
    stack
        .idp
        .admin(
            "/__admin/claims-mode",
            serde_json::json!({"mode": "userinfo"}),
        )
        .await;
    let gateway = &stack.gateway;
    let lines_before = gateway.json_lines().len();
    let browser = gateway.browser();
    let (state, nonce) = (random("state-"), random("nonce-"));

    let start = browser
        .client
        .get(browser.url(&format!("/sso/jwt/login?{}", login_query(&state, &nonce))))
        .header("x-request-id", "edge-login-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 302);
    assert_eq!(request_id_of(&start), "edge-login-0001");
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    let page = browser
        .client
        .get(&authorize)
        .header("x-request-id", "edge-page-0002")
        .send()
        .await
        .unwrap();
    assert_eq!(
        request_id_of(&page),
        "edge-page-0002",
        "passthrough answers carry it"
    );

    let callback = browser
        .login_until_callback(&login_query(&state, &nonce), "alice", "alice-password")
        .await;
    let done = browser
        .client
        .get(&callback)
        .header("x-request-id", "3f2a9c1e-7b4d-4e8a-9f00-1234567890ab")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 302, "{}", gateway.logs());
    let callback_id = "3f2a9c1e-7b4d-4e8a-9f00-1234567890ab";
    assert_eq!(request_id_of(&done), callback_id);

    // The provider saw the edge's ids: on the page passed through, and on the back channel's token and
    // userinfo calls made for the callback.
    let seen = stack.provider.requests();
    let ids_for = |suffix: &str| -> Vec<Option<String>> {
        seen.iter()
            .filter(|s| s.path.ends_with(suffix))
            .map(|s| s.request_id.clone())
            .collect()
    };
    assert!(
        seen.iter()
            .any(|s| s.request_id.as_deref() == Some("edge-page-0002")),
        "{seen:#?}"
    );
    assert_eq!(
        ids_for("/token"),
        [Some(callback_id.to_owned())],
        "{seen:#?}"
    );
    assert_eq!(
        ids_for("/userinfo"),
        [Some(callback_id.to_owned())],
        "{seen:#?}"
    );
    assert!(
        seen.iter().all(|s| s.request_id.is_some()),
        "every request to the provider has an id: {seen:#?}"
    );
    // The start-up discovery carried an id of its own, which its log line names.
    let discovery_id = seen
        .iter()
        .find(|s| s.path.ends_with("/.well-known/openid-configuration"))
        .and_then(|s| s.request_id.clone())
        .expect("discovery was fetched with an id");
    assert!(gateway.has_logged("provider discovery and JWKS loaded"));
    let loaded = gateway
        .json_lines()
        .into_iter()
        .find(|line| line["message"] == "provider discovery and JWKS loaded")
        .unwrap();
    assert_eq!(loaded["request_id"], discovery_id.as_str());

    // Every line the gateway wrote about these requests names its request, and the callback's lines,
    // down to the audit event, name the edge's id.
    let events = gateway.wait_audit_events(1);
    let event = audit_event_of(&events, callback_id);
    // The access log line is written after the response.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !gateway
        .json_lines()
        .iter()
        .any(|line| line["request_id"] == callback_id && line["message"] == "request")
    {
        assert!(std::time::Instant::now() < deadline, "{}", gateway.logs());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        event["client"], "203.0.113.9",
        "the client behind the trusted proxy"
    );
    let lines = gateway.json_lines();
    let new = &lines[lines_before..];
    for line in new {
        assert!(
            line["request_id"].as_str().is_some_and(|id| !id.is_empty()),
            "a line without its request id: {line}"
        );
    }
    let callback_lines: Vec<&Value> = new
        .iter()
        .filter(|line| line["request_id"] == callback_id)
        .collect();
    let messages: Vec<&str> = callback_lines
        .iter()
        .filter_map(|line| line["message"].as_str())
        .collect();
    assert!(messages.contains(&"request"), "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("login succeeded; signed token")),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"login succeeded"),
        "the audit event: {messages:?}"
    );

    // A page shows it too.
    let refused = browser
        .client
        .get(browser.url("/sso/jwt/callback"))
        .header("x-request-id", "edge-page-error-0003")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(request_id_of(&refused), "edge-page-error-0003");
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("request id <code>edge-page-error-0003</code>"),
        "{html}"
    );
}

#[tokio::test]
async fn an_untrusted_peers_request_id_is_replaced_and_never_reaches_a_log_line_or_the_provider() {
    let stack = Stack::start("").await;
    let gateway = &stack.gateway;
    let browser = gateway.browser();
    let chosen = "client-chosen-id-4242";
    let response = browser
        .client
        .get(browser.url("/realms/acme/.well-known/openid-configuration"))
        .header("x-request-id", chosen)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = request_id_of(&response);
    assert_ne!(id, chosen);
    assert!(
        id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    let seen = stack.provider.requests();
    let last = seen.last().unwrap();
    assert_eq!(
        last.request_id.as_deref(),
        Some(id.as_str()),
        "the provider gets the gateway's id, not the client's: {seen:#?}"
    );
    // A sign-in route, whose lines come from deep down too.
    let refused = browser
        .client
        .get(browser.url("/sso/jwt/login?client_id=12344"))
        .header("x-request-id", chosen)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let refused_id = request_id_of(&refused);
    assert_ne!(refused_id, chosen);
    assert!(refused.text().await.unwrap().contains(&refused_id));
    assert!(gateway.has_logged(&refused_id));
    assert!(
        !gateway.logs().contains(chosen)
            && !seen.iter().any(|s| s.request_id.as_deref() == Some(chosen)),
        "the client's id is nowhere:\n{}",
        gateway.logs()
    );
}

#[tokio::test]
async fn an_unusable_id_from_a_trusted_proxy_is_replaced_and_never_logged() {
    let stack = Stack::start(TRUST_LOCALHOST).await;
    let gateway = &stack.gateway;
    let browser = gateway.browser();
    let long = "x".repeat(65);
    for unusable in [
        "has spaces and <script>alert(1)</script>",
        long.as_str(),
        "line\tbreak",
    ] {
        let response = browser
            .client
            .get(browser.url("/sso/jwt/login"))
            .header("x-request-id", unusable)
            .send()
            .await
            .unwrap();
        let id = request_id_of(&response);
        assert_ne!(id, unusable);
        assert_eq!(id.len(), 16, "{id}");
        let page = response.text().await.unwrap();
        assert!(page.contains(&id) && !page.contains(unusable));
        assert!(gateway.has_logged(&id));
    }
    assert!(gateway.has_logged("a trusted proxy sent an X-Request-ID that is not"));
    let logs = gateway.logs();
    assert!(!logs.contains("<script>") && !logs.contains(&long) && !logs.contains("line\\tbreak"));
    // One warning, not one per request.
    assert_eq!(
        logs.matches("a trusted proxy sent an X-Request-ID").count(),
        1
    );
}

/// Two `X-Request-ID` fields are no id: neither is believed.
#[tokio::test]
async fn two_request_ids_from_a_trusted_proxy_are_replaced() {
    let stack = Stack::start(TRUST_LOCALHOST).await;
    let browser = stack.gateway.browser();
    let response = browser
        .client
        .get(browser.url("/sso/jwt/login"))
        .header("x-request-id", "first-0001")
        .header("x-request-id", "second-0002")
        .send()
        .await
        .unwrap();
    let id = request_id_of(&response);
    assert!(
        id != "first-0001" && id != "second-0002" && id.len() == 16,
        "{id}"
    );
}
