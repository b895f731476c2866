//! The sign-in audit trail of provider logins against the real provider: exactly one event per login
//! attempt, whichever way it ends, with who, how, from where and why, and never a secret. Web Chat:
//! `audit_webchat.rs`; many at once and log filters: `audit_delivery.rs`; directory and Kerberos logins:
//! `tests/directory/audit.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::faulty::Fault;
use crate::support::redis::Redis;
use crate::support::{
    Browser, CLIENT_SECRET, FRESHWORKS_REDIRECT, Gateway, audit_event_of, query, random,
    request_id_of,
};
use crate::{Stack, login_query};

pub(crate) const ISSUER: &str = "http://sso.freshgate.test/realms/acme";
pub(crate) const ENDPOINT: &str = "/realms/acme/protocol/openid-connect";

/// What one attempt's event must say: `fields` exactly, `absent` not at all.
pub(crate) struct Expect {
    request_id: String,
    outcome: &'static str,
    reason: &'static str,
    fields: Vec<(&'static str, Value)>,
    absent: Vec<&'static str>,
}

impl Expect {
    pub(crate) fn new(
        response: &reqwest::Response,
        outcome: &'static str,
        reason: &'static str,
    ) -> Expect {
        Expect {
            request_id: request_id_of(response),
            outcome,
            reason,
            fields: Vec::new(),
            absent: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, field: &'static str, value: impl Into<Value>) -> Expect {
        self.fields.push((field, value.into()));
        self
    }

    pub(crate) fn without(mut self, fields: &[&'static str]) -> Expect {
        self.absent.extend(fields);
        self
    }

    /// The fields of a Freshworks provider login whose pending login was read.
    pub(crate) fn oidc_login(self) -> Expect {
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
pub(crate) fn check_trail(gateway: &Gateway, expected: &[Expect]) -> Vec<Value> {
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

pub(crate) fn assert_no_secret(gateway: &Gateway, secrets: &[String]) {
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
    let (callback, cookie) = crate::support::expired_pending_login(&key);
    let expired = stranger
        .client
        .get(stranger.url(&callback))
        .header("cookie", cookie)
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
