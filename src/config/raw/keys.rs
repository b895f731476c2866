//! The keys: which ones the raw structs have (recorded from the structs themselves, so a key is written
//! once), and what to suggest for a key that is not one of them (a close spelling, a longer key that
//! contains it, or the section it belongs in).

use std::sync::OnceLock;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::RawConfig;
use super::read::{self, Reader, enter, key_text, report};

/// Each struct of the raw configuration with its dotted path (`*` for an entry of a mapping, as in
/// `freshworks.accounts.*`) and its keys, in the order the structs declare them; the top level first.
fn schema() -> &'static [(String, &'static [&'static str])] {
    static SCHEMA: OnceLock<Vec<(String, &'static [&'static str])>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // Read in recording mode, where every mapping seems to hold every key and one entry `*`.
        let stand_in = Value::Mapping(Mapping::from_iter([(
            Value::from("*"),
            Value::Mapping(Mapping::new()),
        )]));
        read::record(|| {
            let _ = RawConfig::deserialize(Reader::new(&stand_in));
        })
    })
}

/// Every key of the configuration as a dotted path, each section followed by its keys: `listen`, ...,
/// `tls`, `tls.cert_file`, ..., `freshworks.accounts`, `freshworks.accounts.*.redirect_url`, ... (a `*`
/// stands for any entry of a mapping whose entries are sections). A mapping with free keys
/// (`freshworks.claims`, `directory.attributes`) is one key.
pub fn known_keys() -> Vec<String> {
    fn section(path: &str, out: &mut Vec<String>) {
        let Some((_, keys)) = schema().iter().find(|(p, _)| p == path) else {
            return;
        };
        for key in *keys {
            let key = join(path, key);
            out.push(key.clone());
            section(&key, out);
            section(&format!("{key}.*"), out);
        }
    }
    let mut out = Vec::new();
    section("", &mut out);
    out
}

/// The keys of the top level, in the order of the example file.
pub fn top_keys() -> &'static [&'static str] {
    schema().first().map_or(&[], |(_, keys)| keys)
}

pub(super) fn is_known(path: &str) -> bool {
    known_keys().iter().any(|key| key == path)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Reports every key of `map` (at the current path) that is not in `known`, with a suggestion when one is
/// close. True when there was one.
pub(super) fn report_unknown(map: &Mapping, known: &[&str]) -> bool {
    if read::recording() {
        return false;
    }
    let mut found = false;
    for key in map.keys() {
        let name = key_text(key);
        if matches!(key, Value::String(_)) && known.contains(&name.as_str()) {
            continue;
        }
        found = true;
        let fix = suggestion(&read::path(), &name, known);
        let _at = enter(&name);
        report("unknown key", fix);
    }
    found
}

fn suggestion(path: &str, name: &str, known: &[&str]) -> String {
    if let Some(close) = closest(name, known) {
        return format!("remove it, or did you mean `{close}`?");
    }
    let lower = name.to_ascii_lowercase();
    let containing: Vec<String> = known
        .iter()
        .filter(|k| name.len() >= 4 && k.contains(lower.as_str()))
        .map(|k| format!("`{k}`"))
        .collect();
    if !containing.is_empty() {
        return format!("remove it, or did you mean {}?", containing.join(" or "));
    }
    if path.is_empty() {
        // A key of a section written at the top level: point it to its section.
        let section = schema()
            .iter()
            .find(|(section, keys)| is_top_level(section) && keys.contains(&name));
        if let Some((section, _)) = section {
            return format!("move it under `{section}:`");
        }
        return format!(
            "remove it; the keys allowed at the top level are {}",
            known.join(", ")
        );
    }
    format!(
        "remove it; the keys allowed in `{path}` are {}",
        known.join(", ")
    )
}

fn is_top_level(path: &str) -> bool {
    !path.is_empty() && !path.contains('.')
}

/// The known key closest to `name` within an edit distance of 2, if any.
pub(crate) fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Optimal string alignment distance, ignoring case: insertions, deletions, substitutions and adjacent
/// swaps cost 1 (`lsiten` is one edit from `listen`).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(&a.to_lowercase(), &b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env::MapEnv;

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
}
