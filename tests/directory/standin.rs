//! Against the AD stand-in (tests/support/ad_standin.rs), for what slapd cannot produce: AD's bind
//! sub-codes, the in-chain matching rule, and counting the binds that reach "AD".

use std::time::Duration;

use crate::flow::*;
use crate::support::Gateway;
use crate::support::ad_standin::{AdStandin, StandinGroup, StandinUser};
use crate::support::slapd::AGENTS_GROUP;

fn standin_directory(ad: &AdStandin, extra: &str) -> String {
    format!(
        "  url: {}\n  bind_dn: \"{}\"\n  bind_password: {}\n  base_dn: \"{}\"\n  kind: active_directory\n  timeout: 3s\n{extra}",
        ad.url, ad.bind_dn, ad.bind_password, ad.base_dn
    )
}

fn agent(sam: &str, password: &str) -> StandinUser {
    StandinUser::new(sam, password)
        .mail(Some(&format!("{sam}@corp.example")))
        .groups(&[AGENTS_GROUP])
}

#[tokio::test]
async fn each_ad_account_state_gets_its_page_and_never_counts_as_a_wrong_password() {
    let codes = [
        ("530", "logon_hours", "You cannot sign in at this time"),
        (
            "531",
            "workstation_not_allowed",
            "You cannot sign in from here",
        ),
        ("532", "password_expired", "Your password must be changed"),
        ("533", "account_disabled", "Your account is disabled"),
        ("701", "account_expired", "Your account has expired"),
        (
            "773",
            "password_must_change",
            "Your password must be changed",
        ),
    ];
    let users = codes
        .iter()
        .map(|(code, _, _)| agent(&format!("u{code}"), "right").bind_code(code))
        .collect();
    let ad = AdStandin::start(users);
    let gateway = Gateway::start_yaml(&yaml(&standin_directory(&ad, ""), ""));
    for (code, reason, title) in codes {
        // Five tries each: more than max_failures, and never throttled, since none is a wrong password.
        for _ in 0..5 {
            let response = login(&gateway, ACCOUNT, &format!("u{code}"), "right").await;
            let (status, body) = page_code(response).await;
            assert_eq!(status, 403, "{code}: {body}");
            assert!(
                body.contains(reason) && body.contains(title),
                "{code}: {body}"
            );
        }
    }
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_directory_logins_total{outcome=\"failure\",reason=\"account_disabled\"} 5"
        ),
        "{metrics}"
    );
    assert!(!metrics.contains("throttled"), "{metrics}");
}

#[tokio::test]
async fn a_lockout_ad_tells_whatever_the_password_looks_like_a_wrong_password_unless_shown() {
    // AD answers data 775 to any password: telling the browser would tell anyone that the name exists
    // and is locked. The log and the metric say it.
    let ad = AdStandin::start(vec![agent("locked", "right").bind_code("775")]);
    let gateway = Gateway::start_yaml(&yaml(&standin_directory(&ad, ""), ""));
    let response = login(&gateway, ACCOUNT, "locked", "right").await;
    let (status, body) = page_code(response).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("The user name or password is not right"),
        "{body}"
    );
    assert!(
        body.contains("your account may be locked"),
        "the hint every failure gets: {body}"
    );
    assert!(!body.contains("Your account is locked"), "{body}");
    let unknown = login(&gateway, ACCOUNT, "nobody", "right").await;
    let (unknown_status, unknown_body) = page_code(unknown).await;
    assert_eq!(unknown_status, status);
    assert_eq!(
        normalized_form(&unknown_body, "nobody"),
        normalized_form(&body, "locked"),
        "a locked account's answer is an unknown name's"
    );
    assert!(gateway.has_logged("\"reason\":\"account_locked_out\""));
    assert!(gateway.metrics().await.contains(
        "freshgate_directory_logins_total{outcome=\"failure\",reason=\"account_locked_out\"} 1"
    ));
    // An intranet that chose to show lockouts (directory.show_lockouts) gets the page.
    let shown = Gateway::start_yaml(&yaml(
        &standin_directory(&ad, "  show_lockouts: true\n"),
        "",
    ));
    let response = login(&shown, ACCOUNT, "locked", "wrong").await;
    let (status, body) = page_code(response).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Your account is locked"), "{body}");
}

#[tokio::test]
async fn wrong_passwords_are_throttled_below_the_lockout_and_the_user_is_free_after_the_window() {
    let ad = AdStandin::start(vec![agent("victim", "right"), agent("bystander", "right")]);
    let directory = standin_directory(
        &ad,
        "  throttle: { max_failures: 3, window: 10s, max_failures_per_ip: 30 }\n",
    );
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let victim = StandinUser::new("victim", "right").dn();
    let browser = gateway.browser();
    let (_, state) = open_form(&browser, ACCOUNT).await;
    // 1st wrong try; the 2nd within a second is held (backoff) without a bind.
    let response = submit(&browser, &state, "victim", "wrong-1").await;
    assert_eq!(response.status(), 200);
    let response = submit(&browser, &state, "victim", "wrong-2").await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(ad.binds(&victim), 1);
    for wait in [1, 2] {
        tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
        let response = submit(&browser, &state, "victim", "wrong").await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(ad.binds(&victim), 3);
    let last_failure = std::time::Instant::now();
    // Three failures: even the right password is held now, and it never reaches AD.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let response = submit(&browser, &state, "victim", "right").await;
    assert_page(response, 429, "Too many failed sign-ins").await;
    assert_eq!(ad.binds(&victim), 3, "no bind past max_failures");
    // Another user from the same address is not affected.
    let response = login(&gateway, ACCOUNT, "bystander", "right").await;
    assert_eq!(response.status(), 302);
    // The first failure has left the 10 s window, so the typed name may be tried again; another spelling
    // of the same entry could be tried at once. But the entry counts as AD does: its failures came
    // within 10 s of each other, so its count starts again only 10 s after the last one. Until then the
    // bind is held, and the answer is a wrong password's.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let response = submit(&browser, &state, "victim@corp.example", "right").await;
    assert_page(response, 200, "The user name or password is not right").await;
    assert_eq!(ad.binds(&victim), 3, "held without a bind");
    assert!(gateway.has_logged("\"reason\":\"held_user\""));
    let free_at = last_failure + Duration::from_millis(10_300);
    tokio::time::sleep(free_at.saturating_duration_since(std::time::Instant::now())).await;
    let response = submit(&browser, &state, "victim", "right").await;
    assert_eq!(response.status(), 302, "{}", gateway.logs());
    assert!(gateway.has_logged("\"reason\":\"throttled_user\""));
}

#[tokio::test]
async fn an_empty_password_never_reaches_ad() {
    let ad = AdStandin::start(vec![agent("jdoe", "right")]);
    let gateway = Gateway::start_yaml(&yaml(&standin_directory(&ad, ""), ""));
    let response = login(&gateway, ACCOUNT, "jdoe", "").await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Enter your password.")
    );
    assert_eq!(ad.binds(&StandinUser::new("jdoe", "").dn()), 0);
}

#[tokio::test]
async fn nested_groups_come_from_ads_in_chain_rule() {
    let tier3 = "CN=Tier 3,OU=Groups,DC=corp,DC=example";
    let tier2 = "CN=Tier 2,OU=Groups,DC=corp,DC=example";
    let ad = AdStandin::start_with_groups(
        vec![
            StandinUser::new("deep", "right")
                .mail(Some("deep@corp.example"))
                .groups(&[tier3]),
            StandinUser::new("loner", "right").mail(Some("loner@corp.example")),
        ],
        vec![
            StandinGroup::new(tier3, &[tier2]),
            StandinGroup::new(tier2, &[AGENTS_GROUP]),
            StandinGroup::new(AGENTS_GROUP, &[]),
        ],
    );
    let directory = standin_directory(&ad, "  nested_groups: ad_matching_rule\n");
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let response = login(&gateway, ACCOUNT, "deep", "right").await;
    assert_eq!(response.status(), 302, "{}", gateway.logs());
    let response = login(&gateway, ACCOUNT, "loner", "right").await;
    let (status, body) = page_code(response).await;
    assert_eq!(status, 403);
    assert!(body.contains("not_in_allowed_group"));
}

#[tokio::test]
async fn an_unknown_user_costs_a_bind_too_so_timing_does_not_tell_names_apart() {
    let ad = AdStandin::start(vec![agent("jdoe", "right")]);
    let gateway = Gateway::start_yaml(&yaml(&standin_directory(&ad, ""), ""));
    let binds_before = ad.total_binds();
    let response = login(&gateway, ACCOUNT, "nobody", "whatever").await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The user name or password is not right")
    );
    // Not counting the service account's own bind (made on first use).
    let new: Vec<_> = ad
        .bind_log()
        .into_iter()
        .skip(binds_before)
        .filter(|bind| bind.name != ad.bind_dn)
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(new[0].name.contains("freshgate-no-such-user-"), "{new:?}");
    assert_ne!(new[0].code, 0, "the decoy bind fails");
}
