//! The service account's key changes under a running gateway (a password change, `ktpass` run again): a
//! real key version bump at MIT's KDC (`kadmin.local cpw -randkey`), after the gateway loaded the old
//! keytab. The refusal is named for what it is (`kerberos_stale_key`, with the fix in the log and on the
//! form), whatever GSS-API's message; a re-exported keytab works without a restart; and a client's ticket
//! older than the keytab is told apart (`kerberos_stale_ticket`).

use crate::flow::*;
use crate::negotiate::*;
use crate::support::Gateway;
use crate::support::kdc::Kdc;
use crate::support::slapd::{JDOE, Slapd};

/// The log line of the last refusal with `reason`.
fn refusal_line(gateway: &Gateway, reason: &str) -> String {
    assert!(
        gateway.has_logged(&format!("\"reason\":\"{reason}\"")),
        "{reason}\n{}",
        gateway.logs()
    );
    gateway
        .logs()
        .lines()
        .rev()
        // The operational warning, not the audit event (which carries no free text).
        .find(|line| {
            line.contains(&format!("\"reason\":\"{reason}\""))
                && !line.contains("\"target\":\"freshgate::audit\"")
        })
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_keytab_older_than_the_service_accounts_key_is_a_stale_key_with_the_fix_and_a_new_export_works()
 {
    // A KDC of its own: its service key changes.
    let kdc = Kdc::start();
    let service = &kdc.service_principal;
    let gateway = Gateway::start_yaml(&kerberos_yaml(
        &kdc,
        &slapd_directory(Slapd::shared(), false),
        "",
        "",
    ));
    let before = curl_negotiate(&kdc, &gateway, &kdc.kinit(JDOE.sam, JDOE.password), ACCOUNT);
    assert_eq!(before.status, 302, "{}", gateway.logs());
    // The service account's key changes (key version 2 -> 3); the gateway's keytab still has version 2.
    kdc.kadmin(&format!("cpw -randkey {service}"));
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let stale = curl_negotiate(&kdc, &gateway, &ccache, ACCOUNT);
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert_eq!(
        stale.header("www-authenticate").as_deref(),
        Some("Negotiate")
    );
    assert!(
        stale.body.contains("Kerberos key is out of date")
            && stale.body.contains("exported again")
            && stale.body.contains(r#"name="password""#),
        "the form says why and what IT must do\n{}",
        stale.body
    );
    let line = refusal_line(&gateway, "kerberos_stale_key");
    for said in [
        "encrypted with key version 3 (aes256-cts-hmac-sha1-96), newer than the keytab's (2)",
        "export the keytab again",
        "ktpass -princ HTTP/sso.freshgate.test@CORP.EXAMPLE",
        "samba-tool domain exportkeytab freshgate.keytab --principal=HTTP/sso.freshgate.test",
        "ktadd -k freshgate.keytab HTTP/sso.freshgate.test",
    ] {
        assert!(line.contains(said), "{said}\n{line}");
    }
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(
            "freshgate_directory_logins_total{outcome=\"failure\",reason=\"kerberos_stale_key\"} 1"
        ),
        "{metrics}"
    );
    // IT exports the current key (without changing it) over the keytab the gateway reads: the next
    // sign-in works, without a restart (GSS-API reads the keytab on every call).
    let fresh = kdc.dir.join("fresh.keytab");
    kdc.kadmin(&format!(
        "ktadd -norandkey -k {} {service}",
        fresh.display()
    ));
    std::fs::rename(&fresh, &kdc.keytab).unwrap();
    let after = curl_negotiate(&kdc, &gateway, &ccache, ACCOUNT);
    assert_eq!(after.status, 302, "{}\n{}", after.body, gateway.logs());
    // The key changes again (version 4) and the keytab is exported again, with version 4 only: a client
    // still holding its version 3 ticket has a ticket older than the keytab, which is not the keytab's
    // fault.
    kdc.kadmin(&format!("cpw -randkey {service}"));
    kdc.kadmin(&format!(
        "ktadd -norandkey -k {} {service}",
        fresh.display()
    ));
    std::fs::rename(&fresh, &kdc.keytab).unwrap();
    let old_ticket = curl_negotiate(&kdc, &gateway, &ccache, ACCOUNT);
    assert_eq!(old_ticket.status, 401, "{}", old_ticket.body);
    assert!(
        old_ticket
            .body
            .contains("sign-in ticket for this service is older"),
        "{}",
        old_ticket.body
    );
    let line = refusal_line(&gateway, "kerberos_stale_ticket");
    assert!(
        line.contains(
            "encrypted with key version 3 (aes256-cts-hmac-sha1-96), older than the keytab's (4)"
        ) && line.contains("klist purge"),
        "{line}"
    );
    // A new ticket (version 4) signs in.
    let renewed = curl_negotiate(&kdc, &gateway, &kdc.kinit(JDOE.sam, JDOE.password), ACCOUNT);
    assert_eq!(renewed.status, 302, "{}\n{}", renewed.body, gateway.logs());
}
