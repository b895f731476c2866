//! Which realms' principals are directory users: only the gateway's own realm, exactly, unless
//! `directory.kerberos.trusted_realms` names another with its mapping. Tested through real realm
//! trusts: a second MIT KDC serves `PARTNER.TEST` and `CORP.EVIL.TEST`, each sharing the cross-realm key
//! `krbtgt/CORP.EXAMPLE@<realm>` with CORP.EXAMPLE's KDC (`tests/krb5/kdc.sh --partner-port`), and
//! their users' tickets for the gateway come through the trust, as from a trusted domain or forest.

use crate::flow::*;
use crate::negotiate::*;
use crate::support::kdc::{EVIL_JDOE, Kdc, PARTNER_ENTERPRISE, PARTNER_JDOE, PARTNER_KIM};
use crate::support::slapd::{JDOE, KIM, Slapd};
use crate::support::{FRESHWORKS_REDIRECT, Gateway};

/// `curl --negotiate` as `user` (`(principal, password)`) to `account`'s Login URL.
fn sign_in(kdc: &Kdc, gateway: &Gateway, user: (&str, &str), account: &str) -> Curl {
    let ccache = kdc.kinit(user.0, user.1);
    curl_negotiate(kdc, gateway, &ccache, account)
}

/// The answer to a refused principal: the form again with a new challenge, and no token.
fn assert_refused_with_the_form(curl: &Curl, who: &str) {
    assert_eq!(curl.status, 401, "{who}: {}{}", curl.headers, curl.body);
    assert_eq!(
        curl.header("www-authenticate").as_deref(),
        Some("Negotiate"),
        "{who}"
    );
    assert!(curl.body.contains(r#"name="password""#), "{who}: the form");
    assert!(
        curl.header("location").is_none() && !curl.body.contains("id_token"),
        "{who}: no token"
    );
}

#[tokio::test]
async fn principals_of_a_trusted_realm_never_sign_in_as_the_directorys_users_without_a_rule() {
    let kdc = Kdc::start_with_trusts();
    let gateway = Gateway::start_yaml(&kerberos_yaml(
        &kdc,
        &slapd_directory(Slapd::shared(), false),
        "",
        "",
    ));
    // The gateway's own realm signs in (the trust changes nothing for it).
    let own = sign_in(&kdc, &gateway, (JDOE.sam, JDOE.password), ACCOUNT);
    assert_eq!(own.status, 302, "{}\n{}", own.body, gateway.logs());
    // jdoe of another realm, an enterprise-style name holding jdoe's UPN, and jdoe of a realm whose first
    // label is the NetBIOS name: each has a valid ticket for the gateway, through the trust.
    let cases = [
        (
            PARTNER_ENTERPRISE,
            "kerberos_unusable_principal",
            "jdoe\\\\@corp.example@PARTNER.TEST",
        ),
        (PARTNER_JDOE, "kerberos_foreign_realm", "jdoe@PARTNER.TEST"),
        (EVIL_JDOE, "kerberos_foreign_realm", "jdoe@CORP.EVIL.TEST"),
    ];
    for (user, reason, logged) in cases {
        let curl = sign_in(&kdc, &gateway, user, ACCOUNT);
        assert_refused_with_the_form(&curl, user.0);
        assert!(
            gateway.has_logged(&format!("\"reason\":\"{reason}\"")) && gateway.has_logged(logged),
            "{}: {reason} and the principal in the log\n{}",
            user.0,
            gateway.logs()
        );
    }
    // Those reasons come only after GSS-API accepted the ticket: the trust works, the mapping refuses.
    assert!(
        gateway.has_logged("add it to directory.kerberos.trusted_realms"),
        "the log says how to let a realm in\n{}",
        gateway.logs()
    );
    let metrics = gateway.metrics().await;
    for line in [
        "freshgate_directory_logins_total{outcome=\"failure\",reason=\"kerberos_foreign_realm\"} 2",
        "freshgate_directory_logins_total{outcome=\"failure\",reason=\"kerberos_unusable_principal\"} 1",
        "freshgate_directory_logins_total{outcome=\"success\",reason=\"kerberos_ok\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
}

#[tokio::test]
async fn a_trusted_realm_signs_in_only_by_the_mapping_its_rule_names() {
    let kdc = Kdc::start_with_trusts();
    // short_name: PARTNER.TEST's jdoe is the directory's jdoe; the other realm and enterprise names stay out.
    let gateway = Gateway::start_yaml(&kerberos_yaml(
        &kdc,
        &slapd_directory(Slapd::shared(), false),
        "    trusted_realms: { PARTNER.TEST: short_name }\n",
        "",
    ));
    let partner = sign_in(&kdc, &gateway, PARTNER_JDOE, ACCOUNT);
    assert_eq!(partner.status, 302, "{}\n{}", partner.body, gateway.logs());
    let location = partner.header("location").unwrap();
    assert!(location.starts_with(FRESHWORKS_REDIRECT), "{location}");
    let payload = verified_payload(&crate::support::query(&location)["id_token"]);
    assert_eq!(payload["sub"], JDOE.guid);
    assert!(gateway.has_logged("jdoe@PARTNER.TEST"));
    for user in [PARTNER_ENTERPRISE, EVIL_JDOE] {
        let curl = sign_in(&kdc, &gateway, user, ACCOUNT);
        assert_refused_with_the_form(&curl, user.0);
    }
    // upn: a directory of its own where kim's user principal name is in the partner's realm.
    let slapd = Slapd::start();
    slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nreplace: userPrincipalName\nuserPrincipalName: kim@partner.test\n",
        KIM.dn
    ));
    let gateway = Gateway::start_yaml(&kerberos_yaml(
        &kdc,
        &slapd_directory(&slapd, false),
        "    trusted_realms: { PARTNER.TEST: upn }\n",
        "",
    ));
    let kim = sign_in(&kdc, &gateway, PARTNER_KIM, OPEN_ACCOUNT);
    assert_eq!(kim.status, 302, "{}\n{}", kim.body, gateway.logs());
    let location = kim.header("location").unwrap();
    assert!(location.starts_with(OPEN_REDIRECT), "{location}");
    let payload = verified_payload(&crate::support::query(&location)["id_token"]);
    assert_eq!(payload["sub"], KIM.guid);
    // By UPN, PARTNER.TEST's jdoe has no entry (the directory's jdoe is jdoe@corp.example): the page
    // that says so, never the directory's jdoe.
    let jdoe = sign_in(&kdc, &gateway, PARTNER_JDOE, OPEN_ACCOUNT);
    assert_eq!(jdoe.status, 403, "{}", jdoe.body);
    assert!(jdoe.body.contains("Your Windows account is not known here"));
    assert!(
        gateway.has_logged("no directory entry for the Kerberos principal jdoe@PARTNER.TEST"),
        "{}",
        gateway.logs()
    );
}
