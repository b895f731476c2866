//! How the audit trail is delivered: one event per attempt with fifty at once, and a log filter that keeps
//! the trail while it drops the other lines.

use std::time::Duration;

use crate::support::{Browser, FRESHWORKS_REDIRECT, Gateway, audit_event_of, request_id_of};
use crate::{Stack, login_query};

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
