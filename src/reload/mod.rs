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

mod readiness;
mod restart_only;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tracing::{error, info};

use crate::config::{ProcessEnv, validate};
use crate::metrics::ReloadResult;
use crate::server::Shutdown;
use crate::server::tls::Certificates;
use restart_only::keep_restart_only;
pub use restart_only::{RESTART_ONLY, RestartOnly};
pub use snapshot::{Process, Snapshot};

/// SIGHUP, listened for from start-up on. Installed before the gateway reports itself ready (systemd's
/// `READY=1`): a SIGHUP that arrived before any handler would end the process (its default action), and
/// `systemctl reload` may follow `systemctl start` at once.
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Must run inside the runtime.
    pub fn install() -> Hangups {
        Hangups {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
        }
    }

    /// The next SIGHUP (never, where there are none).
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = self.signal.as_mut() {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}

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

    /// Reloads on SIGHUP (from `hangups`) and when a watched file changes, until `shutdown`.
    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown, mut hangups: Hangups) {
        let poll = self.current.load().config.reload_poll;
        loop {
            let tick = async {
                match poll {
                    Some(interval) => tokio::time::sleep(interval).await,
                    None => std::future::pending().await,
                }
            };
            let hangup = hangups.next();
            tokio::select! {
                _ = shutdown.stopped() => return,
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
        crate::notify::reloading();
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
                            self.process
                                .metrics
                                .certificate
                                .set(crate::server::tls::expiry(certificate));
                        }
                        let accounts = snapshot
                            .config
                            .freshworks
                            .as_ref()
                            .map_or(0, |f| f.accounts.len());
                        crate::config::log_warnings(&snapshot.config);
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
            Outcome::Applied => ReloadResult::Success,
            Outcome::Invalid => ReloadResult::Invalid,
            Outcome::Failed => ReloadResult::Failed,
        });
        // Serving either way: the new configuration, or the running one after a refused reload.
        crate::notify::ready(match outcome {
            Outcome::Applied => "serving; configuration reloaded",
            Outcome::Invalid | Outcome::Failed => {
                "serving the previous configuration: the reload was refused (see the log)"
            }
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
