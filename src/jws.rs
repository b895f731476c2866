//! The one place that writes a JWT as a compact JWS (RFC 7515 §7.1): `BASE64URL(header) "."
//! BASE64URL(payload) "." BASE64URL(signature)`, base64url without padding (RFC 7515 §2), the signature
//! over the ASCII of the first two parts (§5.1).
//!
//! The gateway signs with two algorithms, each pinned (RFC 8725 §3.1): RS256 for Freshworks' JWT SSO
//! (`crate::keys`) and HS256 for Freshdesk Web Chat (`crate::webchat::token`). Each has its header as a
//! fixed byte string: no algorithm is ever taken from input, so the algorithm-confusion and
//! `"alg":"none"` problems of RFC 8725 §2.1 cannot arise on the gateway's side.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The RS256 header, byte for byte (RFC 7515 §4.1.1 `alg`, RFC 7519 §5.1 `typ`).
pub const RS256_HEADER: &str = r#"{"alg":"RS256","typ":"JWT"}"#;
/// The HS256 header, byte for byte as Freshdesk's Web Chat article shows it.
pub const HS256_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// An algorithm the gateway signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// HMAC with SHA-256 (RFC 7518 §3.2).
    Hs256,
}

impl Algorithm {
    /// The JOSE header of every token signed with this algorithm.
    pub const fn header(self) -> &'static str {
        match self {
            Algorithm::Rs256 => RS256_HEADER,
            Algorithm::Hs256 => HS256_HEADER,
        }
    }
}

/// `claims` (the JWT's payload, JSON) as a compact JWS signed with `algorithm`: `sign` gets the signing
/// input and returns the signature of `signature_len` bytes (a guess is fine: it only sizes the buffer).
///
/// # Errors
/// Whatever `sign` returns.
pub fn compact<E>(
    algorithm: Algorithm,
    claims: &[u8],
    signature_len: usize,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<String, E> {
    let header = algorithm.header();
    let mut token =
        String::with_capacity((header.len() + claims.len() + signature_len) * 4 / 3 + 8);
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature = sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
    use aws_lc_rs::{hmac, rand::SystemRandom};
    use serde_json::{Value, json};

    const RSA2048_PKCS8: &str = include_str!("keys/testdata/test-rsa2048-pkcs8.pem");

    fn pkcs8_der(pem: &str) -> Vec<u8> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    fn parts(token: &str) -> Vec<Vec<u8>> {
        token
            .split('.')
            .map(|part| URL_SAFE_NO_PAD.decode(part).unwrap())
            .collect()
    }

    #[test]
    fn an_rs256_token_verifies_with_jsonwebtoken_and_carries_the_pinned_header() {
        let der = pkcs8_der(RSA2048_PKCS8);
        let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
        let claims = json!({"sub": "alice", "exp": 4_000_000_000u64});
        let token = compact(
            Algorithm::Rs256,
            claims.to_string().as_bytes(),
            pair.public_modulus_len(),
            |input| {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input,
                    &mut signature,
                )
                .map(|()| signature)
            },
        )
        .unwrap();
        assert_eq!(parts(&token)[0], RS256_HEADER.as_bytes());
        let public = pair.public_key().as_ref().to_vec();
        let key = jsonwebtoken::DecodingKey::from_rsa_der(&public);
        let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        let decoded = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        assert_eq!(decoded.claims, claims);
        // One flipped byte of the payload and the independent library refuses it.
        let mut forged: Vec<&str> = token.split('.').collect();
        let payload =
            URL_SAFE_NO_PAD.encode(json!({"sub": "mallory", "exp": 4_000_000_000u64}).to_string());
        forged[1] = &payload;
        assert!(jsonwebtoken::decode::<Value>(&forged.join("."), &key, &validation).is_err());
    }

    #[test]
    fn an_hs256_token_verifies_with_jsonwebtoken_and_carries_the_pinned_header() {
        let secret = b"a widget secret of the test";
        let claims =
            json!({"name": "Alice", "email": "alice@example.com", "exp": 4_000_000_000u64});
        let token = compact(
            Algorithm::Hs256,
            claims.to_string().as_bytes(),
            32,
            |input| {
                let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
                Ok::<_, std::convert::Infallible>(hmac::sign(&key, input).as_ref().to_vec())
            },
        )
        .unwrap();
        assert_eq!(parts(&token)[0], HS256_HEADER.as_bytes());
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.required_spec_claims.clear();
        let key = jsonwebtoken::DecodingKey::from_secret(secret);
        let decoded = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        assert_eq!(decoded.claims, claims);
        let wrong = jsonwebtoken::DecodingKey::from_secret(b"another secret");
        assert!(jsonwebtoken::decode::<Value>(&token, &wrong, &validation).is_err());
    }

    #[test]
    fn a_failed_signature_makes_no_token() {
        let failed = compact(Algorithm::Rs256, b"{}", 256, |_| Err("no key"));
        assert_eq!(failed, Err("no key"));
    }
}
