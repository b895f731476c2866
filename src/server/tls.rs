//! The listener's TLS: rustls with the aws-lc-rs provider, ALPN `h2` then `http/1.1`.
//!
//! PEM files (RFC 7468) are read with `rustls-pki-types`' [`PemObject`], the reader the rustls project keeps
//! (it decodes private key sections in constant time); the archived `rustls-pemfile` crate it replaces is
//! flagged unmaintained (RUSTSEC-2025-0134).

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// Builds the acceptor; every message names the file and what to do.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    Ok(reloadable_acceptor(Arc::new(Certificates::new(
        certified_key(files)?,
    ))))
}

/// The certificate chain and key, loaded and checked against each other.
pub fn certified_key(files: &TlsFiles) -> Result<Arc<CertifiedKey>, String> {
    let certs = load_certs(&files.cert_file)?;
    let key = load_key(&files.key_file)?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    CertifiedKey::from_der(certs, key, &provider)
        .map(Arc::new)
        .map_err(|e| {
            format!(
                "tls.key_file {} does not match tls.cert_file {} ({e}); use the key the certificate was issued for",
                files.key_file.display(),
                files.cert_file.display()
            )
        })
}

/// When the chain `key` serves stops working: the earliest `notAfter` (RFC 5280 §4.1.2.5) of the leaf and
/// the intermediates sent with it, in Unix seconds, for `freshgate_tls_certificate_expires_in_seconds`.
/// `None` if no certificate in it parses (rustls accepted the chain, so that does not happen in practice).
pub fn expiry(key: &CertifiedKey) -> Option<i64> {
    key.cert
        .iter()
        .filter_map(|der| x509_parser::parse_x509_certificate(der.as_ref()).ok())
        .map(|(_, certificate)| certificate.validity().not_after.timestamp())
        .min()
}

/// The certificate served, swapped by a reload: each new handshake takes the current one, connections
/// already open keep theirs (a renewed certificate needs no restart, and nothing in flight breaks).
#[derive(Debug)]
pub struct Certificates {
    current: ArcSwap<CertifiedKey>,
}

impl Certificates {
    pub fn new(key: Arc<CertifiedKey>) -> Self {
        Certificates {
            current: ArcSwap::new(key),
        }
    }

    pub fn replace(&self, key: Arc<CertifiedKey>) {
        self.current.store(key);
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// An acceptor that serves whatever `certificates` holds at each handshake (HTTP/2 and HTTP/1.1 by ALPN).
pub fn reloadable_acceptor(certificates: Arc<Certificates>) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default protocol versions are supported by the default provider")
        .with_no_client_auth()
        .with_cert_resolver(certificates);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("tls.cert_file {}: cannot read: {e}", path.display()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "tls.cert_file {}: not a PEM certificate chain: {e}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "tls.cert_file {}: holds no certificate (expected -----BEGIN CERTIFICATE-----); point it at the PEM certificate chain, leaf first",
            path.display()
        ));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("tls.key_file {}: cannot read: {e}", path.display()))?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        pem::Error::NoItemsFound => format!(
            "tls.key_file {}: holds no private key (expected -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
            path.display()
        ),
        e => format!("tls.key_file {}: not a PEM private key: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsFiles;
    use std::path::PathBuf;

    fn dev(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("certs")
            .join(name)
    }

    fn write(dir: &tempfile::TempDir, name: &str, contents: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn files(cert_file: PathBuf, key_file: PathBuf) -> TlsFiles {
        TlsFiles {
            cert_file,
            key_file,
        }
    }

    #[test]
    fn the_development_certificate_and_its_key_make_an_acceptor() {
        acceptor(&files(dev("gateway.crt"), dev("gateway.key"))).unwrap();
    }

    /// The expiry read from the chain equals what openssl (an independent X.509 reader) says.
    #[test]
    fn the_served_chains_expiry_is_the_certificates_not_after() {
        let key = certified_key(&files(dev("gateway.crt"), dev("gateway.key"))).unwrap();
        let output = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
            .arg(dev("gateway.crt"))
            .output()
            .expect("openssl runs");
        let text = String::from_utf8(output.stdout).unwrap();
        let date = text.trim().trim_start_matches("notAfter=");
        let expected =
            chrono::DateTime::parse_from_str(&date.replace('Z', "+0000"), "%Y-%m-%d %H:%M:%S%z")
                .unwrap_or_else(|e| panic!("{e}: {date}"))
                .timestamp();
        assert_eq!(expiry(&key), Some(expected));
    }

    #[test]
    fn a_certificate_file_without_a_certificate_names_the_key_and_the_fix() {
        let dir = tempfile::TempDir::new().unwrap();
        let key_only = dev("gateway.key");
        let err = acceptor(&files(key_only.clone(), key_only.clone()))
            .err()
            .unwrap();
        assert_eq!(
            err,
            format!(
                "tls.cert_file {}: holds no certificate (expected -----BEGIN CERTIFICATE-----); point it at the PEM certificate chain, leaf first",
                key_only.display()
            )
        );
        let broken = write(
            &dir,
            "broken.crt",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        let err = acceptor(&files(broken.clone(), key_only)).err().unwrap();
        assert!(
            err.starts_with(&format!(
                "tls.cert_file {}: not a PEM certificate chain: ",
                broken.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn a_key_file_without_a_usable_key_names_the_key_and_what_was_expected() {
        let dir = tempfile::TempDir::new().unwrap();
        let cert = dev("gateway.crt");
        let err = acceptor(&files(cert.clone(), cert.clone())).err().unwrap();
        assert_eq!(
            err,
            format!(
                "tls.key_file {}: holds no private key (expected -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
                cert.display()
            )
        );
        let truncated = write(&dir, "truncated.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n");
        let err = acceptor(&files(cert.clone(), truncated.clone()))
            .err()
            .unwrap();
        assert!(
            err.starts_with(&format!(
                "tls.key_file {}: not a PEM private key: ",
                truncated.display()
            )),
            "{err}"
        );
        let missing = dir.path().join("missing.key");
        let err = acceptor(&files(cert, missing.clone())).err().unwrap();
        assert!(
            err.starts_with(&format!(
                "tls.key_file {}: cannot read: ",
                missing.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn a_key_that_does_not_belong_to_the_certificate_is_refused_naming_both_files() {
        let err = acceptor(&files(dev("gateway.crt"), dev("dev-ca.key")))
            .err()
            .unwrap();
        assert!(
            err.starts_with(&format!(
                "tls.key_file {} does not match tls.cert_file {}",
                dev("dev-ca.key").display(),
                dev("gateway.crt").display()
            )),
            "{err}"
        );
    }
}
