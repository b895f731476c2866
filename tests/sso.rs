//! Freshworks JWT SSO end to end: the browser's part played by an HTTP client with a cookie jar, the
//! provider by the project's OpenID provider test server, the minted token checked by an independent JWT
//! implementation (npm `jose`).

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::{Browser, FRESHWORKS_REDIRECT, Gateway, Idp, Setup, query, random};

const REDIRECT_ENCODED: &str = "http%3A%2F%2Facme.freshworks.test%2Fsp%2FOIDC%2F12344%2Fimplicit";

fn current_shape(state: &str, nonce: &str) -> String {
    format!(
        "client_id=12344&state={}&nonce={}&response_type=id_token&scope=openid%20email%20profile&redirect_uri={REDIRECT_ENCODED}",
        enc(state),
        enc(nonce)
    )
}

fn seed_shape(state: &str, nonce: &str) -> String {
    format!(
        "module_id=12344&state={}&nonce={}&grant_type=implicit&scope=profile%20openid%20email",
        enc(state),
        enc(nonce)
    )
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Checks the Freshworks redirect as Freshworks would, with `jose`, and returns the payload.
fn verified_payload(redirect: &str, state: &str, nonce: &str) -> Value {
    assert!(
        redirect.starts_with(&format!("{FRESHWORKS_REDIRECT}?")),
        "{redirect}"
    );
    let params = query(redirect);
    assert_eq!(
        params["state"], state,
        "Freshworks' state comes back byte for byte"
    );
    assert!(
        !params.contains_key("token"),
        "the parameter is id_token, not token"
    );
    let token = &params["id_token"];
    let (header, payload) = support::verify_jwt_independently(
        token,
        &support::repo().join("certs/freshworks-signing.pub.pem"),
    )
    .expect("the token verifies with the public key Freshworks holds");
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    assert_eq!(
        payload["nonce"], nonce,
        "Freshworks' nonce goes into the token byte for byte"
    );
    let iat = payload["iat"].as_i64().expect("iat is an integer");
    assert!(
        (iat - now()).abs() <= 5,
        "iat is seconds since the epoch, now"
    );
    assert!(payload["sub"].is_string() && payload["email"].is_string());
    payload
}

async fn ready_gateway(setup: &Setup) -> Gateway {
    let gateway = Gateway::start(setup);
    gateway.wait_ready().await;
    gateway
}

/// Freshworks documents no length for `state` and `nonce`; the Login URL contract is up to 1 KiB each, of
/// any visible characters, returned byte for byte: here of the characters that mean something in a URL
/// (`/ & = + % ~`), a page (`< > "`) and JSON (`" \`), in both request shapes.
#[tokio::test]
async fn a_state_and_nonce_of_900_to_1024_url_significant_bytes_come_back_byte_for_byte() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let value = |tag: &str, len: usize| {
        let mut value = random(tag);
        value.extend("/&=+%~\"\\<> ".chars().cycle().take(len - value.len()));
        value
    };
    for (shape, state, nonce) in [
        ("seed", value("s-", 900), value("n-", 1024)),
        ("current", value("s-", 1024), value("n-", 901)),
    ] {
        let query = if shape == "seed" {
            seed_shape(&state, &nonce)
        } else {
            current_shape(&state, &nonce)
        };
        // A new browser each time: one signed in at the provider would skip the form.
        let browser = gateway.browser();
        let redirect = browser.login(&query, "alice", "alice-password").await;
        verified_payload(&redirect, &state, &nonce);
    }
}

#[tokio::test]
async fn the_current_request_shape_logs_alice_in_through_a_keycloak_style_provider() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let (state, nonce) = (random("state-"), random("nonce-"));
    let redirect = browser
        .login(&current_shape(&state, &nonce), "alice", "alice-password")
        .await;
    let payload = verified_payload(&redirect, &state, &nonce);
    assert_eq!(payload["sub"], "alice-0001");
    assert_eq!(payload["email"], "alice@example.com");
    assert_eq!(payload["given_name"], "Alice");
    assert_eq!(payload["family_name"], "Anderson");
    assert_eq!(payload["phone_number"], "+1 555 0100");
    assert_eq!(payload["picture"], "https://example.com/alice.png");
    let keys: Vec<&String> = payload.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 8, "only the Freshworks claims: {keys:?}");

    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_logins_total{outcome=\"success\",reason=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(gateway.has_logged("login succeeded"));
    let logs = gateway.logs();
    let token = &query(&redirect)["id_token"];
    for secret in [
        token.as_str(),
        support::CLIENT_SECRET,
        &state,
        &nonce,
        "alice-password",
    ] {
        assert!(!logs.contains(secret), "a secret reached the log:\n{logs}");
    }
}

#[tokio::test]
async fn the_seed_request_shape_logs_bob_in_through_an_okta_style_provider_without_a_family_name() {
    let mut setup = Setup::new(Idp::shared().port);
    setup.issuer_path = "/oauth2/default";
    let gateway = ready_gateway(&setup).await;
    let browser = gateway.browser();
    let (state, nonce) = (random("s"), random("n"));
    let redirect = browser
        .login(&seed_shape(&state, &nonce), "bob", "bob-password")
        .await;
    let payload = verified_payload(&redirect, &state, &nonce);
    assert_eq!(payload["sub"], "bob-0002");
    assert_eq!(payload["given_name"], "Bob");
    assert_eq!(
        payload["family_name"], "-",
        "the shipped fallback for a missing family name"
    );
    let object = payload.as_object().unwrap();
    assert!(
        !object.contains_key("phone_number") && !object.contains_key("picture"),
        "absent, never null"
    );
}

#[tokio::test]
async fn non_ascii_names_passwords_and_nonces_survive_the_round_trip() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let (state, nonce) = ("st ä+/=&?#".to_owned(), "nønce +/=&%".to_owned());
    let redirect = browser
        .login(&current_shape(&state, &nonce), "zoë", "pässwörd-ß-日本")
        .await;
    let payload = verified_payload(&redirect, &state, &nonce);
    assert_eq!(payload["given_name"], "Zoë");
    assert_eq!(payload["family_name"], "Ødegård-Łukasiewicz");
}

#[tokio::test]
async fn the_shipped_gateway_yaml_claims_log_in_a_user_without_a_family_name() {
    let shipped = std::fs::read_to_string(support::repo().join("gateway.yaml")).unwrap();
    let claims: String = shipped
        .split("  claims:\n")
        .nth(1)
        .expect("gateway.yaml has freshworks.claims")
        .lines()
        .take_while(|l| l.starts_with("    "))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut setup = Setup::new(Idp::shared().port);
    setup.claims = claims;
    let gateway = ready_gateway(&setup).await;
    let browser = gateway.browser();
    let redirect = browser
        .login(&current_shape("s1", "n1"), "bob", "bob-password")
        .await;
    let payload = verified_payload(&redirect, "s1", "n1");
    assert!(!payload["family_name"].as_str().unwrap().is_empty());
}

/// Logs `user` in and expects the gateway to refuse at the callback with a 403 page, counted under
/// `reason`; returns the page.
async fn refused_at_the_callback(user: &str, password: &str, reason: &str) -> String {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let action = browser.open_login_form(&current_shape("s", "n")).await;
    let (url, response) = browser.submit_credentials(&action, user, password).await;
    assert!(url.contains("/sso/jwt/callback"), "{url}");
    assert_eq!(response.status(), 403);
    let html = response.text().await.unwrap();
    assert!(!html.contains("id_token"), "{html}");
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(&format!("reason=\"{reason}\"}} 1")),
        "{metrics}"
    );
    html
}

/// A failure page at the callback leads back to the account's Freshworks portal (the pending login is
/// gone) and drops the spent `code` and `state` from the address bar.
fn assert_restart_link(html: &str) {
    assert!(
        html.contains(
            r#"<a class="button" href="http://acme.freshworks.test/">Start the login again</a>"#
        ),
        "no way back: {html}"
    );
    assert!(
        html.contains("<script>history.replaceState(null,'',location.pathname)</script>"),
        "{html}"
    );
}

#[tokio::test]
async fn a_refused_user_can_sign_out_at_the_provider_and_log_in_as_someone_else() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let login = browser.url(&format!("/sso/jwt/login?{}", current_shape("s", "n")));
    let action = browser.open_form_from(&login).await;
    let (_, refused) = browser
        .submit_credentials(&action, "mallory", "mallory-password")
        .await;
    assert_eq!(refused.status(), 403);
    let csp = refused.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    let html = refused.text().await.unwrap();
    assert_restart_link(&html);
    let switch = r#"href="/sso/jwt/logout?client_id=12344">Sign out and use another account</a>"#;
    assert!(html.contains(switch), "{html}");

    // Without it, logging in again meets the same refusal: the provider remembers mallory.
    let (_, again) = browser.follow(&login).await;
    assert_eq!(again.status(), 403, "the provider asked for credentials");

    // The link on the gateway's own page: a browser says the navigation is same-origin.
    let response = browser
        .client
        .get(browser.url("/sso/jwt/logout?client_id=12344"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let params = query(&location);
    assert_eq!(params["post_logout_redirect_uri"], support::POST_LOGOUT);
    assert_eq!(
        support::jwt_payload(&params["id_token_hint"])["sub"],
        "mallory-0005",
        "the refusal kept the provider's ID token as logout hint"
    );
    let (confirm_url, confirm) = browser.follow(&location).await;
    let html = confirm.text().await.unwrap();
    assert!(
        html.contains("logoutForm').submit()"),
        "the provider accepted the hint and signs out without asking: {html}"
    );
    // What the page's script does in a browser: submit the provider's logout form.
    let form = html.split("<form").nth(1).expect("a logout form");
    let attr = |text: &str, name: &str| {
        text.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|v| v.replace("&amp;", "&"))
    };
    let action = url::Url::parse(&confirm_url)
        .unwrap()
        .join(&attr(form, "action").expect("the form has an action"))
        .unwrap();
    let fields: Vec<(String, String)> = form
        .split("<input")
        .skip(1)
        .filter_map(|input| Some((attr(input, "name")?, attr(input, "value")?)))
        .collect();
    let response = browser
        .client
        .post(action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    let left_to = response.headers()["location"].to_str().unwrap();
    assert!(left_to.starts_with(support::POST_LOGOUT), "{left_to}");

    // Signed out at the provider: a fresh login asks who the user is, and alice gets in.
    let action = browser.open_form_from(&login).await;
    let (url, _) = browser
        .submit_credentials(&action, "alice", "alice-password")
        .await;
    verified_payload(&url, "s", "n");
}

#[tokio::test]
async fn a_user_without_email_gets_a_page_naming_the_claim_and_no_token() {
    let html = refused_at_the_callback("carol", "carol-password", "missing_claim").await;
    assert!(
        html.contains("email address") && html.contains("<code>email</code>"),
        "{html}"
    );
    assert!(!html.contains('`'), "no raw Markdown on the page: {html}");
}

#[tokio::test]
async fn an_unverified_email_cannot_sign_in_as_the_address_owner() {
    let html = refused_at_the_callback("mallory", "mallory-password", "email_not_verified").await;
    assert!(html.contains("email address is not verified"), "{html}");
}

#[tokio::test]
async fn email_verified_ignore_lets_the_administrator_waive_the_check() {
    let mut setup = Setup::new(Idp::shared().port);
    setup.upstream_extra = "  email_verified: ignore\n".into();
    let gateway = ready_gateway(&setup).await;
    let redirect = gateway
        .browser()
        .login(&current_shape("s", "n"), "mallory", "mallory-password")
        .await;
    let payload = verified_payload(&redirect, "s", "n");
    assert_eq!(payload["sub"], "mallory-0005");
    assert_eq!(payload["email"], "alice@example.com");
}

#[tokio::test]
async fn bad_login_requests_get_a_400_page_and_never_a_redirect() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let long = "x".repeat(1025);
    let mut cases: Vec<String> = vec![
        "client_id=99999&state=s&nonce=n".into(),
        "state=s&nonce=n".into(),
        "client_id=12344&nonce=n".into(),
        "client_id=12344&state=s".into(),
        "client_id=12344&state=&nonce=n".into(),
        format!("client_id=12344&state={long}&nonce=n"),
        format!("client_id=12344&state=s&nonce={long}"),
        "client_id=12344&state=s&state=t&nonce=n".into(),
        "client_id=12344&module_id=1&state=s&nonce=n".into(),
        "client_id=12344&state=a%0D%0Ab&nonce=n".into(),
    ];
    for evil in [
        "//evil.example",
        "https://acme.freshworks.test.evil.example/sp/OIDC/12344/implicit",
        "http://acme.freshworks.test@evil.example/sp/OIDC/12344/implicit",
        "http://acme.freshworks.test/sp/OIDC/12344/implicit\r\nLocation: http://evil.example",
        "http://acme.freshworks.test:8080/sp/OIDC/12344/implicit",
        "http://acme.freshworks.test/sp/OIDC/12345/implicit",
    ] {
        cases.push(format!(
            "client_id=12344&state=s&nonce=n&redirect_uri={}",
            enc(evil)
        ));
    }
    for case in cases {
        let response = browser
            .get(&browser.url(&format!("/sso/jwt/login?{case}")))
            .await;
        assert_eq!(response.status(), 400, "{case}");
        assert!(
            response.headers().get("location").is_none(),
            "{case} redirected"
        );
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{case} started a login"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains("<h1>") && !html.contains("evil.example"),
            "{case}: {html}"
        );
    }
    let ok = browser
        .get(&browser.url(&format!(
            "/sso/jwt/login?client_id=12344&state=s&nonce={}",
            "y".repeat(1024)
        )))
        .await;
    assert_eq!(ok.status(), 302, "1024 bytes are still accepted");
}

#[tokio::test]
async fn a_callback_without_a_matching_cookie_gets_a_page_with_a_way_back() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let response = browser
        .get(&browser.url("/sso/jwt/callback?state=abc&code=xyz"))
        .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("no record of this sign-in"), "{html}");
    assert!(
        html.contains("href=\"http://acme.freshworks.test/\""),
        "restart link to the portal: {html}"
    );

    // A forged cookie under the right name.
    let callback = browser
        .login_until_callback(&current_shape("s", "n"), "alice", "alice-password")
        .await;
    let state = &query(&callback)["state"];
    let name = format!("freshgate-login-{}", &state[..16]);
    let other = Browser::new(gateway.addr, false);
    let forged = other
        .client
        .get(&callback)
        .header(
            "cookie",
            format!("{name}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let html = forged.text().await.unwrap();
    assert!(html.contains("not valid"), "{html}");
}

#[tokio::test]
async fn an_expired_pending_login_is_refused_with_a_restart_link() {
    let key = [9u8; 32];
    let mut setup = Setup::new(Idp::shared().port);
    let key_file = tempfile::NamedTempFile::new().unwrap();
    use base64::Engine;
    std::fs::write(
        key_file.path(),
        base64::engine::general_purpose::STANDARD.encode(key),
    )
    .unwrap();
    setup.extra_top = format!(
        "session: {{ cookie_key_file: {} }}\n",
        key_file.path().display()
    );
    let gateway = ready_gateway(&setup).await;
    let (callback, cookie) = support::expired_pending_login(&key);
    let browser = gateway.browser();
    let response = browser
        .client
        .get(browser.url(&callback))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let cleared = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("took too long") && html.contains("10 minutes"),
        "{html}"
    );
    assert!(html.contains("Start the login again"));
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let callback = browser
        .login_until_callback(&current_shape("s", "n"), "alice", "alice-password")
        .await;
    // An attacker who saw the callback URL and a copy of the pending-login cookie.
    let stolen_cookie = browser.cookies_for(&callback);
    assert!(
        stolen_cookie.contains("freshgate-login-"),
        "{stolen_cookie}"
    );
    let first = browser.get(&callback).await;
    assert_eq!(first.status(), 302);
    assert!(
        first.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(FRESHWORKS_REDIRECT)
    );

    let again = browser.get(&callback).await;
    assert_eq!(
        again.status(),
        400,
        "the cookie is gone after a successful login"
    );
    let attacker = Browser::new(gateway.addr, false);
    let replay = attacker
        .client
        .get(&callback)
        .header("cookie", stolen_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert!(replay.headers().get("location").is_none());
    assert!(replay.text().await.unwrap().contains("already used"));
}

#[tokio::test]
async fn a_cancelled_login_at_the_provider_gets_a_clear_page() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let action = browser.open_login_form(&current_shape("s", "n")).await;
    let (url, response) = browser.cancel(&action).await;
    assert!(url.contains("/sso/jwt/callback"), "{url}");
    assert_eq!(response.status(), 403);
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign-in cancelled"), "{html}");
    assert!(html.contains("href=\"http://acme.freshworks.test/\""));
}

#[tokio::test]
async fn an_iss_parameter_from_another_issuer_is_refused() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let callback = browser
        .login_until_callback(&current_shape("s", "n"), "alice", "alice-password")
        .await;
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "iss" {
                (k, "http://sso.freshgate.test/realms/evil".into())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let response = browser.get(url.as_str()).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn forged_and_foreign_id_tokens_are_rejected() {
    let idp = Idp::start(0);
    let gateway = ready_gateway(&Setup::new(idp.port)).await;
    for mode in [
        "wrong_nonce",
        "wrong_iss",
        "wrong_aud",
        "alg_none",
        "hs256_with_public_key",
        "expired",
        "bad_signature",
        "extra_aud_no_azp",
        "wrong_azp",
    ] {
        idp.admin("/__admin/tamper", json!({"mode": mode})).await;
        let browser = gateway.browser();
        let action = browser.open_login_form(&current_shape("s", "n")).await;
        let (url, response) = browser
            .submit_credentials(&action, "alice", "alice-password")
            .await;
        assert!(
            !url.starts_with(FRESHWORKS_REDIRECT),
            "{mode}: a token was minted"
        );
        assert_eq!(response.status(), 502, "{mode}");
        let html = response.text().await.unwrap();
        assert!(html.contains("could not verify your identity"), "{mode}");
        assert_restart_link(&html);
    }
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("reason=\"invalid_id_token\"} 9"),
        "{metrics}"
    );
    idp.admin("/__admin/tamper", json!({"mode": "none"})).await;
    let redirect = gateway
        .browser()
        .login(&current_shape("s", "n"), "alice", "alice-password")
        .await;
    verified_payload(&redirect, "s", "n");
}

#[tokio::test]
async fn a_provider_key_rotation_between_two_logins_does_not_break_logins() {
    let idp = Idp::start(0);
    let gateway = ready_gateway(&Setup::new(idp.port)).await;
    let redirect = gateway
        .browser()
        .login(&current_shape("a", "1"), "alice", "alice-password")
        .await;
    verified_payload(&redirect, "a", "1");
    idp.admin("/__admin/rotate-keys", json!({})).await;
    let redirect = gateway
        .browser()
        .login(&current_shape("b", "2"), "alice", "alice-password")
        .await;
    verified_payload(&redirect, "b", "2");
    assert!(
        gateway.has_logged("JWKS re-fetched for an unknown key id"),
        "{}",
        gateway.logs()
    );
}

#[tokio::test]
async fn claims_only_available_at_userinfo_are_fetched_from_there() {
    let idp = Idp::start(0);
    idp.admin("/__admin/claims-mode", json!({"mode": "userinfo"}))
        .await;
    let gateway = ready_gateway(&Setup::new(idp.port)).await;
    let redirect = gateway
        .browser()
        .login(&current_shape("s", "n"), "alice", "alice-password")
        .await;
    let payload = verified_payload(&redirect, "s", "n");
    assert_eq!(payload["email"], "alice@example.com");
    assert_eq!(payload["family_name"], "Anderson");
    assert_eq!(payload["phone_number"], "+1 555 0100");
}

#[tokio::test]
async fn a_provider_that_goes_down_before_the_callback_gets_a_clear_page() {
    let idp = Idp::start(0);
    let gateway = ready_gateway(&Setup::new(idp.port)).await;
    let browser = gateway.browser();
    let callback = browser
        .login_until_callback(&current_shape("s", "n"), "alice", "alice-password")
        .await;
    drop(idp);
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 502);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("could not verify"), "{html}");
    assert_restart_link(&html);
    assert!(
        gateway.has_logged("token_exchange_failed"),
        "{}",
        gateway.logs()
    );
}

#[tokio::test]
async fn every_provider_failure_at_the_callback_gets_a_page_with_a_way_back() {
    use support::faulty::{Fault, FaultyProvider};
    let idp = Idp::start(0);
    // Profile claims only from userinfo: a userinfo failure is then fatal.
    idp.admin("/__admin/claims-mode", json!({"mode": "userinfo"}))
        .await;
    let faulty = FaultyProvider::start(idp.addr().parse().unwrap()).await;
    let gateway = ready_gateway(&Setup::new(faulty.addr.port())).await;
    let endpoint = "/realms/acme/protocol/openid-connect";
    let mut counts = std::collections::HashMap::new();
    for (what, path, fault, reason) in [
        (
            "token endpoint 5xx",
            "/token",
            Fault::ServerError,
            "token_exchange_failed",
        ),
        (
            "token endpoint not JSON",
            "/token",
            Fault::NotJson,
            "token_exchange_failed",
        ),
        (
            "token endpoint hangs",
            "/token",
            Fault::Hang,
            "token_exchange_failed",
        ),
        (
            "userinfo 5xx",
            "/userinfo",
            Fault::ServerError,
            "userinfo_failed",
        ),
        (
            "JWKS re-fetch 5xx",
            "/certs",
            Fault::ServerError,
            "invalid_id_token",
        ),
    ] {
        faulty.heal();
        let browser = gateway.browser();
        let callback = browser
            .login_until_callback(&current_shape("s", "n"), "alice", "alice-password")
            .await;
        if path == "/certs" {
            // A new key id in the ID token makes the gateway re-fetch the JWKS, which then fails.
            idp.admin("/__admin/rotate-keys", json!({})).await;
        }
        faulty.fail(&format!("{endpoint}{path}"), fault);
        let response = browser.get(&callback).await;
        assert_eq!(response.status(), 502, "{what}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("could not verify your identity"),
            "{what}: {html}"
        );
        assert_restart_link(&html);
        // Counted under its own reason: each fault was met where it was meant to be.
        let count = counts.entry(reason).or_insert(0);
        *count += 1;
        let metrics = gateway.metrics().await;
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"}} {count}\n")),
            "{what}: {metrics}"
        );
    }
}

#[tokio::test]
async fn logins_in_parallel_tabs_of_one_browser_all_finish() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let tabs: Vec<(String, String)> = (0..3)
        .map(|i| (random(&format!("tab{i}-s")), random(&format!("tab{i}-n"))))
        .collect();
    let mut forms = Vec::new();
    for (state, nonce) in &tabs {
        forms.push(browser.open_login_form(&current_shape(state, nonce)).await);
    }
    // The provider's forms are submitted one after the other (as a person would), then the three callbacks
    // reach the gateway at once, in reverse order.
    let mut callbacks = Vec::new();
    for action in forms.iter().rev() {
        callbacks.push(
            browser
                .submit_until_callback(action, "alice", "alice-password")
                .await,
        );
    }
    let finished =
        futures_util::future::join_all(callbacks.iter().map(|url| browser.get(url))).await;
    for (response, (state, nonce)) in finished.into_iter().zip(tabs.iter().rev()) {
        assert_eq!(
            response.status(),
            302,
            "{}\n{}",
            response.status(),
            gateway.logs()
        );
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        verified_payload(&location, state, nonce);
    }
}

#[tokio::test]
async fn logout_sends_the_browser_to_the_providers_end_session_endpoint() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let response = browser.get(&browser.url("/sso/jwt/logout")).await;
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location
            .starts_with("http://sso.freshgate.test/realms/acme/protocol/openid-connect/logout?"),
        "{location}"
    );
    let params = query(&location);
    assert_eq!(params["client_id"], "freshgate");
    assert_eq!(params["post_logout_redirect_uri"], support::POST_LOGOUT);
    // The provider accepts it (the post-logout URI is registered there).
    let (_, page) = browser.follow(&location).await;
    assert!(
        page.status().is_success() || page.status().is_redirection(),
        "{}",
        page.status()
    );
}

#[tokio::test]
async fn logout_after_a_login_sends_the_providers_id_token_as_hint_once() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    browser
        .login(&current_shape("s", "n"), "alice", "alice-password")
        .await;
    assert!(
        browser
            .cookies_for(&browser.url("/sso/jwt/logout"))
            .contains("freshgate-logout="),
        "the login keeps a logout hint"
    );
    assert!(
        !browser
            .cookies_for(&browser.url("/"))
            .contains("freshgate-logout="),
        "the hint is sent to the logout URL only"
    );
    // Freshworks sends the browser here from its own pages.
    let response = browser
        .client
        .get(browser.url("/sso/jwt/logout"))
        .header("referer", "http://acme.freshworks.test/")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let cleared = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cleared.starts_with("freshgate-logout=; Path=/sso/jwt/logout; Max-Age=0"),
        "{cleared}"
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let params = query(&location);
    assert_eq!(params["client_id"], "freshgate");
    assert_eq!(params["post_logout_redirect_uri"], support::POST_LOGOUT);
    let hint = support::jwt_payload(&params["id_token_hint"]);
    assert_eq!(
        hint["iss"],
        format!("{}/realms/acme", support::PUBLIC_ORIGIN)
    );
    assert_eq!(hint["aud"], "freshgate");
    assert_eq!(hint["sub"], "alice-0001");
    // The provider checks the hint's signature and audience: a forged one gets its error page.
    let hint = &params["id_token_hint"];
    let forged = location.replace(hint.as_str(), &format!("{}AAAA", &hint[..hint.len() - 4]));
    let (_, refused) = browser.follow(&forged).await;
    assert_eq!(refused.status(), 400, "the provider refuses a forged hint");
    let (_, page) = browser.follow(&location).await;
    assert_eq!(page.status(), 200, "the provider accepted the hint");

    assert_logout_without_hint(&browser).await;
}

#[tokio::test]
async fn without_provider_logout_the_signed_out_page_leads_back_to_freshworks() {
    use support::faulty::{Fault, FaultyProvider};
    let idp = Idp::start(0);
    let faulty = FaultyProvider::start(idp.addr().parse().unwrap()).await;
    faulty.fail("/.well-known/openid-configuration", Fault::NoEndSession);
    let setup = Setup::new(faulty.addr.port());
    for (yaml, link) in [
        (
            setup.yaml(),
            format!(
                r#"<a class="button" href="{}">Continue</a>"#,
                support::POST_LOGOUT
            ),
        ),
        (
            setup.yaml().replace(
                &format!("      logout_redirect_url: {}\n", support::POST_LOGOUT),
                "",
            ),
            r#"<a class="button" href="http://acme.freshworks.test/">Back to Freshworks</a>"#
                .to_owned(),
        ),
    ] {
        let gateway = Gateway::start_yaml(&yaml);
        gateway.wait_ready().await;
        let browser = gateway.browser();
        let response = browser.get(&browser.url("/sso/jwt/logout")).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains("You are signed out"), "{html}");
        assert!(html.contains(&link), "{html}");
        assert!(!html.contains("Error 200"), "{html}");
    }
}

/// Logs out and checks the provider is not sent an `id_token_hint`.
async fn assert_logout_without_hint(browser: &Browser) {
    let response = browser.get(&browser.url("/sso/jwt/logout")).await;
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        !query(&location).contains_key("id_token_hint"),
        "{location}"
    );
}

#[tokio::test]
async fn a_forged_logout_cookie_is_ignored() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    browser.jar.add_cookie_str(
        "freshgate-logout=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; Path=/sso/jwt/logout",
        &support::PUBLIC_ORIGIN.parse().unwrap(),
    );
    assert_logout_without_hint(&browser).await;
}

#[tokio::test]
async fn a_login_over_tls_uses_secure_prefixed_cookies() {
    let idp = Idp::start_at(0, "https://sso.freshgate.test");
    let mut setup = Setup::new(idp.port);
    setup.tls = true;
    let gateway = ready_gateway(&setup).await;
    let browser = Browser::new(gateway.addr, true);
    let start = browser
        .get(&browser.url(&format!("/sso/jwt/login?{}", current_shape("s", "n"))))
        .await;
    let cookies: Vec<&str> = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("__Secure-freshgate-login-"))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(
        cookie.contains("; Path=/sso/jwt/callback;")
            && cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
    let redirect = browser
        .login(&current_shape("s2", "n2"), "alice", "alice-password")
        .await;
    verified_payload(&redirect, "s2", "n2");
    assert!(
        browser
            .cookies_for(&browser.url("/sso/jwt/logout"))
            .contains("__Secure-freshgate-logout="),
        "the logout hint is a __Secure- cookie over TLS"
    );
    let html = browser
        .get(&browser.url("/sso/jwt/callback?state=x"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("no record"), "{html}");
}

#[tokio::test]
async fn the_final_redirect_is_not_cached_and_clears_the_pending_cookie() {
    let gateway = ready_gateway(&Setup::new(Idp::shared().port)).await;
    let browser = gateway.browser();
    let callback = browser
        .login_until_callback(&current_shape("s", "n"), "alice", "alice-password")
        .await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("freshgate-login-") && c.contains("Max-Age=0")),
        "the pending-login cookie is deleted: {cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("freshgate-logout=") && !c.contains("Max-Age")),
        "the logout hint is kept for the session: {cookies:?}"
    );
}

#[tokio::test]
async fn request_text_cannot_forge_a_line_in_the_text_log() {
    let setup = Setup::new(Idp::shared().port);
    let gateway = Gateway::start_yaml(&setup.yaml().replace("format: json", "format: text"));
    gateway.wait_ready().await;
    let browser = gateway.browser();
    let response = browser
        .get(&browser.url(
            "/sso/jwt/login?x%0AFORGED%20login%20succeeded=1&x%0AFORGED%20login%20succeeded=1",
        ))
        .await;
    assert_eq!(response.status(), 400);
    assert!(
        gateway.has_logged("duplicate_parameter"),
        "{}",
        gateway.logs()
    );
    let logs = gateway.logs();
    assert!(
        logs.contains("x\\nFORGED"),
        "the name is logged escaped:\n{logs}"
    );
    assert!(
        !logs.lines().any(|line| line.starts_with("FORGED")),
        "{logs}"
    );
}
