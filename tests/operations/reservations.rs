//! The throttle's reservations (`freshgate::store::reservation`) decide the same in memory and in a real
//! `redis-server` (one Lua script): the same table of cases runs against both, and bursts of concurrent
//! reservations get exactly as many places as the limit has, also from two clients of one Redis (two
//! replicas).

use std::sync::Arc;
use std::time::Duration;

use freshgate::config::{OnStoreError, RedisSettings, Secret};
use freshgate::store::reservation::{Guard, Limit, Outcome, Reserve, Rule, Settle};
use freshgate::store::{MemoryStore, Store, redis::RedisStore};

use crate::support::redis::Redis;

const S: u64 = 1000;

fn redis_store(redis: &Redis, prefix: &str) -> RedisStore {
    RedisStore::new(&RedisSettings {
        url: Secret::new(redis.url()),
        password: None,
        ca_pem: None,
        ca_file: None,
        key_prefix: prefix.into(),
        timeout: Duration::from_secs(5),
        on_error: OnStoreError::FailClosed,
    })
    .unwrap()
}

fn reserve(id: &str, now: u64, limits: &[(&str, Rule)]) -> Reserve {
    Reserve {
        id: id.into(),
        now,
        ttl: Duration::from_secs(30),
        limits: limits
            .iter()
            .map(|(key, rule)| Limit {
                key: (*key).into(),
                rule: *rule,
            })
            .collect(),
    }
}

async fn settle(store: &dyn Store, id: &str, now: u64, key: &str, outcome: Outcome) {
    store
        .settle(&Settle {
            id: id.into(),
            now,
            keys: vec![(key.into(), outcome)],
        })
        .await
        .unwrap();
}

const FAILED: Outcome = Outcome::Failed {
    keep: Duration::from_secs(120),
};

/// The cases, against one store: each step's outcome as `Ok` (granted) or `Err((by guard, retry ms))`.
async fn cases(store: &dyn Store) -> Vec<String> {
    let mut seen = Vec::new();
    let mut step = async |r: Reserve| {
        let outcome = store.reserve(&r).await.unwrap();
        let text = match outcome {
            None => "ok".to_string(),
            Some(held) => format!(
                "held limit {} guard {} retry {}",
                held.limit,
                held.by_guard,
                held.retry_after.as_millis()
            ),
        };
        seen.push(format!("{}: {text}", r.id));
    };
    let sliding = Rule::Sliding {
        window: Duration::from_secs(10),
        max: 2,
        backoff: true,
    };
    // Sliding window with backoff: two tries in flight fill it; a settled failure makes the next wait.
    step(reserve("s1", 0, &[("a", sliding)])).await;
    step(reserve("s2", 0, &[("a", sliding)])).await;
    step(reserve("s3", 0, &[("a", sliding)])).await;
    settle(store, "s1", 100, "a", FAILED).await;
    settle(store, "s2", 100, "a", Outcome::Released).await;
    step(reserve("s4", 500, &[("a", sliding)])).await;
    step(reserve("s5", 1_200, &[("a", sliding)])).await;
    settle(store, "s5", 1_300, "a", FAILED).await;
    step(reserve("s6", 5_000, &[("a", sliding)])).await;
    step(reserve("s7", 10_200, &[("a", sliding)])).await;
    // Two limits at once: held by the second, nothing recorded under the first.
    let open = Rule::Sliding {
        window: Duration::from_secs(10),
        max: 1,
        backoff: false,
    };
    step(reserve("m1", 0, &[("b", open), ("c", open)])).await;
    step(reserve("m2", 0, &[("d", open), ("c", open)])).await;
    step(reserve("m3", 0, &[("d", open)])).await;
    // The chain: one failure every 41 s with a window of 120 s keeps counting.
    let chain = Rule::Chain {
        window: Duration::from_secs(120),
        max: 3,
        guard: None,
    };
    for (i, t) in [0u64, 41, 82].iter().enumerate() {
        let id = format!("c{i}");
        step(reserve(&id, t * S, &[("e", chain)])).await;
        settle(store, &id, t * S, "e", FAILED).await;
    }
    step(reserve("c3", 123 * S, &[("e", chain)])).await;
    step(reserve("c4", 203 * S, &[("e", chain)])).await;
    // The guard: count 3 read at 300 s, threshold 5; a failure recorded after the read counts.
    let guard = |count| Rule::Chain {
        window: Duration::from_secs(120),
        max: 100,
        guard: Some(Guard {
            count,
            threshold: 5,
            since: 300 * S,
        }),
    };
    step(reserve("g1", 301 * S, &[("f", guard(Some(3)))])).await;
    step(reserve("g2", 301 * S, &[("f", guard(Some(3)))])).await;
    settle(store, "g1", 302 * S, "f", FAILED).await;
    step(reserve("g3", 303 * S, &[("f", guard(Some(3)))])).await;
    step(reserve("g4", 303 * S, &[("f", guard(None))])).await;
    // A success clears the failures recorded before it.
    settle(
        store,
        "g5",
        310 * S,
        "f",
        Outcome::Cleared { before: 310 * S },
    )
    .await;
    step(reserve("g6", 311 * S, &[("f", guard(Some(0)))])).await;
    // An unsettled try stops counting after its time to live (30 s).
    step(reserve("t1", 400 * S, &[("g", open)])).await;
    step(reserve("t2", 420 * S, &[("g", open)])).await;
    step(reserve("t3", 431 * S, &[("g", open)])).await;
    seen
}

#[tokio::test]
async fn memory_and_redis_decide_every_case_the_same() {
    let redis = Redis::start();
    let memory = cases(&MemoryStore::default()).await;
    let shared = cases(&redis_store(&redis, "cases:")).await;
    assert_eq!(memory, shared);
    // And the table says what the throttle relies on.
    let expected = [
        "s1: ok",
        "s2: ok",
        "s3: held limit 0 guard false retry 1000",
        "s4: held limit 0 guard false retry 600",
        "s5: ok",
        "s6: held limit 0 guard false retry 5100",
        "s7: ok",
        "m1: ok",
        "m2: held limit 1 guard false retry 1000",
        "m3: ok",
        "c0: ok",
        "c1: ok",
        "c2: ok",
        "c3: held limit 0 guard false retry 79000",
        "c4: ok",
        "g1: ok",
        "g2: held limit 0 guard true retry 120000",
        "g3: held limit 0 guard true retry 119000",
        "g4: ok",
        "g6: ok",
        "t1: ok",
        "t2: held limit 0 guard false retry 1000",
        "t3: ok",
    ];
    assert_eq!(memory, expected);
}

#[tokio::test]
async fn a_burst_of_reservations_from_two_replicas_gets_exactly_the_limits_places() {
    let redis = Redis::start();
    let replicas = [
        Arc::new(redis_store(&redis, "burst:")),
        Arc::new(redis_store(&redis, "burst:")),
    ];
    let rule = Rule::Chain {
        window: Duration::from_secs(120),
        max: 100,
        guard: Some(Guard {
            count: Some(1),
            threshold: 5,
            since: 0,
        }),
    };
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = replicas[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            store
                .reserve(&reserve(&format!("b{i}"), 1_000, &[("entry", rule)]))
                .await
                .unwrap()
                .is_none()
        }));
    }
    let mut granted = 0;
    for task in tasks {
        granted += usize::from(task.await.unwrap());
    }
    assert_eq!(granted, 3, "count 1, threshold 5: three more binds at most");
}
