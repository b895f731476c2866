//! Validating the provider's JWT access tokens (RFC 9068) for the gateway's own APIs (Web Chat tokens).
//!
//! Signature with a key from the provider's JWKS and an asymmetric algorithm pinned by that key (never
//! `none`, never HMAC: RFC 8725 §2.1, §3.1), `iss` exactly the provider's, `exp`, `nbf` and `iat` with
//! bounded skew, and `aud` when the operator configured accepted audiences. An ID token is not an access token
//! (RFC 9068 §4, RFC 8725 §3.11): tokens that look like one are refused.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::flow::{CLOCK_SKEW, not_in_the_future};
use super::provider::Discovered;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessTokenError {
    #[error("no key in the provider's JWKS matches the token's key id")]
    UnknownKey,
    #[error("{0}")]
    Invalid(String),
}

/// True when `token` has the shape of a compact JWS (three base64url parts); anything else is treated as
/// an opaque token and checked at the provider's userinfo endpoint.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        && jsonwebtoken::decode_header(token).is_ok()
}

/// Validates a JWT access token and returns its claims.
pub fn validate(
    discovered: &Discovered,
    issuer: &str,
    audience: &[String],
    token: &str,
) -> Result<Map<String, Value>, AccessTokenError> {
    let invalid = |text: String| AccessTokenError::Invalid(text);
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| invalid(format!("malformed header: {e}")))?;
    if let Some(typ) = &header.typ {
        let typ = typ.to_ascii_lowercase();
        if !matches!(typ.as_str(), "at+jwt" | "application/at+jwt" | "jwt") {
            return Err(invalid(format!("typ `{typ}` is not an access token type")));
        }
    }
    let algorithm = header.alg;
    if !matches!(
        algorithm,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    ) {
        return Err(invalid(format!(
            "algorithm {algorithm:?} is not accepted (asymmetric algorithms only)"
        )));
    }
    let jwks: JwkSet = serde_json::to_value(&discovered.jwks)
        .ok()
        .and_then(|value| serde_json::from_value(value).ok())
        .ok_or_else(|| invalid("the provider's JWKS could not be read".into()))?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid).ok_or(AccessTokenError::UnknownKey)?,
        None if jwks.keys.len() == 1 => &jwks.keys[0],
        None => {
            return Err(invalid(
                "the token names no key id and the JWKS has several keys".into(),
            ));
        }
    };
    if let Some(key_algorithm) = jwk.common.key_algorithm
        && format!("{key_algorithm:?}") != format!("{algorithm:?}")
    {
        return Err(invalid(format!(
            "the token says {algorithm:?} but its key is for {key_algorithm:?}"
        )));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(format!("unusable JWKS key: {e}")))?;
    let mut validation = Validation::new(algorithm);
    validation.leeway = CLOCK_SKEW.as_secs();
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.set_issuer(&[issuer]);
    if audience.is_empty() {
        validation.validate_aud = false;
    } else {
        validation.set_audience(audience);
    }
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| invalid(e.to_string()))?;
    let claims = data.claims;
    // The library checks `exp` and `nbf` but not `iat`: a token issued in the future is forged or from a
    // provider whose clock is wrong, either way not to be believed (RFC 7519 §4.1.6).
    not_in_the_future(&claims, "iat", crate::clock::unix_now()).map_err(invalid)?;
    // Keycloak marks ID tokens with `"typ": "ID"`; every ID token carries a nonce when one was sent.
    if claims.get("typ").and_then(Value::as_str) == Some("ID") || claims.contains_key("nonce") {
        return Err(invalid("this is an ID token, not an access token".into()));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_compact_jws_shapes_count_as_jwts() {
        assert!(!looks_like_jwt("opaque-token"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c"), "parts that do not decode");
        let header = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"alg":"RS256"}"#,
        );
        assert!(looks_like_jwt(&format!("{header}.e30.sig")));
    }
}
