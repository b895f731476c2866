//! `freshgate serve`: load everything, fail at boot on what is broken, then serve until SIGTERM/SIGINT, and
//! leave without refusing what a load balancer still sends (`server::drain`).
//!
//! Start-up order (STYLE habit 5): configuration, TLS certificate, signing key (with a probe signature),
//! trust roots — any problem stops the process with every problem listed. The provider, the directory and
//! a shared store are different: a sidecar often starts before them, so they are contacted in the
//! background and readiness reports them. After start, `crate::reload` swaps the running snapshot on
//! SIGHUP or a file change.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use arc_swap::ArcSwap;

use crate::admin::Admin;
use crate::app::App;
use crate::config::{Config, Limits, ProcessEnv, validate};
use crate::logging;
use crate::metrics::Metrics;
use crate::notify;
use crate::reload::{Hangups, Process, Reloader, Snapshot};
use crate::request_id::RequestIds;
use crate::server::drain::Lifecycle;
use crate::server::per_ip::PerIp;
use crate::server::{Listener, tls};

/// Connections the admin listener accepts at once; it serves probes and scrapes, not users.
const ADMIN_MAX_CONNECTIONS: usize = 64;

/// A running gateway: its bound addresses and the switch that stops it.
pub struct Gateway {
    pub addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    lifecycle: Lifecycle,
    limits: Limits,
    tasks: JoinSet<()>,
}

impl Gateway {
    /// Shuts down as on SIGTERM: `/readyz` answers 503 and connections are asked to close while the
    /// gateway keeps serving for `limits.shutdown_delay`; then it stops accepting and lets in-flight
    /// requests finish (bounded by `limits.shutdown_grace`).
    pub async fn shut_down(self) {
        let delay = self.limits.shutdown_delay;
        self.lifecycle.close();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
            info!(
                delay = ?delay,
                "shutdown delay over: no new connections, finishing in-flight requests"
            );
        }
        self.stop().await;
    }

    /// Stops accepting at once, lets in-flight requests finish (bounded by `limits.shutdown_grace`),
    /// returns.
    pub async fn stop(mut self) {
        self.lifecycle.stop();
        while self.tasks.join_next().await.is_some() {}
    }
}

pub fn main(path: &Path) -> ExitCode {
    let config = match validate::load(path, &ProcessEnv) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "freshgate did not start; `freshgate check -c {}` shows the same list.",
                path.display()
            );
            return ExitCode::from(2);
        }
    };
    logging::init(
        &config.log,
        std::env::var(logging::LOG_LEVEL_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty()),
    );
    let runtime = match runtime(config.limits.worker_threads) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("freshgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let mut stop = StopSignals::install();
        let gateway = match start(config).await {
            Ok(gateway) => gateway,
            Err(problems) => {
                for problem in &problems {
                    error!(problem = %problem, "start-up failed");
                }
                eprintln!("freshgate did not start:");
                for problem in &problems {
                    eprintln!("  {problem}");
                }
                return ExitCode::from(2);
            }
        };
        notify::ready(&format!("serving on {}", gateway.addr));
        let signal = stop.next().await;
        let (delay, grace) = (gateway.limits.shutdown_delay, gateway.limits.shutdown_grace);
        info!(
            signal,
            delay = ?delay,
            grace = ?grace,
            "shutting down: /readyz answers 503 and connections are asked to close; serving on for \
             limits.shutdown_delay, then finishing in-flight requests within limits.shutdown_grace"
        );
        notify::stopping("shutting down");
        tokio::select! {
            _ = gateway.shut_down() => {
                info!("stopped");
                ExitCode::SUCCESS
            }
            signal = stop.next() => {
                warn!(signal, "second signal: exiting without waiting for in-flight requests");
                ExitCode::FAILURE
            }
        }
    })
}

/// The scheduler the gateway runs on: `limits.worker_threads` threads. With one, tokio's current-thread
/// scheduler: no work-stealing queues, no cross-thread wake-ups, and timers and I/O readiness on the thread
/// that serves, which is what a one-core deployment (or one pinned to a core) wants.
fn runtime(worker_threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if worker_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads)
            .enable_all()
            .build()
    }
}

/// Loads what must load, binds the listeners and starts serving (and reloading, see `crate::reload`).
pub async fn start(config: Config) -> Result<Gateway, Vec<String>> {
    crate::config::log_warnings(&config);
    crate::server::open_files::raise(&config.limits);
    let metrics = Arc::new(Metrics::new());
    let process = Process::new(metrics.clone(), &config.limits);
    let (listen, admin_listen, limits, trusted) = (
        config.listen,
        config.admin_listen,
        config.limits.clone(),
        config.trusted_proxies.clone(),
    );
    let source = config.source.clone();
    let mut problems = Vec::new();
    let snapshot = match Snapshot::build(config, None, &process) {
        Ok(snapshot) => Some(snapshot),
        Err(mut found) => {
            problems.append(&mut found);
            None
        }
    };
    let listener = bind("listen", listen, &mut problems).await;
    let admin_listener = match admin_listen {
        Some(addr) => bind("admin_listen", addr, &mut problems).await,
        None => None,
    };
    let (Some(snapshot), Some(listener), true) = (snapshot, listener, problems.is_empty()) else {
        return Err(problems);
    };
    metrics.config_loaded();
    metrics
        .certificate
        .set(snapshot.certificate.as_deref().and_then(tls::expiry));
    let certificates = snapshot
        .certificate
        .clone()
        .map(|certificate| Arc::new(tls::Certificates::new(certificate)));
    let tls = certificates.clone().map(tls::reloadable_acceptor);
    let public_url = snapshot.config.public_url.clone();
    let current = Arc::new(ArcSwap::from_pointee(snapshot));
    let app = App {
        current: current.clone(),
        ids: RequestIds::new(),
        metrics: metrics.clone(),
    };

    let (lifecycle, shutdown_rx) = Lifecycle::new();
    let mut tasks = JoinSet::new();
    let addr = listener
        .local_addr()
        .map_err(|e| vec![format!("listen: {e}")])?;
    info!(listener = "gateway", addr = %addr, tls = tls.is_some(), public_url = %public_url, "listening");
    tasks.spawn(
        Listener {
            name: "gateway",
            listener,
            tls,
            limits: limits.clone(),
            per_ip: PerIp::new(limits.max_connections_per_ip, trusted),
            handler: Arc::new(app),
            metrics: metrics.clone(),
        }
        .run(shutdown_rx.clone()),
    );
    let mut admin_addr = None;
    if let Some(admin_listener) = admin_listener {
        let addr = admin_listener
            .local_addr()
            .map_err(|e| vec![format!("admin_listen: {e}")])?;
        info!(listener = "admin", addr = %addr, "listening");
        admin_addr = Some(addr);
        let (current, shutdown) = (current.clone(), shutdown_rx.clone());
        let admin = Admin {
            metrics: metrics.clone(),
            readiness: Box::new(move || current.load().readiness(shutdown.is_closing())),
        };
        let limits = Limits {
            max_connections: ADMIN_MAX_CONNECTIONS,
            ..limits.clone()
        };
        tasks.spawn(
            Listener {
                name: "admin",
                listener: admin_listener,
                tls: None,
                limits,
                per_ip: PerIp::new(0, Vec::new()),
                handler: Arc::new(admin),
                metrics: Arc::new(Metrics::new()),
            }
            .run(shutdown_rx.clone()),
        );
    }
    tasks.spawn(crate::server::reclaim::run(
        metrics.clone(),
        shutdown_rx.clone(),
    ));
    let reloader = Arc::new(Reloader::new(&source, current, process, certificates));
    tasks.spawn(reloader.run(shutdown_rx, Hangups::install()));
    Ok(Gateway {
        addr,
        admin_addr,
        lifecycle,
        limits,
        tasks,
    })
}

async fn bind(key: &str, addr: SocketAddr, problems: &mut Vec<String>) -> Option<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(listener) => Some(listener),
        Err(e) => {
            problems.push(format!(
                "{key}: cannot listen on {addr}: {e}; choose a free address or stop what is using it"
            ));
            None
        }
    }
}

/// SIGTERM and SIGINT, listened for from before the gateway starts: a signal that arrived before any handler
/// was installed would end the process at once (its default action) instead of shutting it down gracefully.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                term: signal(SignalKind::terminate()).expect("SIGTERM handler installs"),
                int: signal(SignalKind::interrupt()).expect("SIGINT handler installs"),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Resolves on the next SIGTERM or SIGINT and says which.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}
