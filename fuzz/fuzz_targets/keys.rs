//! The signing key reader: `SigningKey::from_pem`, the only entry to the PEM label scan, `PemObject`
//! decoding and the PKCS#8 / PKCS#1 / SPKI readers behind it.
//!
//! The first byte picks how the rest is used: as the file's text, or as DER wrapped in a `PRIVATE KEY`
//! or `RSA PRIVATE KEY` block so that the DER readers are reached directly.
#![no_main]

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use freshgate::keys::{KeyError, MAX_RSA_BITS, MIN_RSA_BITS, SigningKey};
use libfuzzer_sys::fuzz_target;

fn wrap(label: &str, der: &[u8]) -> String {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        STANDARD.encode(der)
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = match mode % 3 {
        0 => match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
        1 => wrap("PRIVATE KEY", rest),
        _ => wrap("RSA PRIVATE KEY", rest),
    };
    let source = Path::new("fuzz/signing.key");
    match SigningKey::from_pem(&text, source) {
        Ok(key) => {
            assert!((MIN_RSA_BITS..=MAX_RSA_BITS).contains(&key.bits()));
            let token = key
                .sign_rs256(&serde_json::json!({ "sub": "fuzz" }))
                .expect("a loaded key signs");
            assert_eq!(token.split('.').count(), 3);
            // The public key it publishes reads back as a PEM block of the same DER.
            let pem = key.public_key_pem();
            assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
            assert_eq!(
                STANDARD.decode(key.public_key_body()).unwrap(),
                key.public_key_der()
            );
        }
        Err(error) => {
            assert_eq!(error.path(), Some(source));
            let message = error.to_string();
            assert!(message.starts_with("fuzz/signing.key: "), "{message}");
            assert!(!matches!(error, KeyError::ProbeFailed { .. }), "{message}");
        }
    }
});
