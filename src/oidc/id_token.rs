//! The ID token (OIDC Core §3.1.3.7): validated with the provider's keys, the profile claims read by the
//! gateway itself from the verified payload.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreIdToken, CoreJwsSigningAlgorithm};
use openidconnect::{
    ClaimsVerificationError, ClientId, IdTokenVerifier, IssuerUrl, Nonce,
    SignatureVerificationError,
};
use serde_json::{Map, Value};

use super::flow::{CLOCK_SKEW, not_in_the_future};
use super::provider::{ACCEPTED_ID_TOKEN_ALGS, Discovered};
use crate::clock::unix_now;
use crate::config::Upstream;

/// What a validated ID token says.
pub struct IdClaims {
    pub subject: String,
    pub claims: Map<String, Value>,
}

/// Validates the ID token (OIDC Core §3.1.3.7): signature with a key from the provider's JWKS and an
/// asymmetric algorithm the provider advertises (never `none`, never HMAC — RFC 8725 §2.1, §3.1), `iss`
/// exactly ours, `aud` containing our client id and no untrusted other audience, `azp` when several
/// audiences, `exp`, `iat` and `nbf` within `CLOCK_SKEW`, and our `nonce`. `max_age` bounds how old `iat` may be.
///
/// The profile claims (OIDC Core §5.1) are the gateway's to read, not the library's: the library types them
/// strictly and would refuse a whole token for one it dislikes (`email_verified: "true"`), where the gateway
/// reads them from the verified payload and applies its own rules the same way to every source
/// (`claims::email`: not a JSON `true`, not verified). So the library is handed the token with the profile
/// claims taken out of the payload (`handed_to_library`), and its signature check is pointed at the bytes the
/// provider signed (`jwk::verifying_signed`): the signature still covers every claim, and every check the
/// library makes reads the same values the provider signed.
pub fn validate_id_token(
    discovered: &Discovered,
    upstream: &Upstream,
    id_token: &str,
    nonce: &str,
    max_age: Duration,
) -> Result<IdClaims, IdTokenError> {
    let claims = payload_claims(id_token)?;
    let (handed, handed_input, signed_input) = handed_to_library(id_token, &claims)?;
    let token = CoreIdToken::from_str(&handed)
        .map_err(|e| IdTokenError::Invalid(format!("malformed: {e}")))?;
    let issuer = IssuerUrl::new(upstream.issuer.clone())
        .map_err(|e| IdTokenError::Invalid(e.to_string()))?;
    let advertised: Vec<String> = discovered
        .metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok()?.as_str().map(str::to_owned))
        .collect();
    let algs: Vec<CoreJwsSigningAlgorithm> = ACCEPTED_ID_TOKEN_ALGS
        .iter()
        .filter(|alg| advertised.iter().any(|a| a == *alg))
        .filter_map(|alg| serde_json::from_value(Value::from(*alg)).ok())
        .collect();
    let now = SystemTime::now();
    let verifier = IdTokenVerifier::new_public_client(
        ClientId::new(upstream.client_id.clone()),
        issuer,
        super::jwk::verifying_signed(&discovered.jwks, &handed_input, signed_input),
    )
    .set_allowed_algs(algs)
    .set_time_fn(move || DateTime::<Utc>::from(now - CLOCK_SKEW))
    .set_issue_time_verifier_fn(move |iat| {
        let iat = SystemTime::from(iat);
        if iat > now + CLOCK_SKEW {
            Err("iat is in the future".into())
        } else if now.duration_since(iat).unwrap_or_default() > max_age + CLOCK_SKEW {
            Err("iat is older than the login".into())
        } else {
            Ok(())
        }
    });
    let expected = Nonce::new(nonce.to_owned());
    let payload = claims;
    match token.claims(&verifier, &expected) {
        Ok(claims) => {
            // OIDC Core §3.1.3.7 steps 4-5, which the library leaves to the client: with several audiences
            // `azp` must be present, and when present it must be our client id.
            match claims.authorized_party() {
                Some(azp) if azp.as_str() != upstream.client_id => {
                    return Err(IdTokenError::Invalid(format!(
                        "azp `{}` is not our client id",
                        azp.as_str()
                    )));
                }
                None if claims.audiences().len() > 1 => {
                    return Err(IdTokenError::Invalid("several audiences but no azp".into()));
                }
                _ => {}
            }
            let subject = claims.subject().as_str().to_owned();
            let claims = payload;
            // The library leaves `nbf` alone (OIDC Core does not define it for ID tokens), but a token
            // that says it is not valid yet is not valid (RFC 7519 §4.1.5).
            not_in_the_future(&claims, "nbf", unix_now()).map_err(IdTokenError::Invalid)?;
            Ok(IdClaims { subject, claims })
        }
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => Err(IdTokenError::UnknownKey),
        Err(e) => Err(IdTokenError::Invalid(e.to_string())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error("no key in the provider's JWKS matches the token's key id")]
    UnknownKey,
    #[error("{0}")]
    Invalid(String),
}

/// The profile claims of OIDC Core §5.1 besides `sub` (and `birthday`, an older spelling the library also
/// reads), with or without a language tag (`name#de`).
const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "birthday",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

fn is_profile_claim(name: &str) -> bool {
    let base = name.split_once('#').map_or(name, |(base, _)| base);
    PROFILE_CLAIMS.contains(&base)
}

/// The ID token as the library is given it (see `validate_id_token`): the provider's header and signature
/// around its payload without the profile claims. Returns that token, its signing input, and the signing
/// input the provider signed.
fn handed_to_library<'a>(
    id_token: &'a str,
    claims: &Map<String, Value>,
) -> Result<(String, String, &'a str), IdTokenError> {
    let not_jws = || IdTokenError::Invalid("not a compact JWS".into());
    if id_token.split('.').count() != 3 {
        return Err(not_jws());
    }
    let (signed_input, signature) = id_token.rsplit_once('.').ok_or_else(not_jws)?;
    let (header, _) = signed_input.split_once('.').ok_or_else(not_jws)?;
    let registered: Map<String, Value> = claims
        .iter()
        .filter(|(name, _)| !is_profile_claim(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let payload = serde_json::to_vec(&registered).expect("a JSON object serializes");
    let handed_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    Ok((
        format!("{handed_input}.{signature}"),
        handed_input,
        signed_input,
    ))
}

/// The JSON claims of a compact JWS (not verified by this function).
fn payload_claims(token: &str) -> Result<Map<String, Value>, IdTokenError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| IdTokenError::Invalid("not a compact JWS".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| IdTokenError::Invalid("payload is not base64url".into()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(IdTokenError::Invalid("payload is not a JSON object".into())),
    }
}
