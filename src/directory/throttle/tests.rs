//! The throttle against the in-memory store, on a clock that moves only when told.

use super::*;
use crate::clock::ManualClock;
use crate::metrics::Metrics;

const WINDOW: Duration = Duration::from_secs(300);
const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
/// The time every test starts at (Unix ms): the throttle reads it from a clock that moves only when told.
const NOW: u64 = 1_767_225_600_000;

fn throttle(max_failures: u32, per_ip: u32) -> Throttle {
    throttle_on(max_failures, per_ip, Arc::new(ManualClock::at_unix_ms(NOW)))
}

fn throttle_on(max_failures: u32, per_ip: u32, clock: Arc<ManualClock>) -> Throttle {
    Throttle::new(
        Settings {
            max_failures,
            window: WINDOW,
            max_failures_per_ip: per_ip,
        },
        Arc::new(Shared::memory(Arc::new(Metrics::new()))),
    )
    .with_clock(clock)
}

fn policy(count: Option<u32>, threshold: Option<u32>) -> EntryPolicy {
    EntryPolicy {
        count,
        threshold,
        window: Some(Duration::from_secs(120)),
    }
}

#[tokio::test]
async fn a_burst_from_one_address_gets_no_more_tries_than_its_limit() {
    let t = throttle(100, 30);
    let mut attempts = Vec::new();
    let mut refused = 0;
    for i in 0..60 {
        match t.begin(A, &format!("nobody{i}")).await {
            Ok(attempt) => attempts.push(attempt),
            Err(Refused::Held(Held::Address { .. })) => refused += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!((attempts.len(), refused), (30, 30));
}

#[tokio::test]
async fn the_entrys_guard_lets_through_no_more_binds_than_the_threshold_allows() {
    let t = throttle(100, 100);
    let mut sent = 0;
    let mut kept = Vec::new();
    for i in 0..50 {
        let mut attempt = t.begin(A, &format!("spelling{i}")).await.unwrap();
        let hold = t
            .reserve_entry(&mut attempt, "CN=J,DC=x", &policy(Some(0), Some(5)), NOW)
            .await
            .unwrap();
        if hold.is_none() {
            sent += 1;
            attempt.bind_sent();
        }
        kept.push(attempt);
    }
    assert_eq!(
        sent, 4,
        "count 0, threshold 5: four binds in flight at most"
    );
    // Failed binds keep counting; a dropped one counts as failed too.
    for attempt in kept.drain(..2) {
        attempt.failed().await.unwrap();
    }
    drop(kept);
    tokio::task::yield_now().await;
    let mut attempt = t.begin(A, "again").await.unwrap();
    let hold = t
        .reserve_entry(&mut attempt, "cn=j,dc=x", &policy(None, Some(5)), NOW)
        .await
        .unwrap();
    assert_eq!(hold, Some(Hold::Lockout));
}

#[tokio::test]
async fn a_try_dropped_after_its_bind_was_sent_counts_and_one_dropped_before_does_not() {
    // Threshold 2 and no count from the directory: one bind at a time, and none after a failure.
    let t = throttle(100, 100);
    let policy = policy(None, Some(2));
    let dn = "CN=Dropped,DC=x";
    let settle = || async {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    };
    let mut early = t.begin(A, "a").await.unwrap();
    assert_eq!(
        t.reserve_entry(&mut early, dn, &policy, NOW).await.unwrap(),
        None
    );
    drop(early);
    settle().await;
    let mut sent = t.begin(A, "b").await.unwrap();
    assert_eq!(
        t.reserve_entry(&mut sent, dn, &policy, NOW).await.unwrap(),
        None,
        "released: the place is free again"
    );
    sent.bind_sent();
    drop(sent);
    settle().await;
    let mut next = t.begin(A, "c").await.unwrap();
    assert_eq!(
        t.reserve_entry(&mut next, dn, &policy, NOW).await.unwrap(),
        Some(Hold::Lockout),
        "a bind that may have reached the directory counts as a failure"
    );
}

#[tokio::test]
async fn a_success_clears_the_typed_name_but_not_the_address() {
    let t = throttle(1, 2);
    t.begin(A, "jdoe").await.unwrap().failed().await.unwrap();
    assert!(matches!(
        t.begin(A, "JDOE").await,
        Err(Refused::Held(Held::User { .. }))
    ));
    let other = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 9));
    t.begin(other, "x")
        .await
        .unwrap()
        .succeeded(NOW)
        .await
        .unwrap();
    t.begin(A, "y").await.unwrap().failed().await.unwrap();
    assert!(matches!(
        t.begin(A, "z").await,
        Err(Refused::Held(Held::Address { .. }))
    ));
}

#[tokio::test]
async fn a_held_name_and_address_may_try_again_once_the_window_has_passed() {
    let clock = Arc::new(ManualClock::at_unix_ms(NOW));
    let t = throttle_on(1, 1, clock.clone());
    t.begin(A, "jdoe").await.unwrap().failed().await.unwrap();
    assert!(matches!(
        t.begin(A, "jdoe").await,
        Err(Refused::Held(Held::Address { .. }))
    ));
    clock.advance(WINDOW - Duration::from_secs(1));
    assert!(t.begin(A, "jdoe").await.is_err(), "still within the window");
    clock.advance(Duration::from_secs(1));
    assert!(t.begin(A, "jdoe").await.is_ok());
}

#[tokio::test]
async fn ipv6_addresses_are_counted_per_64() {
    let t = throttle(100, 5);
    for i in 0..5u16 {
        let address = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i));
        t.begin(address, &format!("user{i}"))
            .await
            .unwrap()
            .failed()
            .await
            .unwrap();
    }
    let sibling = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
    let elsewhere = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
    assert!(t.begin(sibling, "a").await.is_err());
    assert!(t.begin(elsewhere, "a").await.is_ok());
}
