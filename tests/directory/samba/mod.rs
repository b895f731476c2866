//! Against a real Active Directory domain controller: Debian's Samba AD DC (`tests/samba/dc.sh`,
//! `support::samba`), one per test binary.

mod peer;
