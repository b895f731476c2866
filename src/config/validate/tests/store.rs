//! `store`, `reload` and `freshworks.next_signing_key_file`.

use std::time::Duration;

use super::{freshworks_dir, keys, no_env, with};
use crate::config::{OnStoreError, StoreSettings};

#[test]
fn the_store_is_memory_by_default_and_redis_with_a_url() {
    let dir = freshworks_dir();
    assert_eq!(dir.ok(&with(""), &no_env()).store, StoreSettings::Memory);
    assert_eq!(
        dir.ok(&with("store: memory\n"), &no_env()).store,
        StoreSettings::Memory
    );
    let config = dir.ok(
        &with("store: { url: \"rediss://:pw@redis.example:6380\", on_error: fail_open, timeout: 1s }\n"),
        &no_env(),
    );
    let StoreSettings::Redis(redis) = config.store else {
        panic!("a Redis store");
    };
    assert_eq!(redis.url.expose(), "rediss://:pw@redis.example:6380");
    assert_eq!(redis.on_error, OnStoreError::FailOpen);
    assert_eq!(redis.timeout, Duration::from_secs(1));
    assert_eq!(redis.key_prefix, "freshgate:");
}

#[test]
fn store_problems_are_reported_without_quoting_the_url() {
    let dir = freshworks_dir();
    let errors = dir.err(
        &with("store: { url: \"http://user:hunter2@redis\", on_error: maybe, key_prefix: \"a b\", timeout: 1h }\n"),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec![
            "store.url",
            "store.key_prefix",
            "store.timeout",
            "store.on_error"
        ]
    );
    assert!(!errors.to_string().contains("hunter2"), "{errors}");
    assert_eq!(
        keys(&dir.err(&with("store: valkey\n"), &no_env())),
        vec!["store"]
    );
    assert_eq!(
        keys(&dir.err(&with("store: { timeout: 1s }\n"), &no_env())),
        vec!["store.url"]
    );
}

#[test]
fn reload_polls_every_five_seconds_unless_set_or_off() {
    let dir = freshworks_dir();
    assert_eq!(
        dir.ok(&with(""), &no_env()).reload_poll,
        Some(Duration::from_secs(5))
    );
    assert_eq!(
        dir.ok(&with("reload: { poll_interval: off }\n"), &no_env())
            .reload_poll,
        None
    );
    assert_eq!(
        dir.ok(&with("reload: { poll_interval: 500ms }\n"), &no_env())
            .reload_poll,
        Some(Duration::from_millis(500))
    );
    assert_eq!(
        keys(&dir.err(&with("reload: { poll_interval: 1ms }\n"), &no_env())),
        vec!["reload.poll_interval"]
    );
}

#[test]
fn a_staged_next_signing_key_must_exist() {
    let dir = freshworks_dir();
    dir.write("next.key", "key");
    let base = "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"1\": { redirect_url: 'https://a.myfreshworks.com/sp' }\n";
    let config = dir.ok(
        &with(&format!("{base}  next_signing_key_file: next.key\n")),
        &no_env(),
    );
    assert!(config.freshworks.unwrap().next_signing_key_file.is_some());
    let errors = dir.err(
        &with(&format!("{base}  next_signing_key_file: missing.key\n")),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["freshworks.next_signing_key_file"]);
}
