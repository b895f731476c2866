//! Keys committed to freshgate's repository, recognised by their public key.
//!
//! `certs/freshworks-signing.key` signs the demo's and the tests' tokens, and the test keys in
//! `src/keys/testdata/` are RSA keys too. Being in a public repository, they are public: anyone can sign a
//! Freshworks login with one. A gateway whose `public_url` is not local (`localhost`, loopback addresses,
//! `.localhost` and `.test` names, RFC 6761, as the rest of the configuration means it) refuses to sign
//! with one, wherever the file was copied to and whatever it is called: what is compared is the SHA-256 of
//! the key's `SubjectPublicKeyInfo` DER (RFC 5280 §4.1.2.7), the public half Freshworks is given.

use aws_lc_rs::digest::{SHA256, digest};
use url::Url;

use super::SigningKey;

/// Each RSA key committed to the repository: the SHA-256 of its `SubjectPublicKeyInfo` DER, in hex, and
/// where it is. `committed_keys_are_all_listed` (tests.rs) recomputes them from the files.
pub const COMMITTED_KEYS: &[(&str, &str)] = &[
    (
        "cf467d0f93b1557959ea10dd810aca6cdd4629c0e78609e50ff1541e77cd76d8",
        "certs/freshworks-signing.key",
    ),
    (
        "a0e5e85dabfbc1e6480d6930471cee504ba6ec537a35bc47f35b71c7ec3eb9cf",
        "src/keys/testdata/test-rsa2048-pkcs1.pem (and its PKCS#8, encrypted and DER copies)",
    ),
    // An OpenSSH-format key, which the gateway does not read as it is, but `ssh-keygen -p -m PEM` turns
    // into one it does. Its public key: `ssh-keygen -y` then `ssh-keygen -e -m PKCS8`.
    (
        "95fc336b1afc516531d26e0c950dd7dea0b8efc22a28d07e4eff2622ae0293d1",
        "src/keys/testdata/test-rsa2048-openssh.pem",
    ),
];

impl SigningKey {
    /// SHA-256 of the public key's `SubjectPublicKeyInfo` DER, in lower-case hex.
    #[must_use]
    pub fn spki_sha256(&self) -> String {
        digest(&SHA256, self.public_key_der())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Where in freshgate's repository this key is committed, if it is.
    #[must_use]
    pub fn committed_as(&self) -> Option<&'static str> {
        let fingerprint = self.spki_sha256();
        COMMITTED_KEYS
            .iter()
            .find(|(committed, _)| *committed == fingerprint)
            .map(|(_, file)| *file)
    }
}

/// Why the gateway at `public_url` must not sign with `key` (set by the setting `key_setting`), as a
/// problem with its fix: it is a key committed to the repository, and the URL is not local.
#[must_use]
pub fn refusal(key_setting: &str, key: &SigningKey, public_url: &Url) -> Option<String> {
    if crate::config::validate::values::is_local_host(public_url) {
        return None;
    }
    let file = key.committed_as()?;
    Some(format!(
        "{key_setting}: {} is the key committed to freshgate's repository as {file}, so anyone can sign \
         Freshworks logins with it; a gateway whose public_url ({public_url}) is not local (localhost, a \
         loopback address or a .test name) does not sign with it\n    fix: make a key of your own with \
         `freshgate keygen --out /etc/freshgate/freshworks-signing.key`, set {key_setting} to that file, and \
         paste the public key it prints into Freshworks",
        key.source().display()
    ))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        digest(&SHA256, bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn files_in(dir: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }

    /// Every file in `certs/` and `src/keys/testdata/` that the gateway can sign with is listed, and so is
    /// the OpenSSH key one conversion away from being such a file.
    #[test]
    fn committed_keys_are_all_listed() {
        let listed: Vec<&str> = COMMITTED_KEYS.iter().map(|(hex, _)| *hex).collect();
        let mut signing = 0;
        for file in files_in("certs")
            .into_iter()
            .chain(files_in("src/keys/testdata"))
        {
            // Files the gateway does not sign with (certificates, EC keys, too small, encrypted, public
            // keys, scripts) are refused by the loader; every other one must be recognised.
            if let Ok(key) = SigningKey::load(&file) {
                signing += 1;
                assert!(
                    listed.contains(&key.spki_sha256().as_str()),
                    "{} (SHA-256 of its public key {}) is not in COMMITTED_KEYS",
                    file.display(),
                    key.spki_sha256()
                );
                assert!(key.committed_as().is_some());
            }
        }
        assert!(
            signing >= 3,
            "the signing keys of certs/ and testdata/ were read"
        );
        let openssh = openssh_rsa_spki(&repo().join("src/keys/testdata/test-rsa2048-openssh.pem"));
        assert!(listed.contains(&sha256_hex(&openssh).as_str()));
    }

    #[test]
    fn a_committed_key_is_refused_only_for_a_public_url_that_is_not_local() {
        let key = SigningKey::load(&repo().join("certs/freshworks-signing.key")).unwrap();
        for local in [
            "http://localhost:8080",
            "http://127.0.0.1:9000",
            "http://[::1]/",
            "http://sso.freshgate.test",
        ] {
            let url = Url::parse(local).unwrap();
            assert_eq!(
                refusal("freshworks.signing_key_file", &key, &url),
                None,
                "{local}"
            );
        }
        let problem = refusal(
            "freshworks.signing_key_file",
            &key,
            &Url::parse("https://sso.example.com").unwrap(),
        )
        .unwrap();
        assert!(
            problem.starts_with("freshworks.signing_key_file: ")
                && problem.contains("certs/freshworks-signing.key")
                && problem.contains("freshgate keygen --out"),
            "{problem}"
        );
        let (own, _) = SigningKey::generate(2048).unwrap();
        assert_eq!(own.committed_as(), None);
        assert_eq!(
            refusal(
                "freshworks.signing_key_file",
                &own,
                &Url::parse("https://sso.example.com").unwrap()
            ),
            None
        );
    }

    /// The `SubjectPublicKeyInfo` DER of the RSA public key in an unencrypted OpenSSH private key file
    /// (`openssh-key-v1`: the public key blob is `ssh-rsa`, e, n as SSH strings and mpints, RFC 4253 §6.6).
    fn openssh_rsa_spki(path: &Path) -> Vec<u8> {
        let text = std::fs::read_to_string(path).unwrap();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let bytes = STANDARD.decode(body).unwrap();
        let magic = b"openssh-key-v1\0";
        assert!(bytes.starts_with(magic));
        /// The SSH string at `*at` (a 32-bit length, then the bytes), moving `*at` past it.
        fn ssh_string<'a>(bytes: &'a [u8], at: &mut usize) -> &'a [u8] {
            let len = u32::from_be_bytes(bytes[*at..*at + 4].try_into().unwrap()) as usize;
            let value = &bytes[*at + 4..*at + 4 + len];
            *at += 4 + len;
            value
        }
        let mut at = magic.len();
        for _cipher_kdf_and_options in 0..3 {
            ssh_string(&bytes, &mut at);
        }
        at += 4; // the number of keys
        let blob = ssh_string(&bytes, &mut at);
        let mut pos = 0;
        assert_eq!(ssh_string(blob, &mut pos), b"ssh-rsa");
        let e = ssh_string(blob, &mut pos);
        let n = ssh_string(blob, &mut pos);
        let rsa_public_key = der(0x30, &[der(0x02, n), der(0x02, e)].concat());
        let algorithm = der(
            0x30,
            &[
                der(
                    0x06,
                    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
                ),
                der(0x05, &[]),
            ]
            .concat(),
        );
        let key = der(0x03, &[&[0u8][..], &rsa_public_key].concat());
        der(0x30, &[algorithm, key].concat())
    }

    /// A DER TLV (X.690 §8.1). SSH mpints are already two's complement with a leading zero when needed.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
}
