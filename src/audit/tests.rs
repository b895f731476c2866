//! An attempt's audit event: its first outcome kept, each field named once, and one failure written for an
//! attempt dropped before its answer.

use super::*;

#[test]
fn an_attempt_keeps_its_first_outcome_and_a_typed_name_cannot_break_the_line() {
    let attempt = Attempt::new(
        crate::request_id::RequestIds::new().next(),
        "192.0.2.7".parse().unwrap(),
        Kind::Freshworks,
        Arc::new(Metrics::new()),
    );
    assert!(!attempt.has_ended());
    attempt.ended(LoginOutcome::Refusal, "account_disabled");
    attempt.ended(LoginOutcome::Success, "ok");
    attempt.username(&format!("jdoe\n{}", "x".repeat(1000)));
    let fields = std::mem::take(&mut *attempt.fields.lock().unwrap());
    assert_eq!(
        fields.ended,
        Some((LoginOutcome::Refusal, "account_disabled"))
    );
    let username = fields.username.as_deref().unwrap();
    assert!(username.starts_with("jdoe\\nx"), "{username}");
    assert_eq!(
        username.chars().count(),
        202,
        "200 characters (the line break written as two), then …"
    );
}

#[test]
fn the_event_names_each_field_once_and_leaves_out_what_is_not_known() {
    let id = crate::request_id::RequestId::parse(b"3f2a9c1e-7b4d-4e8a-9f00-1234567890ab").unwrap();
    let metrics = Arc::new(Metrics::new());
    let clock = Arc::new(crate::clock::ManualClock::at_unix_ms(1_767_225_600_250));
    let lines = crate::logging::tests::raw_json_lines(|| {
        let attempt = Attempt::new(
            id,
            "203.0.113.9".parse().unwrap(),
            Kind::Freshworks,
            metrics.clone(),
        )
        .with_clock(clock.clone());
        attempt.method(LoginMethod::Oidc);
        attempt.account("12344");
        attempt.login_started(clock.unix_ms() - 4_000);
        attempt.subject("alice-0001", Some("https://sso.example.com/realms/acme"));
        attempt.email("alice@example.com");
        attempt.ended(LoginOutcome::Success, "ok");
        attempt.finish();
        // No outcome: no event, finished or dropped.
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        Attempt::new(id, client, Kind::WebchatToken, metrics.clone()).finish();
        drop(Attempt::new(
            id,
            client,
            Kind::WebchatToken,
            metrics.clone(),
        ));
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let event: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let mut keys: Vec<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "account",
            "client",
            "duration_ms",
            "email",
            "issuer",
            "kind",
            "level",
            "login_duration_ms",
            "message",
            "method",
            "outcome",
            "reason",
            "request_id",
            "subject",
            "target",
            "timestamp"
        ]
    );
    assert_eq!(event["target"], TARGET);
    assert_eq!(event["message"], "login succeeded");
    assert_eq!(event["client"], "203.0.113.9");
    let whole = event["login_duration_ms"].as_f64().unwrap();
    assert!((4_000.0..5_000.0).contains(&whole), "{event}");
    assert!(metrics.render().contains(
        "freshgate_login_duration_seconds_count{method=\"oidc\",outcome=\"success\"} 1\n"
    ));
}

#[test]
fn an_attempt_dropped_before_its_answer_still_writes_one_failure() {
    let ids = crate::request_id::RequestIds::new();
    let metrics = Arc::new(Metrics::new());
    let client: IpAddr = "192.0.2.7".parse().unwrap();
    let lines = crate::logging::tests::json_lines(|| {
        let attempt = Attempt::new(ids.next(), client, Kind::Freshworks, metrics.clone());
        attempt.attempting();
        attempt.method(LoginMethod::Directory);
        attempt.username("jdoe");
        drop(attempt);
        // Ended but not finished: the outcome it had is written.
        let attempt = Attempt::new(ids.next(), client, Kind::Freshworks, metrics.clone());
        attempt.attempting();
        attempt.ended(LoginOutcome::Failure, "wrong_password");
        drop(attempt);
        // Finished: nothing more when it drops.
        let attempt = Attempt::new(ids.next(), client, Kind::Freshworks, metrics.clone());
        attempt.attempting();
        attempt.ended(LoginOutcome::Success, "ok");
        attempt.finish();
    });
    let reasons: Vec<&str> = lines
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, [CLIENT_CLOSED, "wrong_password", "ok"]);
    assert_eq!(lines[0]["username"], "jdoe");
    assert_eq!(lines[0]["outcome"], "failure");
    assert!(
        metrics
            .render()
            .contains("freshgate_logins_total{outcome=\"failure\",reason=\"client_closed\"} 1\n")
    );
}
