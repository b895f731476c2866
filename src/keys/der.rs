//! Looking inside the key structures this module handles — PKCS#8 `PrivateKeyInfo` (RFC 5208, RFC 5958),
//! PKCS#1 `RSAPrivateKey` and `RSAPublicKey` (RFC 8017 appendix A.1.1, A.1.2) and X.509
//! `SubjectPublicKeyInfo` (RFC 5280 §4.1) — with RustCrypto's `pkcs8`, `pkcs1` and `spki` crates, which
//! decode DER (ITU-T X.690) strictly: canonical lengths and integers, no trailing bytes.
//!
//! aws-lc-rs does the real validation and the signing. These readers exist so that a refused key gets a
//! precise message: aws-lc-rs rejects a 1024-bit key or an EC key with an opaque "key rejected", while an
//! operator needs to hear "this key has 1024 bits" or "this is an EC key". They also yield the modulus and
//! exponent for the RFC 7638 thumbprint.

use pkcs1::{RsaPrivateKeyRef, RsaPublicKeyRef};
use pkcs8::PrivateKeyInfoRef;
use pkcs8::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

/// rsaEncryption (RFC 8017 appendix A.1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Key algorithms an operator may plausibly hand over instead of an RSA key, named for the message.
const OTHER_ALGORITHMS: [(ObjectIdentifier, &str); 7] = [
    // id-ecPublicKey, RFC 5480 §2.1.1.
    (
        ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
        "an EC (elliptic-curve) key",
    ),
    // RFC 8410 §3.
    (
        ObjectIdentifier::new_unwrap("1.3.101.112"),
        "an Ed25519 key",
    ),
    (ObjectIdentifier::new_unwrap("1.3.101.113"), "an Ed448 key"),
    (ObjectIdentifier::new_unwrap("1.3.101.110"), "an X25519 key"),
    (ObjectIdentifier::new_unwrap("1.3.101.111"), "an X448 key"),
    // id-dsa, RFC 3279 §2.3.2.
    (
        ObjectIdentifier::new_unwrap("1.2.840.10040.4.1"),
        "a DSA key",
    ),
    // id-RSASSA-PSS, RFC 8017 appendix A.2.3.
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10"),
        "an RSA-PSS key (restricted to PS256-style signatures, which cannot make RS256 signatures)",
    ),
];

/// A DER structure did not decode; the text says which one and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DerError(pub(super) String);

type Result<T> = std::result::Result<T, DerError>;

fn malformed(what: &str, error: impl std::fmt::Display) -> DerError {
    DerError(format!("the {what} structure is malformed: {error}"))
}

/// The public half of an RSA key: modulus `n` and public exponent `e`, big-endian, no leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RsaPublicParts {
    pub(super) n: Vec<u8>,
    pub(super) e: Vec<u8>,
}

impl RsaPublicParts {
    fn of(key: &RsaPublicKeyRef<'_>) -> Self {
        RsaPublicParts {
            n: key.modulus.as_bytes().to_vec(),
            e: key.public_exponent.as_bytes().to_vec(),
        }
    }

    /// Size of the modulus in bits, the number RFC 7518 §3.3 puts a floor under.
    pub(super) fn bits(&self) -> usize {
        match self.n.first() {
            Some(&top) => self.n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        }
    }
}

/// What the algorithm identifier of a PKCS#8 `PrivateKeyInfo` says the key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pkcs8Key<'a> {
    /// An rsaEncryption key; the contents are the PKCS#1 `RSAPrivateKey` DER.
    Rsa(&'a [u8]),
    /// Any other algorithm, described for an error message ("an EC (elliptic-curve) key", …).
    Other(String),
}

/// Reads a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5) or `OneAsymmetricKey` (RFC 5958 §2).
pub(super) fn pkcs8(der: &[u8]) -> Result<Pkcs8Key<'_>> {
    let info =
        PrivateKeyInfoRef::try_from(der).map_err(|e| malformed("PKCS#8 PrivateKeyInfo", e))?;
    if info.algorithm.oid == RSA_ENCRYPTION {
        Ok(Pkcs8Key::Rsa(info.private_key.as_bytes()))
    } else {
        Ok(Pkcs8Key::Other(describe_algorithm(info.algorithm.oid)))
    }
}

/// Names a non-RSA key algorithm for an error message.
fn describe_algorithm(oid: ObjectIdentifier) -> String {
    OTHER_ALGORITHMS
        .iter()
        .find(|(known, _)| *known == oid)
        .map_or_else(
            || format!("a key of algorithm {oid}"),
            |(_, name)| (*name).to_owned(),
        )
}

/// Reads the modulus and public exponent out of a PKCS#1 `RSAPrivateKey`.
pub(super) fn rsa_private_key(der: &[u8]) -> Result<RsaPublicParts> {
    let key = RsaPrivateKeyRef::try_from(der).map_err(|e| malformed("PKCS#1 RSAPrivateKey", e))?;
    Ok(RsaPublicParts::of(&key.public_key()))
}

/// Reads the modulus and public exponent out of a PKCS#1 `RSAPublicKey`.
pub(super) fn rsa_public_key(der: &[u8]) -> Result<RsaPublicParts> {
    let key = RsaPublicKeyRef::try_from(der).map_err(|e| malformed("PKCS#1 RSAPublicKey", e))?;
    Ok(RsaPublicParts::of(&key))
}

/// Returns the PKCS#1 `RSAPublicKey` inside an RSA `SubjectPublicKeyInfo`.
pub(super) fn spki_rsa_public_key(der: &[u8]) -> Result<&[u8]> {
    let spki =
        SubjectPublicKeyInfoRef::try_from(der).map_err(|e| malformed("SubjectPublicKeyInfo", e))?;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(DerError(
            "the SubjectPublicKeyInfo is not an rsaEncryption key".to_owned(),
        ));
    }
    // A DER-encoded key fills whole octets (RFC 8017 appendix A.1.1); `as_bytes` is `None` otherwise.
    spki.subject_public_key.as_bytes().ok_or_else(|| {
        DerError("the SubjectPublicKeyInfo's key has a partial last octet".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_lose_their_sign_octet_and_negative_ones_are_refused() {
        // RSAPublicKey { n = 0x00 0x80 0x01, e = 3 }
        let key = [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x03];
        assert_eq!(
            rsa_public_key(&key).unwrap(),
            RsaPublicParts {
                n: vec![0x80, 0x01],
                e: vec![0x03]
            }
        );
        let negative = [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03];
        let err = rsa_public_key(&negative).unwrap_err();
        assert!(
            err.0
                .starts_with("the PKCS#1 RSAPublicKey structure is malformed: "),
            "{err:?}"
        );
    }

    #[test]
    fn truncated_and_trailing_bytes_are_refused() {
        let key = [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x03];
        assert!(rsa_public_key(&key[..9]).is_err());
        let mut longer = key.to_vec();
        longer.push(0);
        assert!(rsa_public_key(&longer).is_err());
    }

    #[test]
    fn bit_length_counts_from_the_top_set_bit() {
        let parts = |n: Vec<u8>| RsaPublicParts {
            n,
            e: vec![1, 0, 1],
        };
        assert_eq!(parts(vec![0x80; 256]).bits(), 2048);
        assert_eq!(parts(vec![0x7F; 256]).bits(), 2047);
        assert_eq!(parts(vec![0x01, 0x00]).bits(), 9);
        assert_eq!(parts(vec![0x00]).bits(), 0);
    }

    #[test]
    fn unknown_algorithms_are_named_by_their_dotted_oid() {
        assert_eq!(
            describe_algorithm(ObjectIdentifier::new_unwrap("1.2.643.2.2.19")),
            "a key of algorithm 1.2.643.2.2.19"
        );
        assert!(
            describe_algorithm(ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10"))
                .starts_with("an RSA-PSS key")
        );
    }
}
