//! The reader and the shapes: a wrong value never fails its section, every bad item is reported, secrets
//! are not quoted, and one read's problems stay with it.

use crate::config::env::MapEnv;
use crate::config::error::ConfigError;
use crate::config::raw::{self, Field, RawConfig};
use crate::config::types::Secret;

fn read(yaml: &str, env: &MapEnv) -> (RawConfig, Vec<ConfigError>) {
    let value = serde_yaml::from_str(yaml).unwrap();
    let mut errors = Vec::new();
    let raw = RawConfig::from_value(&value, env, &mut errors).unwrap();
    (raw, errors)
}

#[test]
fn a_wrong_value_never_fails_its_section() {
    let (raw, errors) = read(
        "upstream: { scopes: openid, client_id: [x], issuer: https://a, bogus: 1 }\nlisten: 8443\n",
        &MapEnv::new(),
    );
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        ["upstream.bogus", "upstream.client_id", "upstream.scopes"]
    );
    let upstream = raw.upstream.set().unwrap();
    assert_eq!(upstream.issuer, Field::Set("https://a".into()));
    assert_eq!(upstream.client_id, Field::Invalid);
    assert_eq!(upstream.scopes, Field::Invalid);
    assert_eq!(raw.listen, Field::Set("8443".into()));
}

#[test]
fn an_unset_variable_in_a_secret_points_to_its_file_key_when_there_is_one() {
    let (raw, errors) = read(
        "directory: { bind_password: '${BIND}' }\nstore: { url: '${REDIS}', password: '${PW}' }\n",
        &MapEnv::new().with("PW", "s3cr3t"),
    );
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.fix.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "directory.bind_password",
                "export BIND, or set directory.bind_password_file to a file holding the password"
            ),
            (
                "store.url",
                "export REDIS before starting freshgate, or write the value in the file"
            ),
        ]
    );
    let store = raw.store.set().unwrap();
    assert_eq!(store.password, Field::Set(Secret::new("s3cr3t")));
}

#[test]
fn the_problems_of_one_read_stay_with_it() {
    let (_, first) = read("lisen: 1\n", &MapEnv::new());
    let (inner, outer) = raw::context::read(&serde_yaml::Value::Null, &MapEnv::new(), || {
        let _at = raw::context::enter("outer");
        raw::context::report("outer problem", "fix");
        let (_, inner) = read("tls: x\n", &MapEnv::new());
        raw::context::report("still outer", "fix");
        inner
    });
    assert_eq!(first.len(), 1);
    assert_eq!(inner.len(), 1, "{inner:?}");
    assert_eq!(inner[0].key, "tls");
    let outer: Vec<(&str, &str)> = outer
        .iter()
        .map(|e| (e.key.as_str(), e.problem.as_str()))
        .collect();
    assert_eq!(
        outer,
        [("outer", "outer problem"), ("outer", "still outer")]
    );
}

#[test]
fn every_bad_item_of_a_list_is_reported_and_the_list_is_invalid() {
    let (raw, errors) = read("allowed_hosts: [a, ~, [b], '${NOPE}', c]\n", &MapEnv::new());
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        ["allowed_hosts[1]", "allowed_hosts[2]", "allowed_hosts[3]"]
    );
    assert_eq!(errors[0].fix, "remove the empty item from the list");
    assert_eq!(raw.allowed_hosts, Field::Invalid);
}

#[test]
fn a_store_url_written_as_the_store_is_not_quoted() {
    let (raw, errors) = read(
        "store: rediss://gateway:hunter2@redis:6380\n",
        &MapEnv::new(),
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "store");
    assert!(!errors[0].to_string().contains("hunter2"), "{}", errors[0]);
    assert!(
        errors[0]
            .fix
            .contains("`store: { url: redis://redis:6379 }`")
    );
    assert_eq!(raw.store, Field::Invalid);
}

#[test]
fn a_fixed_value_without_its_value_is_reported() {
    for yaml in [
        "freshworks: { claims: { email: {} } }\n",
        "freshworks: { claims: { email: { value: ~ } } }\n",
    ] {
        let (_, errors) = read(yaml, &MapEnv::new());
        assert_eq!(errors.len(), 1, "{yaml}: {errors:?}");
        assert_eq!(errors[0].key, "freshworks.claims.email");
        assert_eq!(errors[0].problem, "a fixed value needs `value`");
    }
}

#[test]
fn a_bad_account_id_is_reported_and_the_other_accounts_are_read() {
    let (raw, errors) = read(
        "freshworks:\n  accounts:\n    [1]: {}\n    \"7\": { login: oidc }\n",
        &MapEnv::new(),
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "freshworks.accounts");
    assert_eq!(errors[0].problem, "an account id is a list, not an id");
    let accounts = raw
        .freshworks
        .set()
        .unwrap()
        .accounts
        .set()
        .unwrap()
        .clone();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].login, Field::Set("oidc".into()));
}
