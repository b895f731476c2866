//! State that replicas share: the callback replay guard and the failed-login throttle's counters and
//! reservations (`reservation`: a try is counted atomically before it reaches the directory).
//!
//! One small trait, [`Store`], with two implementations: [`memory::MemoryStore`] (the default: one
//! process) and [`redis::RedisStore`] (Redis or Valkey, so replicas behind a load balancer protect each
//! other). Everything else a login needs travels in the browser's sealed cookies, so replicas are
//! otherwise stateless.
//!
//! [`Shared`] wraps the configured store with what ops chose for an unreachable store
//! (`store.on_error`): refuse logins (`fail_closed`, the default) or fall back to this process's memory
//! with a warning (`fail_open`), and counts errors and health for `/metrics` and `/readyz`.

mod attempts;
pub mod memory;
pub mod redis;
pub mod reservation;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tracing::warn;

use crate::config::{OnStoreError, StoreSettings};
use crate::metrics::{Metrics, StoreCall};
pub use memory::MemoryStore;
pub use reservation::{Held, Reserve, Settle};

/// A store operation that did not complete.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {detail}")]
pub struct StoreError {
    pub operation: &'static str,
    pub detail: String,
}

/// What replicas share. Keys are chosen by the callers (`replay:<state>`, `throttle:user:<dn>`, …); an
/// implementation may prefix them.
pub trait Store: Send + Sync {
    /// Marks `key` as used for `ttl`; `Ok(false)` when it already was (a replay).
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Checks every limit of `reserve` and, when none holds the try, records it as in flight under each
    /// of their keys, atomically (`reservation`). `Ok(Some(_))`: held, nothing recorded.
    fn reserve<'a>(
        &'a self,
        reserve: &'a Reserve,
    ) -> BoxFuture<'a, Result<Option<Held>, StoreError>>;
    /// Settles a reserved try under each of its keys (a failure, a success, or released).
    fn settle<'a>(&'a self, settle: &'a Settle) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Whether the store works: for a shared store, a value written and read back, not just an answer.
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// `memory` or `redis`, for logs and readiness.
    fn kind(&self) -> &'static str;
}

/// The store was needed and could not be used, and `store.on_error` is `fail_closed`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the shared store is unavailable: {0}")]
pub struct Unavailable(pub StoreError);

/// The configured store with the unreachable-store policy, metrics and health.
pub struct Shared {
    store: Arc<dyn Store>,
    /// Used when the store fails and the policy is `fail_open` (and as the store itself for `memory`).
    fallback: MemoryStore,
    on_error: OnStoreError,
    healthy: AtomicBool,
    metrics: Arc<Metrics>,
}

impl Shared {
    pub fn new(settings: &StoreSettings, metrics: Arc<Metrics>) -> Result<Shared, String> {
        let store: Arc<dyn Store> = match settings {
            StoreSettings::Memory => Arc::new(MemoryStore::default()),
            StoreSettings::Redis(redis) => Arc::new(redis::RedisStore::new(redis)?),
        };
        let on_error = match settings {
            StoreSettings::Memory => OnStoreError::FailClosed,
            StoreSettings::Redis(redis) => redis.on_error,
        };
        metrics.store_up(true);
        Ok(Shared {
            store,
            fallback: MemoryStore::default(),
            on_error,
            healthy: AtomicBool::new(true),
            metrics,
        })
    }

    /// An in-memory store (tests, and `freshgate check`).
    pub fn memory(metrics: Arc<Metrics>) -> Shared {
        Shared::new(&StoreSettings::Memory, metrics).expect("the memory store needs nothing")
    }

    pub fn kind(&self) -> &'static str {
        self.store.kind()
    }

    /// `None` when the store answered last time; otherwise what readiness says.
    pub fn health(&self) -> Option<String> {
        (!self.healthy.load(Ordering::Relaxed)).then(|| {
            format!(
                "the shared store ({}) is unreachable or does not answer as a store does; logins {}",
                self.store.kind(),
                match self.on_error {
                    OnStoreError::FailClosed =>
                        "are refused until it is back (store.on_error: fail_closed)",
                    OnStoreError::FailOpen =>
                        "go on with this replica's memory (store.on_error: fail_open)",
                }
            )
        })
    }

    /// Whether an unreachable store makes the gateway not ready (only with `fail_closed`).
    pub fn blocks_readiness(&self) -> bool {
        self.on_error == OnStoreError::FailClosed
    }

    /// Pings the store every `interval`, so readiness follows it when no login asks.
    pub async fn keep_checked(self: Arc<Self>, interval: Duration) {
        let weak = Arc::downgrade(&self);
        drop(self);
        loop {
            let Some(shared) = weak.upgrade() else { return };
            let started = Instant::now();
            let result = shared.store.ping().await;
            let _ = shared.outcome(StoreCall::Ping, started, result);
            drop(shared);
            tokio::time::sleep(interval).await;
        }
    }

    /// Spends `key` for `ttl`: `Ok(false)` when it was spent before (a replay).
    ///
    /// With a shared store, this replica's memory records every key the replica spends as well, before the
    /// store is asked: a key this replica spent is refused without asking, so with `fail_open` an outage
    /// falls back to a memory that knows what this replica spent before it began, and a store that lost its
    /// data (restarted empty) cannot make this replica accept a key twice.
    pub async fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, Unavailable> {
        if self.store.kind() == MemoryStore::KIND {
            let started = Instant::now();
            let result = self.store.first_use(key, ttl).await;
            return self
                .outcome(StoreCall::FirstUse, started, result)
                .map_err(Unavailable);
        }
        if !self.fallback.spend(key, ttl) {
            return Ok(false);
        }
        let started = Instant::now();
        let result = self.store.first_use(key, ttl).await;
        match self.outcome(StoreCall::FirstUse, started, result) {
            Ok(first) => Ok(first),
            Err(error) => match self.on_error {
                OnStoreError::FailClosed => Err(Unavailable(error)),
                OnStoreError::FailOpen => {
                    warn!(error = %error, "shared store unreachable: using this replica's memory (store.on_error: fail_open)");
                    Ok(true)
                }
            },
        }
    }

    pub async fn reserve(&self, reserve: &Reserve) -> Result<Option<Held>, Unavailable> {
        let started = Instant::now();
        let result = self.store.reserve(reserve).await;
        match self.outcome(StoreCall::Reserve, started, result) {
            Ok(held) => Ok(held),
            Err(e) => self.fall_back(e, self.fallback.reserve(reserve)).await,
        }
    }

    pub async fn settle(&self, settle: &Settle) -> Result<(), Unavailable> {
        let started = Instant::now();
        let result = self.store.settle(settle).await;
        match self.outcome(StoreCall::Settle, started, result) {
            Ok(()) => Ok(()),
            Err(e) => self.fall_back(e, self.fallback.settle(settle)).await,
        }
    }

    /// Records health, duration and errors for one operation that started at `started`.
    fn outcome<T>(
        &self,
        call: StoreCall,
        started: Instant,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.metrics
            .peers
            .store(call, result.is_ok(), started.elapsed());
        match &result {
            Ok(_) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    warn!(store = self.store.kind(), "the shared store answers again");
                }
                self.metrics.store_up(true);
            }
            Err(e) => {
                self.metrics.store_error(call);
                self.metrics.store_up(false);
                if self.healthy.swap(false, Ordering::Relaxed) {
                    warn!(store = self.store.kind(), error = %e, "the shared store is unreachable or does not answer as a store does");
                }
            }
        }
        result
    }

    async fn fall_back<T>(
        &self,
        error: StoreError,
        local: BoxFuture<'_, Result<T, StoreError>>,
    ) -> Result<T, Unavailable> {
        match self.on_error {
            OnStoreError::FailClosed => Err(Unavailable(error)),
            OnStoreError::FailOpen => {
                warn!(error = %error, "shared store unreachable: using this replica's memory (store.on_error: fail_open)");
                local.await.map_err(Unavailable)
            }
        }
    }
}
