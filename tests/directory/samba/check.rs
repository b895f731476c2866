//! `freshgate check` against the Samba DC: the lockout policies it reports (the domain's, a password
//! settings object's, one it cannot read) with the margin for a user, one wording per account state, and
//! hints that name the real cause of a refused certificate or of a bind that needs TLS.

use std::process::Command;
use std::time::Duration;

use crate::flow::yaml;
use crate::support::binary;
use crate::support::samba::{self, AGENTS_GROUP, SambaDc};

use super::{directory_as, samba_directory};

/// `freshgate check` on a configuration with this `directory` section (and `--test-user`): its output.
fn check(directory: &str, test_user: Option<&str>) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, yaml(directory, "")).unwrap();
    let mut command = Command::new(binary());
    command.args(["check", "-c"]).arg(&config);
    if let Some(user) = test_user {
        command.args(["--test-user", user]);
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn check_names_the_policy_that_applies_to_a_user_and_the_margin_left() {
    let dc = SambaDc::shared();
    // The case: a PSO with threshold 2 for the user; the domain says 5.
    let sam = samba::unique_sam("chkpso");
    let dn = dc.add_user(&sam, "right-password", &[AGENTS_GROUP]).await;
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
    let directory = samba_directory(dc, "  throttle: { max_failures: 3, window: 2m }\n");
    let (code, text) = check(&directory, Some(&sam));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "directory lockout, the domain policy (DC=corp,DC=example): 5 wrong passwords within 2 minutes lock the account for 2 minutes"
        ),
        "{text}"
    );
    assert!(
        text.contains("never sends the wrong password that would be the 5th"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "--test-user {sam}: lockout by the password settings object {pso}: 2 wrong passwords within 1 minute lock the account for 1 minute; badPwdCount 0; the gateway may send 1 more wrong password before the DC would lock it"
        )),
        "{text}"
    );
    assert!(!text.contains("stays below the domain's lockout"), "{text}");
    // A user under the domain policy.
    let (_, text) = check(&directory, Some("jdoe"));
    assert!(
        text.contains(
            "--test-user jdoe: lockout by the domain policy (DC=corp,DC=example): 5 wrong passwords"
        ),
        "{text}"
    );
    assert!(
        text.contains("the gateway may send 4 more wrong passwords"),
        "{text}"
    );
}

#[tokio::test]
async fn check_says_which_pso_it_cannot_read_and_the_right_to_grant() {
    let dc = SambaDc::shared();
    let sam = samba::unique_sam("chkhide");
    let dn = dc.add_user(&sam, "right-password", &[AGENTS_GROUP]).await;
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
    let directory = directory_as(dc, samba::NOPSO_DN, samba::NOPSO_PASSWORD, "");
    let (code, text) = check(&directory, Some(&sam));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "PROBLEM  directory: the service account cannot read the lockout settings of the password settings object {pso}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "--test-user {sam}: the password settings object {pso} applies"
        )),
        "{text}"
    );
    assert!(
        text.contains("dsacls \"CN=Password Settings Container,CN=System,<domain DN>\""),
        "{text}"
    );
}

#[test]
fn check_words_each_account_state_as_its_page_does() {
    let dc = SambaDc::shared();
    let directory = samba_directory(dc, "");
    for (user, wording) in [
        (samba::JDOE, "account: usable"),
        (samba::DIS, "account: disabled"),
        (samba::CHG, "account: password must be changed"),
        (samba::EXP, "account: expired"),
    ] {
        let (_, text) = check(&directory, Some(user.sam));
        assert!(text.contains(wording), "{}: {text}", user.sam);
        assert!(!text.contains("password expired"), "{text}");
    }
    let (_, text) = check(&directory, Some("out"));
    assert!(
        text.contains(&format!("group: {}", samba::DOMAIN_USERS_GROUP)),
        "the primary group is listed: {text}"
    );
}

#[test]
fn a_certificate_without_the_name_used_is_blamed_not_the_service_account() {
    let dc = SambaDc::shared();
    // The DC's certificate names dc1.corp.example and 127.0.0.1, not localhost.
    let directory = samba_directory(dc, "").replace(&dc.ldaps_url, "ldaps://localhost:636");
    let (code, text) = check(&directory, None);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("TLS certificate is refused"), "{text}");
    assert!(text.contains("not valid for name"), "{text}");
    assert!(text.contains("subjectAltName"), "{text}");
    assert!(!text.contains("bind_dn and its password"), "{text}");
}

#[test]
fn a_bind_that_needs_tls_says_to_use_ldaps_or_start_tls() {
    let dc = SambaDc::shared();
    // Plain LDAP (allowed to this machine): Samba refuses a simple bind without TLS (strongAuthRequired).
    let directory = samba_directory(dc, "").replace(&dc.ldaps_url, &dc.ldap_url);
    let (code, text) = check(&directory, None);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("accepts this bind only over TLS"), "{text}");
    assert!(
        text.contains("fix: use ldaps://host:636 in directory.url, or ldap://host:389 with directory.start_tls: true"),
        "{text}"
    );
    assert!(!text.contains("bind_dn and its password"), "{text}");
    // With StartTLS the same URL works.
    let directory = samba_directory(dc, "")
        .replace(&dc.ldaps_url, &dc.ldap_url)
        .replace("  timeout:", "  start_tls: true\n  timeout:");
    let (code, text) = check(&directory, None);
    assert_eq!(code, Some(0), "{text}");
}
