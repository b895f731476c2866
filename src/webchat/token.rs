//! The Freshdesk Web Chat identity token (the seed `freshdesk-webchat-jwt.txt`): HS256 with the widget's
//! secret; exactly one of `email` / `unique_external_id` ("Do not include both fields in the same token");
//! `contactProperties` with the mapped claims that exist; `ticketProperties` when any are configured and
//! present; `exp` as Unix seconds.

use std::convert::Infallible;

use aws_lc_rs::hmac;
use serde_json::{Map, Value};

use crate::claims::resolve;
use crate::config::{EmailVerified, IdentifyBy, Webchat};
use crate::jws::{self, Algorithm};

/// The header, byte for byte as the seed shows it (`crate::jws`).
pub use crate::jws::HS256_HEADER;

/// True when some identity or property mapping has no value, or `email_verified` is needed and absent:
/// worth asking the userinfo endpoint.
pub fn any_missing(config: &Webchat, claims: &Map<String, Value>, policy: EmailVerified) -> bool {
    resolve(claims, &config.identity).is_none()
        || email_verified_unknown(config, claims, policy)
        || config
            .contact_properties
            .iter()
            .chain(&config.ticket_properties)
            .any(|(_, mapping)| resolve(claims, mapping).is_none())
}

/// True when the user is identified by an email address the provider does not vouch for
/// (`upstream.email_verified`): Freshdesk would show them another contact's conversations.
pub fn email_unverified(
    config: &Webchat,
    claims: &Map<String, Value>,
    policy: EmailVerified,
) -> bool {
    config.identify_by == IdentifyBy::Email
        && crate::claims::email_unverified(claims, &config.identity, policy)
}

/// True when `email_verified` must still be fetched before `email_unverified` can be decided.
pub fn email_verified_unknown(
    config: &Webchat,
    claims: &Map<String, Value>,
    policy: EmailVerified,
) -> bool {
    config.identify_by == IdentifyBy::Email
        && crate::claims::email_verified_unknown(claims, &config.identity, policy)
}

/// Why the claims identify nobody to Freshdesk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoIdentity {
    /// The identifying field (`email` or `unique_external_id`) has no value.
    Missing(&'static str),
    /// The email address is not a single address (`crate::claims::is_single_address`).
    NotOneAddress,
}

/// What identifies the user and what Freshdesk should know about them, without `exp`; kept in the browser
/// session cookie so each token can be minted fresh. An email identity must be one address.
pub fn identity(
    config: &Webchat,
    claims: &Map<String, Value>,
) -> Result<Map<String, Value>, NoIdentity> {
    let field = config.identify_by.as_str();
    let value = resolve(claims, &config.identity).ok_or(NoIdentity::Missing(field))?;
    if config.identify_by == IdentifyBy::Email && !crate::claims::is_single_address(&value) {
        return Err(NoIdentity::NotOneAddress);
    }
    let mut payload = Map::new();
    payload.insert(field.into(), Value::String(value));
    let contact = properties(&config.contact_properties, claims);
    if !contact.is_empty() {
        payload.insert("contactProperties".into(), Value::Object(contact));
    }
    let ticket = properties(&config.ticket_properties, claims);
    if !ticket.is_empty() {
        payload.insert("ticketProperties".into(), Value::Object(ticket));
    }
    Ok(payload)
}

fn properties(
    mappings: &[(String, crate::config::ClaimMapping)],
    claims: &Map<String, Value>,
) -> Map<String, Value> {
    mappings
        .iter()
        .filter_map(|(name, mapping)| {
            resolve(claims, mapping).map(|value| (name.clone(), Value::String(value)))
        })
        .collect()
}

/// Signs `identity` plus `exp` with HS256 (RFC 7518 §3.2).
pub fn mint(secret: &[u8], identity: &Map<String, Value>, exp: u64) -> String {
    let mut payload = identity.clone();
    payload.insert("exp".into(), Value::from(exp));
    let claims = Value::Object(payload).to_string();
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let signed = jws::compact(Algorithm::Hs256, claims.as_bytes(), 32, |input| {
        Ok::<_, Infallible>(hmac::sign(&key, input).as_ref().to_vec())
    });
    match signed {
        Ok(token) => token,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClaimMapping, ClaimSource, Secret};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;
    use std::time::Duration;

    fn path(p: &str) -> ClaimMapping {
        ClaimMapping {
            sources: vec![ClaimSource::Path(p.split('.').map(str::to_owned).collect())],
        }
    }

    fn config(identify_by: IdentifyBy) -> Webchat {
        Webchat {
            secret: Secret::new("s".repeat(32)),
            identify_by,
            identity: if identify_by == IdentifyBy::Email {
                path("email")
            } else {
                path("sub")
            },
            ttl: Duration::from_secs(600),
            audience: vec![],
            allowed_origins: vec!["https://app.example.com".into()],
            contact_properties: vec![
                ("name".into(), path("name")),
                ("phone".into(), path("phone_number")),
                ("language".into(), path("locale")),
            ],
            ticket_properties: vec![("cf_plan".into(), path("plan"))],
            widget: None,
            session_ttl: Duration::from_secs(3600),
        }
    }

    fn claims() -> Map<String, Value> {
        json!({"sub": "u-1", "email": "a@example.com", "name": "Ann", "locale": "en"})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn email_identity_carries_no_external_id_and_only_present_properties() {
        let payload = identity(&config(IdentifyBy::Email), &claims()).unwrap();
        assert_eq!(
            Value::Object(payload),
            json!({"email": "a@example.com", "contactProperties": {"name": "Ann", "language": "en"}})
        );
    }

    #[test]
    fn external_id_identity_carries_no_email() {
        let payload = identity(&config(IdentifyBy::UniqueExternalId), &claims()).unwrap();
        assert_eq!(payload["unique_external_id"], "u-1");
        assert!(!payload.contains_key("email"));
    }

    #[test]
    fn a_user_without_the_identifying_claim_gets_no_token() {
        let mut c = claims();
        c.remove("email");
        assert_eq!(
            identity(&config(IdentifyBy::Email), &c),
            Err(NoIdentity::Missing("email"))
        );
    }

    #[test]
    fn an_email_identity_must_be_one_address_and_an_external_id_need_not_look_like_one() {
        for list in [
            "a@example.com, b@evil.test",
            "B <b@evil.test>",
            "a@example.com@evil.test",
        ] {
            let mut c = claims();
            c.insert("email".into(), json!(list));
            c.insert("sub".into(), json!(list));
            assert_eq!(
                identity(&config(IdentifyBy::Email), &c),
                Err(NoIdentity::NotOneAddress),
                "{list}"
            );
            assert!(identity(&config(IdentifyBy::UniqueExternalId), &c).is_ok());
        }
    }

    #[test]
    fn an_unverified_email_identifies_nobody_but_an_external_id_does() {
        let mut c = claims();
        c.insert("email_verified".into(), json!(false));
        assert!(email_unverified(
            &config(IdentifyBy::Email),
            &c,
            EmailVerified::Required
        ));
        assert!(!email_unverified(
            &config(IdentifyBy::UniqueExternalId),
            &c,
            EmailVerified::Required
        ));
        c.insert("email_verified".into(), json!(true));
        assert!(!email_unverified(
            &config(IdentifyBy::Email),
            &c,
            EmailVerified::Required
        ));
        c.remove("email_verified");
        assert!(email_verified_unknown(
            &config(IdentifyBy::Email),
            &c,
            EmailVerified::Required
        ));
        assert!(any_missing(
            &config(IdentifyBy::Email),
            &c,
            EmailVerified::Required
        ));
    }

    #[test]
    fn ticket_properties_appear_when_a_claim_provides_them() {
        let mut c = claims();
        c.insert("plan".into(), json!("gold"));
        let payload = identity(&config(IdentifyBy::Email), &c).unwrap();
        assert_eq!(payload["ticketProperties"], json!({"cf_plan": "gold"}));
    }

    #[test]
    fn minted_tokens_verify_as_hs256_with_the_exact_header() {
        let payload = identity(&config(IdentifyBy::Email), &claims()).unwrap();
        let token = mint(b"0123456789abcdef0123456789abcdef", &payload, 2_000_000_000);
        let header = token.split('.').next().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).unwrap(),
            HS256_HEADER.as_bytes()
        );
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["exp"], 2_000_000_000u64);
        assert_eq!(decoded.claims["email"], "a@example.com");
    }
}
