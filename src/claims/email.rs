//! Email addresses from the provider: whether a value is one address, whether the provider vouches for it,
//! and which source that word comes from.
//!
//! Freshworks and Freshdesk find people by email address, so the address in a signed token decides whose
//! account opens. Three rules follow:
//! - only a single address is ever signed (`is_single_address`): a list such as
//!   `alice@example.com, bob@evil.test`, a display name (`Bob <bob@evil.test>`) or an address with
//!   several `@` would leave the choice of account to a parser at Freshworks (the class of oauth2-proxy's
//!   GHSA-c5c4-8r6x-56w3, multi-`@` addresses passing a domain check);
//! - an address from the standard `email` claim needs `email_verified: true` (`email_unverified`), a JSON
//!   boolean as OIDC Core §5.1 defines it. Every source (the ID token, userinfo, access tokens) is held to
//!   that rule here, so the string `"true"` never counts as verified anywhere and gets the same refusal;
//! - `email_verified` is a statement about one address, so it is only believed together with the `email`
//!   it came with (`take_from_userinfo`): userinfo's word about another address does not verify the ID
//!   token's.

use serde_json::{Map, Value};

use super::winner;
use crate::config::{ClaimMapping, ClaimSource, EmailVerified};

/// Longest address accepted: RFC 5321 §4.5.3.1.3 limits a path to 256 octets including `<` and `>`.
const MAX_ADDRESS_BYTES: usize = 254;

/// Characters besides letters and digits that RFC 5322 §3.2.3 allows in an atom (`atext`).
const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

/// True when `text` is exactly one RFC 5322 addr-spec in dot-atom form, `local@domain`: no whitespace,
/// commas, angle brackets, quotes, parentheses, backslashes or control characters anywhere, exactly one `@`,
/// no empty or leading/trailing/doubled dots, and a domain of letters, digits and hyphens. Letters and digits
/// beyond ASCII are allowed (RFC 6532 internationalised addresses); quoted local parts and address literals
/// (`[192.0.2.1]`) are not, as no Freshworks agent has one.
pub fn is_single_address(text: &str) -> bool {
    let mut parts = text.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let local_char = |c: char| {
        c.is_ascii_alphanumeric()
            || ATEXT_SPECIALS.contains(c)
            || (!c.is_ascii() && c.is_alphanumeric())
    };
    let domain_char = |c: char| c.is_alphanumeric() || c == '-';
    text.len() <= MAX_ADDRESS_BYTES
        && dot_atom(local, local_char)
        && dot_atom(domain, domain_char)
        && domain
            .split('.')
            .all(|label| !label.starts_with('-') && !label.ends_with('-'))
}

/// Atoms of `allowed` characters joined by single dots.
fn dot_atom(text: &str, allowed: impl Fn(char) -> bool) -> bool {
    text.split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(&allowed))
}

/// True when an email address resolved through `mapping` must not be believed: it comes from the provider's
/// standard `email` claim, and `email_verified` (OIDC Core §5.1) is not `true`: `false`, not a boolean, or
/// absent while the policy requires it. Addresses from other claims (`upn`, a directory attribute) or
/// literals are the administrator's choice and are not checked.
pub fn email_unverified(
    claims: &Map<String, Value>,
    mapping: &ClaimMapping,
    policy: EmailVerified,
) -> bool {
    if policy == EmailVerified::Ignore {
        return false;
    }
    let from_email_claim = matches!(
        winner(claims, mapping),
        Some((_, ClaimSource::Path(path))) if path.len() == 1 && path[0] == "email"
    );
    if !from_email_claim {
        return false;
    }
    match claims.get("email_verified") {
        Some(Value::Bool(verified)) => !verified,
        None | Some(Value::Null) => policy == EmailVerified::Required,
        Some(_) => true,
    }
}

/// True when `email_verified` should still be fetched (from userinfo) before `email_unverified` can say yes.
pub fn email_verified_unknown(
    claims: &Map<String, Value>,
    mapping: &ClaimMapping,
    policy: EmailVerified,
) -> bool {
    policy == EmailVerified::Required
        && !claims.contains_key("email_verified")
        && email_unverified(claims, mapping, policy)
}

/// Applies userinfo's `email` and `email_verified` to `claims` as one pair. When `claims` has no address,
/// both come from userinfo (its `email_verified`, or none). When `claims` has an address, userinfo's
/// `email_verified` may fill the gap only if userinfo speaks of that very address. Returns the other
/// userinfo claims, for the ordinary gap filling.
pub fn take_from_userinfo(
    claims: &mut Map<String, Value>,
    mut userinfo: Map<String, Value>,
) -> Map<String, Value> {
    let email = userinfo.remove("email");
    let verified = userinfo.remove("email_verified");
    let text = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    match (text(claims.get("email")), text(email.as_ref())) {
        (None, Some(_)) => {
            claims.insert("email".into(), email.unwrap_or_default());
            match verified {
                Some(verified) => claims.insert("email_verified".into(), verified),
                None => claims.remove("email_verified"),
            };
        }
        (Some(own), Some(theirs)) if own == theirs => {
            if let Some(verified) = verified
                && claims.get("email_verified").is_none_or(Value::is_null)
            {
                claims.insert("email_verified".into(), verified);
            }
        }
        _ => {}
    }
    userinfo
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_single_plain_address_counts_as_one() {
        let cases: &[(&str, bool)] = &[
            ("alice@example.com", true),
            ("a.b+tag@sub.example.co.uk", true),
            ("o'brien@example.ie", true),
            ("user_{x}=y@localhost", true),
            ("zoë@exämple.de", true),
            ("用户@例子.广告", true),
            ("alice@example.com, bob@evil.test", false),
            ("alice@example.com,bob@evil.test", false),
            ("alice@example.com bob@evil.test", false),
            ("Bob <bob@evil.test>", false),
            ("<bob@evil.test>", false),
            ("\"bob\"@evil.test", false),
            ("\"alice@example.com\"@evil.test", false),
            ("alice@example.com@evil.test", false),
            ("alice(comment)@example.com", false),
            ("alice@[192.0.2.1]", false),
            ("alice@example.com\n", false),
            ("alice@example.com\r\nBcc: x@y", false),
            ("alice\u{0}@example.com", false),
            ("alice\u{a0}@example.com", false),
            ("alice\u{200b}@example.com", false),
            ("alice\u{202e}@example.com", false),
            ("alice\\@example.com", false),
            ("alice;@example.com", false),
            (".alice@example.com", false),
            ("alice.@example.com", false),
            ("al..ice@example.com", false),
            ("alice@example..com", false),
            ("alice@.example.com", false),
            ("alice@example.com.", false),
            ("alice@-example.com", false),
            ("alice@example_x.com", false),
            ("@example.com", false),
            ("alice@", false),
            ("alice", false),
            ("", false),
        ];
        for (text, single) in cases {
            assert_eq!(is_single_address(text), *single, "{text:?}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_ADDRESS_BYTES));
        assert!(!is_single_address(&long));
    }

    fn path(p: &str) -> ClaimSource {
        ClaimSource::Path(p.split('.').map(str::to_owned).collect())
    }

    #[test]
    fn an_email_from_the_email_claim_needs_a_boolean_true_from_the_provider() {
        let mapping = ClaimMapping {
            sources: vec![path("email"), path("upn")],
        };
        let with = |verified: Value| {
            let mut claims = json!({"email": "a@x", "upn": "a@corp"});
            if !verified.is_null() {
                claims["email_verified"] = verified;
            }
            claims.as_object().unwrap().clone()
        };
        use EmailVerified::*;
        let cases: &[(Value, EmailVerified, bool)] = &[
            (json!(true), Required, false),
            (json!(false), Required, true),
            (json!("true"), Required, true),
            (json!("TRUE"), IfPresent, true),
            (json!("false"), IfPresent, true),
            (json!(1), IfPresent, true),
            (Value::Null, Required, true),
            (Value::Null, IfPresent, false),
            (json!(false), Ignore, false),
            (json!("true"), Ignore, false),
        ];
        for (verified, policy, unverified) in cases {
            assert_eq!(
                email_unverified(&with(verified.clone()), &mapping, *policy),
                *unverified,
                "{verified} {policy:?}"
            );
        }
        assert!(email_verified_unknown(
            &with(Value::Null),
            &mapping,
            Required
        ));
        assert!(!email_verified_unknown(
            &with(json!(false)),
            &mapping,
            Required
        ));
        // From another claim, the administrator decided what to trust.
        let upn_only = json!({"upn": "a@corp", "email_verified": false});
        assert!(!email_unverified(
            upn_only.as_object().unwrap(),
            &mapping,
            Required
        ));
    }

    #[test]
    fn email_verified_is_taken_from_userinfo_only_with_the_address_it_speaks_of() {
        // (ID token claims, userinfo, the email and email_verified that result)
        let cases: Vec<(Value, Value, Value, Value)> = vec![
            // Userinfo vouches for another address: its word does not verify the ID token's.
            (
                json!({"email": "alice@example.com"}),
                json!({"email": "mallory@example.com", "email_verified": true}),
                json!("alice@example.com"),
                Value::Null,
            ),
            // Userinfo vouches without naming an address: nothing to go on.
            (
                json!({"email": "alice@example.com"}),
                json!({"email_verified": true}),
                json!("alice@example.com"),
                Value::Null,
            ),
            // The same address: its word fills the gap.
            (
                json!({"email": "alice@example.com"}),
                json!({"email": "alice@example.com", "email_verified": true}),
                json!("alice@example.com"),
                json!(true),
            ),
            // The same address, but the ID token already said: the ID token stands.
            (
                json!({"email": "alice@example.com", "email_verified": false}),
                json!({"email": "alice@example.com", "email_verified": true}),
                json!("alice@example.com"),
                json!(false),
            ),
            // No address in the ID token: address and word both from userinfo, the ID token's word dropped.
            (
                json!({"email_verified": true}),
                json!({"email": "bob@example.com", "email_verified": false}),
                json!("bob@example.com"),
                json!(false),
            ),
            (
                json!({"email_verified": true}),
                json!({"email": "bob@example.com"}),
                json!("bob@example.com"),
                Value::Null,
            ),
            (
                json!({"email": " "}),
                json!({"email": "bob@example.com", "email_verified": true}),
                json!("bob@example.com"),
                json!(true),
            ),
        ];
        for (id_token, userinfo, email, verified) in cases {
            let mut claims = id_token.as_object().unwrap().clone();
            let rest = take_from_userinfo(&mut claims, userinfo.as_object().unwrap().clone());
            assert!(!rest.contains_key("email") && !rest.contains_key("email_verified"));
            assert_eq!(
                claims.get("email").cloned().unwrap_or(Value::Null),
                email,
                "{id_token} {userinfo}"
            );
            assert_eq!(
                claims.get("email_verified").cloned().unwrap_or(Value::Null),
                verified,
                "{id_token} {userinfo}"
            );
        }
    }
}
