//! The pending-login cookie as a weapon: a page that sends a browser to the Login URL again and again
//! ("cookie bomb") must not lock the user out of the provider's pages or of signing in.

use crate::support::{
    APP_ORIGIN, FRESHWORKS_REDIRECT, Gateway, Idp, Setup, query, random, repo,
    verify_jwt_independently,
};

/// The largest `state` and `nonce` the Login URL accepts, in bytes.
const MAX_PARAM: usize = 1024;
/// The largest Web Chat `return_to`, in bytes.
const MAX_RETURN_TO: usize = 1024;
/// The most pending logins one browser keeps.
const MAX_PENDING: usize = 4;

/// Characters that mean something in a URL, a page or JSON.
const SIGNIFICANT: &str = "/&=+%~\"\\<>";
/// The characters JSON escapes to two bytes each (control characters are refused).
const JSON_ESCAPED: &str = "\"\\";

/// `len` bytes that start with `tag`, then `chars` over and over.
fn worst_value(tag: &str, len: usize, chars: &str) -> String {
    let mut value = tag.to_owned();
    value.extend(chars.chars().cycle().take(len - tag.len()));
    value
}

/// Browsers keep a cookie whose name and value are at most 4096 bytes together and silently drop a bigger
/// one (RFC 6265bis §5.6); the test client's cookie jar does not, so the tests check.
const BROWSER_COOKIE_BYTES: usize = 4096;

fn assert_browsers_keep_each(cookies: &str) {
    for pair in cookies.split("; ") {
        assert!(
            pair.len() <= BROWSER_COOKIE_BYTES,
            "a browser would drop this {}-byte cookie: {}…",
            pair.len(),
            &pair[..40]
        );
    }
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn login_query(state: &str, nonce: &str) -> String {
    format!("client_id=12344&state={}&nonce={}", enc(state), enc(nonce))
}

/// A Web Chat `return_to` of `MAX_RETURN_TO` bytes, of a character its normalized form triples (`%C3%A9`).
fn largest_return_to(visit: usize) -> String {
    let mut url = format!("{APP_ORIGIN}/chat?visit={visit}&p=");
    while url.len() + 'é'.len_utf8() <= MAX_RETURN_TO {
        url.push('é');
    }
    while url.len() < MAX_RETURN_TO {
        url.push('x');
    }
    url
}

/// A gateway with Freshworks and Web Chat (both start logins); `max_header_bytes`, if given, stands for a
/// front proxy's header limit (nginx allows 8 KiB per header line by default, and `16k` is a common setting).
async fn gateway_with(max_header_bytes: Option<&str>) -> Gateway {
    let mut setup = Setup::new(Idp::shared().port);
    setup.webchat = Some(format!(
        "  secret: webchat-test-secret-0123456789abcdef\n  allowed_origins: [{APP_ORIGIN}]\n"
    ));
    let mut yaml = setup.yaml();
    if let Some(limit) = max_header_bytes {
        yaml = yaml.replace(
            "limits: { ",
            &format!("limits: {{ max_header_bytes: {limit}, "),
        );
    }
    let gateway = Gateway::start_yaml(&yaml);
    gateway.wait_ready().await;
    gateway
}

async fn gateway() -> Gateway {
    gateway_with(Some("16KiB")).await
}

/// Checks the redirect to Freshworks as Freshworks would (the token with npm `jose`): its `state` and the
/// token's `nonce` are the ones the Login URL carried, byte for byte.
fn assert_freshworks_gets(redirect: &str, state: &str, nonce: &str) {
    assert!(
        redirect.starts_with(&format!("{FRESHWORKS_REDIRECT}?")),
        "{redirect}"
    );
    let params = query(redirect);
    assert_eq!(params["state"], state, "Freshworks' state byte for byte");
    let (_, payload) = verify_jwt_independently(
        &params["id_token"],
        &repo().join("certs/freshworks-signing.pub.pem"),
    )
    .expect("the token verifies with the public key Freshworks holds");
    assert_eq!(payload["nonce"], nonce, "Freshworks' nonce byte for byte");
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
    let big = worst_value("", MAX_PARAM, SIGNIFICANT);
    for i in 0..50 {
        let url = if i % 5 == 4 {
            browser.url(&format!(
                "/sso/webchat/login?return_to={}",
                enc(&largest_return_to(i))
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
    assert_browsers_keep_each(&to_callback);
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

/// Four logins with Freshworks' largest `state` and `nonce` pending in one browser (four portal tabs), then
/// all four finish: each cookie stays one a browser keeps (the values are of the characters JSON would have
/// doubled), the first callback carries all four within the gateway's own header limits, and each login
/// returns its values to Freshworks byte for byte.
#[tokio::test]
async fn four_pending_logins_with_the_largest_state_and_nonce_all_finish_in_one_browser() {
    let gateway = gateway_with(None).await;
    let browser = gateway.browser();
    let tabs: Vec<(String, String)> = (0..MAX_PENDING)
        .map(|i| {
            (
                worst_value(&random(&format!("s{i}-")), MAX_PARAM, JSON_ESCAPED),
                worst_value(&random(&format!("n{i}-")), MAX_PARAM, JSON_ESCAPED),
            )
        })
        .collect();
    let mut forms = Vec::new();
    for (state, nonce) in &tabs {
        forms.push(browser.open_login_form(&login_query(state, nonce)).await);
    }
    let mut callbacks = Vec::new();
    for action in &forms {
        callbacks.push(
            browser
                .submit_until_callback(action, "alice", "alice-password")
                .await,
        );
    }
    let to_callback = browser.cookies_for(&callbacks[0]);
    assert_eq!(count(&to_callback, "freshgate-login-"), MAX_PENDING);
    assert_browsers_keep_each(&to_callback);
    assert!(
        to_callback.len() > MAX_PENDING * 2 * MAX_PARAM,
        "the four largest cookies ({} bytes)",
        to_callback.len()
    );
    for (callback, (state, nonce)) in callbacks.iter().zip(&tabs) {
        let response = browser.get(callback).await;
        assert_eq!(response.status(), 302, "{}", gateway.logs());
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert_freshworks_gets(&location, state, nonce);
    }
    assert_eq!(
        count(&browser.cookies_for(&callbacks[0]), "freshgate-login-"),
        0,
        "each finished login deleted its cookie"
    );
}

#[tokio::test]
async fn a_state_or_nonce_longer_than_1024_bytes_starts_no_login_and_sets_no_cookie() {
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
        assert!(html.contains("longer than 1024 bytes"), "{html}");
    }
}
