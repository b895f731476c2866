//! The sign-in audit trail of Web Chat: browser sessions (the provider's callback) and token requests,
//! one event per attempt; and an attempt whose client goes away before its answer.

use std::time::Duration;

use serde_json::Value;

use crate::Stack;
use crate::audit::{ENDPOINT, Expect, ISSUER, assert_no_secret, check_trail};
use crate::support::faulty::Fault;
use crate::support::{APP_ORIGIN, Browser};

const WEBCHAT_SECRET: &str = "webchat-test-secret-0123456789abcdef";

#[tokio::test]
async fn web_chat_sessions_and_tokens_write_one_event_per_attempt_and_preflights_none() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), WEBCHAT_SECRET).unwrap();
    let webchat = format!(
        "  secret_file: {}\n  allowed_origins: [{APP_ORIGIN}]\n  ttl: 5m\n",
        secret.path().display()
    );
    let stack = Stack::start_with("", "", Some(webchat)).await;
    let gateway = &stack.gateway;
    let mut expected = Vec::new();
    let return_to = format!("{APP_ORIGIN}/support");
    let login_url = |browser: &Browser| {
        browser.url(&format!(
            "/sso/webchat/login?return_to={}",
            url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        ))
    };

    // A browser session: the provider login's callback is the attempt.
    let browser = gateway.browser();
    let action = browser.open_form_from(&login_url(&browser)).await;
    let callback = browser
        .submit_until_callback(&action, "alice", "alice-password")
        .await;
    let session = browser.get(&callback).await;
    assert_eq!(session.status(), 302);
    expected.push(
        Expect::new(&session, "success", "ok")
            .with("kind", "webchat_session")
            .with("method", "oidc")
            .with("subject", "alice-0001")
            .with("issuer", ISSUER)
            .with("email", "alice@example.com")
            .without(&["account"]),
    );
    // carol has no email: the session is refused.
    let refused_browser = gateway.browser();
    let action = refused_browser
        .open_form_from(&login_url(&refused_browser))
        .await;
    let callback = refused_browser
        .submit_until_callback(&action, "carol", "carol-password")
        .await;
    let refused = refused_browser.get(&callback).await;
    assert_eq!(refused.status(), 403);
    expected.push(
        Expect::new(&refused, "refusal", "missing_claim")
            .with("kind", "webchat_session")
            .with("subject", "carol-0004"),
    );
    // A return_to outside the allowed origins ends the login at its start.
    let bad = browser
        .get(&browser.url("/sso/webchat/login?return_to=http%3A%2F%2Fevil.example%2F"))
        .await;
    assert_eq!(bad.status(), 400);
    expected.push(
        Expect::new(&bad, "failure", "bad_return_to")
            .with("kind", "webchat_session")
            .with("method", "oidc"),
    );

    // Tokens: each GET is an attempt.
    let ask = |browser: &Browser, origin: &'static str, bearer: Option<&'static str>| {
        let mut request = browser
            .client
            .get(browser.url("/sso/webchat/token"))
            .header("origin", origin)
            .header("x-freshgate-webchat", "1");
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };
    let minted = ask(&browser, APP_ORIGIN, None).await.unwrap();
    assert_eq!(minted.status(), 200);
    let token: Value = {
        let expect = Expect::new(&minted, "success", "ok")
            .with("kind", "webchat_token")
            .with("method", "webchat_token")
            .with("credential", "session")
            .with("email", "alice@example.com");
        expected.push(expect);
        minted.json().await.unwrap()
    };
    let junk = ask(&gateway.browser(), APP_ORIGIN, Some("junk.not.a-token"))
        .await
        .unwrap();
    assert_eq!(junk.status(), 401);
    expected.push(
        Expect::new(&junk, "failure", "invalid_token")
            .with("credential", "bearer")
            .without(&["subject", "email"]),
    );
    let nothing = ask(&gateway.browser(), APP_ORIGIN, None).await.unwrap();
    assert_eq!(nothing.status(), 401);
    expected.push(Expect::new(&nothing, "failure", "no_credentials").without(&["credential"]));
    let foreign = ask(&browser, "http://evil.example", None).await.unwrap();
    assert_eq!(foreign.status(), 403);
    expected.push(Expect::new(&foreign, "failure", "origin_not_allowed"));
    // A CORS preflight asks nothing of anyone.
    let preflight = browser
        .client
        .request(reqwest::Method::OPTIONS, browser.url("/sso/webchat/token"))
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);

    check_trail(gateway, &expected);
    assert_no_secret(
        gateway,
        &[
            token["token"].as_str().unwrap().to_owned(),
            WEBCHAT_SECRET.to_owned(),
            "junk.not.a-token".to_owned(),
            "alice-password".to_owned(),
        ],
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_login_request_duration_seconds_count{method=\"webchat_token\",outcome=\"failure\"} 3\n"
        ),
        "{metrics}"
    );
}

/// A client that goes away while the gateway waits for the provider still leaves its attempt in the
/// trail, once. Over HTTP/2 a closed connection makes hyper drop the request (over HTTP/1.1 the gateway
/// finishes it, and the event has the real outcome).
#[tokio::test]
async fn an_attempt_whose_client_goes_away_is_still_in_the_trail_once() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), WEBCHAT_SECRET).unwrap();
    let webchat = format!(
        "  secret_file: {}\n  allowed_origins: [{APP_ORIGIN}]\n",
        secret.path().display()
    );
    let stack = Stack::start_with("", "", Some(webchat)).await;
    let gateway = &stack.gateway;
    stack
        .provider
        .fail(&format!("{ENDPOINT}/userinfo"), Fault::Hang);
    // curl over HTTP/2 (prior knowledge), giving up after 0.3 s: it closes the connection.
    let impatient = std::process::Command::new("curl")
        .args(["-sS", "--http2-prior-knowledge", "--max-time", "0.3"])
        .args([
            "-H",
            "Authorization: Bearer an-opaque-access-token-0123456789",
        ])
        .arg("--connect-to")
        .arg(format!(
            "{}:80:{}",
            crate::support::PUBLIC_HOST,
            gateway.addr
        ))
        .arg(format!(
            "{}/sso/webchat/token",
            crate::support::PUBLIC_ORIGIN
        ))
        .output()
        .expect("curl runs");
    assert_eq!(
        impatient.status.code(),
        Some(28),
        "curl timed out: {impatient:?}"
    );
    let events = gateway.wait_audit_events(1);
    assert_eq!(events.len(), 1, "{}", gateway.logs());
    let event = &events[0];
    assert_eq!(event["outcome"], "failure", "{event}");
    assert_eq!(event["reason"], "client_closed", "{event}");
    assert_eq!(event["method"], "webchat_token", "{event}");
    assert_eq!(event["credential"], "bearer", "{event}");
    // Nothing more arrives when the provider call would have timed out.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(gateway.audit_events().len(), 1);
    assert!(!gateway.logs().contains("an-opaque-access-token"));
}
