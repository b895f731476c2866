//! The directory login of `login.rs` and `standin.rs` again, against the real domain controller: the names
//! Windows users type, a non-ASCII password, a comma in a DN, a sub-OU, nested groups through AD's in-chain
//! rule, every account state's page (AD's own answers, a real lockout), injection attempts, an empty
//! password.

use std::time::Duration;

use crate::flow::*;
use crate::support::samba::{self, AGENTS_GROUP, SambaDc};
use crate::support::{FRESHWORKS_REDIRECT, Gateway};

use super::{binds_logged, locked, samba_gateway};

/// `objectGUID` of `dn` in AD's text form, read from the DC.
async fn guid_of(dn: &str) -> String {
    let entry = SambaDc::shared().read(dn, &["objectGUID"]).await;
    freshgate::directory::guid_text(&entry.bin_attrs["objectGUID"][0])
}

#[tokio::test]
async fn users_sign_in_with_every_name_they_type_in_windows() {
    let gateway = samba_gateway("", "");
    let guid = guid_of(samba::JDOE.dn).await;
    for typed in [
        "jdoe",
        "JDOE",
        "jdoe@corp.example",
        "CORP\\jdoe",
        "corp\\JDoe",
        " jdoe ",
    ] {
        let response = login(&gateway, ACCOUNT, typed, samba::JDOE.password).await;
        let payload = verified_payload(&token_of(&response, FRESHWORKS_REDIRECT));
        assert_eq!(payload["sub"], guid, "{typed}");
        assert_eq!(payload["email"], "jdoe@corp.example");
        assert_eq!(payload["given_name"], "John");
        assert_eq!(payload["family_name"], "Doe");
        assert_eq!(payload["phone_number"], samba::JDOE_PHONE);
    }
    let response = login(&gateway, ACCOUNT, "OTHER\\jdoe", samba::JDOE.password).await;
    assert_page(response, 200, "The user name or password is not right").await;
    assert!(!gateway.logs().contains(samba::JDOE.password));
}

#[tokio::test]
async fn a_non_ascii_password_a_comma_in_the_dn_a_sub_ou_and_nested_groups_work() {
    // Freshservice Agents through Tier 2 (jane) is found by AD's in-chain rule (the default for AD).
    let gateway = samba_gateway("", "");
    for user in [samba::ZOE, samba::JANE, samba::KIM] {
        let response = login(&gateway, ACCOUNT, user.sam, user.password).await;
        let payload = verified_payload(&token_of(&response, FRESHWORKS_REDIRECT));
        assert_eq!(payload["sub"], guid_of(user.dn).await, "{}", user.sam);
        assert_eq!(payload["given_name"], user.given_name);
        assert_eq!(payload["family_name"], user.sn);
        assert_eq!(payload["email"], user.mail.unwrap());
    }
    // The same through a walk of member searches.
    let walked = samba_gateway("  nested_groups: recursive\n", "");
    let response = login(&walked, ACCOUNT, samba::JANE.sam, samba::JANE.password).await;
    token_of(&response, FRESHWORKS_REDIRECT);
}

#[tokio::test]
async fn each_account_state_gets_its_page_only_with_the_right_password() {
    let gateway = samba_gateway("", "");
    let cases = [
        (samba::DIS, "account_disabled", "Your account is disabled"),
        (
            samba::CHG,
            "password_must_change",
            "Your password must be changed",
        ),
        (samba::EXP, "account_expired", "Your account has expired"),
        (samba::NOMAIL, "missing_attribute", "<code>mail</code>"),
        (samba::OUT, "not_in_allowed_group", "You may not sign in"),
    ];
    for (user, reason, text) in cases {
        let response = login(&gateway, ACCOUNT, user.sam, user.password).await;
        let (status, body) = page_code(response).await;
        assert_eq!(status, 403, "{}: {body}", user.sam);
        assert!(
            body.contains(reason) && body.contains(text),
            "{}: {body}",
            user.sam
        );
    }
    // Without allow rules, the same user signs in.
    let response = login(&gateway, OPEN_ACCOUNT, samba::OUT.sam, samba::OUT.password).await;
    token_of(&response, OPEN_REDIRECT);
    // With a wrong password, every one of them looks like any wrong password (AD says data 52e).
    for user in [samba::DIS, samba::CHG, samba::EXP] {
        let response = login(
            &gateway,
            ACCOUNT,
            &format!("{}@corp.example", user.sam),
            "wrong",
        )
        .await;
        assert_page(response, 200, "The user name or password is not right").await;
    }
}

#[tokio::test]
async fn a_real_lockout_is_shown_only_where_lockouts_are_shown() {
    let dc = SambaDc::shared();
    let sam = samba::unique_sam("locked");
    let dn = dc.add_user(&sam, "right-password", &[AGENTS_GROUP]).await;
    dc.add_pso(
        &format!("{sam}-policy"),
        10,
        2,
        Duration::from_secs(60),
        Duration::from_secs(120),
        &[&dn],
    )
    .await;
    // Locked at the DC by someone else (two wrong passwords straight to it, as a workstation would).
    for _ in 0..2 {
        let settings = ldap3::LdapConnSettings::new().set_config(dc.tls_config());
        let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, &dc.ldaps_url)
            .await
            .unwrap();
        ldap3::drive!(conn);
        let _ = ldap.simple_bind(&dn, "wrong").await.unwrap();
    }
    assert!(locked(dc, &dn).await);
    // By default the right password gets the wrong password's answer: the lockout is not for strangers.
    let gateway = samba_gateway("", "");
    let response = login(&gateway, ACCOUNT, &sam, "right-password").await;
    assert_page(response, 200, "your account may be locked").await;
    assert!(gateway.has_logged("\"reason\":\"account_locked_out\""));
    // Where lockouts are shown (directory.show_lockouts), the page says so, whatever the password.
    let shown = samba_gateway("  show_lockouts: true\n", "");
    let response = login(&shown, ACCOUNT, &format!("{sam}@corp.example"), "anything").await;
    let (status, body) = page_code(response).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Your account is locked"), "{body}");
    // The gateway sent no bind for the locked account: it read the lockout first.
    assert_eq!(binds_logged(dc, &dn).await.len(), 2);
}

#[tokio::test]
async fn injection_attempts_and_an_empty_password_never_bind_as_anyone() {
    let dc = SambaDc::shared();
    let sam = samba::unique_sam("inj");
    let dn = dc.add_user(&sam, "inj-password", &[AGENTS_GROUP]).await;
    let gateway = samba_gateway("", "");
    let prefix = &sam[..3];
    for typed in [
        "*".to_owned(),
        format!("{prefix}*"),
        format!("{sam})(|(sAMAccountName=*"),
        "*)(objectClass=*".to_owned(),
        format!("{sam}\\"),
        format!("{sam}\0"),
    ] {
        let response = login(&gateway, ACCOUNT, &typed, "inj-password").await;
        assert_page(response, 200, "The user name or password is not right").await;
    }
    // An empty password (an unauthenticated bind, which AD answers with success) never reaches the DC.
    let response = login(&gateway, ACCOUNT, &sam, "").await;
    assert_page(response, 200, "Enter your password.").await;
    assert!(binds_logged(dc, &dn).await.is_empty(), "no bind as {dn}");
    let response = login(&gateway, ACCOUNT, &sam, "inj-password").await;
    token_of(&response, FRESHWORKS_REDIRECT);
}

#[tokio::test]
async fn the_primary_group_domain_users_counts_for_allow_groups() {
    // Domain Users is every user's primary group (primaryGroupID 513): not in memberOf, not seen by the
    // in-chain rule.
    let dc = SambaDc::shared();
    let directory = super::samba_directory(dc, "");
    let only_domain_users = yaml(&directory, "").replace(
        &format!("groups: [\"{AGENTS_GROUP}\"]"),
        &format!("groups: [\"{}\"]", samba::DOMAIN_USERS_GROUP),
    );
    let gateway = Gateway::start_yaml(&only_domain_users);
    let response = login(&gateway, ACCOUNT, samba::OUT.sam, samba::OUT.password).await;
    token_of(&response, FRESHWORKS_REDIRECT);
    // A group that has Domain Users as a member counts too (nested through the primary group).
    let sam = samba::unique_sam("pgnest");
    let group = format!("CN={sam}-all,OU=Groups,DC=corp,DC=example");
    let mut admin = dc.admin().await;
    admin
        .add(
            &group,
            vec![
                ("objectClass", std::collections::HashSet::from(["group"])),
                (
                    "member",
                    std::collections::HashSet::from([samba::DOMAIN_USERS_GROUP]),
                ),
            ],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    for nested in ["ad_matching_rule", "recursive"] {
        let nested_yaml = yaml(
            &super::samba_directory(dc, &format!("  nested_groups: {nested}\n")),
            "",
        )
        .replace(
            &format!("groups: [\"{AGENTS_GROUP}\"]"),
            &format!("groups: [\"{group}\"]"),
        );
        let gateway = Gateway::start_yaml(&nested_yaml);
        let response = login(&gateway, ACCOUNT, samba::OUT.sam, samba::OUT.password).await;
        assert_eq!(response.status(), 302, "{nested}: {}", gateway.logs());
    }
}
