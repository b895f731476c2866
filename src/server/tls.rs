//! The listener's TLS: rustls with the aws-lc-rs provider, ALPN `h2` then `http/1.1`.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// Builds the acceptor; every message names the file and what to do.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    let certs = load_certs(&files.cert_file)?;
    let key = load_key(&files.key_file)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "tls.key_file {} does not match tls.cert_file {} ({e}); use the key the certificate was issued for",
                files.key_file.display(),
                files.cert_file.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("tls.cert_file {}: cannot read: {e}", path.display()))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
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
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| format!("tls.key_file {}: not a PEM private key: {e}", path.display()))?
        .ok_or_else(|| {
            format!(
                "tls.key_file {}: holds no private key (expected -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
                path.display()
            )
        })
}
