//! The shared store's failure modes on one replica: an outage with `store.on_error: fail_open` (a real
//! `redis-server`, stopped mid-test).

use std::time::{Duration, Instant};

use crate::replicas::directory_yaml;
use crate::support::ad_standin::{AdStandin, StandinUser};
use crate::support::redis::Redis;
use crate::support::{self, Browser, FRESHWORKS_REDIRECT, Gateway, PUBLIC_ORIGIN};

fn directory() -> AdStandin {
    AdStandin::start(vec![
        StandinUser::new("jdoe", "right").mail(Some("jdoe@corp.example")),
    ])
}

fn store(url: &str, on_error: &str) -> String {
    format!("{{ url: \"{url}\", timeout: 300ms, on_error: {on_error} }}")
}

/// Opens the directory sign-in form in a new browser: the form's state, and the `Cookie` header that
/// browser sends with the post (its pending-login cookie).
async fn open_form(gateway: &Gateway) -> (String, String) {
    let browser = gateway.browser();
    let html = browser
        .get(&browser.url("/sso/jwt/login?client_id=1&state=s&nonce=n"))
        .await
        .text()
        .await
        .unwrap();
    let start = html.find(r#"name="state" value=""#).unwrap() + r#"name="state" value=""#.len();
    let state = html[start..].split('"').next().unwrap().to_owned();
    let cookie = browser.cookies_for(&browser.url("/sso/jwt/callback"));
    (state, cookie)
}

/// Posts the form with exactly `cookie`: a browser posting it, or someone replaying a copy.
async fn post_form(gateway: &Gateway, state: &str, cookie: &str) -> reqwest::Response {
    let client = Browser::new(gateway.addr, false);
    client
        .client
        .post(client.url("/sso/jwt/callback"))
        .header("origin", PUBLIC_ORIGIN)
        .header("cookie", cookie)
        .form(&[
            ("state", state),
            ("username", "jdoe"),
            ("password", "right"),
        ])
        .send()
        .await
        .unwrap()
}

async fn assert_signed_in(response: reqwest::Response) {
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(FRESHWORKS_REDIRECT), "{location}");
}

async fn assert_replay_refused(response: reqwest::Response) {
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("already used"));
}

async fn readiness(gateway: &Gateway) -> serde_json::Value {
    support::get(gateway.admin_url("/readyz"))
        .await
        .json()
        .await
        .unwrap()
}

/// Waits until readiness says `store` is `state`.
async fn store_becomes(gateway: &Gateway, state: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = readiness(gateway).await;
        if ready["checks"]["store"] == state {
            return ready;
        }
        assert!(Instant::now() < deadline, "{ready}\n{}", gateway.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn with_fail_open_a_form_spent_before_an_outage_is_refused_on_the_same_replica_during_it() {
    let mut redis = Redis::start();
    let ad = directory();
    let gateway = Gateway::start_yaml(&directory_yaml(&ad, &store(&redis.url(), "fail_open")));
    let (before, before_cookie) = open_form(&gateway).await;
    assert_signed_in(post_form(&gateway, &before, &before_cookie).await).await;

    redis.stop();
    // The form spent while the store was up, posted again (a copy of its cookie) during the outage.
    assert_replay_refused(post_form(&gateway, &before, &before_cookie).await).await;
    // A form spent during the outage (this replica's memory, with a warning), and its replay.
    let (during, during_cookie) = open_form(&gateway).await;
    assert_signed_in(post_form(&gateway, &during, &during_cookie).await).await;
    assert!(gateway.has_logged("fail_open"), "{}", gateway.logs());
    assert_replay_refused(post_form(&gateway, &during, &during_cookie).await).await;

    // The store is back, empty (as after a crash): what this replica spent is still refused.
    redis.restart();
    store_becomes(&gateway, "ok").await;
    assert_replay_refused(post_form(&gateway, &before, &before_cookie).await).await;
    assert_replay_refused(post_form(&gateway, &during, &during_cookie).await).await;
}
