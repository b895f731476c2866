//! Who a login established, whatever the method: the provider's ID token (OIDC), a directory password,
//! and later a Kerberos ticket each produce one `Identity`, which the Freshworks side turns into a token
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
                    self.groups.iter().any(|group| normalize_dn(group) == wanted)
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
            if !allow.email_domains.iter().any(|allowed| *allowed == domain) {
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

/// A DN for comparison: lower-cased, without the spaces allowed around `,`, `+` and `=` (RFC 4514 §3
/// ignores them; directories return them as stored). Escaped characters stay escaped.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.extend(next.to_lowercase());
                }
            }
            ',' | '=' | '+' => {
                while out.ends_with(' ') && !out.ends_with("\\ ") {
                    out.pop();
                }
                out.push(c);
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out
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
        let rule = allow(&["CN=Freshservice Agents,OU=Groups,DC=corp,DC=example"], &[]);
        let member = identity(
            LoginMethod::Directory,
            &["cn=freshservice agents, ou=Groups ,dc=CORP,dc=example"],
        );
        assert_eq!(member.check_allowed(&rule, "a@corp.example"), Ok(()));
        let other = identity(LoginMethod::Directory, &["CN=Freshservice Agents 2,OU=Groups,DC=corp,DC=example"]);
        assert_eq!(other.check_allowed(&rule, "a@corp.example"), Err(NotAllowed::Group));
        let rule = allow(&["agents"], &[]);
        assert!(identity(LoginMethod::Oidc, &["agents"]).check_allowed(&rule, "").is_ok());
        assert!(identity(LoginMethod::Oidc, &["Agents"]).check_allowed(&rule, "").is_err());
    }

    #[test]
    fn email_domains_match_exactly_not_as_suffixes() {
        let rule = allow(&[], &["corp.example"]);
        let user = identity(LoginMethod::Directory, &[]);
        assert!(user.check_allowed(&rule, "jdoe@CORP.example").is_ok());
        for refused in ["jdoe@evil-corp.example", "jdoe@sub.corp.example", "jdoe@corp.example.evil", "jdoe"] {
            assert_eq!(user.check_allowed(&rule, refused), Err(NotAllowed::EmailDomain), "{refused}");
        }
    }

    #[test]
    fn escaped_characters_survive_dn_normalisation() {
        assert_eq!(normalize_dn("CN=Doe\\, Jane , OU=Staff"), "cn=doe\\, jane,ou=staff");
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
