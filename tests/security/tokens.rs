//! Tokens that are validly signed but must not be believed: an ID token not valid yet, an access token
//! issued in the future, `email_verified` that is not a boolean; and a Web Chat `return_to` that passes an
//! origin check only by carrying user info.

use serde_json::{Map, Value, json};

use crate::raw::webchat_token;
use crate::support::malicious_provider::{Crafted, MaliciousProvider, SUBJECT, now};
use crate::support::{APP_ORIGIN, FRESHWORKS_REDIRECT, Gateway, PUBLIC_HOST, client};

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

async fn sign_in(gateway: &Gateway) -> (String, reqwest::Response) {
    let browser = gateway.browser();
    browser
        .follow(&browser.url("/sso/jwt/login?client_id=12344&state=s&nonce=n"))
        .await
}

#[tokio::test]
async fn an_id_token_that_is_not_valid_yet_is_refused() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup());
    gateway.wait_ready().await;
    provider.craft(Crafted {
        id_token: object(json!({"nbf": now() + 3600})),
        userinfo: None,
    });
    let (url, response) = sign_in(&gateway).await;
    assert!(!url.starts_with(FRESHWORKS_REDIRECT), "signed: {url}");
    assert_eq!(response.status(), 502);
    assert!(
        gateway.has_logged("nbf is in the future"),
        "{}",
        gateway.logs()
    );

    // Within the clock skew, and in the past, it is fine.
    for nbf in [now() + 30, now() - 60] {
        provider.craft(Crafted {
            id_token: object(json!({ "nbf": nbf })),
            userinfo: None,
        });
        let (url, _) = sign_in(&gateway).await;
        assert!(url.starts_with(FRESHWORKS_REDIRECT), "nbf {nbf}: {url}");
    }
}

#[tokio::test]
async fn an_access_token_issued_in_the_future_gets_no_web_chat_token() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup_with_webchat());
    gateway.wait_ready().await;
    let token = |iat: i64| {
        let mut claims = provider.access_token_claims();
        claims["iat"] = json!(iat);
        claims["email"] = json!("eve@example.com");
        claims["email_verified"] = json!(true);
        provider.sign_access_token(&claims)
    };
    let (status, body) = webchat_token(&gateway, &token(now() + 3600)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    assert!(
        gateway.has_logged("iat is in the future"),
        "{}",
        gateway.logs()
    );
    let (status, body) = webchat_token(&gateway, &token(now())).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn email_verified_as_the_string_true_counts_as_not_verified_from_every_source() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup_with_webchat());
    gateway.wait_ready().await;
    // In the ID token, and from userinfo about the ID token's own address: not a boolean, so not verified,
    // with the same page, status and reason either way.
    let refusals = "freshgate_logins_total{outcome=\"failure\",reason=\"email_not_verified\"}";
    for (i, crafted) in [
        Crafted {
            id_token: object(json!({"email_verified": "true"})),
            userinfo: None,
        },
        Crafted {
            id_token: object(json!({"email_verified": null})),
            userinfo: Some(
                json!({"sub": SUBJECT, "email": "eve@example.com", "email_verified": "true"}),
            ),
        },
    ]
    .into_iter()
    .enumerate()
    {
        provider.craft(crafted);
        let (url, response) = sign_in(&gateway).await;
        assert!(!url.starts_with(FRESHWORKS_REDIRECT), "{url}");
        assert_eq!(response.status(), 403, "{}", gateway.logs());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Your email address is not verified")
        );
        let metrics = gateway.metrics().await;
        assert!(
            metrics.contains(&format!("{refusals} {}", i + 1)),
            "{metrics}"
        );
    }

    // In an access token for Web Chat.
    let mut claims = provider.access_token_claims();
    claims["email"] = json!("eve@example.com");
    claims["email_verified"] = json!("true");
    let (status, body) = webchat_token(&gateway, &provider.sign_access_token(&claims)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("email_not_verified")),
        "{body}"
    );
    claims["email_verified"] = json!(true);
    let (status, body) = webchat_token(&gateway, &provider.sign_access_token(&claims)).await;
    assert_eq!(status, 200, "{body}");
}

/// The gateway reads the profile claims from the ID token itself (so that `email_verified: "true"` gets the
/// same refusal everywhere), but the provider's signature still covers them: one changed after signing voids
/// the token.
#[tokio::test]
async fn a_profile_claim_changed_after_signing_voids_the_id_token() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup());
    gateway.wait_ready().await;
    for altered in [
        json!({"email": "alice@example.com"}),
        json!({"email_verified": "true"}),
        json!({"name#de": "Alice"}),
    ] {
        provider.alter_after_signing(object(altered.clone()));
        let (url, response) = sign_in(&gateway).await;
        assert!(!url.starts_with(FRESHWORKS_REDIRECT), "{altered}: {url}");
        assert_eq!(response.status(), 502, "{altered}");
    }
    provider.alter_after_signing(Map::new());
    let (url, _) = sign_in(&gateway).await;
    assert!(url.starts_with(FRESHWORKS_REDIRECT), "{url}");
}

#[tokio::test]
async fn a_return_to_with_user_info_or_oversized_is_refused() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup_with_webchat());
    gateway.wait_ready().await;
    let browser = gateway.browser();
    let enc =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let long = format!("{APP_ORIGIN}/{}", "a".repeat(1024));
    for return_to in [
        "http://x@app.freshgate.test/".to_owned(),
        "http://app.freshgate.test:secret@app.freshgate.test/".to_owned(),
        "http://app.freshgate.test@evil.test/".to_owned(),
        long,
    ] {
        let response = browser
            .get(&browser.url(&format!("/sso/webchat/login?return_to={}", enc(&return_to))))
            .await;
        assert_eq!(response.status(), 400, "{return_to}");
        assert!(response.headers().get("location").is_none(), "{return_to}");
    }
    let ok = browser
        .get(&browser.url(&format!(
            "/sso/webchat/login?return_to={}",
            enc(&format!("{APP_ORIGIN}/chat"))
        )))
        .await;
    assert_eq!(ok.status(), 302);
}

#[tokio::test]
async fn junk_bearer_tokens_cost_the_provider_a_bounded_number_of_userinfo_calls() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup_with_webchat());
    gateway.wait_ready().await;
    // Tokens that cannot be bearer tokens are refused without asking the provider.
    for junk in ["not,a,token", "a=b", "tok\"en"] {
        let (status, body) = webchat_token(&gateway, junk).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_token")),
            "{junk}: {body}"
        );
    }
    assert_eq!(provider.userinfo_calls(), 0);

    // A flood of well-formed junk: the provider sees the burst and the sustained rate, the rest get 503.
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for round in 0..5 {
        let tokens: Vec<String> = (0..40).map(|i| format!("junk-{round}-{i}")).collect();
        let requests = tokens.iter().map(|token| webchat_token(&gateway, token));
        for (status, _) in futures_util::future::join_all(requests).await {
            statuses.push(status);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let calls = provider.userinfo_calls();
    let bound = 20.0 + 10.0 * elapsed + 1.0;
    assert!(
        (calls as f64) <= bound,
        "{calls} userinfo calls for 200 junk tokens in {elapsed:.1} s (bound {bound:.0})"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&503), "{statuses:?}");
    let busy = client()
        .get(format!("http://{}/sso/webchat/token", gateway.addr))
        .header("host", PUBLIC_HOST)
        .header("authorization", "Bearer one-more-junk-token")
        .send()
        .await
        .unwrap();
    if busy.status() == 503 {
        assert_eq!(busy.headers()["retry-after"], "1");
    }
}

/// The userinfo budget is the process's: a reload (which builds the Web Chat routes anew) does not refill it.
#[tokio::test]
async fn a_reload_does_not_refill_the_userinfo_budget_for_junk_tokens() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup_with_webchat());
    gateway.wait_ready().await;
    let flood = |round: usize| {
        let gateway = &gateway;
        async move {
            let requests = (0..40)
                .map(|i| async move { webchat_token(gateway, &format!("junk-{round}-{i}")).await });
            futures_util::future::join_all(requests).await
        }
    };
    flood(0).await;
    let spent = std::time::Instant::now();
    let before = provider.userinfo_calls();
    assert!(before >= 20, "the burst was used: {before}");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        crate::raw::metric_reaches(
            &gateway,
            "freshgate_config_reloads_total{result=\"success\"} 1"
        )
        .await,
        "{}",
        gateway.logs()
    );
    flood(1).await;
    // Only what the bucket refilled since it was emptied (10 a second), not a new burst of 20.
    let elapsed = spent.elapsed().as_secs_f64();
    let calls = provider.userinfo_calls() - before;
    let bound = 10.0 * elapsed + 1.0;
    assert!(
        (calls as f64) <= bound,
        "{calls} userinfo calls after the reload in {elapsed:.2} s (bound {bound:.1})"
    );
}
