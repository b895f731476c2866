//! The silent Windows login (Kerberos over HTTP Negotiate, RFC 4559) against real peers: MIT's KDC
//! (`tests/krb5/kdc.sh`, `support::kdc`) issues the tickets, `curl --negotiate` (MIT's GSS-API, as on a
//! Linux desktop) presents them, and the test slapd holds the same users. Needs `krb5-kdc`,
//! `krb5-admin-server`, `krb5-user` and a freshgate built with `--features kerberos`.

use std::path::Path;

use base64::Engine;

use crate::flow::*;
use crate::negotiate::*;
use crate::support::kdc::{GHOST, Kdc};
use crate::support::slapd::{DIS, JDOE, OUT, Slapd, ZOE};
use crate::support::{FRESHWORKS_REDIRECT, PUBLIC_HOST};

#[tokio::test]
async fn a_windows_user_with_a_ticket_is_signed_in_without_a_prompt_and_freshworks_gets_a_verified_token()
 {
    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let curl = curl_negotiate(kdc, &gateway, &ccache, ACCOUNT);
    assert_eq!(
        curl.status,
        302,
        "{}{}\n{}",
        curl.headers,
        curl.body,
        gateway.logs()
    );
    let location = curl.header("location").expect("a Location");
    assert!(location.starts_with(FRESHWORKS_REDIRECT), "{location}");
    let query = crate::support::query(&location);
    assert_eq!(query["state"], "fw-state-1");
    let payload = verified_payload(&query["id_token"]);
    assert_eq!(payload["sub"], JDOE.guid);
    assert_eq!(payload["email"], "jdoe@corp.example");
    assert_eq!(payload["nonce"], "fw-nonce-1");
    // Mutual authentication: the acceptor's reply rides on the redirect (RFC 4559 §5).
    let mutual = curl
        .header("www-authenticate")
        .expect("a mutual-auth token");
    let reply = mutual
        .strip_prefix("Negotiate ")
        .expect("Negotiate <token>");
    assert!(
        base64::engine::general_purpose::STANDARD
            .decode(reply)
            .is_ok_and(|bytes| !bytes.is_empty())
    );
    let token = curl.token.expect("curl sent a Negotiate token");
    assert!(gateway.has_logged("kerberos login succeeded"));
    assert!(gateway.has_logged("jdoe@CORP.EXAMPLE"));
    assert!(
        !gateway.logs().contains(&token[..40]) && !gateway.logs().contains(&reply[..20]),
        "no token in the logs"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_directory_logins_total{outcome=\"success\",reason=\"kerberos_ok\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_non_ascii_principal_is_mapped_to_its_directory_entry() {
    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let ccache = kdc.kinit(ZOE.sam, ZOE.password);
    let curl = curl_negotiate(kdc, &gateway, &ccache, ACCOUNT);
    assert_eq!(curl.status, 302, "{}\n{}", curl.body, gateway.logs());
    let location = curl.header("location").unwrap();
    let payload = verified_payload(&crate::support::query(&location)["id_token"]);
    assert_eq!(payload["sub"], ZOE.guid);
    assert_eq!(payload["given_name"], "Zoë");
}

#[tokio::test]
async fn a_browser_without_a_ticket_gets_the_form_with_a_negotiate_challenge_and_can_still_use_its_password()
 {
    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let browser = gateway.browser();
    let response = browser.get(&browser.url(&login_path(ACCOUNT))).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Negotiate");
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign in to acme.freshworks.test"), "{html}");
    let state = hidden_state(&html).unwrap();
    let response = submit(&browser, &state, JDOE.sam, JDOE.password).await;
    verified_payload(&token_of(&response, FRESHWORKS_REDIRECT));
    // curl without a ticket cache: the challenge goes unanswered and the form is what it shows.
    let empty = kdc.dir.join("no-such-ccache");
    let curl = curl_negotiate(kdc, &gateway, &empty, ACCOUNT);
    assert_eq!(curl.status, 401);
    assert!(curl.body.contains(r#"name="password""#), "{}", curl.body);
}

#[tokio::test]
async fn principals_without_an_entry_disabled_or_outside_allow_each_get_their_page_and_no_loop() {
    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let cases = [
        (
            GHOST.0,
            GHOST.1,
            403,
            "kerberos_unknown_principal",
            "Your Windows account is not known here",
        ),
        (
            DIS.sam,
            DIS.password,
            403,
            "account_disabled",
            "Your account is disabled",
        ),
        (
            OUT.sam,
            OUT.password,
            403,
            "not_in_allowed_group",
            "You may not sign in",
        ),
    ];
    for (user, password, status, reason, title) in cases {
        let ccache = kdc.kinit(user, password);
        let curl = curl_negotiate(kdc, &gateway, &ccache, ACCOUNT);
        assert_eq!(curl.status, status, "{user}: {}", curl.body);
        assert!(
            curl.body.contains(reason) && curl.body.contains(title),
            "{user}: {}",
            curl.body
        );
        assert!(
            curl.header("www-authenticate").is_none(),
            "{user}: a page, not another challenge"
        );
        assert!(!curl.body.contains(r#"name="password""#), "{user}: no form");
    }
    assert!(
        gateway.has_logged("no directory entry for the Kerberos principal ghost@CORP.EXAMPLE"),
        "the log names the principal"
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_directory_logins_total{outcome=\"failure\",reason=\"kerberos_unknown_principal\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn ntlm_garbage_and_altered_tokens_get_the_form_again_and_never_a_500() {
    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    // What Windows sends without a ticket for the name: an NTLM NEGOTIATE_MESSAGE.
    let ntlm = b64(b"NTLMSSP\0\x01\0\0\0\x97\x82\x08\xe2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    // A real token (curl's, against a gateway that is not asked), altered in the middle of the ticket.
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let other = kerberos_gateway(kdc);
    let real = curl_negotiate(kdc, &other, &ccache, ACCOUNT).token.unwrap();
    drop(other);
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(&real)
        .unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let altered = b64(&bytes);
    let cases = [
        (format!("Negotiate {ntlm}"), "kerberos_ntlm"),
        ("Negotiate not-base64!".to_owned(), "kerberos_malformed"),
        (
            format!("Negotiate {}", b64(&[0x60, 0x09, 0x06, 0x01, 0x00])),
            "kerberos_malformed",
        ),
        (format!("Negotiate {altered}"), "kerberos_forged"),
        ("Negotiate".to_owned(), "kerberos_malformed"),
    ];
    for (authorization, reason) in &cases {
        let response = with_authorization(&gateway, authorization).await;
        assert_form_with_challenge(response, authorization).await;
        assert!(
            gateway.has_logged(&format!("\"reason\":\"{reason}\"")),
            "{reason}\n{}",
            gateway.logs()
        );
    }
    assert!(gateway.has_logged("kerberos token refused"));
    let logs = gateway.logs();
    assert!(!logs.contains(&altered[..40]) && !logs.contains(&ntlm[..20]));
}

#[tokio::test]
async fn a_replayed_token_is_refused_even_though_the_ticket_is_valid() {
    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let curl = curl_negotiate(kdc, &gateway, &ccache, ACCOUNT);
    assert_eq!(curl.status, 302);
    let token = curl.token.unwrap();
    // An eavesdropper sends the same Authorization header again.
    let response = with_authorization(&gateway, &format!("Negotiate {token}")).await;
    assert_form_with_challenge(response, "the replay").await;
    assert!(
        gateway.has_logged("\"reason\":\"kerberos_replayed\""),
        "{}",
        gateway.logs()
    );
    // A fresh authenticator from the same ticket cache still signs in.
    let again = curl_negotiate(kdc, &gateway, &ccache, ACCOUNT);
    assert_eq!(again.status, 302, "{}", again.body);
}

#[tokio::test]
async fn a_ticket_for_another_service_in_the_same_keytab_is_refused() {
    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    // curl names the service after the URL's host (other.freshgate.test) and sends the gateway's Host.
    let url = format!("http://other.freshgate.test{}", login_path(ACCOUNT));
    let connect_to = format!("other.freshgate.test:80:127.0.0.1:{}", gateway.addr.port());
    let output = kdc
        .command("curl", &ccache)
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--negotiate",
            "-u",
            ":",
        ])
        .args([
            "--connect-to",
            &connect_to,
            "-H",
            &format!("Host: {PUBLIC_HOST}"),
        ])
        .arg(&url)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "401");
    assert!(
        gateway.has_logged("\"reason\":\"kerberos_wrong_principal\""),
        "{}",
        gateway.logs()
    );
    assert!(gateway.has_logged("HTTP/other.freshgate.test@CORP.EXAMPLE"));
}

/// `freshgate check` for a configuration with `kerberos:` (and `extra` lines under it).
fn check_kerberos(keytab: &Path, extra: &str) -> String {
    let directory = format!(
        "{}  kerberos:\n    keytab_file: {}\n{extra}",
        slapd_directory(Slapd::shared(), false),
        keytab.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, yaml(&directory, "")).unwrap();
    let output = std::process::Command::new(crate::support::binary())
        .args(["check", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_shows_the_keytabs_key_for_the_service_principal_and_warns_about_its_mode() {
    let kdc = Kdc::shared();
    let report = check_kerberos(&kdc.keytab, "");
    assert!(
        report.contains(
            "ok       keytab ") && report.contains(
            ": HTTP/sso.freshgate.test@CORP.EXAMPLE (key version 2: aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96)"
        ),
        "{report}"
    );
    assert!(!report.contains("keytab_file: "), "{report}");
    // A copy any user of the machine may read.
    let open = kdc.dir.join("open.keytab");
    std::fs::copy(&kdc.keytab, &open).unwrap();
    std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let report = check_kerberos(&open, "");
    assert!(
        report.contains("warning  directory.kerberos.keytab_file: ")
            && report.contains("can be read by group or others (mode 0644)"),
        "{report}"
    );
}

#[test]
fn a_keytab_without_the_service_principal_stops_check_and_serve() {
    let kdc = Kdc::shared();
    let extra = "    service_principal: HTTP/sso.corp.example@CORP.EXAMPLE\n";
    let report = check_kerberos(&kdc.keytab, extra);
    assert!(
        report.contains("PROBLEM  directory.kerberos.keytab_file: ")
            && report.contains("holds no key for HTTP/sso.corp.example@CORP.EXAMPLE"),
        "{report}"
    );
    assert_eq!(report.matches("holds no key").count(), 1, "{report}");
    let directory = format!(
        "{}  kerberos:\n    keytab_file: {}\n{extra}",
        slapd_directory(Slapd::shared(), false),
        kdc.keytab.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, yaml(&directory, "")).unwrap();
    let output = std::process::Command::new(crate::support::binary())
        .args(["serve", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("holds no key for HTTP/sso.corp.example@CORP.EXAMPLE"),
        "{said}"
    );
}
