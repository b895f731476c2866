//! A user's directory entry: its attributes turned into claims (all strings), and the account state
//! recorded in it.
//!
//! Attribute names are matched case-insensitively (servers return them in their own spelling). A
//! multi-valued attribute gives its first value. Binary attributes are rendered the way administrators
//! see them: `objectGUID` as its GUID text (the first three fields are little-endian on the wire,
//! MS-DTYP §2.3.4), `objectSid` as `S-1-5-…` (MS-DTYP §2.4.2), anything else that is not UTF-8 as
//! base64.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use ldap3::SearchEntry;
use serde_json::{Map, Value};

/// userAccountControl's ACCOUNTDISABLE bit (MS-ADTS §2.2.16).
const ACCOUNTDISABLE: i64 = 0x2;
/// userAccountControl's LOCKOUT bit.
const LOCKOUT: i64 = 0x10;
/// userAccountControl's PASSWORD_EXPIRED bit (set in msDS-User-Account-Control-Computed).
const PASSWORD_EXPIRED: i64 = 0x80_0000;

/// Attributes read besides the mapped ones: account state, direct groups, and what names the primary
/// group (AD: `objectSid` and `primaryGroupID`).
pub const STATE_ATTRIBUTES: [&str; 6] = [
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "accountExpires",
    "memberOf",
    "objectSid",
    "primaryGroupID",
];

/// What the entry says about the account, checked once the password is known to be right (so the page
/// never tells a stranger that an account exists or what state it is in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Usable,
    Disabled,
    LockedOut,
    Expired,
    PasswordExpired,
}

impl AccountState {
    /// The state in the words of its page's title ("Your account is disabled", "Your account is locked",
    /// "Your account has expired", "Your password must be changed"), for `freshgate check`.
    pub fn wording(self) -> &'static str {
        match self {
            AccountState::Usable => "usable",
            AccountState::Disabled => "disabled",
            AccountState::LockedOut => "locked",
            AccountState::Expired => "expired",
            AccountState::PasswordExpired => "password must be changed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct UserEntry {
    pub dn: String,
    entry: SearchEntry,
}

impl UserEntry {
    pub fn new(entry: SearchEntry) -> Self {
        UserEntry {
            dn: entry.dn.clone(),
            entry,
        }
    }

    /// Every value of `name` as bytes, in the server's order.
    pub fn values(&self, name: &str) -> Vec<Vec<u8>> {
        let text = self
            .entry
            .attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter().map(|v| v.as_bytes().to_vec()));
        let binary = self
            .entry
            .bin_attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter().cloned());
        text.chain(binary).collect()
    }

    /// The first value of `name` as a claim string, rendered for its attribute.
    pub fn claim(&self, name: &str) -> Option<String> {
        let value = self.values(name).into_iter().next()?;
        let text = render(name, &value);
        (!text.trim().is_empty()).then_some(text)
    }

    /// The mapped claims (Freshworks claim -> attribute), absent attributes left out.
    pub fn claims(&self, attributes: &[(String, String)]) -> Map<String, Value> {
        let mut claims = Map::new();
        for (claim, attribute) in attributes {
            if let Some(value) = self.claim(attribute) {
                claims.insert(claim.clone(), Value::String(value));
            }
        }
        claims
    }

    /// Direct groups from `memberOf` (AD, or OpenLDAP's memberof overlay).
    pub fn member_of(&self) -> Vec<String> {
        self.values("memberOf")
            .into_iter()
            .filter_map(|v| String::from_utf8(v).ok())
            .collect()
    }

    /// The binary SID of the user's primary group (AD: the domain part of `objectSid`, MS-DTYP §2.4.2, and
    /// the RID in `primaryGroupID`, usually 513, Domain Users). Not in `memberOf` nor in any `member`.
    pub fn primary_group_sid(&self) -> Option<Vec<u8>> {
        let sid = self.values("objectSid").into_iter().next()?;
        let rid = u32::try_from(self.integer("primaryGroupID")?).ok()?;
        let count = usize::from(*sid.get(1)?);
        if count < 2 || sid.len() != 8 + 4 * count {
            return None;
        }
        // The same authority and sub-authorities but the last (the user's RID), then the group's RID.
        let mut group = sid[..sid.len() - 4].to_vec();
        group.extend_from_slice(&rid.to_le_bytes());
        Some(group)
    }

    pub fn state(&self, now: SystemTime) -> AccountState {
        let flags = self.integer("userAccountControl").unwrap_or(0)
            | self
                .integer("msDS-User-Account-Control-Computed")
                .unwrap_or(0);
        if flags & ACCOUNTDISABLE != 0 {
            AccountState::Disabled
        } else if flags & LOCKOUT != 0 {
            AccountState::LockedOut
        } else if self
            .integer("accountExpires")
            .is_some_and(|expires| filetime_passed(expires, now))
        {
            AccountState::Expired
        } else if flags & PASSWORD_EXPIRED != 0 {
            AccountState::PasswordExpired
        } else {
            AccountState::Usable
        }
    }

    fn integer(&self, name: &str) -> Option<i64> {
        let value = self.values(name).into_iter().next()?;
        std::str::from_utf8(&value).ok()?.trim().parse().ok()
    }
}

/// `accountExpires` is a FILETIME (100 ns since 1601-01-01 UTC); 0 and 2^63-1 mean never.
fn filetime_passed(filetime: i64, now: SystemTime) -> bool {
    const UNIX_EPOCH_AS_FILETIME: i64 = 116_444_736_000_000_000;
    if filetime <= 0 || filetime == i64::MAX {
        return false;
    }
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX));
    filetime - UNIX_EPOCH_AS_FILETIME <= now
}

/// A value as claim text.
fn render(attribute: &str, value: &[u8]) -> String {
    if attribute.eq_ignore_ascii_case("objectGUID") && value.len() == 16 {
        return guid_text(value);
    }
    if attribute.eq_ignore_ascii_case("objectSid")
        && let Some(sid) = sid_text(value)
    {
        return sid;
    }
    match std::str::from_utf8(value) {
        Ok(text) if !text.chars().any(|c| c.is_control()) => text.to_owned(),
        _ => base64::engine::general_purpose::STANDARD.encode(value),
    }
}

/// GUID text of a 16-byte `objectGUID` (Data1, Data2, Data3 little-endian; Data4 as stored).
pub fn guid_text(b: &[u8]) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

/// `S-1-5-21-…` text of a binary SID: revision, sub-authority count, 48-bit big-endian identifier
/// authority, then little-endian 32-bit sub-authorities.
fn sid_text(b: &[u8]) -> Option<String> {
    let count = usize::from(*b.get(1)?);
    if b.len() != 8 + 4 * count {
        return None;
    }
    let authority = b[2..8]
        .iter()
        .fold(0u64, |n, byte| (n << 8) | u64::from(*byte));
    let mut text = format!("S-{}-{authority}", b[0]);
    for chunk in b[8..].chunks_exact(4) {
        let sub = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        text.push_str(&format!("-{sub}"));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    fn entry(attrs: &[(&str, &[&str])], bin: &[(&str, Vec<u8>)]) -> UserEntry {
        UserEntry::new(SearchEntry {
            dn: "CN=x,DC=corp,DC=example".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect::<HashMap<_, _>>(),
            bin_attrs: bin
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.clone()]))
                .collect(),
        })
    }

    #[test]
    fn object_guid_is_rendered_as_ad_shows_it() {
        let bytes = [
            0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34,
            0x56, 0x78,
        ];
        let e = entry(&[], &[("objectGUID", bytes.to_vec())]);
        assert_eq!(
            e.claim("objectguid").unwrap(),
            "12345678-1234-5678-9abc-def012345678"
        );
    }

    #[test]
    fn object_sid_and_other_binary_values_become_text() {
        // S-1-5-21-1-2-3-1104
        let mut sid = vec![1, 5, 0, 0, 0, 0, 0, 5];
        for sub in [21u32, 1, 2, 3, 1104] {
            sid.extend_from_slice(&sub.to_le_bytes());
        }
        let e = entry(
            &[],
            &[("objectSid", sid), ("photo", vec![0xff, 0x00, 0x10])],
        );
        assert_eq!(e.claim("objectSid").unwrap(), "S-1-5-21-1-2-3-1104");
        assert_eq!(e.claim("photo").unwrap(), "/wAQ");
    }

    #[test]
    fn the_first_of_several_values_is_taken_and_empty_values_are_absent() {
        let e = entry(
            &[
                ("mail", &["a@corp.example", "b@corp.example"]),
                ("sn", &[" "]),
            ],
            &[],
        );
        let claims = e.claims(&[
            ("email".into(), "mail".into()),
            ("family_name".into(), "sn".into()),
            ("given_name".into(), "givenName".into()),
        ]);
        assert_eq!(claims.get("email").unwrap(), "a@corp.example");
        assert!(!claims.contains_key("family_name"));
        assert!(!claims.contains_key("given_name"));
    }

    #[test]
    fn the_primary_group_is_the_users_domain_and_its_primary_group_id() {
        let mut user = vec![1, 5, 0, 0, 0, 0, 0, 5];
        let mut group = user.clone();
        for sub in [21u32, 1, 2, 3, 1104] {
            user.extend_from_slice(&sub.to_le_bytes());
        }
        for sub in [21u32, 1, 2, 3, 513] {
            group.extend_from_slice(&sub.to_le_bytes());
        }
        let e = entry(&[("primaryGroupID", &["513"])], &[("objectSid", user)]);
        assert_eq!(e.primary_group_sid(), Some(group));
        assert_eq!(entry(&[], &[]).primary_group_sid(), None);
    }

    #[test]
    fn account_state_comes_from_user_account_control_and_account_expires() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(
            entry(&[("userAccountControl", &["512"])], &[]).state(now),
            AccountState::Usable
        );
        assert_eq!(
            entry(&[("userAccountControl", &["514"])], &[]).state(now),
            AccountState::Disabled
        );
        assert_eq!(
            entry(&[("userAccountControl", &["528"])], &[]).state(now),
            AccountState::LockedOut
        );
        assert_eq!(
            entry(&[("msDS-User-Account-Control-Computed", &["8388608"])], &[]).state(now),
            AccountState::PasswordExpired
        );
        // 2020-01-01 as FILETIME: expired; 0 and i64::MAX: never.
        assert_eq!(
            entry(&[("accountExpires", &["132223104000000000"])], &[]).state(now),
            AccountState::Expired
        );
        for never in ["0", "9223372036854775807"] {
            assert_eq!(
                entry(&[("accountExpires", &[never])], &[]).state(now),
                AccountState::Usable
            );
        }
    }
}
