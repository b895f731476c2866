//! The sign-in audit trail of provider logins and Web Chat, against the real provider: exactly one event
//! per login attempt, whichever way it ends, with who, how, from where and why, and never a secret.
//! (Directory and Kerberos logins: `tests/directory/audit.rs`.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::support::faulty::Fault;
use crate::support::redis::Redis;
use crate::support::{
    APP_ORIGIN, Browser, CLIENT_SECRET, FRESHWORKS_REDIRECT, Gateway, audit_event_of, query,
    random, request_id_of,
};
use crate::{Stack, login_query};

const ISSUER: &str = "http://sso.freshgate.test/realms/acme";
const ENDPOINT: &str = "/realms/acme/protocol/openid-connect";

/// What one attempt's event must say: `fields` exactly, `absent` not at all.
struct Expect {
    request_id: String,
    outcome: &'static str,
    reason: &'static str,
    fields: Vec<(&'static str, Value)>,
    absent: Vec<&'static str>,
}

impl Expect {
    fn new(response: &reqwest::Response, outcome: &'static str, reason: &'static str) -> Expect {
        Expect {
            request_id: request_id_of(response),
            outcome,
            reason,
            fields: Vec::new(),
            absent: Vec::new(),
        }
    }

    fn with(mut self, field: &'static str, value: impl Into<Value>) -> Expect {
        self.fields.push((field, value.into()));
        self
    }

    fn without(mut self, fields: &[&'static str]) -> Expect {
        self.absent.extend(fields);
        self
    }

    /// The fields of a Freshworks provider login whose pending login was read.
    fn oidc_login(self) -> Expect {
        self.with("kind", "freshworks")
            .with("method", "oidc")
            .with("account", "12344")
    }

    fn check(&self, events: &[Value]) {
        let event = audit_event_of(events, &self.request_id);
        assert_eq!(
            (event["outcome"].as_str(), event["reason"].as_str()),
            (Some(self.outcome), Some(self.reason)),
            "{event}"
        );
        for (field, value) in &self.fields {
            assert_eq!(&event[*field], value, "{field} of {event}");
        }
        for field in &self.absent {
            assert!(event.get(*field).is_none(), "{field} in {event}");
        }
    }
}

/// Checks every expectation against the trail, and that the trail holds nothing else: exactly one event
/// per attempt, none for what is no attempt.
fn check_trail(gateway: &Gateway, expected: &[Expect]) -> Vec<Value> {
    gateway.wait_audit_events(expected.len());
    // Anything more would have arrived by now too.
    std::thread::sleep(Duration::from_millis(200));
    let events = gateway.audit_events();
    assert_eq!(
        events.len(),
        expected.len(),
        "one event per attempt: {events:#?}"
    );
    for expect in expected {
        expect.check(&events);
    }
    events
}

fn assert_no_secret(gateway: &Gateway, secrets: &[String]) {
    let logs = gateway.logs();
    for secret in secrets {
        assert!(
            !secret.is_empty() && !logs.contains(secret.as_str()),
            "{secret:?} is in the log:\n{logs}"
        );
    }
    for query_text in ["code=", "state=", "id_token=", "session_state="] {
        assert!(
            !logs.contains(query_text),
            "a query string in the log:\n{logs}"
        );
    }
}

/// A cookie key file, so a test can seal a pending login the gateway opens.
fn cookie_key(dir: &tempfile::TempDir, key: &[u8; 32]) -> String {
    use base64::Engine;
    let path = dir.path().join("cookie-key");
    std::fs::write(&path, base64::engine::general_purpose::STANDARD.encode(key)).unwrap();
    format!("session: {{ cookie_key_file: {} }}\n", path.display())
}

/// A provider login of `user` (password `<user>-password`) up to the callback URL the browser would open.
async fn until_callback(browser: &Browser, user: &str) -> String {
    browser
        .login_until_callback(&login_query("s", "n"), user, &format!("{user}-password"))
        .await
}

#[tokio::test]
async fn a_provider_login_writes_one_event_with_who_how_and_from_where_and_no_secret() {
    let stack = Stack::start("").await;
    let gateway = &stack.gateway;
    let browser = gateway.browser();
    let (state, nonce) = (random("fw-state-"), random("fw-nonce-"));
    let callback = browser
        .login_until_callback(&login_query(&state, &nonce), "alice", "alice-password")
        .await;
    let pending_cookie = browser.cookies_for(&callback);
    let done = browser.get(&callback).await;
    assert_eq!(done.status(), 302);
    let redirect = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(redirect.starts_with(FRESHWORKS_REDIRECT));
    let expect = Expect::new(&done, "success", "ok")
        .oidc_login()
        .with("subject", "alice-0001")
        .with("issuer", ISSUER)
        .with("email", "alice@example.com")
        .with("client", "127.0.0.1")
        .with("message", "login succeeded")
        .with("target", "freshgate::audit")
        .without(&["username", "principal", "credential"]);
    let events = check_trail(gateway, &[expect]);
    let event = &events[0];
    let request = event["duration_ms"].as_f64().unwrap();
    let whole = event["login_duration_ms"]
        .as_f64()
        .expect("the whole login's duration");
    assert!(whole >= request, "{event}");

    let callback_query = query(&callback);
    let mut secrets = vec![
        "alice-password".to_owned(),
        callback_query["code"].clone(),
        callback_query["state"].clone(),
        state,
        nonce,
        query(&redirect)["id_token"].clone(),
        CLIENT_SECRET.to_owned(),
    ];
    secrets.extend(
        pending_cookie
            .split("; ")
            .filter_map(|pair| pair.split_once('=').map(|(_, value)| value.to_owned())),
    );
    assert_no_secret(gateway, &secrets);

    let metrics = gateway.metrics().await;
    for line in [
        "freshgate_login_duration_seconds_count{method=\"oidc\",outcome=\"success\"} 1\n",
        "freshgate_login_request_duration_seconds_count{method=\"oidc\",outcome=\"success\"} 1\n",
        "freshgate_provider_duration_seconds_count{operation=\"token\",result=\"ok\"} 1\n",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn every_way_a_provider_login_ends_writes_exactly_one_event_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let key = [7u8; 32];
    let stack = Stack::start(&cookie_key(&dir, &key)).await;
    let (gateway, idp, provider) = (&stack.gateway, &stack.idp, &stack.provider);
    let mut expected = Vec::new();
    let mut secrets = vec![CLIENT_SECRET.to_owned()];

    // A success, then its callback replayed with a copy of the cookie.
    let browser = gateway.browser();
    let callback = until_callback(&browser, "alice").await;
    let stolen = browser.cookies_for(&callback);
    secrets.push(query(&callback)["code"].clone());
    let done = browser.get(&callback).await;
    expected.push(Expect::new(&done, "success", "ok").oidc_login());
    let replay = Browser::new(gateway.addr, false)
        .client
        .get(&callback)
        .header("cookie", stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    expected.push(
        Expect::new(&replay, "failure", "replayed_callback")
            .oidc_login()
            .without(&["subject", "email"]),
    );

    // Who the user is was refused: no email; an unverified one.
    for (user, subject, reason) in [
        ("carol", "carol-0004", "missing_claim"),
        ("mallory", "mallory-0005", "email_not_verified"),
    ] {
        let browser = gateway.browser();
        let callback = until_callback(&browser, user).await;
        let response = browser.get(&callback).await;
        assert_eq!(response.status(), 403);
        expected.push(
            Expect::new(&response, "refusal", reason)
                .oidc_login()
                .with("subject", subject)
                .with("issuer", ISSUER)
                .without(&["email"]),
        );
    }

    // Cancelled at the provider.
    let browser = gateway.browser();
    let action = browser.open_login_form(&login_query("s", "n")).await;
    let (_, cancelled) = browser.cancel(&action).await;
    assert_eq!(cancelled.status(), 403);
    expected.push(Expect::new(&cancelled, "failure", "provider_error").oidc_login());

    // The answer altered on the way: another issuer's `iss`, no code.
    for (change, reason) in [("iss", "issuer_mismatch"), ("code", "missing_code")] {
        let browser = gateway.browser();
        let callback = until_callback(&browser, "alice").await;
        let mut url = url::Url::parse(&callback).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .filter(|(name, _)| name != change)
            .collect();
        secrets.extend(
            pairs
                .iter()
                .filter(|(n, _)| n == "code")
                .map(|(_, v)| v.clone()),
        );
        {
            let mut query = url.query_pairs_mut();
            query.clear();
            for (name, value) in &pairs {
                query.append_pair(name, value);
            }
            if change == "iss" {
                query.append_pair("iss", "http://evil.example/realms/acme");
            }
        }
        let response = browser.get(url.as_str()).await;
        assert_eq!(response.status(), 400, "{change}");
        expected.push(Expect::new(&response, "failure", reason).oidc_login());
    }

    // No pending login in this browser; a forged one under the right name.
    let stranger = Browser::new(gateway.addr, false);
    let response = stranger
        .get(&stranger.url("/sso/jwt/callback?state=abc&code=xyz"))
        .await;
    expected.push(
        Expect::new(&response, "failure", "no_pending_login")
            .with("method", "oidc")
            .without(&["account", "login_duration_ms"]),
    );
    let browser = gateway.browser();
    let callback = until_callback(&browser, "alice").await;
    let state = query(&callback)["state"].clone();
    let forged = stranger
        .client
        .get(&callback)
        .header(
            "cookie",
            format!(
                "freshgate-login-{}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                &state[..16]
            ),
        )
        .send()
        .await
        .unwrap();
    expected.push(
        Expect::new(&forged, "failure", "tampered_login")
            .without(&["account", "login_duration_ms"]),
    );

    // A pending login older than login_timeout (sealed here with the gateway's cookie key).
    let jar = freshgate::freshworks::pending::CookieJar::new(&key, false);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let pending = freshgate::freshworks::pending::PendingLogin {
        state: "ExpiredStateAAAAAAAAAAAAAAAAAAAA".into(),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        account: "12344".into(),
        fw_state: "fs".into(),
        fw_nonce: "fn".into(),
        started: now - 11 * 60,
        started_ms: (now - 11 * 60) * 1000,
        return_to: None,
        directory: false,
    };
    let expired = stranger
        .client
        .get(stranger.url(&format!("/sso/jwt/callback?state={}&code=c", pending.state)))
        .header(
            "cookie",
            format!("{}={}", jar.name(&pending.state), jar.seal(&pending)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 400);
    let expired_id = request_id_of(&expired);
    expected.push(Expect::new(&expired, "failure", "expired_login").oidc_login());

    // The provider failing at the back channel, and a forged ID token.
    idp.admin("/__admin/claims-mode", json!({"mode": "userinfo"}))
        .await;
    for (path, reason) in [
        ("/token", "token_exchange_failed"),
        ("/userinfo", "userinfo_failed"),
    ] {
        provider.heal();
        let browser = gateway.browser();
        let callback = until_callback(&browser, "alice").await;
        provider.fail(&format!("{ENDPOINT}{path}"), Fault::ServerError);
        let response = browser.get(&callback).await;
        assert_eq!(response.status(), 502, "{path}");
        let expect = Expect::new(&response, "failure", reason).oidc_login();
        expected.push(if path == "/userinfo" {
            // The ID token was valid: the provider's `sub` is known.
            expect.with("subject", "alice-0001")
        } else {
            expect.without(&["subject"])
        });
    }
    provider.heal();
    idp.admin("/__admin/reset", json!({})).await;
    idp.admin("/__admin/tamper", json!({"mode": "wrong_nonce"}))
        .await;
    let browser = gateway.browser();
    let callback = until_callback(&browser, "alice").await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 502);
    expected.push(Expect::new(&response, "failure", "invalid_id_token").oidc_login());
    idp.admin("/__admin/reset", json!({})).await;

    // Refused at the Login URL: the login ends before it starts.
    let browser = gateway.browser();
    for (query_text, reason, account) in [
        ("client_id=12344&nonce=n", "missing_parameter", true),
        ("client_id=99999&state=s&nonce=n", "unknown_account", false),
        (
            "client_id=12344&state=s&nonce=n&redirect_uri=http%3A%2F%2Fevil.example%2F",
            "redirect_uri_mismatch",
            true,
        ),
    ] {
        let response = browser
            .get(&browser.url(&format!("/sso/jwt/login?{query_text}")))
            .await;
        assert_eq!(response.status(), 400, "{query_text}");
        let expect = Expect::new(&response, "failure", reason)
            .with("kind", "freshworks")
            .without(&["login_duration_ms", "subject"]);
        // A request naming a configured account has it (and the account's method).
        expected.push(if account {
            expect.with("account", "12344").with("method", "oidc")
        } else {
            expect.without(&["account", "method"])
        });
    }

    // No attempts: a login that starts, a logout, passthrough.
    let started = browser
        .get(&browser.url(&format!("/sso/jwt/login?{}", login_query("s", "n"))))
        .await;
    assert_eq!(started.status(), 302);
    assert_eq!(
        browser.get(&browser.url("/sso/jwt/logout")).await.status(),
        302
    );
    assert_eq!(
        browser
            .get(&browser.url("/realms/acme/.well-known/openid-configuration"))
            .await
            .status(),
        200
    );

    let events = check_trail(gateway, &expected);
    let expired_event = audit_event_of(&events, &expired_id);
    let whole = expired_event["login_duration_ms"].as_f64().unwrap();
    assert!(
        (660_000.0..700_000.0).contains(&whole),
        "the whole login ran from the Login URL eleven minutes ago: {expired_event}"
    );
    assert_no_secret(gateway, &secrets);
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_login_request_duration_seconds_count{method=\"oidc\",outcome=\"refusal\"} 2\n"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_login_refused_because_the_shared_store_is_down_writes_one_failure() {
    let redis = Redis::start();
    let mut redis = redis;
    let stack = Stack::start(&format!(
        "store: {{ url: \"{}\", timeout: 300ms, on_error: fail_closed }}\n",
        redis.url()
    ))
    .await;
    let gateway = &stack.gateway;
    let browser = gateway.browser();
    let callback = browser
        .login_until_callback(&login_query("s", "n"), "alice", "alice-password")
        .await;
    redis.stop();
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 503);
    let expect = Expect::new(&response, "failure", "store_unavailable")
        .oidc_login()
        .without(&["subject"]);
    check_trail(gateway, &[expect]);
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_store_duration_seconds_count{operation=\"first_use\",result=\"error\"}"
        ),
        "{metrics}"
    );
}

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

/// docs/operations.md's routing example: warnings and the audit trail, nothing else (and, for the test
/// harness, which waits for it, the start-up's "listening" lines).
#[tokio::test]
async fn a_log_filter_can_keep_the_audit_trail_and_drop_the_other_info_lines() {
    let idp = crate::support::Idp::start(0);
    let setup = crate::support::Setup::new(idp.port);
    let yaml = setup.yaml().replace(
        "level: \"info\"",
        "level: \"warn,freshgate::audit=info,freshgate::serve=info\"",
    );
    assert!(yaml.contains("freshgate::audit=info"));
    let gateway = Gateway::start_yaml(&yaml);
    gateway.wait_ready().await;
    let browser = gateway.browser();
    let done = browser
        .login(&login_query("s", "n"), "alice", "alice-password")
        .await;
    assert!(done.starts_with(FRESHWORKS_REDIRECT));
    let events = gateway.wait_audit_events(1);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["outcome"], "success");
    let info: Vec<serde_json::Value> = gateway
        .json_lines()
        .into_iter()
        .filter(|line| {
            line["level"] == "INFO"
                && line["target"] != "freshgate::audit"
                && line["target"] != "freshgate::serve"
        })
        .collect();
    assert!(info.is_empty(), "only the audit trail at INFO: {info:#?}");
}

/// Fifty attempts at once (ten whole logins, forty callbacks without a pending login) write fifty events,
/// one per request id, and the histograms count the same.
#[tokio::test(flavor = "multi_thread")]
async fn fifty_attempts_at_once_write_fifty_events_one_per_request() {
    let stack = Stack::start("").await;
    let gateway = &stack.gateway;
    // The logins run up to their callbacks first, so the fifty requests that end attempts go together.
    let mut callbacks = Vec::new();
    for i in 0..10 {
        let browser = gateway.browser();
        let callback = browser
            .login_until_callback(
                &login_query(&format!("s{i}"), "n"),
                "alice",
                "alice-password",
            )
            .await;
        callbacks.push((browser, callback));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (browser, callback) in callbacks {
        tasks.spawn(async move { browser.get(&callback).await });
    }
    for _ in 0..40 {
        let stranger = Browser::new(gateway.addr, false);
        tasks.spawn(async move {
            stranger
                .get(&stranger.url("/sso/jwt/callback?state=gone&code=x"))
                .await
        });
    }
    let mut ids = std::collections::BTreeMap::new();
    while let Some(response) = tasks.join_next().await {
        let response = response.unwrap();
        ids.insert(request_id_of(&response), response.status().as_u16());
    }
    assert_eq!(ids.len(), 50, "fifty distinct request ids");
    gateway.wait_audit_events(50);
    std::thread::sleep(Duration::from_millis(200));
    let events = gateway.audit_events();
    assert_eq!(events.len(), 50, "{events:#?}");
    for (id, status) in &ids {
        let event = audit_event_of(&events, id);
        let want = if *status == 302 {
            ("success", "ok")
        } else {
            ("failure", "no_pending_login")
        };
        assert_eq!(
            (
                event["outcome"].as_str().unwrap(),
                event["reason"].as_str().unwrap()
            ),
            want,
            "{event}"
        );
    }
    assert_eq!(ids.values().filter(|s| **s == 302).count(), 10);
    let metrics = gateway.metrics().await;
    for line in [
        "freshgate_login_request_duration_seconds_count{method=\"oidc\",outcome=\"success\"} 10\n",
        "freshgate_login_request_duration_seconds_count{method=\"oidc\",outcome=\"failure\"} 40\n",
        "freshgate_login_duration_seconds_count{method=\"oidc\",outcome=\"success\"} 10\n",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
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
