//! RS256 minting: the gateway's `SigningKey::sign_rs256` (claims to compact JWT) against a raw aws-lc-rs
//! PKCS#1 v1.5 SHA-256 signature with a pre-parsed key over the same signing input. The difference is the
//! gateway's own cost: JSON, base64url and the header.
//!
//!     cargo bench --bench mint

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use criterion::{Criterion, criterion_group, criterion_main};
use freshgate::keys::SigningKey;
use serde_json::json;

fn mint(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/freshworks-signing.key");
    let pem = std::fs::read_to_string(&path).expect("the development signing key");
    let key = SigningKey::from_pem(&pem, &path).expect("the key loads");
    let der = pkcs8_der(&pem);
    let raw = RsaKeyPair::from_pkcs8(&der).expect("a PKCS#8 RSA key");
    let claims = json!({
        "sub": "alice-0001", "email": "alice@example.com", "iat": 1_767_000_000, "nonce": "nonce-123",
        "given_name": "Alice", "family_name": "Anderson", "phone_number": "+1 555 0100",
        "picture": "https://example.com/alice.png",
    });
    let token = key.sign_rs256(&claims).expect("signs");
    let input = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();
    let rng = SystemRandom::new();
    let mut signature = vec![0u8; raw.public_modulus_len()];

    let mut group = c.benchmark_group(format!("rs256-{}", key.bits()));
    group.bench_function("raw aws-lc-rs sign, pre-parsed key", |b| {
        b.iter(|| {
            raw.sign(&RSA_PKCS1_SHA256, &rng, &input, &mut signature)
                .unwrap()
        })
    });
    group.bench_function("SigningKey::sign_rs256 (whole token)", |b| {
        b.iter(|| key.sign_rs256(&claims).unwrap())
    });
    group.finish();
}

/// The DER inside a `PRIVATE KEY` PEM block (RFC 7468 §10).
fn pkcs8_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN PRIVATE KEY-----"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("the development key is a PKCS#8 PEM")
}

criterion_group!(benches, mint);
criterion_main!(benches);
