//! Against a real Active Directory domain controller: Debian's Samba AD DC (`tests/samba/dc.sh`,
//! `support::samba`), one per test binary. The login behaviour of the slapd and stand-in tests, again
//! against the real thing (`login`); the lockout guarantee against Samba's own counters, with bursts,
//! drips and password settings objects (`lockout`); names that must not tell whether they exist
//! (`names`). With `--features kerberos`, `kerberos` runs the silent Windows login against its KDC. Tests
//! that fail passwords use users of their own, so the shared ones stay usable.

mod check;
#[cfg(feature = "kerberos")]
mod kerberos;
mod lockout;
mod login;
mod names;
mod peer;

use std::time::Duration;

use crate::flow::*;
use crate::support::Gateway;
use crate::support::samba::SambaDc;

/// The `directory` section for the Samba DC over LDAPS with the test CA, as the service account, and
/// `extra` (indented) appended.
pub fn samba_directory(dc: &SambaDc, extra: &str) -> String {
    directory_as(dc, &dc.bind_dn, &dc.bind_password, extra)
}

/// The same, bound as another service account.
pub fn directory_as(dc: &SambaDc, bind_dn: &str, bind_password: &str, extra: &str) -> String {
    format!(
        "  url: {}\n  ca_file: {}\n  bind_dn: \"{bind_dn}\"\n  bind_password: {bind_password}\n  \
         base_dn: \"{}\"\n  kind: active_directory\n  timeout: 5s\n{extra}",
        dc.ldaps_url,
        dc.ca_file.display(),
        dc.base_dn
    )
}

/// A gateway on the shared Samba DC with `extra` in its directory section and `top` at the top level.
pub fn samba_gateway(extra: &str, top: &str) -> Gateway {
    Gateway::start_yaml(&yaml(&samba_directory(SambaDc::shared(), extra), top))
}

/// A throttle that lets everything through, so that only the directory's lockout guard can hold a try.
pub const LOOSE_THROTTLE: &str =
    "  throttle: { max_failures: 1000, window: 10s, max_failures_per_ip: 10000 }\n";

/// The binds the DC has logged for `account` (a DN, as sent), after making sure the log is complete: a
/// marker bind is sent and waited for (the DC logs in order, in one process).
pub async fn binds_logged(dc: &SambaDc, account: &str) -> Vec<String> {
    let marker = format!(
        "CN=marker-{},OU=Staff,DC=corp,DC=example",
        crate::support::random("m")
    );
    let settings = ldap3::LdapConnSettings::new().set_config(dc.tls_config());
    let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, &dc.ldaps_url)
        .await
        .unwrap();
    ldap3::drive!(conn);
    let _ = ldap.simple_bind(&marker, "marker").await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = dc.auth_events();
        if events.iter().any(|e| e.account == marker) {
            return events
                .into_iter()
                .filter(|e| e.account.eq_ignore_ascii_case(account))
                .map(|e| e.status)
                .collect();
        }
        assert!(std::time::Instant::now() < deadline, "{}", dc.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the DC has the account locked out now (the lockout bit of msDS-User-Account-Control-Computed).
pub async fn locked(dc: &SambaDc, dn: &str) -> bool {
    dc.number(dn, "msDS-User-Account-Control-Computed").await & 0x10 != 0
}
