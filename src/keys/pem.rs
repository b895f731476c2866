//! PEM ("textual encoding", RFC 7468) reading and writing for key files.
//!
//! Reading keeps every block's label so the caller can tell a PKCS#1 key from a PKCS#8 one, and an
//! encrypted, EC or OpenSSH key from a usable one, and say which it found. The legacy OpenSSL encryption
//! headers (RFC 1421 `Proc-Type: 4,ENCRYPTED`, written by `openssl rsa -aes256 -traditional` and by
//! `ssh-keygen -m PEM` with a passphrase) are recognised so such a key is reported as encrypted rather than
//! as malformed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One `-----BEGIN label-----` … `-----END label-----` block.
pub(super) struct Block {
    pub(super) label: String,
    /// The block carries a `Proc-Type: 4,ENCRYPTED` header.
    pub(super) encrypted: bool,
    pub(super) der: Vec<u8>,
}

/// A block that starts but is not well formed; the string is its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PemError {
    Unterminated(String),
    BadBase64(String),
}

/// Every PEM block in `text`, in order. Text outside blocks (comments, `Bag Attributes` from
/// `openssl pkcs12`) is ignored, as RFC 7468 §2 allows.
pub(super) fn blocks(text: &str) -> Result<Vec<Block>, PemError> {
    let mut found = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut encrypted = false;
        let mut terminated = false;
        for line in lines.by_ref() {
            if line == end {
                terminated = true;
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                // RFC 1421 encapsulated header, e.g. `Proc-Type: 4,ENCRYPTED` or `DEK-Info: AES-256-CBC,…`.
                if name.trim().eq_ignore_ascii_case("Proc-Type") && value.contains("ENCRYPTED") {
                    encrypted = true;
                }
                continue;
            }
            body.push_str(line);
        }
        if !terminated {
            return Err(PemError::Unterminated(label.to_owned()));
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|_| PemError::BadBase64(label.to_owned()))?;
        found.push(Block {
            label: label.to_owned(),
            encrypted,
            der,
        });
    }
    Ok(found)
}

/// Base64 of `der` in 64-character lines between BEGIN/END lines, ending in a newline (RFC 7468 §2).
pub(super) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 output is ASCII, so every 64-byte chunk is valid UTF-8.
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_then_reading_gives_back_the_same_bytes_and_label() {
        let der: Vec<u8> = (0..=255).collect();
        let text = encode("PUBLIC KEY", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        let read = blocks(&text).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].label, "PUBLIC KEY");
        assert_eq!(read[0].der, der);
        assert!(!read[0].encrypted);
    }

    #[test]
    fn text_around_blocks_and_crlf_line_ends_are_tolerated() {
        let text = "Bag Attributes\r\n    localKeyID: 01\r\n-----BEGIN X-----\r\nAAEC\r\n-----END X-----\r\ntrailer\r\n";
        let read = blocks(text).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].der, vec![0, 1, 2]);
    }

    #[test]
    fn legacy_encryption_headers_mark_the_block_encrypted() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
        assert!(blocks(text).unwrap()[0].encrypted);
    }

    #[test]
    fn a_block_without_its_end_line_or_with_bad_base64_is_an_error() {
        assert_eq!(
            blocks("-----BEGIN PRIVATE KEY-----\nAAEC\n").err(),
            Some(PemError::Unterminated("PRIVATE KEY".into()))
        );
        assert_eq!(
            blocks("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n").err(),
            Some(PemError::BadBase64("PRIVATE KEY".into()))
        );
    }
}
