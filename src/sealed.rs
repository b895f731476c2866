//! Values the gateway hands to the browser and must get back unchanged: AES-256-GCM with a random 96-bit
//! nonce per value, the cookie's name as associated data (so a value cannot be moved to another cookie),
//! base64url without padding. Used by the pending-login cookie and the Web Chat session cookie.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key is a valid AES-256 key");
        Sealer {
            key: LessSafeKey::new(key),
        }
    }

    /// Encrypts `value` as JSON, bound to `name`.
    pub fn seal<T: Serialize>(&self, name: &str, value: &T) -> String {
        self.seal_bytes(
            name,
            serde_json::to_vec(value).expect("a sealed value serialises"),
        )
    }

    /// Encrypts `plain` (a value's own encoding, e.g. the pending login's binary layout), bound to `name`.
    pub fn seal_bytes(&self, name: &str, mut plain: Vec<u8>) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system random number generator works");
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut plain,
            )
            .expect("sealing a small value cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&plain);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decrypts a JSON value sealed under `name`. `None`: forged, tampered, moved from another name, or
    /// sealed with another key.
    pub fn open<T: DeserializeOwned>(&self, name: &str, sealed: &str) -> Option<T> {
        serde_json::from_slice(&self.open_bytes(name, sealed)?).ok()
    }

    /// Decrypts the bytes sealed under `name` (see `open`).
    pub fn open_bytes(&self, name: &str, sealed: &str) -> Option<Vec<u8>> {
        let mut raw = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&raw[..NONCE_LEN]).ok()?;
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut raw[NONCE_LEN..])
            .ok()?
            .len();
        raw.drain(..NONCE_LEN);
        raw.truncate(plain_len);
        Some(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_under_its_name_with_its_key_and_untampered() {
        let sealer = Sealer::new(&[5; 32]);
        let sealed = sealer.seal("a", &vec![1, 2, 3]);
        assert_eq!(sealer.open::<Vec<i32>>("a", &sealed), Some(vec![1, 2, 3]));
        assert_eq!(sealer.open::<Vec<i32>>("b", &sealed), None);
        assert_eq!(Sealer::new(&[6; 32]).open::<Vec<i32>>("a", &sealed), None);
        let mut bytes = sealed.into_bytes();
        bytes[20] = if bytes[20] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            sealer.open::<Vec<i32>>("a", &String::from_utf8(bytes).unwrap()),
            None
        );
        assert_eq!(sealer.open::<Vec<i32>>("a", "short"), None);
    }
}
