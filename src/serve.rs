//! `freshgate serve`: load everything, fail at boot on what is broken, then serve until SIGTERM/SIGINT.
//!
//! Start-up order (STYLE habit 5): configuration, TLS certificate, signing key (with a probe signature),
//! trust roots — any problem stops the process with every problem listed. The provider is different: a
//! sidecar often starts before it, so discovery runs in the background and readiness reports it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::admin::Admin;
use crate::admin::metrics::Metrics;
use crate::app::App;
use crate::config::{Config, Limits, ProcessEnv, validate};
use crate::directory::Directory;
use crate::freshworks::Sso;
use crate::host::Hosts;
use crate::keys::{SigningKey, permission_warning};
use crate::logging;
use crate::oidc::{Backchannel, Provider};
use crate::proxy::Forwarding;
use crate::proxy::Passthrough;
use crate::proxy::client::client_tls_config;
use crate::request_id::RequestIds;
use crate::server::per_ip::PerIp;
use crate::server::{Listener, tls};

/// Connections the admin listener accepts at once; it serves probes and scrapes, not users.
const ADMIN_MAX_CONNECTIONS: usize = 64;

/// A running gateway: its bound addresses and the switch that stops it.
pub struct Gateway {
    pub addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Gateway {
    /// Stops accepting, lets in-flight requests finish (bounded by `limits.shutdown_grace`), returns.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
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
        let signal = wait_for_signal().await;
        info!(
            signal,
            "shutting down: no new connections, finishing in-flight requests"
        );
        tokio::select! {
            _ = gateway.stop() => {
                info!("stopped");
                ExitCode::SUCCESS
            }
            signal = wait_for_signal() => {
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

/// Loads what must load, binds the listeners and starts serving.
pub async fn start(config: Config) -> Result<Gateway, Vec<String>> {
    let config = Arc::new(config);
    let mut problems = Vec::new();

    let tls = match config.tls.as_ref().map(tls::acceptor).transpose() {
        Ok(tls) => tls,
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    for warning in crate::config::warnings(&config) {
        warn!(key = %warning.key, "{warning}");
    }
    let signing_key = match &config.freshworks {
        None => None,
        Some(freshworks) => {
            if let Some(warning) = permission_warning(&freshworks.signing_key_file) {
                warn!("{warning}");
            }
            match SigningKey::load(&freshworks.signing_key_file) {
                Ok(key) => {
                    info!(bits = key.bits(), key_id = %key.key_id(), "Freshworks signing key loaded; probe signature verified");
                    Some(key)
                }
                Err(e) => {
                    problems.push(format!("freshworks.signing_key_file: {e}"));
                    None
                }
            }
        }
    };
    let upstream_ca = config.upstream.as_ref().and_then(|u| u.ca_file.as_deref());
    let client_tls = match client_tls_config(upstream_ca) {
        Ok(client_tls) => Some(client_tls),
        Err(problem) => {
            problems.push(format!("upstream.ca_file: {problem}"));
            None
        }
    };
    let listener = bind("listen", config.listen, &mut problems).await;
    let admin_listener = match config.admin_listen {
        Some(addr) => bind("admin_listen", addr, &mut problems).await,
        None => None,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let (Some(client_tls), Some(listener)) = (client_tls, listener) else {
        return Err(vec!["internal error: start-up state incomplete".into()]);
    };

    let cookie_key = config.session.cookie_key.unwrap_or_else(|| {
        warn!(
            "session.cookie_key_file is not set: using a random cookie key for this process; logins in flight \
             break when it restarts, and replicas cannot finish each other's logins"
        );
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).expect("the system random number generator works");
        key
    });

    let metrics = Arc::new(Metrics::new());
    let provider = config.upstream.as_ref().map(|upstream| {
        let backchannel = Backchannel::new(upstream, client_tls.clone());
        let provider = Arc::new(Provider::new(
            upstream.clone(),
            backchannel,
            metrics.clone(),
        ));
        tokio::spawn(provider.clone().keep_fresh());
        provider
    });
    // The directory is contacted in the background: a gateway that starts before its domain controller
    // (or while it is down) serves, and readiness says why logins cannot work yet.
    let directory = match &config.directory {
        None => None,
        Some(settings) => match Directory::new(settings.clone(), metrics.clone()) {
            Ok(directory) => {
                let directory = Arc::new(directory);
                tokio::spawn(directory.clone().keep_checked());
                Some(directory)
            }
            Err(problem) => return Err(vec![problem]),
        },
    };

    let forwarding = Forwarding::new(config.trusted_proxies.clone(), config.tls.is_some());
    let passthrough = config.upstream.as_ref().map(|upstream| {
        Passthrough::new(
            upstream,
            config.limits.idle_timeout,
            config.limits.max_upstream_requests,
            forwarding.clone(),
            client_tls,
            metrics.clone(),
        )
    });
    let signing_key_loaded = config.freshworks.as_ref().map(|_| signing_key.is_some());
    let sso = (config.freshworks.is_some() || config.webchat.is_some()).then(|| {
        Sso::new(
            config.clone(),
            signing_key,
            cookie_key,
            provider.clone(),
            directory.clone(),
            forwarding.clone(),
            metrics.clone(),
        )
    });
    let app = App {
        hosts: Hosts::new(
            &config.public_url,
            config.allowed_hosts.as_deref().unwrap_or_default(),
            config.allowed_hosts.is_none(),
        ),
        ids: RequestIds::new(),
        metrics: metrics.clone(),
        proxy: passthrough,
        forwarding,
        sso,
        access_log: config.log.access_log,
    };

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let addr = listener
        .local_addr()
        .map_err(|e| vec![format!("listen: {e}")])?;
    info!(listener = "gateway", addr = %addr, tls = config.tls.is_some(), public_url = %config.public_url, "listening");
    tasks.spawn(
        Listener {
            name: "gateway",
            listener,
            tls,
            limits: config.limits.clone(),
            per_ip: PerIp::new(
                config.limits.max_connections_per_ip,
                config.trusted_proxies.clone(),
            ),
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
        let admin = Admin {
            metrics: metrics.clone(),
            provider,
            directory,
            signing_key_loaded,
        };
        let limits = Limits {
            max_connections: ADMIN_MAX_CONNECTIONS,
            ..config.limits.clone()
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
            .run(shutdown_rx),
        );
    }
    Ok(Gateway {
        addr,
        admin_addr,
        shutdown,
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

/// Resolves on SIGTERM or SIGINT and says which.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler installs");
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "ctrl-c"
    }
}
