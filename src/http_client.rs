//! The HTTP client's parts every peer of the gateway shares: the provider's passthrough and back channel,
//! and the directory's TLS (`crate::directory`). Trust roots, the connector, the pool's idle time, and how
//! a client error is told in the log.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::uri::Authority;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::pem::PemObject as _;

pub type Connector = HttpsConnector<HttpConnector>;

/// How long an unused pooled connection to the upstream is kept. The pool checks about this often, so an
/// idle connection goes within twice this: after a burst, the provider gets its connections back within a
/// minute. Short enough to stay under common upstream keep-alive timeouts (nginx 75 s, Node 5 s is the
/// exception: hyper retries a request that found its pooled connection closed before sending it).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// Trust roots for the provider: the bundled Mozilla roots plus `upstream.ca_file` (an internal CA).
pub fn client_tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem =
            std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let mut count = 0;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert =
                cert.map_err(|e| format!("{}: not a PEM certificate file: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{}: certificate rejected: {e}", path.display()))?;
            count += 1;
        }
        if count == 0 {
            return Err(format!(
                "{}: holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS client setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// A connector for `http` and `https` upstreams. HTTP/1.1 only: upgrades (WebSocket) need it, and a
/// pooled keep-alive HTTP/1.1 connection to a co-located provider is as fast as HTTP/2 would be.
pub fn connector(tls: rustls::ClientConfig, connect_timeout: Duration) -> Connector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(Duration::from_secs(60)));
    HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
}

pub fn pool_idle_timeout() -> Duration {
    POOL_IDLE_TIMEOUT
}

/// `host[:port]` of a URL as an authority; the port is explicit only when the URL had one. (`host_str`
/// already brackets IPv6 literals.)
pub fn origin_authority(url: &url::Url) -> Authority {
    let host = url.host_str().unwrap_or("localhost");
    let text = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    text.parse()
        .unwrap_or_else(|_| Authority::from_static("localhost"))
}

/// The error and its sources on one line, for the log (never for a page).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
