//! The provider's signing keys as the ID-token check uses them.
//!
//! `openidconnect` verifies RSA signatures with the pure-Rust `rsa` crate, which took about 0.2 ms of the
//! gateway's CPU per login (`bench/login`), as much as minting the Freshworks token. This key type keeps
//! the library's key selection untouched (key id, `kty`, `use` and `alg` are the library's JWK's own) and
//! only moves the PKCS#1 v1.5 RSA check (RS256, RS384, RS512: what Freshworks-facing providers use) to
//! aws-lc-rs, the library that already signs. Other algorithms go to the library as before.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJsonWebKeyType, CoreJsonWebKeyUse,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyId, JsonWebKeySet, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};

/// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
const MIN_RSA_BITS: usize = 2048;

pub type VerifyingKeySet = JsonWebKeySet<VerifyingKey>;

/// The key set of a fetched JWKS, ready for [`openidconnect::IdTokenVerifier`].
pub fn verifying_set(jwks: &CoreJsonWebKeySet) -> VerifyingKeySet {
    JsonWebKeySet::new(
        jwks.keys()
            .iter()
            .cloned()
            .map(VerifyingKey::from)
            .collect(),
    )
}

/// `set`, for checking a token whose payload the gateway trimmed before handing it to the library
/// (`oidc::id_token::validate_id_token`): the library verifies the signature over the `header.payload` it was
/// handed, `handed`, so each key verifies it over `signed`, the bytes the provider signed, instead. Any other
/// message verifies nothing.
pub fn verifying_signed(set: &VerifyingKeySet, handed: &str, signed: &str) -> VerifyingKeySet {
    let swap = SignedBytes {
        handed: handed.into(),
        signed: signed.into(),
    };
    JsonWebKeySet::new(
        set.keys()
            .iter()
            .map(|key| VerifyingKey {
                signed: Some(swap.clone()),
                ..key.clone()
            })
            .collect(),
    )
}

/// One JWK: the library's own, plus its RSA modulus and exponent decoded once.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(from = "CoreJsonWebKey", into = "CoreJsonWebKey")]
pub struct VerifyingKey {
    jwk: CoreJsonWebKey,
    rsa: Option<RsaComponents>,
    /// Set by `verifying_signed` for one token.
    signed: Option<SignedBytes>,
}

/// The signing input the library is handed, and the one the provider signed (see `verifying_signed`).
#[derive(Clone, Debug)]
struct SignedBytes {
    handed: std::sync::Arc<str>,
    signed: std::sync::Arc<str>,
}

#[derive(Clone, Debug)]
struct RsaComponents {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl From<CoreJsonWebKey> for VerifyingKey {
    fn from(jwk: CoreJsonWebKey) -> Self {
        let rsa = (jwk.key_type() == &CoreJsonWebKeyType::RSA)
            .then(|| {
                // The library keeps `n` and `e` to itself; its serialized form is the JWK's JSON.
                let json = serde_json::to_value(&jwk).ok()?;
                let component = |name: &str| {
                    let text = json.get(name)?.as_str()?;
                    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
                };
                Some(RsaComponents {
                    n: component("n")?,
                    e: component("e")?,
                })
            })
            .flatten();
        VerifyingKey {
            jwk,
            rsa,
            signed: None,
        }
    }
}

impl From<VerifyingKey> for CoreJsonWebKey {
    fn from(key: VerifyingKey) -> Self {
        key.jwk
    }
}

impl JsonWebKey for VerifyingKey {
    type KeyUse = CoreJsonWebKeyUse;
    type SigningAlgorithm = CoreJwsSigningAlgorithm;

    fn key_id(&self) -> Option<&JsonWebKeyId> {
        self.jwk.key_id()
    }

    fn key_type(&self) -> &CoreJsonWebKeyType {
        self.jwk.key_type()
    }

    fn key_use(&self) -> Option<&CoreJsonWebKeyUse> {
        self.jwk.key_use()
    }

    fn signing_alg(&self) -> JsonWebKeyAlgorithm<&CoreJwsSigningAlgorithm> {
        self.jwk.signing_alg()
    }

    fn new_symmetric(key: Vec<u8>) -> Self {
        CoreJsonWebKey::new_symmetric(key).into()
    }

    fn verify_signature(
        &self,
        alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureVerificationError> {
        use aws_lc_rs::signature::{
            RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
            RsaPublicKeyComponents,
        };
        let message = match &self.signed {
            None => message,
            Some(swap) if message == swap.handed.as_bytes() => swap.signed.as_bytes(),
            Some(_) => {
                return Err(SignatureVerificationError::CryptoError(
                    "not the token the gateway handed over".into(),
                ));
            }
        };
        let params = match alg {
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256 => &RSA_PKCS1_2048_8192_SHA256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384 => &RSA_PKCS1_2048_8192_SHA384,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512 => &RSA_PKCS1_2048_8192_SHA512,
            _ => return self.jwk.verify_signature(alg, message, signature),
        };
        // The library's checks first: an RSA key, usable for signatures, with a matching `alg` if it names one.
        if self.jwk.key_type() != &CoreJsonWebKeyType::RSA {
            return Err(SignatureVerificationError::InvalidKey(
                "key type does not match signature algorithm".into(),
            ));
        }
        if self
            .key_use()
            .is_some_and(|u| u != &CoreJsonWebKeyUse::Signature)
        {
            return Err(SignatureVerificationError::InvalidKey(
                "key usage not permitted for digital signatures".into(),
            ));
        }
        match self.signing_alg() {
            JsonWebKeyAlgorithm::Unspecified => {}
            JsonWebKeyAlgorithm::Algorithm(key_alg) if key_alg == alg => {}
            _ => {
                return Err(SignatureVerificationError::InvalidKey(
                    "incompatible key algorithm".into(),
                ));
            }
        }
        let Some(rsa) = &self.rsa else {
            return Err(SignatureVerificationError::InvalidKey(
                "RSA key without a valid `n` and `e`".into(),
            ));
        };
        let n = strip_leading_zeros(&rsa.n);
        if n.len() * 8 < MIN_RSA_BITS {
            return Err(SignatureVerificationError::InvalidKey(format!(
                "the RSA key has {} bits; at least {MIN_RSA_BITS} are required (RFC 7518 §3.3)",
                n.len() * 8
            )));
        }
        let key = RsaPublicKeyComponents {
            n,
            e: strip_leading_zeros(&rsa.e),
        };
        key.verify(params, message, signature)
            .map_err(|_| SignatureVerificationError::CryptoError("bad signature".into()))
    }

    fn hash_bytes(&self, bytes: &[u8], alg: &CoreJwsSigningAlgorithm) -> Result<Vec<u8>, String> {
        self.jwk.hash_bytes(bytes, alg)
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RsaKeyPair};

    fn key_pair(size: KeySize) -> RsaKeyPair {
        RsaKeyPair::generate(size).unwrap()
    }

    fn jwk(pair: &RsaKeyPair, extra: serde_json::Value) -> VerifyingKey {
        use aws_lc_rs::signature::RsaPublicKeyComponents;
        let public: RsaPublicKeyComponents<Vec<u8>> = pair.public_key().into();
        let mut json = serde_json::json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        });
        json.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(json).unwrap()
    }

    fn sign(
        pair: &RsaKeyPair,
        alg: &'static dyn aws_lc_rs::signature::RsaEncoding,
        msg: &[u8],
    ) -> Vec<u8> {
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(alg, &SystemRandom::new(), msg, &mut signature)
            .unwrap();
        signature
    }

    #[test]
    fn an_rs256_signature_by_the_key_verifies_and_one_over_other_bytes_does_not() {
        let pair = key_pair(KeySize::Rsa2048);
        let key = jwk(&pair, serde_json::json!({}));
        let signature = sign(&pair, &RSA_PKCS1_SHA256, b"header.payload");
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        assert!(
            key.verify_signature(&rs256, b"header.payload", &signature)
                .is_ok()
        );
        assert!(matches!(
            key.verify_signature(&rs256, b"header.payloaX", &signature),
            Err(SignatureVerificationError::CryptoError(_))
        ));
    }

    #[test]
    fn a_signature_made_with_another_hash_than_the_header_names_is_refused() {
        let pair = key_pair(KeySize::Rsa2048);
        let key = jwk(&pair, serde_json::json!({}));
        let signature = sign(&pair, &RSA_PKCS1_SHA384, b"m");
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        let rs384 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384;
        assert!(key.verify_signature(&rs256, b"m", &signature).is_err());
        assert!(key.verify_signature(&rs384, b"m", &signature).is_ok());
    }

    #[test]
    fn a_key_for_encryption_or_pinned_to_another_algorithm_verifies_nothing() {
        let pair = key_pair(KeySize::Rsa2048);
        let signature = sign(&pair, &RSA_PKCS1_SHA256, b"m");
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        for extra in [
            serde_json::json!({"use": "enc"}),
            serde_json::json!({"alg": "RS512"}),
        ] {
            let key = jwk(&pair, extra.clone());
            assert!(
                matches!(
                    key.verify_signature(&rs256, b"m", &signature),
                    Err(SignatureVerificationError::InvalidKey(_))
                ),
                "{extra}"
            );
        }
        let pinned = jwk(&pair, serde_json::json!({"alg": "RS256", "use": "sig"}));
        assert!(pinned.verify_signature(&rs256, b"m", &signature).is_ok());
    }

    #[test]
    fn an_rsa_key_under_2048_bits_is_refused_before_any_arithmetic() {
        // aws-lc-rs cannot make a 1024-bit key; a 2048-bit modulus cut to 1024 bits stands in for one,
        // and the length check must refuse it before any arithmetic.
        let pair = key_pair(KeySize::Rsa2048);
        let mut key = jwk(&pair, serde_json::json!({}));
        key.rsa.as_mut().unwrap().n.truncate(128);
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        let error = key.verify_signature(&rs256, b"m", &[0; 128]).unwrap_err();
        assert!(error.to_string().contains("2048"), "{error}");
    }

    #[test]
    fn a_key_for_a_trimmed_token_verifies_the_bytes_the_provider_signed_and_nothing_else() {
        let pair = key_pair(KeySize::Rsa2048);
        let set = JsonWebKeySet::new(vec![jwk(&pair, serde_json::json!({}))]);
        let signature = sign(&pair, &RSA_PKCS1_SHA256, b"h.signed");
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        let swapped = verifying_signed(&set, "h.handed", "h.signed");
        let key = &swapped.keys()[0];
        assert!(
            key.verify_signature(&rs256, b"h.handed", &signature)
                .is_ok()
        );
        for other in [&b"h.signed"[..], b"h.other"] {
            assert!(key.verify_signature(&rs256, other, &signature).is_err());
        }
        let forged = sign(&pair, &RSA_PKCS1_SHA256, b"h.handed");
        assert!(key.verify_signature(&rs256, b"h.handed", &forged).is_err());
        assert!(
            set.keys()[0]
                .verify_signature(&rs256, b"h.signed", &signature)
                .is_ok(),
            "the set it came from is unchanged"
        );
    }

    #[test]
    fn the_key_serializes_back_to_the_same_jwk() {
        let pair = key_pair(KeySize::Rsa2048);
        let key = jwk(&pair, serde_json::json!({"kid": "k1", "use": "sig"}));
        let json = serde_json::to_value(&key).unwrap();
        assert_eq!(json["kid"], "k1");
        let again: VerifyingKey = serde_json::from_value(json).unwrap();
        assert_eq!(again.key_id().map(|k| k.as_str()), Some("k1"));
        assert_eq!(again.rsa.unwrap().n, key.rsa.unwrap().n);
    }
}
