//! Debian's `prometheus` (the package also brings `promtool`), started by the tests as a user process: a
//! configuration of its own that scrapes the given targets every second and evaluates the given rule
//! files every second, storage in a temporary directory, listening on 127.0.0.1, killed on drop.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{client, free_port};

pub const BINARY: &str = "/usr/bin/prometheus";
pub const PROMTOOL: &str = "/usr/bin/promtool";

pub struct Prometheus {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes `targets` (job `freshgate`, path `/metrics`) and loads `rule_files`.
    pub async fn start(targets: &[SocketAddr], rule_files: &[PathBuf]) -> Prometheus {
        assert!(
            Path::new(BINARY).exists(),
            "{BINARY} is missing: apt-get install prometheus (scripts/test and .ci/run install it)"
        );
        let mut dir = tempfile::Builder::new()
            .prefix("freshgate-prometheus-")
            .tempdir()
            .unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let rules: Vec<String> = rule_files
            .iter()
            .map(|f| format!("\"{}\"", f.display()))
            .collect();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 rule_files: [{}]\n\
                 scrape_configs:\n  - job_name: freshgate\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: [{}]\n",
                rules.join(", "),
                targets.join(", ")
            ),
        )
        .unwrap();
        // A port that was free a moment ago may be taken by the time prometheus binds it: try again.
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
            let child = Command::new(BINARY)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("prometheus starts");
            let mut prometheus = Prometheus { child, port, dir };
            if prometheus.wait_ready().await {
                return prometheus;
            }
            let _ = prometheus.child.kill();
            let _ = prometheus.child.wait();
            dir = std::mem::replace(&mut prometheus.dir, tempfile::tempdir().unwrap());
        }
        panic!("prometheus did not start");
    }

    /// True once `/-/ready` answers 200; false if the process ended (its port was taken) or 30 s passed.
    async fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if let Ok(response) = client().get(self.url("/-/ready")).send().await
                && response.status() == 200
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Its own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `GET /api/v1/<path>`'s `data`, after checking `status` is `success`.
    pub async fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let response: Value = client()
            .get(self.url(&format!("/api/v1/{path}")))
            .query(params)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            response["status"],
            "success",
            "{path} {params:?}: {response}\n{}",
            self.log()
        );
        response["data"].clone()
    }

    /// An instant query's result vector.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        let data = self.api("query", &[("query", promql)]).await;
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// Waits (up to `timeout`) until `promql` returns at least one series.
    pub async fn wait_for(&self, promql: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.query(promql).await;
            if !result.is_empty() {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "{promql} stayed empty for {timeout:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The number of scrapes of the job so far (Prometheus' own `prometheus_target_interval_length`
    /// would do too; counting `up` samples over a long range is exact).
    pub async fn scrapes(&self) -> usize {
        let result = self
            .query("count_over_time(up{job=\"freshgate\"}[1h])")
            .await;
        result
            .first()
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Waits until `n` more scrapes have happened.
    pub async fn wait_scrapes(&self, n: usize) {
        let target = self.scrapes().await + n;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.scrapes().await < target {
            assert!(Instant::now() < deadline, "no scrapes\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `promtool` with `args` in the repository, `stdin` as its input; its exit status and output.
pub fn promtool(args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(PROMTOOL)
        .args(args)
        .current_dir(super::repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (apt-get install prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
