//! The silent Windows login against Active Directory's own KDC: Samba's (Heimdal-based, with a PAC in
//! every ticket), with the keytab `samba-tool domain exportkeytab` wrote and tickets from `kinit`,
//! presented by `curl --negotiate`; users and groups from the same DC over LDAPS. The same behaviour as
//! against MIT's KDC (`tests/directory/kerberos*.rs`): silent sign-in, NTLM and altered tokens refused,
//! a ticket for another service refused, each authenticator accepted once (after a reload, a restart,
//! in another wrapping), and a real key version bump (`samba-tool user setpassword`) named as a stale
//! keytab.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::flow::*;
use crate::negotiate::*;
use crate::support::redis::Redis;
use crate::support::samba::{self, SambaDc, unique_sam};
use crate::support::{FRESHWORKS_REDIRECT, Gateway};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A gateway on the Samba DC with its keytab (`HTTP/sso.freshgate.test@CORP.EXAMPLE`), `top` added.
fn samba_gateway(dc: &SambaDc, top: &str) -> (Gateway, String) {
    let yaml = kerberos_yaml(dc, &super::samba_directory(dc, ""), "", top);
    (Gateway::start_yaml(&yaml), yaml)
}

/// The verified payload of a redirect to Freshworks that `curl` got.
fn signed_in(curl: &Curl, gateway: &Gateway, who: &str) -> serde_json::Value {
    assert_eq!(
        curl.status,
        302,
        "{who}: {}{}\n{}",
        curl.headers,
        curl.body,
        gateway.logs()
    );
    let location = curl.header("location").expect("a Location");
    assert!(location.starts_with(FRESHWORKS_REDIRECT), "{location}");
    verified_payload(&crate::support::query(&location)["id_token"])
}

#[tokio::test]
async fn a_user_with_a_ticket_from_active_directorys_kdc_is_signed_in_without_a_prompt() {
    let dc = SambaDc::shared();
    let (gateway, _) = samba_gateway(dc, "");
    let jdoe = curl_negotiate(
        dc,
        &gateway,
        &dc.kinit(samba::JDOE.sam, samba::JDOE.password),
        ACCOUNT,
    );
    let payload = signed_in(&jdoe, &gateway, "jdoe");
    assert_eq!(payload["email"], "jdoe@corp.example");
    assert_eq!(payload["given_name"], "John");
    assert!(payload["sub"].as_str().is_some_and(|s| s.len() == 36));
    assert!(
        jdoe.header("www-authenticate")
            .is_some_and(|v| v.starts_with("Negotiate ")),
        "mutual authentication"
    );
    assert!(gateway.has_logged("jdoe@CORP.EXAMPLE"));
    // A non-ASCII principal; and the UPN as an enterprise name without canonicalisation (`kinit -E`),
    // which AD's KDC keeps as the client's principal,
    // `jane\@corp.example@CORP.EXAMPLE`: a name of the gateway's own realm, found by the UPN it holds.
    let zoe = curl_negotiate(
        dc,
        &gateway,
        &dc.kinit(samba::ZOE.sam, samba::ZOE.password),
        ACCOUNT,
    );
    assert_eq!(signed_in(&zoe, &gateway, "zoë")["given_name"], "Zoë");
    let by_upn = curl_negotiate(
        dc,
        &gateway,
        &dc.kinit_with(&["-E"], samba::JANE.upn, samba::JANE.password),
        ACCOUNT,
    );
    assert_eq!(
        signed_in(&by_upn, &gateway, "jane by UPN")["email"],
        "jane@corp.example"
    );
    assert!(
        gateway.has_logged("\"principal\":\"jane\\\\@corp.example@CORP.EXAMPLE\""),
        "the enterprise name, as the KDC issued it\n{}",
        gateway.logs()
    );
    // In no allowed group: the page that says so, no token, no challenge loop.
    let out = curl_negotiate(
        dc,
        &gateway,
        &dc.kinit(samba::OUT.sam, samba::OUT.password),
        ACCOUNT,
    );
    assert_eq!(out.status, 403, "{}", out.body);
    assert!(out.body.contains("not_in_allowed_group") && out.header("www-authenticate").is_none());
    // Four tickets the directory side accepted (out's is refused later, by `allow`).
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_directory_logins_total{outcome=\"success\",reason=\"kerberos_ok\"} 4"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn ntlm_altered_tokens_and_tickets_for_another_service_get_the_form_again() {
    let dc = SambaDc::shared();
    // Another web service on its own account, whose key the keytab also holds.
    let scratch = tempfile::tempdir().unwrap();
    let keytab = scratch.path().join("two-services.keytab");
    std::fs::copy(&dc.keytab, &keytab).unwrap();
    service_account(dc, "HTTP/other.freshgate.test", &keytab).await;
    let yaml = yaml(
        &format!(
            "{}  kerberos:\n    keytab_file: {}\n",
            super::samba_directory(dc, ""),
            keytab.display()
        ),
        "",
    );
    let gateway = Gateway::start_yaml(&yaml);
    let ccache = dc.kinit(samba::JDOE.sam, samba::JDOE.password);
    let other = curl_negotiate_at(dc, &gateway, &ccache, ACCOUNT, "other.freshgate.test");
    assert_eq!(other.status, 401, "{}", other.body);
    assert!(
        gateway.has_logged("\"reason\":\"kerberos_wrong_principal\"")
            && gateway.has_logged("HTTP/other.freshgate.test@CORP.EXAMPLE"),
        "{}",
        gateway.logs()
    );
    // A real token of Samba's with one bit flipped in the middle (inside the ticket), and NTLM.
    let mut altered = B64.decode(fresh_token(dc, &ccache)).unwrap();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x01;
    let ntlm = B64.encode(b"NTLMSSP\0\x01\0\0\0\x97\x82\x08\xe2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    for (token, reason) in [
        (B64.encode(&altered), "kerberos_forged"),
        (ntlm, "kerberos_ntlm"),
    ] {
        let response = with_authorization(&gateway, &format!("Negotiate {token}")).await;
        assert_form_with_challenge(response, reason).await;
        assert!(
            gateway.has_logged(&format!("\"reason\":\"{reason}\"")),
            "{reason}\n{}",
            gateway.logs()
        );
    }
}

#[tokio::test]
async fn a_token_from_active_directorys_kdc_is_accepted_once_across_a_reload_a_restart_and_wrappings()
 {
    let dc = SambaDc::shared();
    let redis = Redis::start();
    let top = format!(
        "store: {{ url: \"{}\" }}\nreload: {{ poll_interval: off }}\n",
        redis.url()
    );
    let (mut gateway, yaml) = samba_gateway(dc, &top);
    let ccache = dc.kinit(samba::JDOE.sam, samba::JDOE.password);
    let captured = fresh_token(dc, &ccache);
    let send = |gateway: &Gateway, token: String| {
        let gateway_addr = gateway.addr;
        async move {
            let browser = crate::support::Browser::new(gateway_addr, false);
            browser
                .client
                .get(browser.url(&login_path(ACCOUNT)))
                .header("authorization", format!("Negotiate {token}"))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(send(&gateway, captured.clone()).await.status(), 302);
    // A reload that rebuilds the directory (and the acceptor).
    std::fs::write(
        gateway.dir.path().join("gateway.yaml"),
        yaml.replace("  timeout: 3s\n", "  timeout: 4s\n"),
    )
    .unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gateway
        .metrics()
        .await
        .contains("freshgate_config_reloads_total{result=\"success\"} 1")
    {
        assert!(Instant::now() < deadline, "no reload\n{}", gateway.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_form_with_challenge(send(&gateway, captured.clone()).await, "after the reload").await;
    // The bare Kerberos token inside Samba-era SPNEGO (same authenticator): still a replay.
    let spnego = B64.decode(&captured).unwrap();
    let start = (1..spnego.len())
        .find(|&i| spnego[i] == 0x60 && spnego[i + 1] == 0x82 && spnego[i + 4] == 0x06)
        .unwrap();
    let length = usize::from(spnego[start + 2]) << 8 | usize::from(spnego[start + 3]);
    let bare = B64.encode(&spnego[start..start + 4 + length]);
    assert_form_with_challenge(send(&gateway, bare).await, "the bare Kerberos token").await;
    // A restart: the store remembers.
    gateway.terminate();
    let restarted = Gateway::start_yaml(&yaml);
    assert_form_with_challenge(send(&restarted, captured).await, "after the restart").await;
    assert!(
        restarted.has_logged("\"reason\":\"kerberos_replayed\""),
        "{}",
        restarted.logs()
    );
    // A fresh authenticator from the same ticket signs in.
    assert_eq!(
        send(&restarted, fresh_token(dc, &ccache)).await.status(),
        302
    );
}

/// A user of its own holding the SPN `spn` with AES keys (as docs/directory.md says), its keys
/// appended to `keytab` with `samba-tool domain exportkeytab`. Returns the account's name.
async fn service_account(dc: &SambaDc, spn: &str, keytab: &Path) -> String {
    let sam = unique_sam("krbsvc");
    let dn = dc.add_user(&sam, &format!("{sam}-Password-1"), &[]).await;
    dc.replace(&dn, "msDS-SupportedEncryptionTypes", &["24"])
        .await;
    dc.samba_tool(&["spn", "add", spn, &sam]);
    export(dc, spn, keytab);
    sam
}

/// `samba-tool domain exportkeytab KEYTAB --principal=SPN@REALM`: the account's current keys.
fn export(dc: &SambaDc, spn: &str, keytab: &Path) {
    dc.samba_tool(&[
        "domain",
        "exportkeytab",
        keytab.to_str().unwrap(),
        &format!("--principal={spn}@{}", dc.realm),
    ]);
}

#[tokio::test]
async fn a_password_change_of_the_service_account_is_named_a_stale_keytab_and_a_new_export_works() {
    let dc = SambaDc::shared();
    // A service account of the test's own: its password changes.
    let spn = "HTTP/stale.freshgate.test";
    let scratch = tempfile::tempdir().unwrap();
    let keytab: PathBuf = scratch.path().join("stale.keytab");
    let account = service_account(dc, spn, &keytab).await;
    let yaml = yaml(
        &format!(
            "{}  kerberos:\n    keytab_file: {}\n    service_principal: {spn}@{}\n",
            super::samba_directory(dc, ""),
            keytab.display(),
            dc.realm
        ),
        "",
    );
    let gateway = Gateway::start_yaml(&yaml);
    let sign_in =
        |ccache: &Path| curl_negotiate_at(dc, &gateway, ccache, ACCOUNT, "stale.freshgate.test");
    let before = sign_in(&dc.kinit(samba::JDOE.sam, samba::JDOE.password));
    signed_in(&before, &gateway, "with the exported keytab");
    // The account's password changes at the DC (its key version goes up); the keytab stays as it was.
    dc.samba_tool(&[
        "user",
        "setpassword",
        &account,
        &format!("--newpassword={account}-Password-2"),
    ]);
    let ccache = dc.kinit(samba::JDOE.sam, samba::JDOE.password);
    let stale = sign_in(&ccache);
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert!(
        stale.body.contains("Kerberos key is out of date"),
        "{}",
        stale.body
    );
    assert!(
        gateway.has_logged("\"reason\":\"kerberos_stale_key\"")
            && gateway.has_logged("newer than the keytab's")
            && gateway.has_logged("samba-tool domain exportkeytab freshgate.keytab --principal=HTTP/stale.freshgate.test"),
        "{}",
        gateway.logs()
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_directory_logins_total{outcome=\"failure\",reason=\"kerberos_stale_key\"} 1"
        ),
        "{metrics}"
    );
    // The keytab exported again, in place of the old one: the next sign-in works, no restart.
    let fresh = scratch.path().join("fresh.keytab");
    export(dc, spn, &fresh);
    std::fs::rename(&fresh, &keytab).unwrap();
    signed_in(&sign_in(&ccache), &gateway, "with the new keytab");
}
