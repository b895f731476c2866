//! Keys the gateway refuses, each with a reason and the way to a usable one.

use super::*;

#[test]
fn a_1024_bit_key_made_as_freshworks_articles_suggest_is_refused_naming_the_bit_count_and_freshgate_keygen()
 {
    // Made with `ssh-keygen -t rsa -b 1024 -m PEM`, the recipe from Freshworks' articles.
    let dir = TempDir::new().unwrap();
    let (path, err) = load_err(&dir, "jwt.key", RSA1024_SSH_KEYGEN_PEM);
    assert!(
        matches!(err, KeyError::TooSmall { bits: 1024, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: the RSA key has 1024 bits", path.display())),
        "{message}"
    );
    assert!(message.contains("at least 2048"), "{message}");
    assert!(message.contains("RFC 7518 §3.3"), "{message}");
    let keygen = format!(
        "`freshgate keygen --out {}`",
        dir.path().join("freshworks-signing.key").display()
    );
    assert!(message.contains(&keygen), "{message}");
    assert!(
        message.contains("paste the printed public key into Freshworks"),
        "{message}"
    );
    assert_eq!(err.path(), Some(path.as_path()));
}

#[test]
fn ec_and_ed25519_keys_are_refused_because_freshworks_accepts_only_rs256() {
    let dir = TempDir::new().unwrap();
    for (name, pem, algorithm) in [
        ("ec-sec1.pem", EC_P256_SEC1, "EC"),
        ("ec-pkcs8.pem", EC_P256_PKCS8, "EC"),
        ("ed25519.pem", ED25519_PKCS8, "Ed25519"),
    ] {
        let (path, err) = load_err(&dir, name, pem);
        let KeyError::NotRsa {
            algorithm: found, ..
        } = &err
        else {
            panic!("{name}: expected NotRsa, got {err:?}");
        };
        assert!(found.contains(algorithm), "{name}: {found}");
        let message = err.to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert!(message.contains("only RS256"), "{message}");
        assert!(message.contains("freshgate keygen --out"), "{message}");
    }
}

#[test]
fn encrypted_keys_are_refused_with_the_openssl_command_that_decrypts_them() {
    let dir = TempDir::new().unwrap();
    for (name, pem) in [
        ("pkcs8.key", RSA2048_ENCRYPTED_PKCS8),
        ("pkcs1.key", RSA2048_ENCRYPTED_PKCS1),
    ] {
        let (path, err) = load_err(&dir, name, pem);
        assert!(matches!(err, KeyError::Encrypted { .. }), "{name}: {err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        let command = format!(
            "`openssl pkcs8 -topk8 -nocrypt -in {} -out ",
            path.display()
        );
        assert!(message.contains(&command), "{message}");
        assert!(message.contains("-decrypted.key`"), "{message}");
    }
}

#[test]
fn an_openssh_format_key_is_refused_with_a_way_to_get_a_usable_one() {
    let dir = TempDir::new().unwrap();
    let (_, err) = load_err(&dir, "id_rsa", RSA2048_OPENSSH);
    assert!(matches!(err, KeyError::OpenSsh { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("freshgate keygen --out") && message.contains("-m PKCS8"),
        "{message}"
    );
}

#[test]
fn a_public_key_is_refused_as_not_being_the_private_key() {
    let dir = TempDir::new().unwrap();
    let (_, err) = load_err(&dir, "public.pem", RSA2048_PUBLIC);
    let KeyError::NotPrivateKey { found, .. } = &err else {
        panic!("expected NotPrivateKey, got {err:?}");
    };
    assert_eq!(found, "a `PUBLIC KEY` PEM block");
}

#[test]
fn missing_unreadable_and_non_pem_files_are_reported_with_their_path() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope.key");
    let err = SigningKey::load(&missing).unwrap_err();
    assert!(matches!(err, KeyError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: ", missing.display()))
    );

    let err = SigningKey::load(dir.path()).unwrap_err();
    assert!(matches!(err, KeyError::Unreadable { .. }), "{err:?}");

    for (name, contents) in [
        ("der.key", &b"\x30\x82\x04\xa4\x02\x01\x00\xff\xfe"[..]),
        ("text.key", b"hello\n"),
    ] {
        let path = write(&dir, name, contents);
        let err = SigningKey::load(&path).unwrap_err();
        assert!(matches!(err, KeyError::NotPem { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains("-inform DER"), "{err}");
    }
}

#[test]
fn damaged_pem_and_files_with_two_keys_are_reported_as_malformed() {
    let dir = TempDir::new().unwrap();
    let truncated = &RSA2048_PKCS8[..RSA2048_PKCS8.len() / 2];
    let (_, err) = load_err(&dir, "truncated.pem", truncated);
    assert!(
        matches!(&err, KeyError::Malformed { detail, .. } if detail.contains("no matching END")),
        "{err:?}"
    );

    let two = format!("{RSA2048_PKCS8}{RSA2048_PKCS1}");
    let (_, err) = load_err(&dir, "two.pem", &two);
    assert!(
        matches!(&err, KeyError::Malformed { detail, .. } if detail.contains("2 private keys")),
        "{err:?}"
    );

    // A well-formed PEM around a structure that is not a key at all.
    let junk = pem::encode("RSA PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x00]);
    let (_, err) = load_err(&dir, "junk.pem", &junk);
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

#[test]
fn a_key_block_that_is_not_base64_or_not_an_rsa_private_key_inside_is_malformed_with_the_reason() {
    let dir = TempDir::new().unwrap();
    let bad_base64 = "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
    let (_, err) = load_err(&dir, "base64.pem", bad_base64);
    assert!(
        matches!(&err, KeyError::Malformed { detail, .. } if detail == "a PEM block is not valid base64"),
        "{err:?}"
    );

    // PrivateKeyInfo { version 0, rsaEncryption with NULL parameters, an empty privateKey }.
    let mut info = vec![0x30, 0x14, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09];
    info.extend([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]);
    info.extend([0x05, 0x00, 0x04, 0x00]);
    let (_, err) = load_err(&dir, "empty.pem", &pem::encode("PRIVATE KEY", &info));
    assert!(
        matches!(&err, KeyError::Malformed { detail, .. }
            if detail.starts_with("the PKCS#1 RSAPrivateKey structure is malformed: ")),
        "{err:?}"
    );
    let (_, err) = load_err(&dir, "pkcs8.pem", &pem::encode("PRIVATE KEY", &info[..10]));
    assert!(
        matches!(&err, KeyError::Malformed { detail, .. }
            if detail.starts_with("the PKCS#8 PrivateKeyInfo structure is malformed: ")),
        "{err:?}"
    );
}

#[test]
fn dsa_and_unknown_algorithm_keys_are_refused_naming_what_they_are() {
    let dir = TempDir::new().unwrap();
    let (_, err) = load_err(
        &dir,
        "dsa.pem",
        &pem::encode("DSA PRIVATE KEY", &[0x30, 0x00]),
    );
    assert!(
        matches!(&err, KeyError::NotRsa { algorithm, .. } if algorithm == "a DSA key"),
        "{err:?}"
    );
    // PrivateKeyInfo { version 0, GOST R 34.10-2001 (1.2.643.2.2.19), an empty privateKey }.
    let info = [
        0x30, 0x0F, 0x02, 0x01, 0x00, 0x30, 0x08, 0x06, 0x06, 0x2A, 0x85, 0x03, 0x02, 0x02, 0x13,
        0x04, 0x00,
    ];
    let (_, err) = load_err(&dir, "gost.pem", &pem::encode("PRIVATE KEY", &info));
    assert!(
        matches!(&err, KeyError::NotRsa { algorithm, .. } if algorithm == "a key of algorithm 1.2.643.2.2.19"),
        "{err:?}"
    );
}
