//! Every key the configuration accepts, as dotted paths: the one list the documentation is held to
//! (tests/cli/documented.rs checks docs/configuration.md and docs/directory.md against it, both ways).
//!
//! Sections are listed as well as their keys (`directory.throttle` and `directory.throttle.window`). `*`
//! stands for an entry of a map whose names are the operator's: a Freshworks account id, a Freshdesk
//! property name. Maps whose names are fixed list each name (`freshworks.claims.email`). A claim source's
//! `{ value: ... }` is a form of a value, not a setting, and is not listed.
//!
//! The list is the raw layer's own (`raw::known_keys`: the fields of the raw structs), with the free-key
//! mappings spelled out: the claim names validation accepts under `freshworks.claims` and
//! `directory.attributes`, and `*` for Freshdesk property names. The tests below feed every key back through
//! the loader, so a key the loader stops accepting, or one it accepts that is missing here, fails them.

use super::validate::FRESHWORKS_CLAIMS;

/// Where an entry of a map whose names the operator chooses stands in a path.
pub const ANY: &str = "*";

/// Every key the configuration accepts, sections included, sorted.
pub fn known_keys() -> Vec<String> {
    let mut keys = super::raw::known_keys();
    // A mapping of sections (`freshworks.accounts`) has its entries listed too (`freshworks.accounts.*`).
    let entries: Vec<String> = keys
        .iter()
        .filter_map(|key| key.find(".*.").map(|at| key[..at + 2].to_owned()))
        .collect();
    keys.extend(entries);
    for section in ["freshworks.claims", "directory.attributes"] {
        keys.extend(
            FRESHWORKS_CLAIMS
                .iter()
                .map(|name| format!("{section}.{name}")),
        );
    }
    for section in ["webchat.contact_properties", "webchat.ticket_properties"] {
        keys.push(format!("{section}.{ANY}"));
    }
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_yaml::{Mapping, Value};

    use super::*;
    use crate::config::{ConfigError, MapEnv, validate};

    /// A name for a `*` entry.
    const ENTRY: &str = "entry_1";

    /// The keys that have no key below them.
    fn leaves(keys: &[String]) -> Vec<&String> {
        keys.iter()
            .filter(|key| !keys.iter().any(|k| k.starts_with(&format!("{key}."))))
            .collect()
    }

    /// A configuration holding `path` (a `*` replaced by [`ENTRY`]) with the value `"x"`.
    fn holding(path: &str) -> (String, String) {
        let concrete = path.replace(ANY, ENTRY);
        let mut value = Value::String("x".into());
        for segment in concrete.rsplit('.') {
            let mut map = Mapping::new();
            map.insert(Value::String(segment.into()), value);
            value = Value::Mapping(map);
        }
        (concrete, serde_yaml::to_string(&value).unwrap())
    }

    /// The loader's problems about `key` itself (not about what is missing beside it).
    fn about(key: &str, yaml: &str) -> Vec<ConfigError> {
        match validate::load_str(yaml, Path::new("/nonexistent/gateway.yaml"), &MapEnv::new()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.errors.into_iter().filter(|e| e.key == key).collect(),
        }
    }

    /// A problem that says the key is not one the configuration has.
    fn refuses_the_name(error: &ConfigError) -> bool {
        error.problem == "unknown key"
            || error.problem.contains("is not a claim Freshworks reads")
            || error.problem.contains("is not a Freshworks claim")
    }

    #[test]
    fn every_known_key_is_accepted_by_the_loader_and_a_misspelt_one_is_not() {
        let keys = known_keys();
        assert!(keys.len() > 100, "{keys:?}");
        for key in leaves(&keys) {
            let (concrete, yaml) = holding(key);
            let problems = about(&concrete, &yaml);
            assert!(
                !problems.iter().any(refuses_the_name),
                "{key} is listed, but the loader refuses it: {problems:?}"
            );
            if key.ends_with(ANY) {
                continue; // any name is an entry
            }
            let misspelt = format!("{key}x");
            let (concrete, yaml) = holding(&misspelt);
            assert!(
                about(&concrete, &yaml).iter().any(refuses_the_name),
                "{misspelt} is accepted: known_keys() no longer describes the loader at {key}"
            );
        }
    }

    #[test]
    fn every_section_lists_the_keys_the_loader_suggests() {
        // The loader's own suggestions name the keys allowed in a section; each of them is known.
        let keys = known_keys();
        let sections = keys.iter().filter(|k| !leaves(&keys).contains(k));
        for section in std::iter::once("").chain(sections.map(String::as_str)) {
            // Maps of entries (any name) and of claim names (checked by name, not by the schema).
            if keys.contains(&format!("{section}.{ANY}"))
                || section == "freshworks.claims"
                || section == "directory.attributes"
            {
                continue;
            }
            let probe = if section.is_empty() {
                "zzzz_not_a_key".to_owned()
            } else {
                format!("{section}.zzzz_not_a_key")
            };
            let (concrete, yaml) = holding(&probe);
            let problems = about(&concrete, &yaml);
            let fix = &problems
                .iter()
                .find(|e| e.problem == "unknown key")
                .unwrap_or_else(|| panic!("{concrete}: {problems:?}"))
                .fix;
            let listed = fix
                .split_once("are ")
                .map(|(_, list)| list)
                .unwrap_or_else(|| panic!("{concrete}: {fix}"));
            for name in listed.split(", ") {
                let key = if section.is_empty() {
                    name.trim().to_owned()
                } else {
                    format!("{section}.{}", name.trim())
                };
                assert!(
                    keys.contains(&key),
                    "{key}: the loader allows it, known_keys() does not list it"
                );
            }
        }
    }
}
