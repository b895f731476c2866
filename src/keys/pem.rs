//! PEM ("textual encoding", RFC 7468) for key files.
//!
//! Decoding is done by rustls-pki-types' `PemObject`, the reader the rustls project keeps (it decodes
//! private key sections in constant time); writing by RustCrypto's `pem-rfc7468`. What stays here is what
//! neither offers: the label of every block, so that a file without a usable key can be told apart and named
//! in the message — an encrypted key, an OpenSSH key, an EC or DSA key, a public key or a certificate.
//! `PemObject` skips blocks whose label it does not know (`ENCRYPTED PRIVATE KEY`, `OPENSSH PRIVATE KEY`),
//! and the legacy OpenSSL encryption headers (RFC 1421 `Proc-Type: 4,ENCRYPTED`, written by
//! `openssl rsa -aes256 -traditional` and by `ssh-keygen -m PEM` with a passphrase) are a base64 error to it.
//!
//! Lines end at `\n` or `\r`, and a BEGIN line starts a line with `-----BEGIN `, as `PemObject` reads them,
//! so the two agree on where the blocks are. Text outside blocks (comments, `Bag Attributes` from
//! `openssl pkcs12`) is ignored, as RFC 7468 §2 allows.

use pem_rfc7468::LineEnding;
use rustls::pki_types::pem;

/// What a `-----BEGIN label-----` line and the header lines after it say about a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Label<'a> {
    pub(super) label: &'a str,
    /// The block carries a `Proc-Type: 4,ENCRYPTED` header.
    pub(super) encrypted: bool,
}

/// The label of every block in `text`, in order.
pub(super) fn labels(text: &str) -> Vec<Label<'_>> {
    let mut found: Vec<Label<'_>> = Vec::new();
    let mut inside = false;
    for line in text.split(['\n', '\r']) {
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            let label = rest.trim_end_matches(' ').trim_end_matches('-');
            found.push(Label {
                label,
                encrypted: false,
            });
            inside = true;
        } else if line.starts_with("-----END ") {
            inside = false;
        } else if inside
            && let Some((name, value)) = line.split_once(':')
            // RFC 1421 §4.6.1.1: `Proc-Type: 4,ENCRYPTED`.
            && name.trim().eq_ignore_ascii_case("Proc-Type")
            && value.contains("ENCRYPTED")
            && let Some(block) = found.last_mut()
        {
            block.encrypted = true;
        }
    }
    found
}

/// What is wrong with PEM text `PemObject` refused, for [`KeyError::Malformed`](super::KeyError).
/// Nothing from inside a block is quoted: it may be key material.
pub(super) fn problem(error: &pem::Error) -> String {
    match error {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "the `-----BEGIN {}-----` block has no matching END line",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { .. } => {
            "a `-----BEGIN …` line does not end in five dashes".to_owned()
        }
        pem::Error::Base64Decode(_) => "a PEM block is not valid base64".to_owned(),
        pem::Error::NoItemsFound => "its private key block cannot be read".to_owned(),
        other => other.to_string(),
    }
}

/// Base64 of `der` in 64-character lines between BEGIN/END lines, ending in a newline (RFC 7468 §2).
pub(super) fn encode(label: &'static str, der: &[u8]) -> String {
    // Fails only for a label with characters RFC 7468 §3 forbids, or an encoding longer than memory.
    pem_rfc7468::encode_string(label, LineEnding::LF, der)
        .expect("a fixed RFC 7468 label and a key-sized input always encode")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_is_listed_with_crlf_or_cr_line_ends_and_text_around_blocks() {
        let text = "Bag Attributes\r\n    localKeyID: 01\r\n-----BEGIN X-----\r\nAAEC\r\n-----END X-----\r\ntrailer\r-----BEGIN PRIVATE KEY-----  \rAAEC\r-----END PRIVATE KEY-----\r";
        assert_eq!(
            labels(text),
            vec![
                Label {
                    label: "X",
                    encrypted: false
                },
                Label {
                    label: "PRIVATE KEY",
                    encrypted: false
                }
            ]
        );
    }

    #[test]
    fn legacy_encryption_headers_mark_only_their_own_block_encrypted() {
        let text = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
        let found = labels(text);
        assert_eq!(found.len(), 2);
        assert!(!found[0].encrypted);
        assert!(found[1].encrypted);
    }

    #[test]
    fn an_indented_begin_line_is_not_a_block_as_for_pem_object() {
        assert!(labels("  -----BEGIN PRIVATE KEY-----\n").is_empty());
    }

    #[test]
    fn encoding_gives_64_character_lines_that_pem_object_reads_back() {
        use rustls::pki_types::pem::{PemObject as _, SectionKind};
        let der: Vec<u8> = (0..=255).collect();
        let text = encode("PUBLIC KEY", &der);
        assert!(text.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(text.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
        let (kind, read) = <(SectionKind, Vec<u8>)>::from_pem_slice(text.as_bytes()).unwrap();
        assert_eq!(kind, SectionKind::PublicKey);
        assert_eq!(read, der);
    }
}
