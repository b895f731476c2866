//! Redis or Valkey as the shared store, through the `redis` crate's connection manager (one multiplexed
//! connection, re-made in the background when it breaks) over TCP or TLS (`rediss://`, rustls, the
//! certificate always checked; `store.ca_file` for a private CA).
//!
//! - Replay guard: `SET <prefix>replay:<state> 1 NX PX <ttl>` in a Lua script that answers `1` or `0`: set
//!   only by the first replica to see it.
//! - Failure windows: a sorted set per key, scored by the failure's time in ms; a Lua script drops the ones
//!   outside the window, adds the new one and sets the key to expire with the window, atomically, so two
//!   replicas counting at once never lose a failure.
//! - Reservations (`super::reservation`): per key a sorted set of failures and one of tries in flight
//!   (scored by expiry); one Lua script checks every limit of a try and records it, another settles it.
//! - Health (`ping`, for readiness and `freshgate check`): a random value written with a short expiry and
//!   read back.
//!
//! Every operation is bounded by `store.timeout`, and its reply is held to the shape that operation gives
//! on a real store: a reply of another shape is an error (counted, and `store.on_error` applies), never a
//! yes. Something that answers `+OK` to everything (a misconfigured proxy, the wrong service on the port)
//! would otherwise call every state new and count no failure; the replay guard's script answers an integer
//! for that reason, where `SET … NX` alone answers `OK`.

use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, IntoConnectionInfo, Script};

use super::reservation::{self, Outcome, Rule};
use super::{Held, Reserve, Settle, Store, StoreError};
use crate::config::RedisSettings;

/// The reservation scripts (`super::reservation`), loaded by their SHA1 on first use.
static RESERVE: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(reservation::RESERVE_SCRIPT));
static SETTLE: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(reservation::SETTLE_SCRIPT));
/// The replay guard: `1` when this call set the key, `0` when it was there already.
const FIRST_USE: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
";

/// How long the health check's value lives (it is read back at once).
const HEALTH_TTL_MS: u64 = 10_000;

pub struct RedisStore {
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
    first_use: Script,
}

impl RedisStore {
    /// Prepares the client; it connects lazily (a gateway may start before its store).
    pub fn new(settings: &RedisSettings) -> Result<RedisStore, String> {
        let mut info = settings
            .url
            .expose()
            .into_connection_info()
            .map_err(|e| format!("store.url: {}", safe(&e)))?;
        if let Some(password) = &settings.password {
            let redis = info
                .redis_settings()
                .clone()
                .set_password(password.expose());
            info = info.set_redis_settings(redis);
        }
        let client = match &settings.ca_pem {
            Some(pem) => redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
            None => redis::Client::open(info),
        }
        .map_err(|e| format!("store: {}", safe(&e)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("store: {}", safe(&e)))?;
        Ok(RedisStore {
            manager,
            prefix: settings.key_prefix.clone(),
            timeout: settings.timeout,
            first_use: Script::new(FIRST_USE),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Runs `operation` within the timeout, mapping every failure to a `StoreError`.
    async fn bounded<T>(
        &self,
        operation: &'static str,
        future: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(StoreError {
                operation,
                detail: safe(&e),
            }),
            Err(_) => Err(StoreError {
                operation,
                detail: format!("no answer within {} ms", self.timeout.as_millis()),
            }),
        }
    }
}

/// A reply that has the type its operation expects but not the content a real store gives.
fn wrong_reply(operation: &'static str, what: impl std::fmt::Display) -> StoreError {
    StoreError {
        operation,
        detail: format!("the store's reply is not what a Redis store answers: {what}"),
    }
}

impl Store for RedisStore {
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        async move {
            let mut conn = self.manager.clone();
            let key = self.key(key);
            let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut invocation = self.first_use.key(&key);
            invocation.arg(ttl_ms);
            let set: i64 = self
                .bounded("first_use", invocation.invoke_async(&mut conn))
                .await?;
            match set {
                1 => Ok(true),
                0 => Ok(false),
                other => Err(wrong_reply("first_use", format!("`{other}`, not 1 or 0"))),
            }
        }
        .boxed()
    }

    fn reserve<'a>(
        &'a self,
        reserve: &'a Reserve,
    ) -> BoxFuture<'a, Result<Option<Held>, StoreError>> {
        async move {
            let mut conn = self.manager.clone();
            let mut invocation = RESERVE.prepare_invoke();
            for limit in &reserve.limits {
                invocation.key(self.key(&limit.key));
                invocation.key(self.key(&format!("{}:inflight", limit.key)));
            }
            invocation
                .arg(reserve.now)
                .arg(&reserve.id)
                .arg(reservation::ms(reserve.ttl).max(1));
            for limit in &reserve.limits {
                let (kind, window, max, backoff, guard) = match limit.rule {
                    Rule::Sliding {
                        window,
                        max,
                        backoff,
                    } => (0, window, max, backoff, None),
                    Rule::Chain { window, max, guard } => (1, window, max, false, Some(guard)),
                };
                let (count, threshold, since) = match guard.flatten() {
                    None => (-2i64, 0u32, 0u64),
                    Some(g) => (g.count.map_or(-1, i64::from), g.threshold, g.since),
                };
                invocation
                    .arg(kind)
                    .arg(reservation::ms(window).max(1))
                    .arg(max)
                    .arg(u8::from(backoff))
                    .arg(count)
                    .arg(threshold)
                    .arg(since);
            }
            let reply: Vec<i64> = self
                .bounded("reserve", invocation.invoke_async(&mut conn))
                .await?;
            match reply.as_slice() {
                [0] => Ok(None),
                [1, limit, by_guard, wait] => Ok(Some(Held {
                    limit: usize::try_from(*limit - 1).unwrap_or(0),
                    by_guard: *by_guard == 1,
                    retry_after: Duration::from_millis(u64::try_from(*wait).unwrap_or(0)),
                })),
                other => Err(StoreError {
                    operation: "reserve",
                    detail: format!("unexpected reply {other:?}"),
                }),
            }
        }
        .boxed()
    }

    fn settle<'a>(&'a self, settle: &'a Settle) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut conn = self.manager.clone();
            let mut invocation = SETTLE.prepare_invoke();
            for (key, _) in &settle.keys {
                invocation.key(self.key(key));
                invocation.key(self.key(&format!("{key}:inflight")));
            }
            // Unique per failure: two replicas failing in the same millisecond both count.
            let member = format!("{}-{}", settle.now, crate::clock::random_token());
            invocation
                .arg(settle.now)
                .arg(&settle.id)
                .arg(member)
                .arg(reservation::MAX_FAILURES_PER_KEY);
            for (_, outcome) in &settle.keys {
                let (code, value) = match *outcome {
                    Outcome::Released => (0, 0),
                    Outcome::Failed { keep } => (1, reservation::ms(keep).max(1)),
                    Outcome::Cleared { before } => (2, before),
                };
                invocation.arg(code).arg(value);
            }
            let _: i64 = self
                .bounded("settle", invocation.invoke_async(&mut conn))
                .await?;
            Ok(())
        }
        .boxed()
    }

    /// Not a `PING`, which anything that speaks the protocol answers: a random value is written with a short
    /// expiry and read back, so a store that does not keep what it is told is not healthy.
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            let mut conn = self.manager.clone();
            let key = self.key(&format!("health:{}", crate::clock::random_token()));
            let value = crate::clock::random_token();
            let _: () = self
                .bounded(
                    "ping",
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(&value)
                        .arg("PX")
                        .arg(HEALTH_TTL_MS)
                        .query_async(&mut conn),
                )
                .await?;
            let read: Option<String> = self.bounded("ping", conn.get(&key)).await?;
            if read.as_deref() != Some(value.as_str()) {
                return Err(wrong_reply("ping", "a value written was not read back"));
            }
            Ok(())
        }
        .boxed()
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

/// A redis error as text without the URL's password (the crate's messages never quote it, but the
/// URL-parsing ones quote the input).
fn safe(error: &redis::RedisError) -> String {
    let text = error.to_string();
    match text.find("redis://").or_else(|| text.find("rediss://")) {
        Some(at) => format!("{} (URL not shown)", text[..at].trim_end()),
        None => text,
    }
}
