//! The shared store's failure modes on one replica: an outage with `store.on_error: fail_open` (a real
//! `redis-server`, stopped mid-test), and a server whose answers are not a store's (`always_ok`).

use std::time::{Duration, Instant};

use crate::replicas::{directory_yaml, try_password};
use crate::support::ad_standin::{AdStandin, StandinUser};
use crate::support::always_ok::AlwaysOk;
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

/// Waits until readiness says `store` is `state`, with the directory ready (so that what readiness says
/// as a whole is about the store).
async fn store_becomes(gateway: &Gateway, state: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = readiness(gateway).await;
        if ready["checks"]["store"] == state && ready["checks"]["directory"] == "ok" {
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

#[tokio::test]
async fn a_store_that_answers_ok_to_everything_is_not_ready_and_lets_no_login_through() {
    let fake = AlwaysOk::start();
    let ad = directory();
    let gateway = Gateway::start_yaml(&directory_yaml(&ad, &store(&fake.url(), "fail_closed")));
    // Readiness writes a value and reads it back: `+OK` is not the value.
    let ready = store_becomes(&gateway, "not ready").await;
    assert_eq!(ready["ready"], false, "{ready}");
    assert!(
        ready["reasons"][0]
            .as_str()
            .is_some_and(|reason| reason.starts_with("the shared store (redis)")),
        "{ready}"
    );
    // A login with the right password, and one with a wrong one: neither the replay guard's nor the
    // throttle's replies are believed, so both get the page for an unavailable store.
    let (state, cookie) = open_form(&gateway).await;
    let response = post_form(&gateway, &state, &cookie).await;
    assert_eq!(response.status(), 503, "{}", gateway.logs());
    assert_eq!(try_password(&gateway, "jdoe", "wrong").await, 503);
    let metrics = gateway.metrics().await;
    // Every operation's series is exported from the start (at 0): the health check's and the
    // throttle's reservation must have counted errors.
    for operation in ["ping", "reserve"] {
        let prefix = format!("freshgate_store_errors_total{{operation=\"{operation}\"}} ");
        let count: u64 = metrics
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {prefix}in {metrics}"));
        assert!(count > 0, "{operation}: {metrics}");
    }
    assert!(metrics.contains("freshgate_store_up 0"), "{metrics}");
    assert!(
        gateway.has_logged("not what a Redis store answers"),
        "{}",
        gateway.logs()
    );
    assert!(fake.commands() > 0);
}

#[tokio::test]
async fn with_fail_open_a_store_that_answers_ok_to_everything_falls_back_to_this_replicas_memory() {
    let fake = AlwaysOk::start();
    let ad = directory();
    let gateway = Gateway::start_yaml(&directory_yaml(&ad, &store(&fake.url(), "fail_open")));
    let ready = store_becomes(&gateway, "degraded").await;
    assert_eq!(ready["ready"], true, "{ready}");
    let (state, cookie) = open_form(&gateway).await;
    assert_signed_in(post_form(&gateway, &state, &cookie).await).await;
    assert_replay_refused(post_form(&gateway, &state, &cookie).await).await;
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_store_errors_total{operation=\"first_use\"} 1"),
        "{metrics}"
    );
}
