//! The directory (LDAP / Active Directory) login: the gateway against real peers, the test
//! directory (Debian's slapd with an AD-like schema, `tests/ldap/slapd.sh`, `support::slapd`) and the AD
//! stand-in for what slapd cannot produce (`support::ad_standin`), and `samba`: a real Active Directory
//! domain controller (Debian's Samba AD DC, `tests/samba/dc.sh`, `support::samba`). Needs `slapd`,
//! `ldap-utils` and Samba's AD DC (`scripts/test` installs them as root; `.ci/run` does on CI). With
//! `--features kerberos`, `kerberos` adds the silent Windows login against MIT's KDC (`tests/krb5/kdc.sh`,
//! `support::kdc`).

#[path = "../support/mod.rs"]
mod support;

mod flow;
#[cfg(feature = "kerberos")]
mod kerberos;
mod login;
mod operations;
mod peers;
mod samba;
mod standin;
