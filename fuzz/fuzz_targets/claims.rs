//! A provider's claims (any JSON object) through the claim mappings and the Freshworks payload builder.
//!
//! Input starting with `{` is parsed as JSON, as the gateway parses an ID token or userinfo body; anything
//! else builds the claims and a custom mapping with `arbitrary`.
#![no_main]

mod common;

use arbitrary::{Arbitrary, Unstructured};
use freshgate::claims::{is_single_address, resolve};
use freshgate::config::validate::{FRESHWORKS_CLAIMS, default_mapping};
use freshgate::config::{ClaimMap, ClaimMapping, ClaimSource, EmailVerified};
use freshgate::freshworks::claims::{
    REQUIRED, any_missing, any_required_missing, check_email_verified, payload,
};
use freshgate::login::SsoError;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn value(self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Int(i) => Value::from(i),
            Json::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Json::Str(s) => Value::String(s),
            Json::Array(items) => Value::Array(items.into_iter().map(Json::value).collect()),
            Json::Object(members) => Value::Object(object(members)),
        }
    }
}

fn object(members: Vec<(String, Json)>) -> Map<String, Value> {
    members.into_iter().map(|(k, v)| (k, v.value())).collect()
}

#[derive(Arbitrary, Debug)]
enum Source {
    Literal(String),
    Path(Vec<String>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    claims: Vec<(String, Json)>,
    /// For each of `FRESHWORKS_CLAIMS`, its sources (`None`: the default), as `freshworks.claims` sets them.
    mapping: [Option<Vec<Source>>; 6],
    fw_nonce: String,
    iat: u64,
}

fn path(dotted: &str) -> ClaimSource {
    ClaimSource::Path(dotted.split('.').map(str::to_owned).collect())
}

/// The default mapping, as `freshworks.claims` gives when it is left out.
fn default_map() -> ClaimMap {
    ClaimMap {
        entries: FRESHWORKS_CLAIMS
            .iter()
            .map(|name| (name.to_string(), default_mapping(name)))
            .collect(),
    }
}

/// Fallbacks, nested paths, a namespaced claim with dots in its name, and a literal.
fn rich_map() -> ClaimMap {
    let mapping = |sources: Vec<ClaimSource>| ClaimMapping { sources };
    ClaimMap {
        entries: vec![
            ("sub".into(), mapping(vec![path("sub"), path("oid")])),
            (
                "email".into(),
                mapping(vec![path("email"), path("upn"), path("preferred_username")]),
            ),
            (
                "given_name".into(),
                mapping(vec![path("given_name"), path("name")]),
            ),
            (
                "family_name".into(),
                mapping(vec![path("family_name"), ClaimSource::Literal("-".into())]),
            ),
            (
                "phone_number".into(),
                mapping(vec![path("https://example.com/claims.phone")]),
            ),
            (
                "picture".into(),
                mapping(vec![path("address.locality"), path("a.b.c.d")]),
            ),
        ],
    }
}

fn check(claims: &Map<String, Value>, map: &ClaimMap, fw_nonce: &str, iat: u64) {
    for (_, mapping) in &map.entries {
        if let Some(value) = resolve(claims, mapping) {
            assert!(!value.is_empty());
            if mapping
                .sources
                .iter()
                .all(|s| matches!(s, ClaimSource::Path(_)))
            {
                assert!(!value.trim().is_empty(), "{value:?}");
            }
        }
    }
    let required_missing = any_required_missing(claims, map);
    // Only a single plain address is ever signed (finding: `a@x, b@y` with email_verified true).
    let email = map
        .entries
        .iter()
        .find(|(name, _)| name == "email")
        .and_then(|(_, mapping)| resolve(claims, mapping));
    let not_one_address = email.as_deref().is_some_and(|e| !is_single_address(e));
    match payload(claims, map, fw_nonce, iat) {
        Ok(Value::Object(out)) => {
            assert!(!required_missing);
            assert!(!not_one_address, "signed an email that is not one address: {email:?}");
            assert_eq!(out.get("nonce"), Some(&Value::String(fw_nonce.to_owned())));
            assert_eq!(out.get("iat"), Some(&Value::from(iat)));
            for (name, mapping) in &map.entries {
                assert_eq!(
                    out.get(name).and_then(Value::as_str),
                    resolve(claims, mapping).as_deref()
                );
            }
            // Absent optional claims are left out, never null.
            let present = map
                .entries
                .iter()
                .filter(|(_, m)| resolve(claims, m).is_some())
                .count();
            assert_eq!(out.len(), present + 2);
        }
        Ok(other) => panic!("the payload is not an object: {other}"),
        Err(SsoError::NotOneAddress) => {
            assert!(not_one_address, "refused a single address: {email:?}");
            common::check_page(&SsoError::NotOneAddress.page());
        }
        Err(error) => {
            assert!(required_missing, "{error:?}");
            let SsoError::MissingClaim { claim, .. } = &error else {
                panic!("unexpected error {error:?}");
            };
            assert!(REQUIRED.contains(claim));
            common::check_page(&error.page());
        }
    }
    if map
        .entries
        .iter()
        .any(|(_, m)| resolve(claims, m).is_none())
    {
        assert!(any_missing(claims, map, EmailVerified::Ignore));
    }
    assert!(check_email_verified(claims, map, EmailVerified::Ignore).is_ok());
    for policy in [EmailVerified::Required, EmailVerified::IfPresent] {
        let _ = any_missing(claims, map, policy);
        if let Err(error) = check_email_verified(claims, map, policy) {
            assert!(matches!(error, SsoError::EmailNotVerified));
            common::check_page(&error.page());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (claims, custom, fw_nonce, iat) = if data.first() == Some(&b'{') {
        let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(data) else {
            return;
        };
        (claims, None, "n-0S6_WzA2Mj".to_owned(), 1_700_000_000)
    } else {
        let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
            return;
        };
        let custom = ClaimMap {
            entries: FRESHWORKS_CLAIMS
                .iter()
                .zip(input.mapping)
                .map(|(name, sources)| {
                    let mapping = match sources {
                        None => default_mapping(name),
                        Some(sources) => ClaimMapping {
                            sources: sources
                                .into_iter()
                                .map(|s| match s {
                                    Source::Literal(text) => ClaimSource::Literal(text),
                                    Source::Path(path) => ClaimSource::Path(path),
                                })
                                .collect(),
                        },
                    };
                    (name.to_string(), mapping)
                })
                .collect(),
        };
        (
            object(input.claims),
            Some(custom),
            input.fw_nonce,
            input.iat,
        )
    };
    check(&claims, &default_map(), &fw_nonce, iat);
    check(&claims, &rich_map(), &fw_nonce, iat);
    if let Some(custom) = custom {
        check(&claims, &custom, &fw_nonce, iat);
    }
});
