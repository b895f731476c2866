//! Reading deploy/kubernetes as Kustomize would, for the manifest tests: the resources a kustomization
//! lists (files or other kustomizations), the JSON 6902 `remove` patches it applies, the ConfigMaps its
//! generators make, and the Secrets an operator is told to create (`secret.example.yaml`). When kubectl is
//! installed, kubernetes.rs compares this with what `kubectl kustomize` builds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::support;

/// One kustomization with everything it resolves to.
pub struct Layout {
    pub dir: PathBuf,
    pub objects: Vec<Value>,
    /// config-map name -> key -> file text, from configMapGenerator.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

pub fn root() -> PathBuf {
    support::repo().join("deploy/kubernetes")
}

pub fn read_yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
        })
        .filter(|value| !value.is_null())
        .collect()
}

pub fn str_list(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves a kustomization as `kubectl kustomize` would for what these manifests use: resources (files or
/// other kustomizations), patches that remove a field, and configMapGenerator files.
pub fn resolve(dir: &Path) -> Layout {
    let file = dir.join("kustomization.yaml");
    let kustomization = read_yaml_documents(&file).remove(0);
    let mut layout = Layout {
        dir: dir.to_owned(),
        objects: Vec::new(),
        config_maps: BTreeMap::new(),
    };
    for resource in str_list(&kustomization["resources"]) {
        let path = dir.join(&resource);
        assert!(
            path.exists(),
            "{}: resource {resource} does not exist",
            file.display()
        );
        if path.is_dir() {
            let inner = resolve(&path);
            layout.objects.extend(inner.objects);
            layout.config_maps.extend(inner.config_maps);
        } else {
            layout.objects.extend(read_yaml_documents(&path));
        }
    }
    for patch in kustomization["patches"].as_sequence().into_iter().flatten() {
        apply_patch(&mut layout, patch, &file);
    }
    for generator in kustomization["configMapGenerator"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let name = generator["name"]
            .as_str()
            .expect("a generator name")
            .to_owned();
        let mut keys = BTreeMap::new();
        for file in str_list(&generator["files"]) {
            let text = std::fs::read_to_string(dir.join(&file))
                .unwrap_or_else(|e| panic!("configMapGenerator {name}: {file}: {e}"));
            keys.insert(file, text);
        }
        layout.config_maps.insert(name, keys);
    }
    layout
}

/// A `patches` entry: an inline JSON 6902 patch (RFC 6902) for the objects its target names. Only `remove` is
/// used here; anything else fails the test rather than being skipped.
fn apply_patch(layout: &mut Layout, patch: &Value, file: &Path) {
    let target = &patch["target"];
    let operations: Vec<Value> = serde_yaml::from_str(
        patch["patch"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: an inline patch", file.display())),
    )
    .unwrap_or_else(|e| panic!("{}: the patch does not parse: {e}", file.display()));
    let mut matched = 0;
    for object in layout
        .objects
        .iter_mut()
        .filter(|o| o["kind"] == target["kind"] && o["metadata"]["name"] == target["name"])
    {
        matched += 1;
        for operation in &operations {
            assert_eq!(
                operation["op"],
                "remove",
                "{}: only `remove` patches are resolved here",
                file.display()
            );
            let pointer = operation["path"].as_str().expect("a path");
            let (parent, last) = pointer.rsplit_once('/').expect("a JSON pointer");
            let unescape = |segment: &str| segment.replace("~1", "/").replace("~0", "~");
            let mut at = &mut *object;
            for segment in parent.split('/').skip(1) {
                at = &mut at[unescape(segment).as_str()];
            }
            let removed = at
                .as_mapping_mut()
                .and_then(|mapping| mapping.remove(unescape(last).as_str()));
            assert!(
                removed.is_some(),
                "{}: {pointer} does not exist (RFC 6902 §4.2: removing it fails)",
                file.display()
            );
        }
    }
    assert!(
        matched > 0,
        "{}: the patch's target matches nothing",
        file.display()
    );
}

pub fn layouts() -> Vec<Layout> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("kustomization.yaml").exists())
        .collect();
    dirs.sort();
    dirs.iter().map(|dir| resolve(dir)).collect()
}

/// Secret name -> keys, from the secret.example.yaml beside a layout (the Secrets an operator creates).
pub fn documented_secrets(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut secrets = BTreeMap::new();
    let mut dir = Some(dir);
    while let Some(current) = dir {
        let example = current.join("secret.example.yaml");
        if example.exists() {
            for secret in read_yaml_documents(&example) {
                let keys = secret["stringData"]
                    .as_mapping()
                    .expect("stringData")
                    .keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect();
                secrets.insert(
                    secret["metadata"]["name"].as_str().unwrap().to_owned(),
                    keys,
                );
            }
            return secrets;
        }
        // An overlay documents nothing itself: its base does.
        dir = None;
        let kustomization = read_yaml_documents(&current.join("kustomization.yaml")).remove(0);
        for resource in str_list(&kustomization["resources"]) {
            if current.join(&resource).is_dir() {
                return documented_secrets(&current.join(resource));
            }
        }
    }
    secrets
}

pub fn of_kind<'a>(layout: &'a Layout, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    layout.objects.iter().filter(move |o| o["kind"] == kind)
}

pub fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or("?")
}
