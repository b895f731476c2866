//! The sign-in audit trail of directory and Kerberos logins, against the test slapd and MIT's KDC:
//! exactly one event per post of the sign-in form and per Kerberos ticket, whichever way it ends, with
//! the typed name, the entry's DN, the client address and the reason, and never a password or a token.

use std::time::Duration;

use serde_json::Value;

use crate::flow::*;
use crate::support::redis::Redis;
use crate::support::slapd::{DIS, JDOE, OUT, Slapd, ZOE};
use crate::support::{Gateway, PUBLIC_ORIGIN, audit_event_of, request_id_of};

/// What one attempt's event must say.
struct Expect {
    request_id: String,
    outcome: &'static str,
    reason: &'static str,
    username: Option<&'static str>,
    /// The entry's DN, compared as a DN (slapd spells `cn=`, AD `CN=`).
    dn: Option<&'static str>,
    email: Option<&'static str>,
}

fn expect(
    request_id: String,
    outcome: &'static str,
    reason: &'static str,
    username: Option<&'static str>,
) -> Expect {
    Expect {
        request_id,
        outcome,
        reason,
        username,
        dn: None,
        email: None,
    }
}

/// Checks each expectation and that the trail holds nothing else; returns the events.
fn check_trail(gateway: &Gateway, expected: &[Expect], method: &str) -> Vec<Value> {
    gateway.wait_audit_events(expected.len());
    std::thread::sleep(Duration::from_millis(200));
    let events = gateway.audit_events();
    assert_eq!(
        events.len(),
        expected.len(),
        "one event per attempt: {events:#?}"
    );
    for want in expected {
        let event = audit_event_of(&events, &want.request_id);
        assert_eq!(
            (event["outcome"].as_str(), event["reason"].as_str()),
            (Some(want.outcome), Some(want.reason)),
            "{event}"
        );
        assert_eq!(event["method"], method, "{event}");
        assert_eq!(event["kind"], "freshworks", "{event}");
        assert_eq!(event["username"].as_str(), want.username, "{event}");
        assert_eq!(
            event["subject"].as_str().map(str::to_ascii_lowercase),
            want.dn.map(str::to_ascii_lowercase),
            "{event}"
        );
        assert_eq!(event["email"].as_str(), want.email, "{event}");
        assert!(event.get("issuer").is_none(), "{event}");
    }
    events
}

#[tokio::test]
async fn every_way_a_directory_login_ends_writes_exactly_one_event_and_no_password() {
    let gateway = slapd_gateway(false);
    let mut expected = Vec::new();
    let browser = gateway.browser();

    // Showing the form is no attempt; posting it is.
    let (_, state) = open_form(&browser, ACCOUNT).await;
    let ok = submit(&browser, &state, JDOE.sam, JDOE.password).await;
    assert_eq!(ok.status(), 302);
    expected.push(Expect {
        dn: Some(JDOE.dn),
        email: Some("jdoe@corp.example"),
        ..expect(request_id_of(&ok), "success", "ok", Some("jdoe"))
    });
    let (_, state) = open_form(&browser, ACCOUNT).await;
    let wrong = submit(&browser, &state, JDOE.sam, "not-jdoes-password").await;
    assert_eq!(wrong.status(), 200, "the form again");
    expected.push(expect(
        request_id_of(&wrong),
        "failure",
        "wrong_password",
        Some("jdoe"),
    ));
    let nobody = submit(&browser, &state, "nobody-here", "a-password").await;
    expected.push(expect(
        request_id_of(&nobody),
        "failure",
        "unknown_user",
        Some("nobody-here"),
    ));
    let empty = submit(&browser, &state, JDOE.sam, "").await;
    expected.push(expect(
        request_id_of(&empty),
        "failure",
        "empty_password",
        Some("jdoe"),
    ));

    // Rules: a disabled account, a user outside the account's group.
    for (user, reason, status) in [
        (DIS, "account_disabled", 403),
        (OUT, "not_in_allowed_group", 403),
    ] {
        let response = login(&gateway, ACCOUNT, user.sam, user.password).await;
        assert_eq!(response.status(), status, "{}", user.sam);
        // The password proved who it is: a disabled account is told by AD's bind or the entry, and
        // `allow` is checked on the entry found.
        let dn = (reason == "not_in_allowed_group").then_some(user.dn);
        expected.push(Expect {
            dn,
            ..expect(request_id_of(&response), "refusal", reason, Some(user.sam))
        });
    }

    // Posts that are no sign-in form: from another site, without this browser's pending login.
    let (_, state) = open_form(&browser, ACCOUNT).await;
    let forged = browser
        .client
        .post(browser.url("/sso/jwt/callback"))
        .header("origin", "http://evil.example")
        .form(&[
            ("state", state.as_str()),
            ("username", "jdoe"),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    expected.push(expect(
        request_id_of(&forged),
        "failure",
        "cross_site_form",
        None,
    ));
    let stranger = gateway.browser();
    let orphan = stranger
        .client
        .post(stranger.url("/sso/jwt/callback"))
        .header("origin", PUBLIC_ORIGIN)
        .form(&[
            ("state", "no-such-login"),
            ("username", "jdoe"),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(orphan.status(), 400);
    expected.push(expect(
        request_id_of(&orphan),
        "failure",
        "no_pending_login",
        Some("jdoe"),
    ));

    // The throttle holds a user: after a wrong password the next try waits a second (backoff).
    let browser = gateway.browser();
    let (_, state) = open_form(&browser, ACCOUNT).await;
    let response = submit(&browser, &state, ZOE.sam, "wrong").await;
    expected.push(expect(
        request_id_of(&response),
        "failure",
        "wrong_password",
        Some(ZOE.sam),
    ));
    let held = submit(&browser, &state, ZOE.sam, ZOE.password).await;
    assert_eq!(held.status(), 429);
    expected.push(expect(
        request_id_of(&held),
        "refusal",
        "throttled_user",
        Some(ZOE.sam),
    ));

    let events = check_trail(&gateway, &expected, "directory");
    for event in &events {
        // The account is known from the pending login; posts without one have none.
        let pending =
            !["cross_site_form", "no_pending_login"].contains(&event["reason"].as_str().unwrap());
        assert_eq!(event.get("account").is_some(), pending, "{event}");
        if pending {
            assert_eq!(event["account"], ACCOUNT, "{event}");
            assert!(event["login_duration_ms"].as_f64().is_some(), "{event}");
        }
        assert_eq!(event["client"], "127.0.0.1", "{event}");
    }
    let logs = gateway.logs();
    for password in [
        JDOE.password,
        "not-jdoes-password",
        ZOE.password,
        DIS.password,
        OUT.password,
    ] {
        assert!(!logs.contains(password), "{password} in the log");
    }
    let metrics = gateway.metrics().await;
    for line in [
        // A refusal with a page is counted once (it was counted twice).
        "freshgate_logins_total{outcome=\"failure\",reason=\"account_disabled\"} 1\n",
        "freshgate_logins_total{outcome=\"failure\",reason=\"wrong_password\"} 2\n",
        "freshgate_login_duration_seconds_count{method=\"directory\",outcome=\"success\"} 1\n",
        "freshgate_login_request_duration_seconds_count{method=\"directory\",outcome=\"refusal\"} 3\n",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn a_directory_login_refused_because_the_shared_store_is_down_writes_one_failure() {
    let mut redis = Redis::start();
    let store = format!(
        "store: {{ url: \"{}\", timeout: 300ms, on_error: fail_closed }}\n",
        redis.url()
    );
    let gateway = Gateway::start_yaml(&yaml(&slapd_directory(Slapd::shared(), false), &store));
    let browser = gateway.browser();
    let (_, state) = open_form(&browser, ACCOUNT).await;
    redis.stop();
    let response = submit(&browser, &state, JDOE.sam, JDOE.password).await;
    assert_eq!(response.status(), 503);
    let id = request_id_of(&response);
    check_trail(
        &gateway,
        &[expect(id, "failure", "store_unavailable", Some("jdoe"))],
        "directory",
    );
}

#[cfg(feature = "kerberos")]
#[tokio::test]
async fn kerberos_tickets_write_one_event_each_with_the_principal_and_never_the_token() {
    use crate::negotiate::{Tickets, curl_negotiate, kerberos_gateway, with_authorization};
    use crate::support::kdc::{GHOST, Kdc};

    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let mut expected = Vec::new();

    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let curl = curl_negotiate(kdc, &gateway, &ccache, ACCOUNT);
    assert_eq!(curl.status, 302, "{}", curl.body);
    let jdoe_id = curl.header("x-request-id").expect("a request id");
    expected.push(Expect {
        dn: Some(JDOE.dn),
        email: Some("jdoe@corp.example"),
        ..expect(jdoe_id.clone(), "success", "ok", None)
    });
    let ghost = kdc.kinit(GHOST.0, GHOST.1);
    let curl = curl_negotiate(kdc, &gateway, &ghost, ACCOUNT);
    assert_eq!(curl.status, 403, "{}", curl.body);
    let ghost_id = curl.header("x-request-id").unwrap();
    expected.push(expect(
        ghost_id.clone(),
        "refusal",
        "kerberos_unknown_principal",
        None,
    ));
    // A token that is no Kerberos ticket: the attempt fails and the form is offered.
    let garbage = with_authorization(&gateway, "Negotiate not-base64!").await;
    assert_eq!(garbage.status(), 401);
    expected.push(expect(
        request_id_of(&garbage),
        "failure",
        "kerberos_malformed",
        None,
    ));

    let events = check_trail(&gateway, &expected, "kerberos");
    assert_eq!(
        audit_event_of(&events, &jdoe_id)["principal"],
        "jdoe@CORP.EXAMPLE"
    );
    assert_eq!(
        audit_event_of(&events, &ghost_id)["principal"],
        "ghost@CORP.EXAMPLE"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_login_request_duration_seconds_count{method=\"kerberos\",outcome=\"success\"} 1\n"
        ),
        "{metrics}"
    );
}
