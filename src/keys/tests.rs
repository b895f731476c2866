//! Behaviour of the signing key module, checked against the `openssl` command-line tool where an
//! independent implementation is needed. The keys under `testdata/` are throwaway test keys.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tempfile::TempDir;

use super::*;

const RSA2048_PKCS1: &str = include_str!("testdata/test-rsa2048-pkcs1.pem");
const RSA2048_PKCS8: &str = include_str!("testdata/test-rsa2048-pkcs8.pem");
const RSA2048_PUBLIC: &str = include_str!("testdata/test-rsa2048-public.pem");
const RSA2048_ENCRYPTED_PKCS8: &str = include_str!("testdata/test-rsa2048-encrypted-pkcs8.pem");
const RSA2048_ENCRYPTED_PKCS1: &str = include_str!("testdata/test-rsa2048-encrypted-pkcs1.pem");
const RSA2048_OPENSSH: &str = include_str!("testdata/test-rsa2048-openssh.pem");
const RSA1024_SSH_KEYGEN_PEM: &str = include_str!("testdata/test-rsa1024-ssh-keygen-pem.pem");
const EC_P256_SEC1: &str = include_str!("testdata/test-ec-p256-sec1.pem");
const EC_P256_PKCS8: &str = include_str!("testdata/test-ec-p256-pkcs8.pem");
const ED25519_PKCS8: &str = include_str!("testdata/test-ed25519-pkcs8.pem");

fn write(dir: &TempDir, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs `openssl` with `args` and returns its stdout; the test fails if it exits unsuccessfully.
fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("these tests check results with the `openssl` command-line tool; install it");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn load_err(dir: &TempDir, name: &str, contents: &str) -> (PathBuf, KeyError) {
    let path = write(dir, name, contents);
    let err = SigningKey::load(&path).expect_err("the key should be refused");
    (path, err)
}

/// The body of an `openssl rsa -pubout` PEM: the lines between BEGIN and END, joined.
fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn pkcs1_and_pkcs8_files_of_the_same_key_both_load_and_publish_the_same_public_key() {
    let dir = TempDir::new().unwrap();
    let pkcs1 = SigningKey::load(&write(&dir, "pkcs1.pem", RSA2048_PKCS1)).unwrap();
    let pkcs8 = SigningKey::load(&write(&dir, "pkcs8.pem", RSA2048_PKCS8)).unwrap();
    assert_eq!(pkcs1.bits(), 2048);
    assert_eq!(pkcs8.bits(), 2048);
    assert_eq!(pkcs1.public_key_der(), pkcs8.public_key_der());
    assert_eq!(pkcs1.public_key_body(), pkcs8.public_key_body());
    assert_eq!(pkcs1.key_id(), pkcs8.key_id());
    assert_eq!(pkcs1.source(), dir.path().join("pkcs1.pem"));
}

#[test]
fn the_public_key_body_is_what_openssl_rsa_pubout_prints_without_header_footer_and_newlines() {
    let dir = TempDir::new().unwrap();
    let (generated, generated_pem) = SigningKey::generate(2048).unwrap();
    let cases = [
        (
            SigningKey::from_pem(RSA2048_PKCS1, Path::new("pkcs1")).unwrap(),
            RSA2048_PKCS1.to_owned(),
        ),
        (generated, generated_pem),
    ];
    for (i, (key, private_pem)) in cases.into_iter().enumerate() {
        let path = write(&dir, &format!("key{i}.pem"), &private_pem);
        let openssl_pem =
            String::from_utf8(openssl(&["rsa", "-in", path.to_str().unwrap(), "-pubout"])).unwrap();
        let body = key.public_key_body();
        assert_eq!(body, pem_body(&openssl_pem));
        assert!(!body.contains(['\n', '\r', ' ']));
        assert_eq!(key.public_key_pem(), openssl_pem);
        assert_eq!(STANDARD.decode(&body).unwrap(), key.public_key_der());
    }
    // The committed fixture was made the same way, so this part needs no openssl.
    let key = SigningKey::from_pem(RSA2048_PKCS8, Path::new("pkcs8")).unwrap();
    assert_eq!(key.public_key_pem(), RSA2048_PUBLIC);
}

#[test]
fn a_signed_token_has_the_exact_rs256_header_and_verifies_with_openssl() {
    let dir = TempDir::new().unwrap();
    let key_path = write(&dir, "key.pem", RSA2048_PKCS1);
    let public_path = write(&dir, "public.pem", RSA2048_PUBLIC);
    let key = SigningKey::load(&key_path).unwrap();
    let payload = serde_json::json!({
        "sub": "agent@example.com",
        "email": "agent@example.com",
        "iat": 1_700_000_000,
        "nonce": "n-0S6_WzA2Mj",
    });
    let token = key.sign_rs256(&payload).unwrap();

    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(
        !token.contains(['=', '+', '/']),
        "base64url without padding: {token}"
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[0]).unwrap(),
        br#"{"alg":"RS256","typ":"JWT"}"#
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[1]).unwrap(),
        serde_json::to_vec(&payload).unwrap()
    );
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert_eq!(signature.len(), 256);

    let signing_input = format!("{}.{}", parts[0], parts[1]);
    let input_path = write(&dir, "input", &signing_input);
    let signature_path = write(&dir, "signature", &signature);
    let verified = openssl(&[
        "dgst",
        "-sha256",
        "-verify",
        public_path.to_str().unwrap(),
        "-signature",
        signature_path.to_str().unwrap(),
        input_path.to_str().unwrap(),
    ]);
    assert_eq!(String::from_utf8_lossy(&verified).trim(), "Verified OK");
    // RSASSA-PKCS1-v1_5 is deterministic, so openssl signing the same input gives the same bytes.
    let openssl_signature = openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        key_path.to_str().unwrap(),
        input_path.to_str().unwrap(),
    ]);
    assert_eq!(openssl_signature, signature);
}

#[test]
fn claims_that_are_not_a_json_object_are_not_signed() {
    let key = SigningKey::from_pem(RSA2048_PKCS1, Path::new("k")).unwrap();
    let err = key
        .sign_rs256(&serde_json::json!(["not", "claims"]))
        .unwrap_err();
    assert!(matches!(err, KeyError::Sign { .. }), "{err}");
}

#[test]
fn a_key_stored_next_to_its_certificate_still_loads() {
    let cert_like = pem::encode("CERTIFICATE", b"not really a certificate");
    let key = SigningKey::from_pem(
        &format!("{cert_like}{RSA2048_PKCS8}"),
        Path::new("bundle.pem"),
    )
    .unwrap();
    assert_eq!(key.public_key_pem(), RSA2048_PUBLIC);
}

#[test]
fn generated_keys_come_in_2048_and_3072_and_4096_bits_only_and_reload_from_their_pem() {
    for bits in [0, 1024, 2047, 2049, 8192] {
        let err = SigningKey::generate(bits).unwrap_err();
        assert!(
            matches!(err, KeyError::UnsupportedSize { bits: b } if b == bits),
            "{err:?}"
        );
    }
    for bits in [2048, 3072] {
        let (key, pem) = SigningKey::generate(bits).unwrap();
        assert_eq!(key.bits(), bits);
        assert!(
            pem.starts_with("-----BEGIN PRIVATE KEY-----\n")
                && pem.ends_with("-----END PRIVATE KEY-----\n")
        );
        let reloaded = SigningKey::from_pem(&pem, Path::new("reloaded")).unwrap();
        assert_eq!(reloaded.public_key_body(), key.public_key_body());
    }
}

#[cfg(unix)]
#[test]
fn write_new_key_creates_a_0600_pkcs8_file_and_never_overwrites_one() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("freshworks-signing.key");
    let (key, made) = write_new_key(&path, 2048).unwrap();
    assert!(made.is_empty());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(on_disk.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert_eq!(
        SigningKey::load(&path).unwrap().public_key_body(),
        key.public_key_body()
    );
    assert_eq!(key.source(), path);
    assert_eq!(permission_warning(&path), None);

    let err = write_new_key(&path, 2048).unwrap_err();
    assert!(matches!(err, KeyError::Exists { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: the file already exists", path.display())),
        "{message}"
    );
    assert!(
        message.contains("another `--out`") && message.contains("remove the file yourself"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        on_disk,
        "the existing key must be untouched"
    );

    let (_, made) = write_new_key(&dir.path().join("new-dir/k.key"), 2048).unwrap();
    assert_eq!(made, [dir.path().join("new-dir")]);
    assert_eq!(
        std::fs::metadata(dir.path().join("new-dir"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let err = write_new_key(&dir.path().join("weak.key"), 1024).unwrap_err();
    assert!(
        matches!(err, KeyError::UnsupportedSize { bits: 1024 }),
        "{err:?}"
    );
    assert!(!dir.path().join("weak.key").exists());
}

#[cfg(unix)]
#[test]
fn permission_warning_fires_for_0644_and_not_for_0600() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "k.pem", RSA2048_PKCS8);
    let set =
        |mode| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();

    set(0o644);
    let warning = permission_warning(&path).expect("0644 should warn");
    assert!(
        warning.contains("readable by group/others (mode 0644)"),
        "{warning}"
    );
    assert!(
        warning.contains(&format!("`chmod 600 {}`", path.display())),
        "{warning}"
    );
    set(0o620);
    assert!(
        permission_warning(&path)
            .unwrap()
            .contains("accessible by group/others (mode 0620)")
    );
    set(0o600);
    assert_eq!(permission_warning(&path), None);
    set(0o400);
    assert_eq!(permission_warning(&path), None);
    assert_eq!(permission_warning(&dir.path().join("missing")), None);
}

#[test]
fn debug_output_shows_the_key_id_and_no_key_material() {
    let key = SigningKey::from_pem(RSA2048_PKCS1, Path::new("certs/k.pem")).unwrap();
    let debug = format!("{key:?}");
    assert!(
        debug.contains(&key.key_id()) && debug.contains("2048"),
        "{debug}"
    );
    let body = key.public_key_body();
    for window in [&body[40..60], &body[200..220]] {
        assert!(!debug.contains(window), "{debug}");
    }
    let private_body = pem_body(RSA2048_PKCS1);
    assert!(!debug.contains(&private_body[100..120]), "{debug}");
    assert!(!debug.to_lowercase().contains("rsakeypair"), "{debug}");
}

#[test]
fn the_key_id_is_the_rfc_7638_thumbprint() {
    // The example key and its thumbprint from RFC 7638 §3.1.
    let n = URL_SAFE_NO_PAD
        .decode(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCi\
             FV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c\
             7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF\
             44-csFCur-kEgU8awapJzKnqDKgw",
        )
        .unwrap();
    let parts = der::RsaPublicParts {
        n,
        e: vec![0x01, 0x00, 0x01],
    };
    assert_eq!(
        thumbprint(&parts),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

mod refused;
