//! The directory's connections: the service account's connection is kept and shared (LDAP multiplexes
//! operations on one connection), re-made when it breaks, and checked for `/readyz`; each URL of
//! `directory.url` is tried in order. Every connect (TCP + TLS or StartTLS), bind and search is bounded by
//! `directory.timeout`. TLS is rustls with the certificate always checked. A connection bound as a user
//! (`guarded`) is a fresh one of its own, closed right after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use tracing::{info, warn};

use super::{Directory, DirectoryError, lock, one_line};
use crate::metrics::directory::Operation;

/// How often the service account's bind is checked for readiness while nothing else uses it.
const HEALTH_INTERVAL: Duration = Duration::from_secs(30);

impl Directory {
    /// `None` when the service account binds; otherwise why not (for `/readyz`).
    pub fn health(&self) -> Option<String> {
        lock(&self.health).clone()
    }

    /// Checks the service bind now and every `HEALTH_INTERVAL`, so readiness follows the directory. Ends
    /// once a reload has replaced this directory and nothing uses it any more.
    pub async fn keep_checked(self: Arc<Self>) {
        let weak = Arc::downgrade(&self);
        drop(self);
        loop {
            let Some(this) = weak.upgrade() else { return };
            // A read of the root DSE on the kept connection: it proves the connection still answers (a
            // half-open TCP connection or a restarted server is noticed here, not at a user's login).
            let _ = this
                .search(
                    "",
                    Scope::Base,
                    "(objectClass=*)",
                    vec!["1.1"],
                    1,
                    Operation::Ping,
                )
                .await;
            drop(this);
            tokio::time::sleep(HEALTH_INTERVAL).await;
        }
    }

    /// Binds the service account (for `freshgate check`): `Err` says why it cannot.
    pub async fn check_service(&self) -> Result<(), DirectoryError> {
        self.service().await.map(drop)
    }

    /// Entries of a search as the service account; references (other partitions) are left out. One retry
    /// on a fresh connection when the kept one turns out to be broken.
    pub(crate) async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attributes: Vec<&str>,
        size_limit: i32,
        operation: Operation,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let mut retried = false;
        loop {
            let mut ldap = self.service().await?;
            let started = Instant::now();
            let options = ldap3::SearchOptions::new().sizelimit(size_limit);
            let result = ldap
                .with_timeout(self.settings.timeout)
                .with_search_options(options)
                .search(base, scope, filter, attributes.clone())
                .await;
            match result {
                Ok(ldap3::SearchResult(entries, done)) => {
                    // sizeLimitExceeded (4) still returns the entries so far: more than asked for.
                    if done.rc != 0 && done.rc != 4 && done.rc != 10 {
                        self.observe(operation, false, started);
                        self.metrics.directory.error("search_refused");
                        return Err(DirectoryError::Refused {
                            operation: "search",
                            detail: format!("rc={} {}", done.rc, one_line(&done.text)),
                        });
                    }
                    self.observe(operation, true, started);
                    let parsed: Vec<SearchEntry> = entries
                        .into_iter()
                        .filter(|e| !e.is_ref() && !e.is_intermediate())
                        .filter_map(|e| {
                            // `construct` panics on a malformed entry: a broken server must not take a
                            // worker thread with it.
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                SearchEntry::construct(e)
                            }))
                            .ok()
                        })
                        .collect();
                    return Ok(parsed);
                }
                Err(e) => {
                    self.observe(operation, false, started);
                    *self.service.lock().await = None;
                    let error = DirectoryError::from_ldap("search", e, self.settings.timeout);
                    if retried || matches!(error, DirectoryError::Timeout { .. }) {
                        self.metrics.directory.error(error.kind());
                        self.set_health(Some(error.to_string()));
                        return Err(error);
                    }
                    retried = true;
                }
            }
        }
    }

    /// The service connection, made (and bound) when there is none or the kept one closed.
    pub(super) async fn service(&self) -> Result<Ldap, DirectoryError> {
        let mut kept = self.service.lock().await;
        if let Some(ldap) = kept.as_mut()
            && !ldap.is_closed()
        {
            return Ok(ldap.clone());
        }
        *kept = None;
        let result = self.connect_service().await;
        match &result {
            Ok(ldap) => {
                *kept = Some(ldap.clone());
                if self.health().is_some() {
                    info!("directory: the service account binds; logins can use the directory");
                }
                self.set_health(None);
            }
            Err(e) => {
                self.metrics.directory.error(e.kind());
                warn!(error = %e, "directory: the service account cannot bind");
                self.set_health(Some(e.to_string()));
            }
        }
        result
    }

    pub(super) async fn connect_service(&self) -> Result<Ldap, DirectoryError> {
        let mut ldap = self.connect().await?;
        if let Err(e) = self.bind_service(&mut ldap).await {
            let _ = ldap.unbind().await;
            return Err(e);
        }
        Ok(ldap)
    }

    /// Binds the service account on `ldap`.
    pub(super) async fn bind_service(&self, ldap: &mut Ldap) -> Result<(), DirectoryError> {
        let started = Instant::now();
        let result = ldap
            .with_timeout(self.settings.timeout)
            .simple_bind(&self.settings.bind_dn, self.settings.bind_password.expose())
            .await;
        match result {
            Ok(done) if done.rc == 0 => {
                self.observe(Operation::ServiceBind, true, started);
                Ok(())
            }
            Ok(done) => {
                self.observe(Operation::ServiceBind, false, started);
                Err(match DirectoryError::refused_bind(done.rc, &done.text) {
                    tls @ DirectoryError::TlsRequired { .. } => tls,
                    _ => DirectoryError::ServiceBindRefused {
                        detail: format!("rc={} {}", done.rc, one_line(&done.text)),
                    },
                })
            }
            Err(e) => {
                self.observe(Operation::ServiceBind, false, started);
                Err(DirectoryError::from_ldap(
                    "service bind",
                    e,
                    self.settings.timeout,
                ))
            }
        }
    }

    /// A new connection to the first URL that answers, TLS checked, the connection driven in the
    /// background until it closes.
    pub(super) async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let mut last = None;
        for url in &self.settings.urls {
            let settings = LdapConnSettings::new()
                .set_conn_timeout(self.settings.timeout)
                .set_starttls(self.settings.start_tls)
                .set_config(self.tls.clone());
            let started = Instant::now();
            match LdapConnAsync::from_url_with_settings(settings, url).await {
                Ok((conn, ldap)) => {
                    self.observe(Operation::Connect, true, started);
                    tokio::spawn(async move {
                        let _ = conn.drive().await;
                    });
                    return Ok(ldap);
                }
                Err(e) => {
                    self.observe(Operation::Connect, false, started);
                    let error = DirectoryError::from_ldap("connect", e, self.settings.timeout);
                    warn!(url = %url, error = %error, "directory: cannot connect; trying the next URL if any");
                    last = Some(error);
                }
            }
        }
        Err(last.unwrap_or(DirectoryError::Unreachable {
            detail: "no directory.url".into(),
        }))
    }

    pub(super) fn observe(&self, operation: Operation, ok: bool, started: Instant) {
        self.metrics.directory.observe(
            operation,
            if ok { "ok" } else { "error" },
            started.elapsed(),
        );
    }

    pub(super) fn set_health(&self, problem: Option<String>) {
        self.metrics.directory.up(problem.is_none());
        *lock(&self.health) = problem;
    }
}
