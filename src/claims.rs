//! Claim mappings: where a value the gateway sends (to Freshworks or Freshdesk) comes from in the provider's
//! claims. A mapping is a list of sources tried in order — claim names (which may contain dots), dotted paths
//! into nested claims (`address.locality`), or literals — and the first present, non-empty one wins. Freshworks and Freshdesk
//! want strings, so numbers are written as strings; arrays, objects and blank strings count as absent.

use serde_json::{Map, Value};

use crate::config::{ClaimMapping, ClaimSource, EmailVerified};

/// The value of one mapping, or `None` when every source is absent or empty.
pub fn resolve(claims: &Map<String, Value>, mapping: &ClaimMapping) -> Option<String> {
    winner(claims, mapping).map(|(value, _)| value)
}

/// The value of one mapping and the source it came from.
fn winner<'m>(
    claims: &Map<String, Value>,
    mapping: &'m ClaimMapping,
) -> Option<(String, &'m ClaimSource)> {
    mapping.sources.iter().find_map(|source| {
        let value = match source {
            ClaimSource::Literal(text) => Some(text.clone()).filter(|t| !t.is_empty()),
            ClaimSource::Path(path) => lookup(claims, path).and_then(as_text),
        };
        value.map(|value| (value, source))
    })
}

/// True when an email address resolved through `mapping` must not be believed: it comes from the provider's
/// standard `email` claim, and `email_verified` (OIDC Core §5.1) is `false`, or absent while the policy
/// requires it. Addresses from other claims (`upn`, a directory attribute) or literals are the
/// administrator's choice and are not checked.
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
        Some(Value::String(text)) => !text.eq_ignore_ascii_case("true"),
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

/// A dotted source is first looked up as one top-level claim name, because namespaced claims carry dots in
/// their names (Auth0 and Okta custom claims such as `https://example.com/roles`, OIDC Core §5.1.2 collision-
/// resistant names); only when there is no such claim is it a path into nested objects.
fn lookup<'a>(claims: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    if path.len() > 1
        && let Some(value) = claims.get(&path.join("."))
    {
        return Some(value);
    }
    let (first, rest) = path.split_first()?;
    let mut value = claims.get(first)?;
    for segment in rest {
        value = value.as_object()?.get(segment)?;
    }
    Some(value)
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// How a mapping reads, for the page that says what is missing.
pub fn describe(mapping: &ClaimMapping) -> String {
    mapping
        .sources
        .iter()
        .map(|source| match source {
            ClaimSource::Path(path) => path.join("."),
            ClaimSource::Literal(text) => format!("the literal {text:?}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> ClaimSource {
        ClaimSource::Path(p.split('.').map(str::to_owned).collect())
    }

    #[test]
    fn the_first_present_non_empty_source_wins_and_literals_always_resolve() {
        let claims =
            json!({"name": "", "nick": "Ann", "address": {"locality": "Springfield"}, "n": 7});
        let claims = claims.as_object().unwrap();
        let mapping = ClaimMapping {
            sources: vec![path("name"), path("nick")],
        };
        assert_eq!(resolve(claims, &mapping).as_deref(), Some("Ann"));
        let nested = ClaimMapping {
            sources: vec![path("address.locality")],
        };
        assert_eq!(resolve(claims, &nested).as_deref(), Some("Springfield"));
        let number = ClaimMapping {
            sources: vec![path("n")],
        };
        assert_eq!(resolve(claims, &number).as_deref(), Some("7"));
        let literal = ClaimMapping {
            sources: vec![path("missing"), ClaimSource::Literal("-".into())],
        };
        assert_eq!(resolve(claims, &literal).as_deref(), Some("-"));
        assert_eq!(describe(&literal), "missing, the literal \"-\"");
    }

    #[test]
    fn an_email_from_the_email_claim_needs_the_providers_word_that_it_is_verified() {
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
        assert!(!email_unverified(&with(json!(true)), &mapping, Required));
        assert!(!email_unverified(&with(json!("true")), &mapping, Required));
        assert!(email_unverified(&with(json!(false)), &mapping, Required));
        assert!(email_unverified(&with(json!("false")), &mapping, IfPresent));
        assert!(email_unverified(&with(Value::Null), &mapping, Required));
        assert!(!email_unverified(&with(Value::Null), &mapping, IfPresent));
        assert!(!email_unverified(&with(json!(false)), &mapping, Ignore));
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
    fn a_claim_whose_name_has_dots_is_found_before_a_nested_path() {
        let claims = json!({
            "https://example.com/email": "ann@example.com",
            "https://example": {"com/email": "nested@example.com"},
            "org.unit": "Sales",
            "org": {"unit": "ignored"},
            "address": {"locality": "Springfield"}
        });
        let claims = claims.as_object().unwrap();
        let resolve_one = |p: &str| {
            resolve(
                claims,
                &ClaimMapping {
                    sources: vec![path(p)],
                },
            )
        };
        assert_eq!(
            resolve_one("https://example.com/email").as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(resolve_one("org.unit").as_deref(), Some("Sales"));
        assert_eq!(
            resolve_one("address.locality").as_deref(),
            Some("Springfield")
        );
        assert_eq!(resolve_one("address.region"), None);
    }
}
