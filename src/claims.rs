//! Claim mappings: where a value the gateway sends (to Freshworks or Freshdesk) comes from in the provider's
//! claims. A mapping is a list of sources tried in order — claim names (which may contain dots), dotted paths
//! into nested claims (`address.locality`), or literals — and the first present, non-empty one wins. Freshworks and Freshdesk
//! want strings, so numbers are written as strings; arrays, objects and blank strings count as absent.

mod email;

use serde_json::{Map, Value};

use crate::config::{ClaimMapping, ClaimSource};
pub use email::{email_unverified, email_verified_unknown, is_single_address};

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

/// Fills what `claims` (from the ID token or an access token) lack from the userinfo answer (OIDC Core
/// §5.3): it never overrides a present, non-empty claim, and `email` travels with its `email_verified`
/// (`email::take_from_userinfo`).
pub fn merge_userinfo(claims: &mut Map<String, Value>, userinfo: Map<String, Value>) {
    for (name, value) in email::take_from_userinfo(claims, userinfo) {
        let empty = match claims.get(&name) {
            None | Some(Value::Null) => true,
            Some(Value::String(text)) => text.trim().is_empty(),
            _ => false,
        };
        if empty {
            claims.insert(name, value);
        }
    }
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
    fn userinfo_fills_gaps_but_never_overrides() {
        let mut claims: Map<String, Value> =
            serde_json::from_str(r#"{"sub":"u","email":"a@x","name":""}"#).unwrap();
        let extra: Map<String, Value> =
            serde_json::from_str(r#"{"sub":"u","email":"evil@x","name":"Ann","family_name":"B"}"#)
                .unwrap();
        merge_userinfo(&mut claims, extra);
        assert_eq!(claims["email"], "a@x");
        assert_eq!(claims["name"], "Ann");
        assert_eq!(claims["family_name"], "B");
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
