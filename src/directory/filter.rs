//! Filters built from untrusted text. A value is escaped exactly once (RFC 4515 §3: `*`, `(`, `)`, `\`
//! and NUL as `\2a`, `\28`, `\29`, `\5c`, `\00`) and only ever lands in an assertion value, so a user name
//! can match only itself: `*` is a star, `)(` closes nothing.

use ldap3::ldap_escape;

use crate::config::validate::USERNAME_PLACEHOLDER;

/// The configured user filter with the user name in place of every `{username}`.
pub fn user_filter(template: &str, username: &str) -> String {
    template.replace(USERNAME_PLACEHOLDER, &ldap_escape(username))
}

/// The user filter for `value`, narrowed to entries whose `attribute` equals `value`: a Kerberos principal
/// is looked up by one attribute only, never by whatever else the filter accepts, while the filter's other
/// conditions (the kind of object, a group the administrator requires) still apply.
pub fn user_filter_with(template: &str, value: &str, attribute: &str) -> String {
    format!(
        "(&{}({attribute}={}))",
        user_filter(template, value),
        ldap_escape(value)
    )
}

/// Groups that have `dn` as a direct member (`member`, or `uniqueMember` of `groupOfUniqueNames`).
pub fn direct_groups(dn: &str) -> String {
    let dn = ldap_escape(dn);
    format!("(|(member={dn})(uniqueMember={dn}))")
}

/// The entry with this binary `objectSid`, each byte escaped (RFC 4515 §3).
pub fn object_sid(sid: &[u8]) -> String {
    let escaped: String = sid.iter().map(|b| format!("\\{b:02x}")).collect();
    format!("(objectSid={escaped})")
}

/// Every group `dn` is in, through any depth of nesting: Active Directory's LDAP_MATCHING_RULE_IN_CHAIN
/// (OID 1.2.840.113556.1.4.1941) walks the chain on the domain controller in one search.
pub fn groups_in_chain(dn: &str) -> String {
    format!("(member:1.2.840.113556.1.4.1941:={})", ldap_escape(dn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::AD_USER_FILTER;

    #[test]
    fn injection_attempts_become_literal_values() {
        let cases = [
            ("*", "\\2a"),
            (
                "jdoe)(|(sAMAccountName=*",
                "jdoe\\29\\28|\\28sAMAccountName=\\2a",
            ),
            ("a\\b", "a\\5cb"),
            ("a\0b", "a\\00b"),
        ];
        for (typed, escaped) in cases {
            let filter = user_filter(AD_USER_FILTER, typed);
            assert_eq!(
                filter,
                AD_USER_FILTER.replace("{username}", escaped),
                "{typed:?}"
            );
            // Still one well-formed filter with the same structure.
            assert!(ldap3::parse_filter(&filter).is_ok(), "{filter}");
        }
    }

    #[test]
    fn a_principal_is_matched_by_one_attribute_within_the_user_filter() {
        let filter = user_filter_with(AD_USER_FILTER, "j*doe)", "sAMAccountName");
        assert_eq!(
            filter,
            format!(
                "(&{}(sAMAccountName=j\\2adoe\\29))",
                AD_USER_FILTER.replace("{username}", "j\\2adoe\\29")
            )
        );
        assert!(ldap3::parse_filter(&filter).is_ok(), "{filter}");
    }

    #[test]
    fn a_binary_sid_is_escaped_byte_by_byte() {
        assert_eq!(
            object_sid(&[1, 5, 0x2a, 0xff]),
            "(objectSid=\\01\\05\\2a\\ff)"
        );
        assert!(ldap3::parse_filter(object_sid(&[0x28, 0x29, 0x5c, 0])).is_ok());
    }

    #[test]
    fn a_dn_with_an_escaped_comma_stays_one_value() {
        assert_eq!(
            direct_groups("CN=Doe\\, Jane,OU=Staff,DC=corp,DC=example"),
            "(|(member=CN=Doe\\5c, Jane,OU=Staff,DC=corp,DC=example)(uniqueMember=CN=Doe\\5c, Jane,OU=Staff,DC=corp,DC=example))"
        );
        assert!(ldap3::parse_filter(groups_in_chain("CN=a\\)b,DC=x")).is_ok());
    }
}
