//! From the provider's claims to the Freshworks payload (the seeds' claims table), through the mappings of
//! `freshworks.claims` (see `crate::claims`).

use serde_json::{Map, Value};

use crate::claims::{
    describe, email_unverified, email_verified_unknown, is_single_address, resolve,
};
use crate::config::{ClaimMap, ClaimMapping, EmailVerified};
use crate::login::SsoError;

/// Claims Freshworks requires (the seeds: "Required"); the others are sent only when present.
pub const REQUIRED: [&str; 4] = ["sub", "email", "given_name", "family_name"];

/// True when some mapped claim has no value in `claims`, or `email_verified` is needed and absent: worth
/// asking the userinfo endpoint.
pub fn any_missing(claims: &Map<String, Value>, map: &ClaimMap, policy: EmailVerified) -> bool {
    map.entries
        .iter()
        .any(|(_, mapping)| resolve(claims, mapping).is_none())
        || email_mapping(map).is_some_and(|mapping| email_verified_unknown(claims, mapping, policy))
}

/// Refuses an email address the provider does not vouch for (`upstream.email_verified`).
pub fn check_email_verified(
    claims: &Map<String, Value>,
    map: &ClaimMap,
    policy: EmailVerified,
) -> Result<(), SsoError> {
    match email_mapping(map) {
        Some(mapping) if email_unverified(claims, mapping, policy) => {
            Err(SsoError::EmailNotVerified)
        }
        _ => Ok(()),
    }
}

fn email_mapping(map: &ClaimMap) -> Option<&ClaimMapping> {
    map.entries
        .iter()
        .find(|(name, _)| name == "email")
        .map(|(_, mapping)| mapping)
}

/// True when a claim Freshworks requires has no value in `claims`.
pub fn any_required_missing(claims: &Map<String, Value>, map: &ClaimMap) -> bool {
    map.entries.iter().any(|(name, mapping)| {
        REQUIRED.contains(&name.as_str()) && resolve(claims, mapping).is_none()
    })
}

/// The Freshworks payload: the mapped claims, `iat` in integer seconds, and Freshworks' nonce byte for byte.
/// Optional claims are left out when absent (never null); `email` must be a single address, whatever it was
/// mapped from, since Freshworks opens the account it names.
pub fn payload(
    claims: &Map<String, Value>,
    map: &ClaimMap,
    fw_nonce: &str,
    iat: u64,
) -> Result<Value, SsoError> {
    let mut out = Map::new();
    for (name, mapping) in &map.entries {
        match resolve(claims, mapping) {
            Some(value) if name == "email" && !is_single_address(&value) => {
                return Err(SsoError::NotOneAddress);
            }
            Some(value) => {
                out.insert(name.clone(), Value::String(value));
            }
            None => {
                if let Some(claim) = REQUIRED.iter().find(|required| **required == name.as_str()) {
                    return Err(SsoError::MissingClaim {
                        claim,
                        sources: describe(mapping),
                    });
                }
            }
        }
    }
    out.insert("iat".into(), Value::from(iat));
    out.insert("nonce".into(), Value::String(fw_nonce.to_owned()));
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClaimSource;
    use serde_json::json;

    fn path(p: &str) -> ClaimSource {
        ClaimSource::Path(p.split('.').map(str::to_owned).collect())
    }

    fn map() -> ClaimMap {
        ClaimMap {
            entries: vec![
                (
                    "sub".into(),
                    ClaimMapping {
                        sources: vec![path("sub")],
                    },
                ),
                (
                    "email".into(),
                    ClaimMapping {
                        sources: vec![path("email")],
                    },
                ),
                (
                    "given_name".into(),
                    ClaimMapping {
                        sources: vec![path("given_name"), path("name")],
                    },
                ),
                (
                    "family_name".into(),
                    ClaimMapping {
                        sources: vec![path("family_name"), ClaimSource::Literal("-".into())],
                    },
                ),
                (
                    "phone_number".into(),
                    ClaimMapping {
                        sources: vec![path("phone_number")],
                    },
                ),
                (
                    "picture".into(),
                    ClaimMapping {
                        sources: vec![path("address.locality")],
                    },
                ),
            ],
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn fallbacks_take_the_first_present_non_empty_source() {
        let c = claims(
            json!({"sub": "u1", "email": "a@x", "given_name": "", "name": "Ann", "family_name": "  "}),
        );
        let p = payload(&c, &map(), "fw-nonce", 1_700_000_000).unwrap();
        assert_eq!(p["given_name"], "Ann");
        assert_eq!(p["family_name"], "-");
    }

    #[test]
    fn optional_claims_are_omitted_not_null() {
        let c = claims(
            json!({"sub": "u1", "email": "a@x", "given_name": "A", "family_name": "B", "phone_number": null}),
        );
        let p = payload(&c, &map(), "n", 1).unwrap();
        let object = p.as_object().unwrap();
        assert!(!object.contains_key("phone_number"));
        assert!(!object.contains_key("picture"));
    }

    #[test]
    fn dotted_paths_reach_into_nested_claims_and_numbers_become_strings() {
        let c = claims(
            json!({"sub": 42, "email": "a@x", "given_name": "A", "family_name": "B", "address": {"locality": "Springfield"}}),
        );
        let p = payload(&c, &map(), "n", 1).unwrap();
        assert_eq!(p["sub"], "42");
        assert_eq!(p["picture"], "Springfield");
    }

    #[test]
    fn iat_is_integer_seconds_and_nonce_is_byte_for_byte() {
        let c = claims(json!({"sub": "u", "email": "a@x", "given_name": "A", "family_name": "B"}));
        let p = payload(&c, &map(), "ÄÖ 1+2/=", 1_700_000_123).unwrap();
        assert_eq!(p["iat"], json!(1_700_000_123u64));
        assert!(p["iat"].is_u64());
        assert_eq!(p["nonce"], "ÄÖ 1+2/=");
    }

    #[test]
    fn a_missing_required_claim_names_the_claim_and_where_it_was_looked_for() {
        let c = claims(json!({"sub": "u", "given_name": "A", "family_name": "B"}));
        match payload(&c, &map(), "n", 1) {
            Err(SsoError::MissingClaim { claim, sources }) => {
                assert_eq!(claim, "email");
                assert_eq!(sources, "email");
            }
            other => panic!("expected a missing claim, got {other:?}"),
        }
        assert!(any_missing(&c, &map(), EmailVerified::Ignore));
    }

    #[test]
    fn only_a_single_email_address_is_ever_signed() {
        for email in [
            "alice@example.com, bob@evil.test",
            "Bob <bob@evil.test>",
            "alice@example.com bob@evil.test",
            "alice@example.com@evil.test",
        ] {
            let c =
                claims(json!({"sub": "u", "email": email, "given_name": "A", "family_name": "B"}));
            assert!(
                matches!(payload(&c, &map(), "n", 1), Err(SsoError::NotOneAddress)),
                "{email}"
            );
        }
    }

    #[test]
    fn an_email_the_provider_does_not_vouch_for_is_refused_and_sends_us_to_userinfo() {
        let full = json!({"sub": "u", "email": "a@x", "given_name": "A", "family_name": "B",
                          "phone_number": "1", "address": {"locality": "L"}});
        let c = claims(full.clone());
        assert!(
            any_missing(&c, &map(), EmailVerified::Required),
            "email_verified unknown"
        );
        assert!(!any_missing(&c, &map(), EmailVerified::IfPresent));
        assert!(matches!(
            check_email_verified(&c, &map(), EmailVerified::Required),
            Err(SsoError::EmailNotVerified)
        ));
        let mut unverified = full.clone();
        unverified["email_verified"] = json!(false);
        assert!(matches!(
            check_email_verified(&claims(unverified), &map(), EmailVerified::IfPresent),
            Err(SsoError::EmailNotVerified)
        ));
        let mut verified = full;
        verified["email_verified"] = json!(true);
        let verified = claims(verified);
        assert!(!any_missing(&verified, &map(), EmailVerified::Required));
        assert!(check_email_verified(&verified, &map(), EmailVerified::Required).is_ok());
    }
}
