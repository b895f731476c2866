//! The Samba DC itself, checked with the `ldap3` client and the Kerberos tools: what the gateway tests rely
//! on (users, groups, TLS, AD's answers and counters), so that a failing gateway test is about the gateway.

use std::process::Command;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry, ldap_escape};

use crate::support::samba::{self, AdUser, SambaDc};

fn first(entry: &SearchEntry, attribute: &str) -> Option<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .and_then(|(_, v)| v.first())
        .cloned()
}

fn all(entry: &SearchEntry, attribute: &str) -> Vec<String> {
    let mut values = entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    values.sort();
    values
}

/// The user `name` matches as the service account finds it (sAMAccountName or UPN).
async fn find(name: &str) -> Vec<SearchEntry> {
    let dc = SambaDc::shared();
    let mut ldap = dc.bound(&dc.bind_dn, &dc.bind_password).await;
    let name = ldap_escape(name);
    let (entries, _) = ldap
        .search(
            &dc.base_dn,
            Scope::Subtree,
            &format!(
                "(&(sAMAccountType=805306368)(|(sAMAccountName={name})(userPrincipalName={name})))"
            ),
            vec![
                "sAMAccountName",
                "userPrincipalName",
                "mail",
                "givenName",
                "sn",
                "memberOf",
                "telephoneNumber",
                "primaryGroupID",
            ],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    entries
        .into_iter()
        .map(SearchEntry::construct)
        .filter(|e| !e.dn.is_empty())
        .collect()
}

#[test]
fn the_dc_starts_with_the_documented_ready_line() {
    let dc = SambaDc::shared();
    eprintln!("SambaDc::start() took {:?}", dc.startup);
    assert_eq!(dc.ldaps_url, "ldaps://127.0.0.1:636");
    assert_eq!(dc.ldap_url, "ldap://127.0.0.1:389");
    assert_eq!(dc.base_dn, samba::BASE_DN);
    assert_eq!(dc.bind_dn, samba::SERVICE_DN);
    assert_eq!(dc.realm, samba::REALM);
    assert_eq!(dc.service_principal, samba::SERVICE_PRINCIPAL);
    assert!(dc.ca_file.exists() && dc.keytab.exists() && dc.smb_conf.exists());
}

#[tokio::test]
async fn every_user_has_the_documented_attributes_and_groups() {
    for user in samba::USERS {
        let entries = find(user.sam).await;
        assert_eq!(entries.len(), 1, "{}: {entries:?}", user.sam);
        let entry = &entries[0];
        assert_eq!(entry.dn, user.dn, "{}", user.sam);
        assert_eq!(first(entry, "mail").as_deref(), user.mail, "{}", user.sam);
        assert_eq!(first(entry, "userPrincipalName").as_deref(), Some(user.upn));
        assert_eq!(first(entry, "givenName").as_deref(), Some(user.given_name));
        assert_eq!(first(entry, "sn").as_deref(), Some(user.sn));
        let mut groups: Vec<String> = user.member_of.iter().map(|g| g.to_string()).collect();
        groups.sort();
        assert_eq!(all(entry, "memberOf"), groups, "{}", user.sam);
        // Domain Users is the primary group: a RID, never in memberOf.
        assert_eq!(first(entry, "primaryGroupID").as_deref(), Some("513"));
    }
    let jdoe = &find("JDoe@Corp.Example").await[0];
    assert_eq!(
        first(jdoe, "telephoneNumber").as_deref(),
        Some(samba::JDOE_PHONE)
    );
}

#[tokio::test]
async fn users_bind_with_a_dn_a_upn_or_a_down_level_name_and_a_non_ascii_password() {
    let dc = SambaDc::shared();
    let user: AdUser = samba::ZOE;
    for name in [
        user.dn.to_owned(),
        user.upn.to_owned(),
        format!("CORP\\{}", user.sam),
    ] {
        let mut ldap = dc.bound(&name, user.password).await;
        ldap.unbind().await.unwrap();
    }
}

#[tokio::test]
async fn ad_answers_a_refused_bind_with_its_data_code_only_when_the_password_is_right() {
    let dc = SambaDc::shared();
    let cases = [
        (samba::DIS, "data 533"),
        (samba::EXP, "data 701"),
        (samba::CHG, "data 773"),
    ];
    for (user, code) in cases {
        for (password, expected) in [(user.password, code), ("not-the-password", "data 52e")] {
            let settings = LdapConnSettings::new().set_config(dc.tls_config());
            let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &dc.ldaps_url)
                .await
                .unwrap();
            ldap3::drive!(conn);
            let result = ldap.simple_bind(user.dn, password).await.unwrap();
            assert_eq!(result.rc, 49, "{}", user.sam);
            assert!(
                result.text.contains(expected),
                "{} with {password}: {}",
                user.sam,
                result.text
            );
        }
    }
}

#[tokio::test]
async fn a_simple_bind_over_plain_ldap_needs_tls_first() {
    let dc = SambaDc::shared();
    let (conn, mut ldap) = LdapConnAsync::new(&dc.ldap_url).await.unwrap();
    ldap3::drive!(conn);
    let result = ldap
        .simple_bind(&dc.bind_dn, &dc.bind_password)
        .await
        .unwrap();
    assert_eq!(result.rc, 8, "strongAuthRequired: {}", result.text);
    // With StartTLS (the test CA), the same bind works.
    let settings = LdapConnSettings::new()
        .set_starttls(true)
        .set_config(dc.tls_config());
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &dc.ldap_url)
        .await
        .unwrap();
    ldap3::drive!(conn);
    let result = ldap
        .simple_bind(&dc.bind_dn, &dc.bind_password)
        .await
        .unwrap();
    assert_eq!(result.rc, 0, "{}", result.text);
}

#[tokio::test]
async fn the_ldaps_certificate_names_the_dc_and_its_address_but_not_localhost() {
    let dc = SambaDc::shared();
    let settings = LdapConnSettings::new()
        .set_conn_timeout(Duration::from_secs(5))
        .set_config(dc.tls_config());
    let refused = LdapConnAsync::with_settings(settings, "ldaps://localhost:636").await;
    let error = refused.err().expect("localhost is not in the certificate");
    assert!(
        format!("{error:?}").contains("NotValidForName"),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_dc_logs_every_authentication_with_its_outcome() {
    let dc = SambaDc::shared();
    let settings = LdapConnSettings::new().set_config(dc.tls_config());
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &dc.ldaps_url)
        .await
        .unwrap();
    ldap3::drive!(conn);
    let name = "CN=peer-log-probe,OU=Staff,DC=corp,DC=example";
    let _ = ldap.simple_bind(name, "whatever").await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events: Vec<_> = dc
            .auth_events()
            .into_iter()
            .filter(|e| e.account == name)
            .collect();
        if let Some(event) = events.first() {
            assert_eq!(event.status, "NT_STATUS_NO_SUCH_USER");
            assert_eq!(event.service, "LDAP");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", dc.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn wrong_passwords_count_in_bad_pwd_count_and_a_pso_locks_at_its_threshold() {
    let dc = SambaDc::shared();
    let sam = samba::unique_sam("peerpso");
    let dn = dc.add_user(&sam, "right-password", &[]).await;
    let pso = dc
        .add_pso(
            &format!("{sam}-policy"),
            10,
            2,
            Duration::from_secs(60),
            Duration::from_secs(60),
            &[&dn],
        )
        .await;
    let entry = dc.read(&dn, &["msDS-ResultantPSO"]).await;
    assert_eq!(
        first(&entry, "msDS-ResultantPSO").as_deref(),
        Some(pso.as_str())
    );
    // The gateway's service account may read the policy (tests/samba/README.md), svc-nopso may not.
    let mut svc = dc.bound(&dc.bind_dn, &dc.bind_password).await;
    let (entries, _) = svc
        .search(
            &pso,
            Scope::Base,
            "(objectClass=*)",
            vec!["msDS-LockoutThreshold"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let readable = SearchEntry::construct(entries.into_iter().next().unwrap());
    assert_eq!(
        first(&readable, "msDS-LockoutThreshold").as_deref(),
        Some("2")
    );
    let mut nopso = dc.bound(samba::NOPSO_DN, samba::NOPSO_PASSWORD).await;
    let (entries, _) = nopso
        .search(
            &pso,
            Scope::Base,
            "(objectClass=*)",
            vec!["msDS-LockoutThreshold"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let hidden = SearchEntry::construct(entries.into_iter().next().unwrap());
    assert_eq!(first(&hidden, "msDS-LockoutThreshold"), None, "{hidden:?}");
    // Two wrong passwords lock the account; then even the right one gets data 775.
    for expected in ["data 52e", "data 52e", "data 775"] {
        let settings = LdapConnSettings::new().set_config(dc.tls_config());
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &dc.ldaps_url)
            .await
            .unwrap();
        ldap3::drive!(conn);
        let result = ldap.simple_bind(&dn, "wrong").await.unwrap();
        assert!(result.text.contains(expected), "{}", result.text);
    }
    assert_eq!(dc.number(&dn, "badPwdCount").await, 2);
    assert_ne!(dc.number(&dn, "lockoutTime").await, 0);
}

#[test]
fn the_keytab_holds_aes_keys_for_the_gateways_service_principal() {
    let dc = SambaDc::shared();
    let output = Command::new("klist")
        .arg("-ke")
        .arg(&dc.keytab)
        .output()
        .expect("klist runs (Debian: apt-get install krb5-user)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!(
            "{} (aes256-cts-hmac-sha1-96)",
            dc.service_principal
        )),
        "{text}"
    );
}
