//! Freshdesk Web Chat tokens against the OpenID provider test server: bearer access tokens (JWT and opaque),
//! the browser-session flavour, CORS, and tokens checked by an independent JWT implementation (npm `jose`).

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use support::{APP_CALLBACK, APP_ORIGIN, Browser, Gateway, Idp, Setup, query};

const SECRET: &str = "webchat-test-secret-0123456789abcdef";
const API: &str = "https://api.acme.test";
const PKCE_VERIFIER: &str = "an-app-pkce-verifier-that-is-long-enough-0123456789";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Chat {
    gateway: Gateway,
    secret_file: tempfile::NamedTempFile,
}

/// A gateway with a `webchat` section; `extra` adds or overrides keys (already indented by two).
async fn chat(idp: &Idp, extra: &str) -> Chat {
    let secret_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret_file.path(), SECRET).unwrap();
    let mut setup = Setup::new(idp.port);
    let mut section = format!(
        "  secret_file: {}\n  allowed_origins: [{APP_ORIGIN}]\n  ttl: 5m\n",
        secret_file.path().display()
    );
    section += extra;
    setup.webchat = Some(section);
    let gateway = Gateway::start(&setup);
    gateway.wait_ready().await;
    Chat {
        gateway,
        secret_file,
    }
}

impl Chat {
    fn browser(&self) -> Browser {
        self.gateway.browser()
    }

    /// Verifies a minted token with `jose` (HS256 pinned) and returns its payload.
    fn verified(&self, token: &str) -> Value {
        let output = std::process::Command::new("node")
            .arg(support::repo().join("tests/idp/verify-jwt.mjs"))
            .args(["--alg", "HS256", "--secret-file"])
            .arg(self.secret_file.path())
            .args(["--token", token])
            .output()
            .unwrap();
        let value: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(output.status.success(), "jose refused the token: {value}");
        assert_eq!(value["header"], json!({"alg": "HS256", "typ": "JWT"}));
        value["payload"].clone()
    }
}

/// An app's own login at the provider (not through the gateway's SSO): returns its access token.
/// With `resource`, the provider issues a JWT access token for that audience; without, an opaque one.
async fn app_access_token(
    browser: &Browser,
    idp: &Idp,
    user: &str,
    password: &str,
    resource: Option<&str>,
) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        PKCE_VERIFIER.as_bytes(),
    ));
    let mut authorize =
        url::Url::parse(&browser.url("/realms/acme/protocol/openid-connect/auth")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "freshgate")
        .append_pair("redirect_uri", APP_CALLBACK)
        .append_pair("scope", "openid email profile phone")
        .append_pair("state", "app-state")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(resource) = resource {
        authorize
            .query_pairs_mut()
            .append_pair("resource", resource);
    }
    let action = browser.open_form_from(authorize.as_str()).await;
    let (callback, _) = browser.submit_credentials(&action, user, password).await;
    assert!(callback.starts_with(APP_CALLBACK), "{callback}");
    let code = query(&callback)["code"].clone();
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", APP_CALLBACK.to_owned()),
        ("code_verifier", PKCE_VERIFIER.to_owned()),
    ];
    if let Some(resource) = resource {
        form.push(("resource", resource.to_owned()));
    }
    let response = support::client()
        .post(format!(
            "http://{}/realms/acme/protocol/openid-connect/token",
            idp.addr()
        ))
        .header("host", support::PUBLIC_HOST)
        .basic_auth("freshgate", Some(support::CLIENT_SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {body}"))
        .to_owned()
}

async fn token_request(
    chat: &Chat,
    bearer: Option<&str>,
    origin: Option<&str>,
) -> reqwest::Response {
    let browser = chat.browser();
    let mut request = browser.client.get(browser.url("/sso/webchat/token"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

async fn assert_refused(response: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    if status == 401 {
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer realm=\"freshgate\""),
            "{challenge}"
        );
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body.get("token").is_none());
    body
}

#[tokio::test]
async fn an_opaque_access_token_gets_an_email_token_with_contact_properties() {
    let idp = Idp::shared();
    let chat = chat(idp, "").await;
    let access_token =
        app_access_token(&chat.browser(), idp, "alice", "alice-password", None).await;
    assert!(!access_token.contains('.'), "expected an opaque token");
    let response = token_request(&chat, Some(&access_token), Some(APP_ORIGIN)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        APP_ORIGIN
    );
    let body: Value = response.json().await.unwrap();
    let payload = chat.verified(body["token"].as_str().unwrap());
    assert_eq!(payload["email"], "alice@example.com");
    assert!(
        payload.get("unique_external_id").is_none(),
        "never both identifiers"
    );
    assert_eq!(
        payload["contactProperties"],
        json!({"name": "Alice Anderson", "phone": "+1 555 0100", "language": "en"})
    );
    assert!(payload.get("ticketProperties").is_none());
    let exp = payload["exp"].as_i64().unwrap();
    assert_eq!(body["expires_at"].as_i64().unwrap(), exp);
    assert!((exp - now() - 300).abs() <= 5, "exp = now + ttl");
    assert!(chat.gateway.has_logged("webchat token minted"));
    assert!(
        !chat.gateway.logs().contains(&access_token),
        "the access token reached the log"
    );
}

#[tokio::test]
async fn a_jwt_access_token_for_the_configured_audience_gets_an_external_id_token() {
    let idp = Idp::shared();
    let chat = chat(idp, &format!("  identify_by: unique_external_id\n  audience: [{API}]\n  ticket_properties: {{ cf_locale: locale }}\n")).await;
    let access_token =
        app_access_token(&chat.browser(), idp, "bob", "bob-password", Some(API)).await;
    assert_eq!(
        access_token.split('.').count(),
        3,
        "expected a JWT access token"
    );
    let body: Value = token_request(&chat, Some(&access_token), None)
        .await
        .json()
        .await
        .unwrap();
    let payload = chat.verified(body["token"].as_str().unwrap());
    assert_eq!(payload["unique_external_id"], "bob-0002");
    assert!(payload.get("email").is_none(), "never both identifiers");
    assert_eq!(
        payload["contactProperties"],
        json!({"name": "Bob"}),
        "absent claims are left out"
    );
    assert!(
        payload.get("ticketProperties").is_none(),
        "bob has no locale"
    );
}

#[tokio::test]
async fn expired_forged_foreign_and_wrong_audience_tokens_are_refused() {
    let idp = Idp::start(0);
    let chat = chat(&idp, &format!("  audience: [{API}]\n")).await;
    let issuer = format!("{}/realms/acme", support::PUBLIC_ORIGIN);
    let claims = |iss: &str, aud: &str, exp: i64| json!({"iss": iss, "aud": aud, "sub": "alice-0001", "email": "alice@example.com", "email_verified": true, "exp": exp, "iat": now() - 10});
    let sign = |payload: Value| {
        let idp = &idp;
        async move {
            idp.admin(
                "/__admin/sign",
                json!({"payload": payload, "header": {"typ": "at+jwt"}}),
            )
            .await["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let good = sign(claims(&issuer, API, now() + 300)).await;
    assert_eq!(
        token_request(&chat, Some(&good), None).await.status(),
        200,
        "the control case is accepted"
    );

    let expired = sign(claims(&issuer, API, now() - 600)).await;
    let other_issuer = sign(claims(
        "http://sso.freshgate.test/realms/evil",
        API,
        now() + 300,
    ))
    .await;
    let wrong_audience = sign(claims(&issuer, "https://other.test", now() + 300)).await;
    let unknown_kid = idp
        .admin("/__admin/sign", json!({"payload": claims(&issuer, API, now() + 300), "header": {"kid": "not-a-provider-key"}}))
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bad_signature = good.clone();
    bad_signature.replace_range(bad_signature.len() - 4.., "AAAA");
    let header_none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&issuer, API, now() + 300).to_string());
    let alg_none = format!("{header_none}.{payload}.");
    let state = idp.admin_get("/__admin/state").await;
    let public_pem = state["keycloak"]["publicKeyPem"].as_str().unwrap();
    let hs_header = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#,
        state["keycloak"]["kid"].as_str().unwrap()
    ));
    let input = format!("{hs_header}.{payload}");
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, public_pem.as_bytes()),
        input.as_bytes(),
    );
    let hmac_with_public_key = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    let id_token_like = sign(json!({"iss": issuer, "aud": API, "sub": "alice-0001", "email": "a@x", "exp": now() + 300, "nonce": "n"})).await;

    for (name, token) in [
        ("expired", expired),
        ("other issuer", other_issuer),
        ("wrong audience", wrong_audience),
        ("unknown key", unknown_kid),
        ("bad signature", bad_signature),
        ("alg none", alg_none),
        ("HS256 with the public key", hmac_with_public_key),
        ("an ID token", id_token_like),
        (
            "opaque garbage",
            "not-a-token-the-provider-issued".to_owned(),
        ),
    ] {
        let response = token_request(&chat, Some(&token), None).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_refused(response, 401, "invalid_token").await;
    }
    let metrics = chat.gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_logins_total{outcome=\"webchat_refused\",reason=\"invalid_token\"} 9"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_request_without_credentials_gets_a_bearer_challenge() {
    let chat = chat(Idp::shared(), "").await;
    let body = assert_refused(
        token_request(&chat, None, None).await,
        401,
        "no_credentials",
    )
    .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );
}

#[tokio::test]
async fn a_user_without_the_identifying_claim_gets_a_clear_error_and_no_token() {
    let idp = Idp::shared();
    let chat = chat(idp, "").await;
    let access_token =
        app_access_token(&chat.browser(), idp, "carol", "carol-password", None).await;
    let body = assert_refused(
        token_request(&chat, Some(&access_token), None).await,
        403,
        "missing_claim",
    )
    .await;
    assert!(
        body["message"].as_str().unwrap().contains("`email`"),
        "{body}"
    );
}

#[tokio::test]
async fn an_unverified_email_gets_no_token_from_either_kind_of_access_token() {
    let idp = Idp::shared();
    let with_audience = format!("  audience: [{API}]\n");
    for (extra, resource) in [("", None), (with_audience.as_str(), Some(API))] {
        let chat = chat(idp, extra).await;
        let access_token = app_access_token(
            &chat.browser(),
            idp,
            "mallory",
            "mallory-password",
            resource,
        )
        .await;
        assert_refused(
            token_request(&chat, Some(&access_token), None).await,
            403,
            "email_not_verified",
        )
        .await;
    }
}

#[tokio::test]
async fn with_an_audience_set_an_opaque_token_is_refused_because_it_cannot_show_one() {
    let idp = Idp::shared();
    let chat = chat(idp, &format!("  audience: [{API}]\n")).await;
    let opaque = app_access_token(&chat.browser(), idp, "alice", "alice-password", None).await;
    assert_ne!(opaque.split('.').count(), 3, "expected an opaque token");
    assert_refused(
        token_request(&chat, Some(&opaque), None).await,
        401,
        "invalid_token",
    )
    .await;
    assert!(chat.gateway.has_logged("cannot show its audience"));
}

#[tokio::test]
async fn cors_preflight_is_answered_for_allowed_origins_only() {
    let chat = chat(Idp::shared(), "").await;
    let browser = chat.browser();
    let preflight = |origin: &'static str| {
        browser
            .client
            .request(reqwest::Method::OPTIONS, browser.url("/sso/webchat/token"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight(APP_ORIGIN).await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], APP_ORIGIN);
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert_eq!(allowed.headers()["vary"], "Origin");
    for refused in [
        "http://evil.test",
        "http://app.freshgate.test.evil.test",
        "null",
    ] {
        let response = preflight(refused).await.unwrap();
        assert_eq!(response.status(), 403, "{refused}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{refused}"
        );
    }
    let get = token_request(&chat, Some("whatever"), Some("http://evil.test")).await;
    assert!(get.headers().get("access-control-allow-origin").is_none());
    assert_refused(get, 403, "origin_not_allowed").await;
}

/// `return_to` may be 1 KiB as the app sends it, even of characters its normal form writes in three times
/// as many bytes (`é` as `%C3%A9`): the login finishes there.
#[tokio::test]
async fn a_1_kib_return_to_of_non_ascii_characters_is_where_the_browser_lands() {
    let chat = chat(Idp::shared(), "").await;
    let browser = chat.browser();
    let mut return_to = format!("{APP_ORIGIN}/support/");
    while return_to.len() + 2 <= 1024 {
        return_to.push('é');
    }
    let action = browser
        .open_form_from(&browser.url(&format!("/sso/webchat/login?return_to={}", enc(&return_to))))
        .await;
    // Browsers keep a cookie of at most 4096 bytes (name and value); this client's jar would keep more.
    let pending = browser.cookies_for(&browser.url("/sso/jwt/callback"));
    assert!(pending.len() <= 4096, "{} bytes", pending.len());
    let (landed, _) = browser
        .submit_credentials(&action, "alice", "alice-password")
        .await;
    assert_eq!(landed, url::Url::parse(&return_to).unwrap().as_str());
    assert!(
        landed.len() > 2 * 1024,
        "the normal form is longer: {landed}"
    );
}

#[tokio::test]
async fn the_browser_session_flavour_needs_an_allowed_origin_and_the_csrf_header() {
    let chat = chat(Idp::shared(), "").await;
    let browser = chat.browser();
    let return_to = format!("{APP_ORIGIN}/support?tab=chat");
    let action = browser
        .open_form_from(&browser.url(&format!("/sso/webchat/login?return_to={}", enc(&return_to))))
        .await;
    let (landed, _) = browser
        .submit_credentials(&action, "zoë", "pässwörd-ß-日本")
        .await;
    assert_eq!(landed, return_to, "the browser goes back to the app");
    let cookies = browser.cookies_for(&browser.url("/sso/webchat/token"));
    assert!(cookies.contains("freshgate-webchat="), "{cookies}");

    let ask = |origin: Option<&'static str>, csrf: bool| {
        let mut request = browser.client.get(browser.url("/sso/webchat/token"));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if csrf {
            request = request.header("x-freshgate-webchat", "1");
        }
        request.send()
    };
    let ok = ask(Some(APP_ORIGIN), true).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let body: Value = ok.json().await.unwrap();
    let payload = chat.verified(body["token"].as_str().unwrap());
    assert_eq!(payload["email"], "zoe@example.com");
    assert_eq!(
        payload["contactProperties"]["name"],
        "Zoë Ødegård-Łukasiewicz"
    );

    assert_refused(
        ask(Some(APP_ORIGIN), false).await.unwrap(),
        403,
        "csrf_check_failed",
    )
    .await;
    assert_refused(ask(None, true).await.unwrap(), 403, "csrf_check_failed").await;
    assert_refused(
        ask(Some("http://evil.test"), true).await.unwrap(),
        403,
        "origin_not_allowed",
    )
    .await;

    // Signing out through the Freshworks Logout URL ends the Web Chat session too.
    let logout = browser.get(&browser.url("/sso/jwt/logout")).await;
    assert_eq!(logout.status(), 302);
    let cookies = browser.cookies_for(&browser.url("/sso/webchat/token"));
    assert!(!cookies.contains("freshgate-webchat="), "{cookies}");
    assert_refused(
        ask(Some(APP_ORIGIN), true).await.unwrap(),
        401,
        "no_credentials",
    )
    .await;
}

#[tokio::test]
async fn a_return_to_outside_the_allowed_origins_is_refused() {
    let chat = chat(Idp::shared(), "").await;
    let browser = chat.browser();
    for bad in [
        "http://evil.test/",
        "//evil.test/",
        "http://app.freshgate.test.evil.test/",
        "http://app.freshgate.test@evil.test/",
        "javascript:alert(1)",
        "",
    ] {
        let response = browser
            .get(&browser.url(&format!("/sso/webchat/login?return_to={}", enc(bad))))
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        assert!(response.headers().get("location").is_none(), "{bad}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("not allowed to use the chat sign-in")
        );
    }
}

#[tokio::test]
async fn widget_js_carries_the_widget_settings_and_the_gateway_origin() {
    let chat = chat(
        Idp::shared(),
        "  widget: { host: \"https://acme.freshdesk.test\", token: \"wt-123\", widget_id: \"42\" }\n",
    )
    .await;
    let browser = chat.browser();
    let response = browser.get(&browser.url("/sso/webchat/widget.js")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let script = response.text().await.unwrap();
    assert!(script.contains(r#"{"gateway":"http://sso.freshgate.test","host":"https://acme.freshdesk.test","token":"wt-123","widgetId":"42"}"#), "{script}");
    assert!(script.contains("jwtAuthToken"));
    assert!(!script.contains(SECRET));
}

#[tokio::test]
async fn a_gateway_without_a_freshworks_section_serves_web_chat_only() {
    let idp = Idp::shared();
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), SECRET).unwrap();
    let mut setup = Setup::new(idp.port);
    setup.freshworks = false;
    setup.webchat = Some(format!(
        "  secret_file: {}\n  allowed_origins: [{APP_ORIGIN}]\n",
        secret.path().display()
    ));
    let gateway = Gateway::start(&setup);
    gateway.wait_ready().await;
    let browser = gateway.browser();
    let login = browser
        .get(&browser.url("/sso/jwt/login?client_id=1&state=s&nonce=n"))
        .await;
    assert_eq!(login.status(), 404);
    assert!(
        login
            .text()
            .await
            .unwrap()
            .contains("Freshworks sign-in is not set up here")
    );
    let token = browser.get(&browser.url("/sso/webchat/token")).await;
    assert_eq!(token.status(), 401);
    let ready: Value = support::get(gateway.admin_url("/readyz"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["signing_key"], "not configured");
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_short_widget_secret_and_an_empty_audience_start_with_warnings() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "too-short").unwrap();
    let mut setup = Setup::new(Idp::shared().port);
    setup.webchat = Some(format!(
        "  secret_file: {}\n  allowed_origins: [{APP_ORIGIN}]\n",
        secret.path().display()
    ));
    let gateway = Gateway::start(&setup);
    assert!(
        gateway.has_logged("shorter than 32 bytes"),
        "{}",
        gateway.logs()
    );
    assert!(
        gateway.has_logged("webchat.audience is empty"),
        "{}",
        gateway.logs()
    );
    assert!(
        !gateway.logs().contains("too-short"),
        "the secret reached the log"
    );
}
