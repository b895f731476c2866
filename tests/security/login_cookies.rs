//! The pending-login cookie as a weapon: a page that sends a browser to the Login URL again and again
//! ("cookie bomb") must not lock the user out of the provider's pages or of signing in.

use crate::support::{APP_ORIGIN, Gateway, Idp, Setup, query, random};

/// The largest `state` and `nonce` the Login URL accepts.
const MAX_PARAM: usize = 256;
/// The most pending logins one browser keeps.
const MAX_PENDING: usize = 4;

fn login_query(state: &str, nonce: &str) -> String {
    format!("client_id=12344&state={state}&nonce={nonce}")
}

/// A gateway with Freshworks and Web Chat (both start logins), behind a header limit like a front proxy's
/// (nginx allows 8 KiB per header line by default; 16 KiB here).
async fn gateway() -> Gateway {
    let mut setup = Setup::new(Idp::shared().port);
    setup.webchat = Some(format!(
        "  secret: webchat-test-secret-0123456789abcdef\n  allowed_origins: [{APP_ORIGIN}]\n"
    ));
    let yaml = setup
        .yaml()
        .replace("limits: { ", "limits: { max_header_bytes: 16KiB, ");
    let gateway = Gateway::start_yaml(&yaml);
    gateway.wait_ready().await;
    gateway
}

/// Follows redirects from `start` up to (not into) the gateway's callback; returns the callback URL.
async fn until_callback(browser: &crate::support::Browser, start: String) -> String {
    let mut url = start;
    for _ in 0..10 {
        if url.contains("/sso/jwt/callback") {
            return url;
        }
        let response = browser.get(&url).await;
        let location = response.headers()["location"].to_str().unwrap();
        url = url::Url::parse(&url)
            .unwrap()
            .join(location)
            .unwrap()
            .to_string();
    }
    panic!("never reached the callback");
}

fn count(cookies: &str, name: &str) -> usize {
    cookies.matches(name).count()
}

#[tokio::test]
async fn fifty_login_url_visits_leave_the_providers_pages_reachable_and_a_login_still_completes() {
    let gateway = gateway().await;
    let browser = gateway.browser();
    // The user had started a login before the attack; it will be the oldest.
    let early = browser
        .login_until_callback(&login_query("early", "n"), "alice", "alice-password")
        .await;

    // The attacker's page re-navigates the browser to both Login URLs, with the largest values accepted.
    let big = "A".repeat(MAX_PARAM);
    for i in 0..50 {
        let url = if i % 5 == 4 {
            browser.url(&format!(
                "/sso/webchat/login?return_to={APP_ORIGIN}/chat%3Fvisit%3D{i}"
            ))
        } else {
            browser.url(&format!("/sso/jwt/login?{}", login_query(&big, &big)))
        };
        let response = browser.get(&url).await;
        assert_eq!(response.status(), 302, "visit {i}");
    }

    let provider_page = browser.url("/realms/acme/.well-known/openid-configuration");
    let to_provider = browser.cookies_for(&provider_page);
    assert_eq!(
        count(&to_provider, "freshgate-login"),
        0,
        "pending logins are sent to the callback only ({} bytes sent to the provider)",
        to_provider.len()
    );
    let to_callback = browser.cookies_for(&browser.url("/sso/jwt/callback"));
    assert!(
        count(&to_callback, "freshgate-login-") <= MAX_PENDING,
        "at most {MAX_PENDING} pending logins, not {} ({} bytes)",
        count(&to_callback, "freshgate-login-"),
        to_callback.len()
    );
    let page = browser.get(&provider_page).await;
    assert_eq!(page.status(), 200, "the provider's pages stay reachable");

    // The login started before the attack was the oldest: it was dropped and says how to start again.
    let dropped = browser.get(&early).await;
    assert_eq!(dropped.status(), 400);
    let html = dropped.text().await.unwrap();
    assert!(
        html.contains("no record of this sign-in") && html.contains("Start the login again"),
        "{html}"
    );

    // A login the user starts now finishes, even with the attack going on meanwhile (alice is still signed
    // in at the provider, which sends the browser straight back to the callback).
    let (state, nonce) = (random("s"), random("n"));
    let callback = until_callback(
        &browser,
        browser.url(&format!("/sso/jwt/login?{}", login_query(&state, &nonce))),
    )
    .await;
    for _ in 0..MAX_PENDING - 1 {
        let response = browser
            .get(&browser.url(&format!("/sso/jwt/login?{}", login_query(&big, &big))))
            .await;
        assert_eq!(response.status(), 302);
    }
    let finished = browser.get(&callback).await;
    assert_eq!(finished.status(), 302, "{}", gateway.logs());
    let redirect = finished.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        redirect.starts_with(crate::support::FRESHWORKS_REDIRECT),
        "{redirect}"
    );
    assert_eq!(query(&redirect)["state"], state);
}

#[tokio::test]
async fn a_state_or_nonce_longer_than_256_bytes_starts_no_login_and_sets_no_cookie() {
    let gateway = gateway().await;
    let browser = gateway.browser();
    let long = "A".repeat(MAX_PARAM + 1);
    for query in [login_query(&long, "n"), login_query("s", &long)] {
        let response = browser
            .get(&browser.url(&format!("/sso/jwt/login?{query}")))
            .await;
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("set-cookie").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("longer than 256 bytes"), "{html}");
    }
}
