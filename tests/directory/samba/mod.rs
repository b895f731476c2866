//! Against a real Active Directory domain controller: Debian's Samba AD DC (`tests/samba/dc.sh`,
//! `support::samba`), one per test binary. With `--features kerberos`, `kerberos` runs the silent
//! Windows login against its KDC.

#[cfg(feature = "kerberos")]
mod kerberos;
mod peer;
