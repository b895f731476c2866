//! A client principal as GSS-API displays it (RFC 1964 §2.1.1): components separated by `/`, then `@` and
//! the realm; `\` escapes `/`, `@` and itself. Users have one component (`jdoe@CORP.EXAMPLE`); an
//! enterprise name (RFC 6806 §5) carries the whole UPN as its one component (`jdoe\@corp.example@CORP.EXAMPLE`).
//! Service principals (two components, `HTTP/host@REALM`) are not users and are never looked up.

/// A user principal split into its name and realm, escapes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPrincipal {
    /// `jdoe`, or a whole UPN (`jdoe@corp.example`) for an enterprise name, escapes removed.
    pub name: String,
    pub realm: String,
}

impl UserPrincipal {
    /// `None` for a service principal (more than one component), an empty name or realm, or control
    /// characters.
    pub fn parse(display: &str) -> Option<UserPrincipal> {
        if display.chars().any(char::is_control) {
            return None;
        }
        let mut components = vec![String::new()];
        let mut realm: Option<String> = None;
        let mut chars = display.chars();
        while let Some(c) = chars.next() {
            let in_realm = realm.is_some();
            let c = match c {
                '\\' => Some(chars.next()?),
                '@' if !in_realm => {
                    realm = Some(String::new());
                    None
                }
                '/' if !in_realm => {
                    components.push(String::new());
                    None
                }
                '@' | '/' => return None,
                c => Some(c),
            };
            if let Some(c) = c {
                match realm.as_mut() {
                    Some(realm) => realm.push(c),
                    None => components.last_mut()?.push(c),
                }
            }
        }
        let realm = realm.filter(|r| !r.is_empty())?;
        match <[String; 1]>::try_from(components) {
            Ok([name]) if !name.is_empty() => Some(UserPrincipal { name, realm }),
            _ => None,
        }
    }

    /// A plain user name: no `@` or `/` in the name (they were escaped in the principal), so not an
    /// enterprise name.
    pub fn is_plain(&self) -> bool {
        !self.name.contains(['@', '/'])
    }

    /// An enterprise name (RFC 6806 §5): one `@` in the name (a UPN), no `/`.
    pub fn is_enterprise(&self) -> bool {
        !self.name.contains('/') && self.name.matches('@').count() == 1
    }

    /// The principal as a user principal name: an enterprise name's UPN as it is, else `name@REALM`.
    /// Active Directory matches `userPrincipalName` case-insensitively, so the realm's case does not
    /// matter there.
    pub fn upn(&self) -> String {
        if self.is_enterprise() {
            self.name.clone()
        } else {
            format!("{}@{}", self.name, self.realm)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_enterprise_principals_split_into_name_and_realm_and_only_users_are_plain() {
        let jdoe = UserPrincipal::parse("jdoe@CORP.EXAMPLE").unwrap();
        assert_eq!(
            (jdoe.name.as_str(), jdoe.realm.as_str()),
            ("jdoe", "CORP.EXAMPLE")
        );
        assert_eq!(jdoe.upn(), "jdoe@CORP.EXAMPLE");
        assert!(jdoe.is_plain());
        let zoe = UserPrincipal::parse("zoë@CORP.EXAMPLE").unwrap();
        assert!(zoe.is_plain());
        let enterprise = UserPrincipal::parse("jdoe\\@corp.example@PARTNER.TEST").unwrap();
        assert_eq!(
            (enterprise.name.as_str(), enterprise.realm.as_str()),
            ("jdoe@corp.example", "PARTNER.TEST")
        );
        assert!(
            !enterprise.is_plain(),
            "an enterprise name is no plain user name"
        );
        let slash = UserPrincipal::parse("a\\/b@CORP.EXAMPLE").unwrap();
        assert!(!slash.is_plain());
    }

    #[test]
    fn services_and_malformed_names_are_not_users() {
        for bad in [
            "HTTP/sso.corp.example@CORP.EXAMPLE",
            "jdoe",
            "jdoe@",
            "@CORP.EXAMPLE",
            "jdoe@CORP@EXAMPLE",
            "jdoe\0x@CORP.EXAMPLE",
            "jdoe\\",
        ] {
            assert_eq!(UserPrincipal::parse(bad), None, "{bad}");
        }
    }
}
