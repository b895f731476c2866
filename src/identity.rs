//! Who a login established, whatever the method: the provider's ID token (OIDC), a directory password
//! and a Kerberos ticket (whose principal the directory maps to an entry) each produce one `Identity`, which the Freshworks side turns into a token
//! without knowing how the user proved who they are.
//!
//! `allow` rules are checked here too, on the identity and on the email address that would be signed.

use serde_json::{Map, Value};

use crate::config::{Allow, LoginMethod};

#[derive(Debug, Clone)]
pub struct Identity {
    pub method: LoginMethod,
    /// A stable id for logs (the provider's `sub`, the directory entry's DN).
    pub subject: String,
    /// Claims under their OpenID Connect names (`sub`, `email`, `given_name`, …), which
    /// `freshworks.claims` maps to the Freshworks payload.
    pub claims: Map<String, Value>,
    /// Group names: DNs for a directory login (nested membership included), the values of
    /// `upstream.groups_claim` for a provider login.
    pub groups: Vec<String>,
}

/// Which `allow` rule a user did not meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAllowed {
    Group,
    EmailDomain,
}

impl NotAllowed {
    pub fn reason(self) -> &'static str {
        match self {
            NotAllowed::Group => "not_in_allowed_group",
            NotAllowed::EmailDomain => "email_domain_not_allowed",
        }
    }
}

impl Identity {
    /// Checks `allow` against this identity and the email address to be signed. Directory groups are
    /// DNs, compared as DNs (case and spaces around `,` and `=` do not matter); provider groups are
    /// compared exactly.
    pub fn check_allowed(&self, allow: &Allow, email: &str) -> Result<(), NotAllowed> {
        if !allow.groups.is_empty() {
            let member = match self.method {
                LoginMethod::Directory => allow.groups.iter().any(|wanted| {
                    let wanted = normalize_dn(wanted);
                    self.groups
                        .iter()
                        .any(|group| normalize_dn(group) == wanted)
                }),
                LoginMethod::Oidc => allow
                    .groups
                    .iter()
                    .any(|wanted| self.groups.iter().any(|group| group == wanted)),
            };
            if !member {
                return Err(NotAllowed::Group);
            }
        }
        if !allow.email_domains.is_empty() {
            let domain = email
                .rsplit_once('@')
                .map(|(_, domain)| domain.trim_end_matches('.').to_ascii_lowercase())
                .unwrap_or_default();
            if !allow.email_domains.contains(&domain) {
                return Err(NotAllowed::EmailDomain);
            }
        }
        Ok(())
    }
}

/// The groups claim of a provider's ID token or userinfo: a list of strings, or one string.
pub fn groups_from_claim(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// A DN for comparison (RFC 4514): lower-cased, hex escapes decoded (`\2C` and `\,` are the same comma,
/// and slapd answers with the first where AD writes the second), special characters re-escaped one way,
/// and the spaces allowed around `,`, `+` and `=` dropped.
pub fn normalize_dn(dn: &str) -> String {
    const SPECIAL: &[u8] = b",+\"\\<>;= #";
    let bytes = dn.trim().as_bytes();
    // (byte, escaped)
    let mut tokens: Vec<(u8, bool)> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(byte) => {
                    tokens.push((byte, true));
                    i += 3;
                }
                None => {
                    tokens.push((bytes[i + 1], true));
                    i += 2;
                }
            }
        } else {
            tokens.push((bytes[i], false));
            i += 1;
        }
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut k = 0;
    while k < tokens.len() {
        let (byte, escaped) = tokens[k];
        if !escaped && matches!(byte, b',' | b'=' | b'+') {
            while out.last() == Some(&b' ') && !out.ends_with(b"\\ ") {
                out.pop();
            }
            out.push(byte);
            while tokens.get(k + 1) == Some(&(b' ', false)) {
                k += 1;
            }
        } else if escaped && SPECIAL.contains(&byte) {
            out.push(b'\\');
            out.push(byte);
        } else {
            out.push(byte);
        }
        k += 1;
    }
    String::from_utf8_lossy(&out).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(method: LoginMethod, groups: &[&str]) -> Identity {
        Identity {
            method,
            subject: "s".into(),
            claims: Map::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn allow(groups: &[&str], domains: &[&str]) -> Allow {
        Allow {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            email_domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn directory_groups_match_as_dns_and_provider_groups_exactly() {
        let rule = allow(
            &["CN=Freshservice Agents,OU=Groups,DC=corp,DC=example"],
            &[],
        );
        let member = identity(
            LoginMethod::Directory,
            &["cn=freshservice agents, ou=Groups ,dc=CORP,dc=example"],
        );
        assert_eq!(member.check_allowed(&rule, "a@corp.example"), Ok(()));
        let other = identity(
            LoginMethod::Directory,
            &["CN=Freshservice Agents 2,OU=Groups,DC=corp,DC=example"],
        );
        assert_eq!(
            other.check_allowed(&rule, "a@corp.example"),
            Err(NotAllowed::Group)
        );
        let rule = allow(&["agents"], &[]);
        assert!(
            identity(LoginMethod::Oidc, &["agents"])
                .check_allowed(&rule, "")
                .is_ok()
        );
        assert!(
            identity(LoginMethod::Oidc, &["Agents"])
                .check_allowed(&rule, "")
                .is_err()
        );
    }

    #[test]
    fn email_domains_match_exactly_not_as_suffixes() {
        let rule = allow(&[], &["corp.example"]);
        let user = identity(LoginMethod::Directory, &[]);
        assert!(user.check_allowed(&rule, "jdoe@CORP.example").is_ok());
        for refused in [
            "jdoe@evil-corp.example",
            "jdoe@sub.corp.example",
            "jdoe@corp.example.evil",
            "jdoe",
        ] {
            assert_eq!(
                user.check_allowed(&rule, refused),
                Err(NotAllowed::EmailDomain),
                "{refused}"
            );
        }
    }

    #[test]
    fn escaped_characters_survive_dn_normalisation_in_either_spelling() {
        assert_eq!(
            normalize_dn("CN=Doe\\, Jane , OU=Staff"),
            "cn=doe\\, jane,ou=staff"
        );
        assert_eq!(
            normalize_dn("cn=Doe\\2C Jane,ou=Staff"),
            "cn=doe\\, jane,ou=staff"
        );
        assert_eq!(normalize_dn("CN=Zo\\C3\\AB"), normalize_dn("cn=zoë"));
        assert_ne!(normalize_dn("CN=a\\,b"), normalize_dn("CN=a,b"));
    }

    #[test]
    fn the_groups_claim_may_be_a_list_or_one_name() {
        let claims: Map<String, Value> =
            serde_json::from_str(r#"{"groups":["a","b",3],"one":"c"}"#).unwrap();
        assert_eq!(groups_from_claim(&claims, "groups"), vec!["a", "b"]);
        assert_eq!(groups_from_claim(&claims, "one"), vec!["c"]);
        assert!(groups_from_claim(&claims, "none").is_empty());
    }
}
