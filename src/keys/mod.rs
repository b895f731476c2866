//! The Freshworks signing key: loading, checking, generating, publishing and signing with it.
//!
//! Freshworks' JWT SSO trusts a login when the JWT the gateway sends verifies under the public key the admin
//! pasted into Freshworks' SSO form. That form wants the base64 of the key's `SubjectPublicKeyInfo` DER
//! (RFC 5280 §4.1.2.7), "header and footer stripped": exactly [`SigningKey::public_key_body`].
//!
//! Tokens are signed with RS256, RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), the only algorithm
//! Freshworks accepts. RFC 7518 §3.3 also says "A key of size 2048 bits or larger MUST be used with these
//! algorithms", and NIST SP 800-131A has disallowed RSA keys below 2048 bits for signatures since 2014.
//! Freshworks' own help articles tell customers to make the key with `ssh-keygen -t rsa -b 1024 -m PEM`;
//! such keys are refused here with a message that says how to make a good one (`freshgate keygen`).
//!
//! Keys are read from PEM files holding either a PKCS#1 `RSA PRIVATE KEY` or a PKCS#8 `PRIVATE KEY`.
//! Everything else gets a specific error: an encrypted key (freshgate cannot ask for a passphrase), an
//! OpenSSH-format key, an EC or Ed25519 key, a public key or certificate, a damaged file. A loaded key has
//! signed a probe token that verified under the published public key before [`SigningKey::load`] returns,
//! so a gateway that starts is a gateway whose tokens Freshworks can verify.
//!
//! The JOSE header is the fixed byte string [`RS256_HEADER`]. The gateway never takes an algorithm from
//! input, so the algorithm-confusion and `"alg":"none"` problems of RFC 8725 §2.1 cannot arise on its side.

pub mod committed;
mod der;
mod directories;
mod error;
mod file;
mod pem;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject as _;

use crate::jws::{self, Algorithm};

pub use error::{KeyError, MAX_RSA_BITS, MIN_RSA_BITS};
use file::generate_pkcs8_pem;
pub use file::{permission_warning, write_new_key};

/// The JOSE header of every token, byte for byte (`crate::jws`).
pub use crate::jws::RS256_HEADER;

/// How a SEC1 (`EC PRIVATE KEY`, RFC 5915) key is named in the refusal.
const EC_KEY: &str = "an EC (elliptic-curve) key";

/// What [`SigningKey::source`] says for a key made by [`SigningKey::generate`] and not yet saved.
const GENERATED: &str = "(newly generated key)";

/// An RSA private key that has passed every check this module makes, ready to sign RS256 tokens.
///
/// `Debug` shows the file, the size and the [`key_id`](Self::key_id), never key material. The type is
/// `Send + Sync`; share it with an `Arc`.
#[derive(Clone)]
pub struct SigningKey {
    pair: RsaKeyPair,
    /// `SubjectPublicKeyInfo` DER of the public half.
    spki: Vec<u8>,
    bits: usize,
    key_id: String,
    source: PathBuf,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("source", &self.source)
            .field("bits", &self.bits)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads and checks the PEM key file at `path`; see [`SigningKey::from_pem`] for the checks.
    ///
    /// This does not look at the file's permissions; call [`permission_warning`] for that.
    ///
    /// # Errors
    /// [`KeyError::NotFound`] or [`KeyError::Unreadable`] when the file cannot be read, otherwise as
    /// [`SigningKey::from_pem`].
    pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
        let bytes = fs::read(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => KeyError::NotFound {
                path: path.to_path_buf(),
            },
            _ => KeyError::Unreadable {
                path: path.to_path_buf(),
                source,
            },
        })?;
        // A binary (DER) key is not UTF-8; report it as "not PEM", whose message says how to convert it.
        let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::NotPem {
            path: path.to_path_buf(),
        })?;
        Self::from_pem(text, path)
    }

    /// Parses a PEM private key; `source` is only used in error messages and [`SigningKey::source`].
    ///
    /// The text must hold exactly one private key block, `RSA PRIVATE KEY` (PKCS#1, RFC 8017) or
    /// `PRIVATE KEY` (PKCS#8, RFC 5208) with an RSA key of 2048 to 8192 bits (RFC 7518 §3.3). The key is
    /// checked for consistency by aws-lc-rs, and must sign a probe token that verifies under the public key
    /// [`public_key_body`](Self::public_key_body) publishes.
    ///
    /// # Errors
    /// A [`KeyError`] naming `source` and saying what is wrong: not PEM, not a private key, encrypted,
    /// OpenSSH format, not RSA, too small or too large, malformed, or the probe signature failed.
    pub fn from_pem(pem: &str, source: &Path) -> Result<SigningKey, KeyError> {
        let path = || source.to_path_buf();
        let malformed = |detail: String| KeyError::Malformed {
            path: path(),
            detail,
        };
        let labels = pem::labels(pem);
        let private: Vec<&pem::Label<'_>> = labels
            .iter()
            .filter(|b| b.label.ends_with("PRIVATE KEY"))
            .collect();
        let block = match private.as_slice() {
            [one] => *one,
            [] if labels.is_empty() => return Err(KeyError::NotPem { path: path() }),
            [] => {
                let mut names: Vec<&str> = labels.iter().map(|b| b.label).collect();
                names.dedup();
                let found = match names.as_slice() {
                    [one] => format!("a `{one}` PEM block"),
                    many => format!("PEM blocks `{}`", many.join("`, `")),
                };
                return Err(KeyError::NotPrivateKey {
                    path: path(),
                    found,
                });
            }
            many => {
                return Err(malformed(format!(
                    "the file holds {} private keys; keep only the Freshworks signing key in it",
                    many.len()
                )));
            }
        };
        if block.encrypted || block.label == "ENCRYPTED PRIVATE KEY" {
            return Err(KeyError::Encrypted { path: path() });
        }
        let not_rsa = |algorithm: &str| KeyError::NotRsa {
            path: path(),
            algorithm: algorithm.to_owned(),
        };
        match block.label {
            "RSA PRIVATE KEY" | "PRIVATE KEY" => {}
            "OPENSSH PRIVATE KEY" => return Err(KeyError::OpenSsh { path: path() }),
            "EC PRIVATE KEY" => return Err(not_rsa(EC_KEY)),
            "DSA PRIVATE KEY" => return Err(not_rsa("a DSA key")),
            other => return Err(not_rsa(&format!("a `{other}` key"))),
        }
        // The only private key block is one `PemObject` knows, so it is the one it decodes.
        let key = PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| malformed(pem::problem(&e)))?;
        let pkcs1: &[u8] = match &key {
            PrivateKeyDer::Pkcs1(pkcs1) => pkcs1.secret_pkcs1_der(),
            PrivateKeyDer::Pkcs8(pkcs8) => match der::pkcs8(pkcs8.secret_pkcs8_der()) {
                Ok(der::Pkcs8Key::Rsa(pkcs1)) => pkcs1,
                Ok(der::Pkcs8Key::Other(algorithm)) => return Err(not_rsa(&algorithm)),
                Err(der::DerError(detail)) => return Err(malformed(detail)),
            },
            _ => return Err(not_rsa(EC_KEY)),
        };
        Self::from_pkcs1_der(pkcs1, source)
    }

    /// Checks and wraps a PKCS#1 `RSAPrivateKey`.
    fn from_pkcs1_der(pkcs1: &[u8], source: &Path) -> Result<SigningKey, KeyError> {
        let path = || source.to_path_buf();
        let malformed = |detail: String| KeyError::Malformed {
            path: path(),
            detail,
        };
        // The size check comes before aws-lc-rs sees the key: aws-lc-rs refuses a 1024-bit key too, but only
        // as "TooSmall", and the operator needs to hear the number.
        let parts = der::rsa_private_key(pkcs1).map_err(|e| malformed(e.0))?;
        let bits = parts.bits();
        if bits < MIN_RSA_BITS {
            return Err(KeyError::TooSmall { path: path(), bits });
        }
        if bits > MAX_RSA_BITS {
            return Err(KeyError::TooLarge { path: path(), bits });
        }
        let pair = RsaKeyPair::from_der(pkcs1)
            .map_err(|e| malformed(format!("the crypto library refused it: {e}")))?;
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|e| malformed(format!("cannot encode its public key: {e}")))?
            .as_ref()
            .to_vec();
        // The public key published to Freshworks must be the one that goes with the private key in the file.
        let published = der::spki_rsa_public_key(&spki)
            .and_then(der::rsa_public_key)
            .map_err(|e| malformed(e.0))?;
        if published != parts {
            return Err(malformed(
                "its public key does not match its private key".to_owned(),
            ));
        }
        let key = SigningKey {
            pair,
            spki,
            bits,
            key_id: thumbprint(&parts),
            source: path(),
        };
        key.probe()?;
        Ok(key)
    }

    /// Signs a throwaway token and verifies it with jsonwebtoken against the published SPKI, so that a bad
    /// key stops the gateway at startup instead of failing every login.
    fn probe(&self) -> Result<(), KeyError> {
        let failed = |detail: String| KeyError::ProbeFailed {
            path: self.source.clone(),
            detail,
        };
        let token = self
            .sign_rs256(&serde_json::json!({ "probe": "freshgate signing key self-test" }))
            .map_err(|e| failed(e.to_string()))?;
        let (signing_input, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| failed("the token has no signature part".to_owned()))?;
        let rsa_public_key = der::spki_rsa_public_key(&self.spki).map_err(|e| failed(e.0))?;
        let decoding_key = jsonwebtoken::DecodingKey::from_rsa_der(rsa_public_key);
        match jsonwebtoken::crypto::verify(
            signature,
            signing_input.as_bytes(),
            &decoding_key,
            jsonwebtoken::Algorithm::RS256,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err(failed("the signature does not match".to_owned())),
            Err(e) => Err(failed(e.to_string())),
        }
    }

    /// Makes a new RSA key of `bits` bits (2048, 3072 or 4096) and returns it with its PKCS#8 PEM.
    ///
    /// Below 2048 is forbidden for RS256 (RFC 7518 §3.3); above 4096 buys nothing Freshworks needs and
    /// slows every signature.
    ///
    /// # Errors
    /// [`KeyError::UnsupportedSize`] for any other size, [`KeyError::Generate`] if generation fails.
    pub fn generate(bits: usize) -> Result<(SigningKey, String), KeyError> {
        let pem = generate_pkcs8_pem(bits)?;
        let key = Self::from_pem(&pem, Path::new(GENERATED))?;
        Ok((key, pem))
    }

    /// Size of the RSA modulus in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The file the key came from (or was written to), for logs and messages.
    #[must_use]
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The public key as X.509 `SubjectPublicKeyInfo` DER (RFC 5280 §4.1.2.7).
    #[must_use]
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    /// The public key as Freshworks' SSO form wants it: standard base64 of the `SubjectPublicKeyInfo` DER
    /// on a single line, i.e. the output of `openssl rsa -pubout` without its BEGIN/END lines and newlines.
    #[must_use]
    pub fn public_key_body(&self) -> String {
        STANDARD.encode(&self.spki)
    }

    /// The public key as a `PUBLIC KEY` PEM (RFC 7468 §13), 64 characters a line, ending in a newline.
    #[must_use]
    pub fn public_key_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki)
    }

    /// The RFC 7638 JWK thumbprint of the public key: base64url (no padding) of the SHA-256 of
    /// `{"e":…,"kty":"RSA","n":…}`. It identifies the key in logs without revealing anything secret, and
    /// stays the same whether the key was stored as PKCS#1 or PKCS#8.
    #[must_use]
    pub fn key_id(&self) -> String {
        self.key_id.clone()
    }

    /// Signs `payload` (the JWT claims, a JSON object) as a compact JWS with RS256 (RFC 7515 §7.1,
    /// RFC 7518 §3.3): `b64url(RS256_HEADER) "." b64url(payload JSON) "." b64url(signature)`, base64url
    /// without padding (RFC 7515 §2). The header bytes are exactly [`RS256_HEADER`].
    ///
    /// # Errors
    /// [`KeyError::Sign`] when `payload` is not a JSON object or the signature cannot be made.
    pub fn sign_rs256(&self, payload: &serde_json::Value) -> Result<String, KeyError> {
        let failed = |detail: String| KeyError::Sign {
            path: self.source.clone(),
            detail,
        };
        if !payload.is_object() {
            return Err(failed(
                "the JWT claims must be a JSON object (RFC 7519 §7.2)".to_owned(),
            ));
        }
        let claims = serde_json::to_vec(payload).map_err(|e| failed(e.to_string()))?;
        let signature_len = self.pair.public_modulus_len();
        jws::compact(Algorithm::Rs256, &claims, signature_len, |input| {
            let mut signature = vec![0u8; signature_len];
            self.pair
                .sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input,
                    &mut signature,
                )
                .map(|()| signature)
                .map_err(|e| failed(e.to_string()))
        })
    }
}

/// RFC 7638 §3: SHA-256 over the required RSA members in lexicographic order, no whitespace, base64url.
fn thumbprint(parts: &der::RsaPublicParts) -> String {
    let jwk = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(&parts.e),
        URL_SAFE_NO_PAD.encode(&parts.n)
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, jwk.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}
