//! The keys recorded from the raw structs: each once, each section followed by its keys, every one accepted.

use serde_yaml::{Mapping, Value};

use crate::config::env::MapEnv;
use crate::config::raw::{RawConfig, known_keys, top_keys};

#[test]
fn known_keys_are_the_fields_of_the_raw_structs_each_section_followed_by_its_keys() {
    let keys = known_keys();
    let at = |key: &str| {
        keys.iter()
            .position(|k| k == key)
            .unwrap_or_else(|| panic!("{key} is not in {keys:?}"))
    };
    assert_eq!(keys[..4], ["listen", "public_url", "tls", "tls.cert_file"]);
    assert!(at("freshworks.accounts") < at("freshworks.accounts.*.redirect_url"));
    assert_eq!(
        at("freshworks.accounts.*.allow") + 1,
        at("freshworks.accounts.*.allow.groups")
    );
    for key in [
        "directory.kerberos.keytab_file",
        "directory.attributes",
        "store.on_error",
        "freshworks.claims",
        "webchat.widget.widget_id",
    ] {
        at(key);
    }
    // The account id and `store: memory` are not keys; the entries of a free mapping are not listed.
    for not_a_key in [
        "store.memory",
        "freshworks.accounts.*.id",
        "freshworks.claims.*",
        "freshworks.claims.*.value",
    ] {
        assert!(!keys.iter().any(|k| k == not_a_key), "{not_a_key}");
    }
    let mut once = keys.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), keys.len(), "each key once");
    assert_eq!(
        top_keys(),
        &keys.iter().filter(|k| !k.contains('.')).collect::<Vec<_>>()[..]
    );
}

#[test]
fn every_known_key_is_accepted_in_a_file() {
    let mut root = Mapping::new();
    for key in known_keys() {
        let mut map = &mut root;
        for part in key.replace('*', "12344").split('.') {
            let entry = map.entry(Value::from(part)).or_insert(Value::Null);
            if entry.is_null() {
                *entry = Value::Mapping(Mapping::new());
            }
            map = entry.as_mapping_mut().unwrap();
        }
    }
    let mut errors = Vec::new();
    // Every key written, each as an empty mapping: no key is unknown (shape problems are not counted).
    RawConfig::from_value(&Value::Mapping(root), &MapEnv::new(), &mut errors).unwrap();
    let unknown: Vec<_> = errors
        .iter()
        .filter(|e| e.problem == "unknown key")
        .collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert!(
        !errors.is_empty(),
        "the leaves are mappings, which single values are not"
    );
}
