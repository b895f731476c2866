//! The checks against tokens made right and made in each of the documented wrong ways.

use super::*;
use crate::keys::SigningKey;
use serde_json::json;

fn key() -> SigningKey {
    SigningKey::load(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs/freshworks-signing.key"),
    )
    .unwrap()
}

fn params(token: &str) -> HashMap<String, String> {
    HashMap::from([
        ("state".to_owned(), "st".to_owned()),
        ("id_token".to_owned(), token.to_owned()),
    ])
}

fn good_payload(now: i64) -> Value {
    json!({"sub": "u1", "email": "a@example.com", "iat": now, "nonce": "n1", "given_name": "A", "family_name": "B"})
}

fn failed(verdict: &Verdict) -> Vec<&'static str> {
    verdict
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect()
}

#[test]
fn a_correct_response_passes_every_check() {
    let key = key();
    let now = 1_700_000_000;
    let token = key.sign_rs256(&good_payload(now)).unwrap();
    let verdict = check(
        &params(&token),
        Some(Sent {
            nonce: "n1",
            sent_at: now - 30,
        }),
        &key.public_key_pem(),
        now,
    );
    assert!(verdict.passed(), "{:?}", verdict.checks);
    assert_eq!(verdict.who(), "A B <a@example.com>");
}

#[test]
fn during_a_rollover_a_token_signed_by_either_key_passes_and_names_it() {
    let key = key();
    let other = SigningKey::generate(2048).unwrap().0;
    let now = 1_700_000_000;
    let token = key.sign_rs256(&good_payload(now)).unwrap();
    let sent = || {
        Some(Sent {
            nonce: "n1",
            sent_at: now - 30,
        })
    };
    let (theirs, ours) = (other.public_key_pem(), key.public_key_pem());
    let both = [
        ("the key in use", theirs.as_str()),
        ("the staged next key", ours.as_str()),
    ];
    let verdict = check_with_keys(&params(&token), sent(), &both, now);
    assert!(verdict.passed(), "{:?}", verdict.checks);
    assert!(
        verdict
            .checks
            .iter()
            .any(|c| c.detail.contains("(the staged next key)")),
        "{:?}",
        verdict.checks
    );
    let only_other = check(&params(&token), sent(), &theirs, now);
    assert_eq!(
        failed(&only_other),
        ["RS256 signature verifies with the public key"]
    );
}

#[test]
fn iat_in_milliseconds_fails_with_the_reason() {
    let key = key();
    let now = 1_700_000_000;
    let mut payload = good_payload(now);
    payload["iat"] = json!(now * 1000);
    let verdict = check(
        &params(&key.sign_rs256(&payload).unwrap()),
        Some(Sent {
            nonce: "n1",
            sent_at: now,
        }),
        &key.public_key_pem(),
        now,
    );
    assert_eq!(failed(&verdict), vec!["iat is seconds within 300 s of now"]);
    assert!(
        verdict
            .checks
            .iter()
            .any(|c| c.detail.contains("milliseconds"))
    );
}

#[test]
fn token_instead_of_id_token_fails() {
    let key = key();
    let params = HashMap::from([
        ("state".to_owned(), "st".to_owned()),
        ("token".to_owned(), "a.b.c".to_owned()),
    ]);
    let verdict = check(
        &params,
        Some(Sent {
            nonce: "n1",
            sent_at: 0,
        }),
        &key.public_key_pem(),
        0,
    );
    assert_eq!(failed(&verdict), vec!["id_token parameter present"]);
}

#[test]
fn an_hs256_token_fails_the_algorithm_and_signature_checks() {
    let key = key();
    let now = 1_700_000_000;
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &good_payload(now),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    let verdict = check(
        &params(&token),
        Some(Sent {
            nonce: "n1",
            sent_at: now,
        }),
        &key.public_key_pem(),
        now,
    );
    assert_eq!(
        failed(&verdict),
        vec![
            "header says RS256",
            "RS256 signature verifies with the public key"
        ]
    );
}

#[test]
fn an_unknown_state_and_a_wrong_or_stale_nonce_fail() {
    let key = key();
    let now = 1_700_000_000;
    let token = key.sign_rs256(&good_payload(now)).unwrap();
    let unknown = check(&params(&token), None, &key.public_key_pem(), now);
    assert!(failed(&unknown).contains(&"state is the one sent"));
    let stale = check(
        &params(&token),
        Some(Sent {
            nonce: "other",
            sent_at: now - 700,
        }),
        &key.public_key_pem(),
        now,
    );
    assert_eq!(
        failed(&stale),
        vec!["nonce is the one sent", "nonce is younger than 10 minutes"]
    );
}

#[test]
fn null_optional_claims_and_missing_names_fail() {
    let key = key();
    let now = 1_700_000_000;
    let mut payload = good_payload(now);
    payload["phone_number"] = Value::Null;
    payload.as_object_mut().unwrap().remove("family_name");
    let verdict = check(
        &params(&key.sign_rs256(&payload).unwrap()),
        Some(Sent {
            nonce: "n1",
            sent_at: now,
        }),
        &key.public_key_pem(),
        now,
    );
    assert_eq!(
        failed(&verdict),
        vec![
            "family_name is present",
            "phone_number is a string when present"
        ]
    );
}
