//! Running freshgate in production: hot reload (SIGHUP and watched files), signing-key rollover, and
//! replicas sharing the replay guard and the throttle through a real `redis-server` (Debian's package,
//! started by the tests as a user process).

#[path = "../support/mod.rs"]
mod support;

mod reload;
mod replicas;
mod rollover;

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
