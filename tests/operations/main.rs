//! Running freshgate in production: hot reload (SIGHUP and watched files), signing-key rollover, and
//! replicas sharing the replay guard and the throttle through a real `redis-server` (Debian's package,
//! started by the tests as a user process), whose reservations decide as the in-memory store's do.

#[path = "../support/mod.rs"]
mod support;

mod drain;
mod notify;
mod reload;
mod replicas;
mod reservations;
mod rollover;
mod store;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::Gateway;

/// The configuration file a test gateway reads (rewrite it, then signal or wait for the poll).
pub fn config_path(gateway: &Gateway) -> PathBuf {
    gateway.dir.path().join("gateway.yaml")
}

pub fn sighup(gateway: &Gateway) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until `freshgate_config_reloads_total{result}` reaches `n`.
pub async fn wait_reloads(gateway: &Gateway, result: &str, n: u64) {
    let wanted = format!("freshgate_config_reloads_total{{result=\"{result}\"}} {n}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = gateway.metrics().await;
        if metrics.contains(&wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {wanted}:\n{metrics}\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A leaf certificate for `san` (e.g. `IP:127.0.0.1`) from the development CA, written to `dir`.
pub fn issue_certificate(dir: &std::path::Path, san: &str) -> (PathBuf, PathBuf) {
    let repo = support::repo();
    let (cert, key) = (dir.join("leaf.crt"), dir.join("leaf.key"));
    let (ext, csr) = (dir.join("ext.cnf"), dir.join("leaf.csr"));
    std::fs::write(
        &ext,
        format!("subjectAltName={san}\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        "/CN=freshgate test",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        repo.join("certs/dev-ca.pem").to_str().unwrap(),
        "-CAkey",
        repo.join("certs/dev-ca.key").to_str().unwrap(),
        "-set_serial",
        &std::process::id().to_string(),
        "-days",
        "2",
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    (cert, key)
}
