//! Just enough DER (ITU-T X.690) reading to look inside the key structures this module handles: PKCS#8
//! `PrivateKeyInfo` (RFC 5208), PKCS#1 `RSAPrivateKey` / `RSAPublicKey` (RFC 8017 appendix A.1) and X.509
//! `SubjectPublicKeyInfo` (RFC 5280 §4.1).
//!
//! aws-lc-rs does the real parsing and validation. This reader exists so that a refused key gets a precise
//! message: aws-lc-rs rejects a 1024-bit key or an EC key with an opaque "key rejected", while an operator
//! needs to hear "this key has 1024 bits" or "this is an EC key". It also yields the modulus and exponent for
//! the RFC 7638 thumbprint.

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 appendix A.1).
const OID_RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

/// A DER structure did not parse; the text says which part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DerError(pub(super) &'static str);

type Result<T> = std::result::Result<T, DerError>;

/// Splits one tag-length-value element with the expected tag off the front of `input`.
/// Returns the element's contents and the rest of the input.
fn element<'a>(input: &'a [u8], tag: u8, what: &'static str) -> Result<(&'a [u8], &'a [u8])> {
    let (&found, rest) = input.split_first().ok_or(DerError(what))?;
    if found != tag {
        return Err(DerError(what));
    }
    let (&first, mut rest) = rest.split_first().ok_or(DerError(what))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        // Long form: the low bits give the number of length octets. 0x80 (indefinite length) is not DER.
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(DerError(what));
        }
        let (octets, after) = rest.split_at(count);
        rest = after;
        octets
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return Err(DerError(what));
    }
    Ok(rest.split_at(len))
}

/// The big-endian magnitude of a DER INTEGER that must be positive, without leading zero octets.
fn positive_integer<'a>(input: &'a [u8], what: &'static str) -> Result<(&'a [u8], &'a [u8])> {
    let (value, rest) = element(input, TAG_INTEGER, what)?;
    if value.first().is_none_or(|&b| b & 0x80 != 0) {
        return Err(DerError(what));
    }
    let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
    if start == value.len() {
        return Err(DerError(what));
    }
    Ok((&value[start..], rest))
}

/// The public half of an RSA key: modulus `n` and public exponent `e`, big-endian, no leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RsaPublicParts {
    pub(super) n: Vec<u8>,
    pub(super) e: Vec<u8>,
}

impl RsaPublicParts {
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

/// Reads a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5; RFC 5958 `OneAsymmetricKey` has the same prefix).
pub(super) fn pkcs8(der: &[u8]) -> Result<Pkcs8Key<'_>> {
    const WHAT: &str = "the PKCS#8 PrivateKeyInfo structure is malformed";
    let (info, _) = element(der, TAG_SEQUENCE, WHAT)?;
    let (_version, rest) = element(info, TAG_INTEGER, WHAT)?;
    let (algorithm, rest) = element(rest, TAG_SEQUENCE, WHAT)?;
    let (oid, _parameters) = element(algorithm, TAG_OID, WHAT)?;
    let (private_key, _attributes) = element(rest, TAG_OCTET_STRING, WHAT)?;
    if oid == OID_RSA_ENCRYPTION {
        Ok(Pkcs8Key::Rsa(private_key))
    } else {
        Ok(Pkcs8Key::Other(describe_algorithm(oid)))
    }
}

/// Names a non-RSA key algorithm for an error message.
fn describe_algorithm(oid: &[u8]) -> String {
    let name = match oid {
        [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01] => "an EC (elliptic-curve) key",
        [0x2B, 0x65, 0x70] => "an Ed25519 key",
        [0x2B, 0x65, 0x71] => "an Ed448 key",
        [0x2B, 0x65, 0x6E] => "an X25519 key",
        [0x2B, 0x65, 0x6F] => "an X448 key",
        [0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x01] => "a DSA key",
        [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A] => {
            "an RSA-PSS key (restricted to PS256-style signatures, which cannot make RS256 signatures)"
        }
        _ => return format!("a key of algorithm {}", dotted_oid(oid)),
    };
    name.to_owned()
}

/// Dotted-decimal form of an OBJECT IDENTIFIER's contents, for messages only.
fn dotted_oid(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = (value << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    if arcs.is_empty() {
        return "(empty OID)".to_owned();
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// Reads the modulus and public exponent out of a PKCS#1 `RSAPrivateKey`.
pub(super) fn rsa_private_key(der: &[u8]) -> Result<RsaPublicParts> {
    const WHAT: &str = "the PKCS#1 RSAPrivateKey structure is malformed";
    let (key, _) = element(der, TAG_SEQUENCE, WHAT)?;
    let (_version, rest) = element(key, TAG_INTEGER, WHAT)?;
    let (n, rest) = positive_integer(rest, WHAT)?;
    let (e, _private_parts) = positive_integer(rest, WHAT)?;
    Ok(RsaPublicParts {
        n: n.to_vec(),
        e: e.to_vec(),
    })
}

/// Reads the modulus and public exponent out of a PKCS#1 `RSAPublicKey`.
pub(super) fn rsa_public_key(der: &[u8]) -> Result<RsaPublicParts> {
    const WHAT: &str = "the PKCS#1 RSAPublicKey structure is malformed";
    let (key, _) = element(der, TAG_SEQUENCE, WHAT)?;
    let (n, rest) = positive_integer(key, WHAT)?;
    let (e, _) = positive_integer(rest, WHAT)?;
    Ok(RsaPublicParts {
        n: n.to_vec(),
        e: e.to_vec(),
    })
}

/// Returns the PKCS#1 `RSAPublicKey` inside an RSA `SubjectPublicKeyInfo`.
pub(super) fn spki_rsa_public_key(der: &[u8]) -> Result<&[u8]> {
    const WHAT: &str = "the SubjectPublicKeyInfo structure is malformed";
    let (spki, _) = element(der, TAG_SEQUENCE, WHAT)?;
    let (algorithm, rest) = element(spki, TAG_SEQUENCE, WHAT)?;
    let (oid, _parameters) = element(algorithm, TAG_OID, WHAT)?;
    if oid != OID_RSA_ENCRYPTION {
        return Err(DerError(
            "the SubjectPublicKeyInfo is not an rsaEncryption key",
        ));
    }
    let (bits, _) = element(rest, TAG_BIT_STRING, WHAT)?;
    // The first octet of a BIT STRING counts the unused bits of the last octet; a DER key has none.
    match bits.split_first() {
        Some((0, key)) => Ok(key),
        _ => Err(DerError(WHAT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_form_lengths_are_read_and_truncated_input_is_refused() {
        let mut der = vec![TAG_OCTET_STRING, 0x82, 0x01, 0x00];
        der.extend(std::iter::repeat_n(7u8, 256));
        let (value, rest) = element(&der, TAG_OCTET_STRING, "x").unwrap();
        assert_eq!(value.len(), 256);
        assert!(rest.is_empty());
        assert!(element(&der[..100], TAG_OCTET_STRING, "x").is_err());
        assert!(element(&[TAG_OCTET_STRING, 0x80, 0, 0], TAG_OCTET_STRING, "x").is_err());
    }

    #[test]
    fn integers_lose_their_sign_octet_and_negative_or_zero_ones_are_refused() {
        let (n, _) = positive_integer(&[TAG_INTEGER, 3, 0x00, 0x80, 0x01], "x").unwrap();
        assert_eq!(n, &[0x80, 0x01]);
        assert!(positive_integer(&[TAG_INTEGER, 1, 0x80], "x").is_err());
        assert!(positive_integer(&[TAG_INTEGER, 1, 0x00], "x").is_err());
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
    }

    #[test]
    fn unknown_algorithms_are_named_by_their_dotted_oid() {
        // 1.2.643.2.2.19 (a GOST key).
        assert_eq!(
            describe_algorithm(&[0x2A, 0x85, 0x03, 0x02, 0x02, 0x13]),
            "a key of algorithm 1.2.643.2.2.19"
        );
        assert_eq!(dotted_oid(OID_RSA_ENCRYPTION), "1.2.840.113549.1.1.1");
    }
}
