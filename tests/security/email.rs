//! Email shape and source: Freshworks and Freshdesk open the account an address names, so only a single
//! address is ever signed, and `email_verified` is believed only about the address it came with.

use serde_json::{Map, Value, json};

use crate::raw::webchat_token;
use crate::support::malicious_provider::{Crafted, MaliciousProvider, SUBJECT};
use crate::support::{APP_ORIGIN, FRESHWORKS_REDIRECT, Gateway, query};

const LOGIN: &str = "/sso/jwt/login?client_id=12344&state=s&nonce=n";

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// Signs in through the gateway against `provider`; returns where the browser ends and the last response.
async fn sign_in(gateway: &Gateway) -> (String, reqwest::Response) {
    let browser = gateway.browser();
    browser.follow(&browser.url(LOGIN)).await
}

/// The email address in the Freshworks token of a finished login, checked by the independent verifier.
fn signed_email(redirect: &str) -> Value {
    assert!(redirect.starts_with(FRESHWORKS_REDIRECT), "{redirect}");
    let (_, payload) = crate::support::verify_jwt_independently(
        &query(redirect)["id_token"],
        &crate::support::repo().join("certs/freshworks-signing.pub.pem"),
    )
    .expect("jose verifies the token");
    payload["email"].clone()
}

async fn assert_refused(gateway: &Gateway, url: String, response: reqwest::Response, reason: &str) {
    assert!(
        !url.starts_with(FRESHWORKS_REDIRECT),
        "signed and sent: {url}"
    );
    assert_eq!(response.status(), 403, "{url}");
    assert!(!response.text().await.unwrap().contains("id_token"));
    assert!(
        gateway
            .metrics()
            .await
            .contains(&format!("reason=\"{reason}\"}} 1")),
        "{}",
        gateway.logs()
    );
}

#[tokio::test]
async fn an_address_list_with_email_verified_true_is_never_signed() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup());
    gateway.wait_ready().await;
    for list in [
        "alice@example.com, bob@evil.test",
        "Alice <alice@example.com>",
        "alice@example.com@evil.test",
    ] {
        provider.craft(Crafted {
            id_token: object(json!({"email": list, "email_verified": true})),
            userinfo: None,
        });
        let (url, response) = sign_in(&gateway).await;
        assert!(
            !url.starts_with(FRESHWORKS_REDIRECT),
            "{list} was signed: {url}"
        );
        assert_eq!(response.status(), 403, "{list}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Your email address cannot be used"), "{html}");
    }
    assert!(
        gateway
            .metrics()
            .await
            .contains("reason=\"invalid_email\"} 3")
    );
    // The same provider with a plain address signs in.
    provider.craft(Crafted::default());
    let (url, _) = sign_in(&gateway).await;
    assert_eq!(signed_email(&url), "eve@example.com");
}

#[tokio::test]
async fn userinfo_cannot_vouch_for_an_address_it_does_not_name() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup());
    gateway.wait_ready().await;
    // The ID token names alice without a word on verification; userinfo vouches for mallory's address.
    provider.craft(Crafted {
        id_token: object(json!({"email": "alice@example.com", "email_verified": null})),
        userinfo: Some(
            json!({"sub": SUBJECT, "email": "mallory@example.com", "email_verified": true}),
        ),
    });
    let (url, response) = sign_in(&gateway).await;
    assert_refused(&gateway, url, response, "email_not_verified").await;
    assert!(provider.userinfo_calls() >= 1, "userinfo was asked");

    // Userinfo vouching for the very address of the ID token is believed.
    provider.craft(Crafted {
        id_token: object(json!({"email": "alice@example.com", "email_verified": null})),
        userinfo: Some(
            json!({"sub": SUBJECT, "email": "alice@example.com", "email_verified": true}),
        ),
    });
    let (url, _) = sign_in(&gateway).await;
    assert_eq!(signed_email(&url), "alice@example.com");
}

#[tokio::test]
async fn web_chat_identifies_nobody_by_an_address_list_or_by_an_address_userinfo_did_not_name() {
    let provider = MaliciousProvider::start();
    let gateway = Gateway::start(&provider.setup_with_webchat());
    gateway.wait_ready().await;
    let with = |extra: Value| {
        let mut claims = provider.access_token_claims();
        for (name, value) in extra.as_object().unwrap() {
            claims[name] = value.clone();
        }
        provider.sign_access_token(&claims)
    };
    let list = with(json!({"email": "alice@example.com, bob@evil.test", "email_verified": true}));
    let (status, body) = webchat_token(&gateway, &list).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_email")),
        "{body}"
    );

    provider.craft(Crafted {
        id_token: Map::new(),
        userinfo: Some(
            json!({"sub": SUBJECT, "email": "mallory@example.com", "email_verified": true}),
        ),
    });
    let alice = with(json!({"email": "alice@example.com"}));
    let (status, body) = webchat_token(&gateway, &alice).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("email_not_verified")),
        "{body}"
    );

    let plain = with(json!({"email": "alice@example.com", "email_verified": true}));
    let (status, body) = webchat_token(&gateway, &plain).await;
    assert_eq!(status, 200, "{body}");

    // The browser-session login refuses the list too, before any session cookie is set.
    provider.craft(Crafted {
        id_token: object(json!({"email": "alice@example.com, bob@evil.test"})),
        userinfo: None,
    });
    let browser = gateway.browser();
    let (url, response) = browser
        .follow(&browser.url(&format!("/sso/webchat/login?return_to={APP_ORIGIN}/")))
        .await;
    assert_eq!(response.status(), 403, "{url}");
    assert!(
        !browser
            .cookies_for(&browser.url("/"))
            .contains("freshgate-webchat")
    );
}
