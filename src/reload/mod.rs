//! Hot reload: `SIGHUP`, or a change to `gateway.yaml` or any file it names (checked every
//! `reload.poll_interval`, content compared, so Kubernetes' symlink swaps of mounted secrets count), makes
//! a new [`Snapshot`] that new requests use; requests, streams and tunnels in flight finish on the one
//! they started with.
//!
//! An invalid configuration, or a file it names that does not load, is refused with every problem in the
//! log, and the running snapshot keeps serving. `freshgate_config_reloads_total{result}` counts attempts
//! and `freshgate_config_last_reload_success_timestamp_seconds` says when the configuration in use was
//! loaded.
//!
//! Some settings belong to the listening sockets and the process, and only a restart changes them
//! ([`RESTART_ONLY`]); a reload that changes them says so in the log and keeps the running values.

pub mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::config::{Config, ProcessEnv, validate};
use crate::server::tls::Certificates;
pub use snapshot::{Process, Snapshot};

/// The settings a reload cannot change (they shape the listening sockets, the runtime or the logger).
pub const RESTART_ONLY: &[&str] = &[
    "listen",
    "admin_listen",
    "tls (on or off; the certificate and key files themselves reload)",
    "limits",
    "log",
    "trusted_proxies",
    "reload",
];

/// Swaps snapshots.
pub struct Reloader {
    path: PathBuf,
    current: Arc<ArcSwap<Snapshot>>,
    process: Process,
    certificates: Option<Arc<Certificates>>,
    /// Content digests of the files the current snapshot was built from (and, after a refused reload, of
    /// the files as they were then, so one broken edit is reported once).
    seen: Mutex<Vec<(PathBuf, Option<Vec<u8>>)>>,
    /// One reload at a time (SIGHUP and the poll may coincide).
    busy: tokio::sync::Mutex<()>,
}

/// How a reload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// The configuration has problems.
    Invalid,
    /// A file it names did not load.
    Failed,
}

impl Reloader {
    pub fn new(
        path: &Path,
        current: Arc<ArcSwap<Snapshot>>,
        process: Process,
        certificates: Option<Arc<Certificates>>,
    ) -> Reloader {
        let seen = fingerprint(&current.load().files());
        Reloader {
            path: path.to_path_buf(),
            current,
            process,
            certificates,
            seen: Mutex::new(seen),
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// Reloads on SIGHUP and when a watched file changes, until `shutdown`.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let poll = self.current.load().config.reload_poll;
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            let tick = async {
                match poll {
                    Some(interval) => tokio::time::sleep(interval).await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(unix)]
            let hangup = async {
                match hup.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hangup = std::future::pending::<()>();
            tokio::select! {
                _ = shutdown.changed() => return,
                () = hangup => {
                    self.reload("SIGHUP").await;
                }
                () = tick => {
                    if self.changed() {
                        self.reload("a watched file changed").await;
                    }
                }
            }
        }
    }

    /// Whether any watched file's content differs from what was last seen.
    fn changed(&self) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let files: Vec<PathBuf> = seen.iter().map(|(path, _)| path.clone()).collect();
        fingerprint(&files) != *seen
    }

    /// Loads the configuration again and swaps the snapshot, or says why not and keeps the running one.
    pub async fn reload(&self, cause: &str) -> Outcome {
        let _one_at_a_time = self.busy.lock().await;
        let current = self.current.load_full();
        let outcome = match validate::load(&self.path, &ProcessEnv) {
            Err(errors) => {
                for e in &errors.errors {
                    error!(key = %e.key, problem = %e.problem, fix = %e.fix, "reload refused: configuration problem");
                }
                error!(
                    cause,
                    problems = errors.errors.len(),
                    "reload refused: the configuration has problems; the running configuration keeps serving"
                );
                Outcome::Invalid
            }
            Ok(config) => {
                let config = keep_restart_only(config, &current.config);
                match Snapshot::build(config, Some(&current), &self.process) {
                    Err(problems) => {
                        for problem in &problems {
                            error!(problem = %problem, "reload refused: a file did not load");
                        }
                        error!(
                            cause,
                            "reload refused; the running configuration keeps serving"
                        );
                        Outcome::Failed
                    }
                    Ok(snapshot) => {
                        if let (Some(certificates), Some(certificate)) =
                            (&self.certificates, &snapshot.certificate)
                        {
                            certificates.replace(certificate.clone());
                        }
                        let accounts = snapshot
                            .config
                            .freshworks
                            .as_ref()
                            .map_or(0, |f| f.accounts.len());
                        crate::serve::log_warnings(&snapshot.config);
                        self.current.store(Arc::new(snapshot));
                        info!(
                            cause,
                            accounts, "configuration reloaded; new requests use it"
                        );
                        Outcome::Applied
                    }
                }
            }
        };
        self.process.metrics.reload(match outcome {
            Outcome::Applied => "success",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
        });
        // Remember what the files are now: the next change is what triggers the next reload.
        let files = self.current.load().files();
        let mut all = files;
        all.extend(
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(path, _)| path.clone()),
        );
        all.sort();
        all.dedup();
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = fingerprint(&all);
        outcome
    }
}

/// `config` with the running values of the settings only a restart changes, each change named in the log.
fn keep_restart_only(mut config: Config, running: &Config) -> Config {
    let mut kept = Vec::new();
    if config.listen != running.listen {
        kept.push("listen");
        config.listen = running.listen;
    }
    if config.admin_listen != running.admin_listen {
        kept.push("admin_listen");
        config.admin_listen = running.admin_listen;
    }
    if config.tls.is_some() != running.tls.is_some() {
        kept.push("tls (turning TLS on or off)");
        config.tls = running.tls.clone();
    }
    if config.limits != running.limits {
        kept.push("limits");
        config.limits = running.limits.clone();
    }
    if config.log != running.log {
        kept.push("log");
        config.log = running.log.clone();
    }
    if config.trusted_proxies != running.trusted_proxies {
        kept.push("trusted_proxies");
        config.trusted_proxies = running.trusted_proxies.clone();
    }
    if config.reload_poll != running.reload_poll {
        kept.push("reload.poll_interval");
        config.reload_poll = running.reload_poll;
    }
    if !kept.is_empty() {
        warn!(
            settings = %kept.join(", "),
            "these settings changed but take effect only after a restart; the running values are kept"
        );
    }
    config
}

/// Each file with a digest of its content (`None` when it cannot be read).
fn fingerprint(files: &[PathBuf]) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    files
        .iter()
        .map(|path| {
            let digest = std::fs::read(path).ok().map(|bytes| {
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes)
                    .as_ref()
                    .to_vec()
            });
            (path.clone(), digest)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    fn load(yaml: &str) -> Config {
        validate::load_str(yaml, Path::new("/tmp/gateway.yaml"), &MapEnv::new()).unwrap()
    }

    const BASE: &str = "listen: 127.0.0.1:8080\npublic_url: http://localhost:8080\nupstream:\n  issuer: http://localhost:8080/realms/a\n  client_id: c\n  client_secret: s\n";

    #[test]
    fn restart_only_settings_keep_their_running_values_and_the_rest_changes() {
        let running = load(BASE);
        let changed = load(&format!(
            "{}limits: {{ idle_timeout: 7s }}\nallowed_hosts: [other.example]\n",
            BASE.replace("127.0.0.1:8080", "127.0.0.1:9090")
        ));
        let kept = keep_restart_only(changed, &running);
        assert_eq!(kept.listen, running.listen);
        assert_eq!(kept.limits, running.limits);
        assert_ne!(
            kept.allowed_hosts, running.allowed_hosts,
            "reloadable settings change"
        );
    }

    #[test]
    fn a_fingerprint_changes_with_the_content_not_the_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a");
        std::fs::write(&file, "one").unwrap();
        let before = fingerprint(std::slice::from_ref(&file));
        std::fs::write(&file, "one").unwrap();
        assert_eq!(fingerprint(std::slice::from_ref(&file)), before);
        std::fs::write(&file, "two").unwrap();
        assert_ne!(fingerprint(std::slice::from_ref(&file)), before);
        std::fs::remove_file(&file).unwrap();
        assert_eq!(fingerprint(std::slice::from_ref(&file))[0].1, None);
    }
}
