//! Whole directory logins against the test slapd: the form, the search-then-bind, the token Freshworks
//! receives (checked by an independent verifier), and every way a login is refused.

use crate::flow::*;
use crate::support::slapd::{DIS, JANE, JDOE, JDOE_PHONE, KIM, NOMAIL, OUT, STAR, Slapd, ZOE};
use crate::support::{FRESHWORKS_REDIRECT, PUBLIC_ORIGIN};

#[tokio::test]
async fn a_directory_user_logs_in_through_the_gateways_page_and_freshworks_gets_a_verified_token() {
    let gateway = slapd_gateway(false);
    let browser = gateway.browser();
    let (html, state) = open_form(&browser, ACCOUNT).await;
    assert!(html.contains("Sign in to acme.freshworks.test"), "{html}");
    assert!(html.contains(r#"action="/sso/jwt/callback""#));
    assert!(html.contains(r#"autocomplete="current-password""#));
    let response = submit(&browser, &state, JDOE.sam, JDOE.password).await;
    let payload = verified_payload(&token_of(&response, FRESHWORKS_REDIRECT));
    assert_eq!(payload["sub"], JDOE.guid, "objectGUID as AD shows it");
    assert_eq!(payload["email"], "jdoe@corp.example");
    assert_eq!(payload["given_name"], "John");
    assert_eq!(payload["family_name"], "Doe");
    assert_eq!(payload["phone_number"], JDOE_PHONE);
    assert_eq!(payload["nonce"], "fw-nonce-1");
    assert!(payload["iat"].is_u64());
    // The spent form cannot be posted again, even with the cookie kept.
    let again = submit(&browser, &state, JDOE.sam, JDOE.password).await;
    assert_eq!(again.status(), 400);
    assert!(gateway.has_logged("directory login succeeded"));
    assert!(
        !gateway.logs().contains(JDOE.password),
        "no password in the logs"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_directory_logins_total{outcome=\"success\",reason=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "freshgate_directory_duration_seconds_count{operation=\"user_bind\",result=\"ok\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("freshgate_directory_up 1"));
}

#[tokio::test]
async fn users_sign_in_with_the_names_they_type_in_windows() {
    let gateway = slapd_gateway(false);
    for typed in [
        "JDOE",
        "jdoe@corp.example",
        "CORP\\jdoe",
        "corp\\JDoe",
        " jdoe ",
    ] {
        let response = login(&gateway, ACCOUNT, typed, JDOE.password).await;
        let payload = verified_payload(&token_of(&response, FRESHWORKS_REDIRECT));
        assert_eq!(payload["sub"], JDOE.guid, "{typed}");
    }
    // Another domain's down-level name is never looked up: the same answer as a wrong password.
    let response = login(&gateway, ACCOUNT, "OTHER\\jdoe", JDOE.password).await;
    assert_page(response, 200, "The user name or password is not right").await;
}

#[tokio::test]
async fn non_ascii_names_a_comma_in_the_cn_nested_groups_and_sub_ous_work_over_start_tls() {
    let gateway = slapd_gateway(true);
    for user in [ZOE, JANE, KIM] {
        let response = login(&gateway, ACCOUNT, user.sam, user.password).await;
        let payload = verified_payload(&token_of(&response, FRESHWORKS_REDIRECT));
        assert_eq!(payload["sub"], user.guid, "{}", user.sam);
        assert_eq!(payload["given_name"], user.given_name);
        assert_eq!(payload["family_name"], user.sn);
    }
}

#[tokio::test]
async fn a_wrong_password_or_an_unknown_user_shows_the_form_again_with_one_message() {
    let gateway = slapd_gateway(false);
    let browser = gateway.browser();
    let (_, state) = open_form(&browser, ACCOUNT).await;
    let wrong = submit(&browser, &state, JDOE.sam, "not-the-password").await;
    assert_eq!(wrong.status(), 200);
    let wrong = wrong.text().await.unwrap();
    let unknown = submit(&browser, &state, "nobody-here", "whatever").await;
    let unknown = unknown.text().await.unwrap();
    for html in [&wrong, &unknown] {
        assert!(html.contains(r#"role="alert""#));
        assert!(html.contains("The user name or password is not right"));
        assert_eq!(
            hidden_state(html).as_deref(),
            Some(state.as_str()),
            "the same login goes on"
        );
        assert!(!html.contains("not-the-password") && !html.contains("whatever"));
    }
    // The name typed is kept, so only the password needs typing again.
    assert!(wrong.contains(r#"value="jdoe""#));
    // After a failed try the same form still logs in (after the one-second backoff).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let response = submit(&browser, &state, JDOE.sam, JDOE.password).await;
    token_of(&response, FRESHWORKS_REDIRECT);
    assert!(gateway.has_logged("\"reason\":\"wrong_password\""));
    assert!(gateway.has_logged("\"reason\":\"unknown_user\""));
}

#[tokio::test]
async fn account_states_and_allow_rules_each_get_their_own_page_only_with_the_right_password() {
    let gateway = slapd_gateway(false);
    let cases = [
        (
            DIS.sam,
            DIS.password,
            ACCOUNT,
            403,
            "account_disabled",
            "Your account is disabled",
        ),
        (
            NOMAIL.sam,
            NOMAIL.password,
            ACCOUNT,
            403,
            "missing_attribute",
            "<code>mail</code>",
        ),
        (
            OUT.sam,
            OUT.password,
            ACCOUNT,
            403,
            "not_in_allowed_group",
            "You may not sign in",
        ),
        // Without `allow` rules, the same user gets in.
        (OUT.sam, OUT.password, OPEN_ACCOUNT, 302, "", ""),
    ];
    for (user, password, account, status, reason, text) in cases {
        let response = login(&gateway, account, user, password).await;
        let (got, body) = page_code(response).await;
        assert_eq!(got, status, "{user} at {account}: {body}");
        assert!(
            body.contains(reason) && body.contains(text),
            "{user}: {body}"
        );
    }
    // A disabled account with a wrong password looks like any wrong password.
    let response = login(&gateway, ACCOUNT, DIS.sam, "wrong").await;
    assert_page(response, 200, "The user name or password is not right").await;
}

#[tokio::test]
async fn an_empty_password_is_refused_before_the_directory_which_would_accept_it() {
    let slapd = Slapd::shared();
    // The pitfall is real: slapd (like AD) answers a bind with a DN and no password with success.
    let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(
        ldap3::LdapConnSettings::new().set_config(slapd.tls_config()),
        &slapd.ldaps_url,
    )
    .await
    .unwrap();
    ldap3::drive!(conn);
    assert_eq!(ldap.simple_bind(JDOE.dn, "").await.unwrap().rc, 0);
    let gateway = slapd_gateway(false);
    let response = login(&gateway, ACCOUNT, JDOE.sam, "").await;
    assert_page(response, 200, "Enter your password.").await;
    assert!(gateway.has_logged("\"reason\":\"empty_password\""));
}

#[tokio::test]
async fn injection_attempts_in_the_user_name_match_nothing_but_themselves() {
    let gateway = slapd_gateway(false);
    for typed in [
        "**",
        "a*",
        "jdoe)(|(sAMAccountName=*",
        "*)(objectClass=*",
        "jdoe\\",
        "jdoe\0",
        "a\\b*",
    ] {
        let response = login(&gateway, ACCOUNT, typed, JDOE.password).await;
        assert_eq!(response.status(), 200, "{typed:?}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("The user name or password is not right"),
            "{typed:?}: {html}"
        );
    }
    // `*` is a star: the user literally named `a*b` logs in, and `*` with its password does not.
    let response = login(&gateway, OPEN_ACCOUNT, STAR.sam, STAR.password).await;
    assert_eq!(
        verified_payload(&token_of(&response, OPEN_REDIRECT))["sub"],
        STAR.guid
    );
    let response = login(&gateway, OPEN_ACCOUNT, "*", STAR.password).await;
    assert_page(response, 200, "The user name or password is not right").await;
}

#[tokio::test]
async fn a_form_posted_from_elsewhere_or_without_its_cookie_is_refused() {
    let gateway = slapd_gateway(false);
    let browser = gateway.browser();
    let (_, state) = open_form(&browser, ACCOUNT).await;
    let form = [
        ("state", state.as_str()),
        ("username", JDOE.sam),
        ("password", JDOE.password),
    ];
    // Another site's page posting into this browser.
    let response = browser
        .client
        .post(browser.url("/sso/jwt/callback"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("cross_site_form"));
    // Another browser (no pending-login cookie) with the state: nothing to finish.
    let stranger = gateway.browser();
    let response = submit(&stranger, &state, JDOE.sam, JDOE.password).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("no_pending_login"));
    // A body that is not a form.
    let response = browser
        .client
        .post(browser.url("/sso/jwt/callback"))
        .header("origin", PUBLIC_ORIGIN)
        .json(&serde_json::json!({"state": state}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // The real form still works afterwards: nothing above spent it.
    let response = submit(&browser, &state, JDOE.sam, JDOE.password).await;
    token_of(&response, FRESHWORKS_REDIRECT);
    assert!(!gateway.logs().contains(JDOE.password));
}

#[tokio::test]
async fn a_directory_only_gateway_passes_nothing_through() {
    let gateway = slapd_gateway(false);
    let browser = gateway.browser();
    let response = browser.get(&browser.url("/realms/acme/account")).await;
    assert_eq!(response.status(), 404);
    wait_directory_ready(&gateway).await;
    let ready = readiness(&gateway).await;
    assert_eq!(ready["checks"]["provider"], "not configured");
    assert_eq!(ready["ready"], true);
}
