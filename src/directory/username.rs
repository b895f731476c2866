//! User names as Active Directory users type them, turned into the value the user filter searches for.
//!
//! - `jdoe`: the pre-Windows 2000 name (`sAMAccountName`), as typed;
//! - `jdoe@corp.example`: a user principal name (`userPrincipalName`), as typed;
//! - `CORP\jdoe`: the down-level form; the domain must be the configured NetBIOS domain (else no user is
//!   looked up at all), and `jdoe` is searched for.
//!
//! Case is left to the directory: AD (and the test directory's schema) match these attributes with
//! caseIgnoreMatch. Nothing here escapes: the filter does that once, as RFC 4515 §3 says.

/// Longest user name accepted: AD's UPN is at most 1024 characters, but no one types more than this.
pub const MAX_USERNAME_CHARS: usize = 256;

/// Why a typed user name was not looked up. The login page says the same as for a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    Empty,
    TooLong,
    /// Control characters (NUL included): never part of a directory name.
    ControlCharacters,
    /// `OTHER\jdoe`: not this gateway's domain.
    OtherDomain,
    /// `CORP\` or `\jdoe` or `a\b\c`.
    Malformed,
}

impl Unusable {
    pub fn reason(self) -> &'static str {
        match self {
            Unusable::Empty => "empty_username",
            Unusable::TooLong => "username_too_long",
            Unusable::ControlCharacters => "invalid_username",
            Unusable::OtherDomain => "other_domain",
            Unusable::Malformed => "invalid_username",
        }
    }
}

/// The value the user filter's `{username}` stands for (not yet escaped).
pub fn search_value(typed: &str, netbios_domain: &str) -> Result<String, Unusable> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(Unusable::Empty);
    }
    if typed.chars().count() > MAX_USERNAME_CHARS {
        return Err(Unusable::TooLong);
    }
    if typed.chars().any(char::is_control) {
        return Err(Unusable::ControlCharacters);
    }
    match typed.split_once('\\') {
        None => Ok(typed.to_owned()),
        Some((domain, name)) => {
            if domain.is_empty() || name.is_empty() || name.contains('\\') {
                return Err(Unusable::Malformed);
            }
            if !eq_ignore_case(domain, netbios_domain) {
                return Err(Unusable::OtherDomain);
            }
            Ok(name.to_owned())
        }
    }
}

/// The NetBIOS domain when none is configured: the first `DC=` label of the base DN, upper-cased
/// (`DC=corp,DC=example` -> `CORP`), which is what AD proposes when a domain is created.
pub fn default_netbios_domain(base_dn: &str) -> String {
    base_dn
        .split(',')
        .filter_map(|rdn| rdn.split_once('='))
        .find(|(attribute, _)| attribute.trim().eq_ignore_ascii_case("dc"))
        .map(|(_, value)| value.trim().to_uppercase())
        .unwrap_or_default()
}

/// Unicode-aware, for NetBIOS names typed in any case.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_users_type_become_what_is_searched_for() {
        assert_eq!(search_value("jdoe", "CORP"), Ok("jdoe".into()));
        assert_eq!(
            search_value("  jdoe@corp.example ", "CORP"),
            Ok("jdoe@corp.example".into())
        );
        assert_eq!(search_value("CORP\\jdoe", "CORP"), Ok("jdoe".into()));
        assert_eq!(search_value("corp\\JDoe", "CORP"), Ok("JDoe".into()));
        assert_eq!(search_value("zoë", "CORP"), Ok("zoë".into()));
    }

    #[test]
    fn another_domain_or_a_malformed_down_level_name_is_never_searched() {
        assert_eq!(
            search_value("EVIL\\jdoe", "CORP"),
            Err(Unusable::OtherDomain)
        );
        assert_eq!(search_value("CORP\\", "CORP"), Err(Unusable::Malformed));
        assert_eq!(search_value("\\jdoe", "CORP"), Err(Unusable::Malformed));
        assert_eq!(search_value("CORP\\a\\b", "CORP"), Err(Unusable::Malformed));
    }

    #[test]
    fn empty_overlong_and_control_character_names_are_refused() {
        assert_eq!(search_value("   ", "CORP"), Err(Unusable::Empty));
        assert_eq!(
            search_value("jdoe\0", "CORP"),
            Err(Unusable::ControlCharacters)
        );
        assert_eq!(
            search_value("j\ndoe", "CORP"),
            Err(Unusable::ControlCharacters)
        );
        let long = "a".repeat(MAX_USERNAME_CHARS + 1);
        assert_eq!(search_value(&long, "CORP"), Err(Unusable::TooLong));
    }

    #[test]
    fn the_default_netbios_domain_is_the_first_dc_label() {
        assert_eq!(default_netbios_domain("DC=corp,DC=example"), "CORP");
        assert_eq!(
            default_netbios_domain("OU=Staff, dc=acme ,dc=local"),
            "ACME"
        );
        assert_eq!(default_netbios_domain("O=Acme"), "");
    }
}
