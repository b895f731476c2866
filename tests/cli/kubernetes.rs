//! The manifests in deploy/kubernetes: every kustomization resolves, and what they run is what the binary and
//! its configuration accept. kubeconform's schemas cannot be downloaded here, so the invariants that matter
//! are checked directly: the container's arguments parse with the binary's own command line, probes hit
//! `/healthz` and `/readyz` on the admin port of the mounted configuration, every secret and config-map key
//! referenced exists, security contexts are locked down, and the mounted configuration validates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Parser;
use freshgate::config::{MapEnv, validate};
use serde::Deserialize;
use serde_yaml::Value;

use crate::kustomize::{
    Layout, documented_secrets, layouts, name, of_kind, resolve, root, str_list,
};
use crate::support;

/// The port number of an `address:port` listen value.
fn port_of(listen: &Value) -> u64 {
    listen
        .as_str()
        .and_then(|s| s.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not address:port: {listen:?}"))
}

/// The freshgate container of a pod template, checked against the binary and its mounted configuration.
fn check_freshgate_container(
    layout: &Layout,
    template: &Value,
    container: &Value,
    secrets: &BTreeMap<String, BTreeSet<String>>,
) {
    let pod = &template["spec"];
    let at = format!(
        "{}: container {}",
        layout.dir.display(),
        container["name"].as_str().unwrap()
    );
    // The image's entrypoint is the binary; a command, if any, must be it.
    let command = str_list(&container["command"]);
    assert!(
        command.is_empty() || command == ["freshgate"],
        "{at}: command {command:?}"
    );
    let args = str_list(&container["args"]);
    let cli = freshgate::cli::Cli::try_parse_from(
        std::iter::once("freshgate".to_owned()).chain(args.clone()),
    )
    .unwrap_or_else(|e| panic!("{at}: args {args:?} do not parse: {e}"));
    let freshgate::cli::Command::Serve(config) = cli.command else {
        panic!("{at}: runs {args:?}, not `serve`");
    };
    let config_path = config.config.expect("-c names the configuration");

    // The configuration file is a key of a config map mounted as a directory. Not with `subPath`: the kubelet
    // never updates a subPath mount, so an edited ConfigMap would not reach the gateway's reload.
    let volumes = pod["volumes"].as_sequence().expect("volumes");
    let mounts = container["volumeMounts"]
        .as_sequence()
        .expect("volume mounts");
    let config_dir = config_path.parent().expect("the file is in a directory");
    let mount = mounts
        .iter()
        .find(|m| Path::new(m["mountPath"].as_str().unwrap()) == config_dir)
        .unwrap_or_else(|| panic!("{at}: nothing is mounted at {}", config_dir.display()));
    assert!(
        mount["subPath"].is_null(),
        "{at}: the configuration is mounted with subPath, which never sees a ConfigMap update"
    );
    let volume = volumes
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mount's volume");
    let map = volume["configMap"]["name"]
        .as_str()
        .expect("a config-map volume");
    let key = config_path
        .file_name()
        .and_then(|name| name.to_str())
        .expect("a file name: the key");
    let yaml = layout
        .config_maps
        .get(map)
        .and_then(|keys| keys.get(key))
        .unwrap_or_else(|| panic!("{at}: config map {map} has no key {key}"));
    let gateway: Value = serde_yaml::from_str(yaml).unwrap();

    // Ports and probes follow the configuration: /healthz and /readyz on the admin listener.
    let ports: BTreeMap<&str, u64> = container["ports"]
        .as_sequence()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["containerPort"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports.get("http"),
        Some(&port_of(&gateway["listen"])),
        "{at}: listen port"
    );
    let admin = port_of(&gateway["admin_listen"]);
    assert!(
        gateway["admin_listen"]
            .as_str()
            .unwrap()
            .starts_with("0.0.0.0:"),
        "{at}: probes come from outside the container"
    );
    assert_eq!(ports.get("admin"), Some(&admin), "{at}: admin port");
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{at}: {probe}");
        let port = match &get["port"] {
            Value::String(name) => ports[name.as_str()],
            other => other.as_u64().unwrap(),
        };
        assert_eq!(port, admin, "{at}: {probe} on the admin port");
    }
    let annotations = &template["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true", "{at}");
    assert_eq!(
        annotations["prometheus.io/port"],
        admin.to_string().as_str(),
        "{at}: scrape port"
    );
    assert_eq!(annotations["prometheus.io/path"], "/metrics", "{at}");

    // Locked down: the image's user, no privilege, nothing written to the image.
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true, "{at}");
    let user = security["runAsUser"]
        .as_u64()
        .or(pod["securityContext"]["runAsUser"].as_u64());
    assert_eq!(user, Some(10001), "{at}: the image's user");
    for limit in ["cpu", "memory"] {
        assert!(
            container["resources"]["limits"][limit].is_string(),
            "{at}: {limit} limit"
        );
    }

    // Every secret file the configuration names is a key of a mounted Secret, and the configuration
    // validates once those files exist.
    let dir = tempfile::tempdir().unwrap();
    let mut text = yaml.clone();
    for mount in mounts {
        let volume = volumes.iter().find(|v| v["name"] == mount["name"]).unwrap();
        let Some(secret) = volume["secret"]["secretName"].as_str() else {
            continue;
        };
        let mount_path = mount["mountPath"].as_str().unwrap();
        for item in volume["secret"]["items"]
            .as_sequence()
            .expect("items: the files")
        {
            let key = item["key"].as_str().unwrap();
            assert!(
                secrets.get(secret).is_some_and(|keys| keys.contains(key)),
                "{at}: secret {secret} has no key {key}"
            );
            let file = dir.path().join(item["path"].as_str().unwrap());
            let content = if key.ends_with(".key") {
                std::fs::read_to_string(support::repo().join("certs/freshworks-signing.key"))
                    .unwrap()
            } else {
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()
            };
            std::fs::write(&file, content).unwrap();
        }
        text = text.replace(
            &format!("{mount_path}/"),
            &format!("{}/", dir.path().display()),
        );
    }
    let mut files = Vec::new();
    file_values(&serde_yaml::from_str(&text).unwrap(), &mut files);
    assert!(files.len() >= 3, "{at}: {files:?}");
    for file in files {
        assert!(
            file.starts_with(dir.path()),
            "{at}: {} is not in a mounted secret",
            file.display()
        );
    }
    if let Err(errors) = validate::load_str(&text, &dir.path().join("gateway.yaml"), &MapEnv::new())
    {
        panic!("{at}: the mounted configuration does not validate: {errors}");
    }
}

/// Every `*_file` value of a configuration.
pub(crate) fn file_values(value: &Value, files: &mut Vec<PathBuf>) {
    if let Some(mapping) = value.as_mapping() {
        for (key, value) in mapping {
            match (key.as_str(), value.as_str()) {
                (Some(key), Some(path)) if key.ends_with("_file") => files.push(path.into()),
                _ => file_values(value, files),
            }
        }
    }
}

#[test]
fn every_kubernetes_layout_runs_what_the_binary_and_its_configuration_accept() {
    let layouts = layouts();
    let names: Vec<String> = layouts
        .iter()
        .map(|l| l.dir.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["sidecar", "standalone", "standalone-servicemonitor"]
    );
    for layout in &layouts {
        let secrets = documented_secrets(&layout.dir);
        let mut freshgate_containers = 0;
        for deployment in of_kind(layout, "Deployment") {
            let template = &deployment["spec"]["template"];
            let pod = &template["spec"];
            assert_eq!(
                pod["securityContext"]["runAsNonRoot"],
                true,
                "{}: {}",
                layout.dir.display(),
                name(deployment)
            );
            assert_eq!(pod["automountServiceAccountToken"], false);
            for container in pod["containers"].as_sequence().unwrap() {
                let at = format!(
                    "{}: {}",
                    layout.dir.display(),
                    container["name"].as_str().unwrap()
                );
                let security = &container["securityContext"];
                assert_eq!(security["allowPrivilegeEscalation"], false, "{at}");
                assert_eq!(str_list(&security["capabilities"]["drop"]), ["ALL"], "{at}");
                assert!(
                    container["resources"]["requests"]["memory"].is_string(),
                    "{at}: requests"
                );
                assert!(
                    container["readinessProbe"].is_mapping()
                        && container["livenessProbe"].is_mapping(),
                    "{at}: probes"
                );
                for variable in container["env"].as_sequence().into_iter().flatten() {
                    let reference = &variable["valueFrom"]["secretKeyRef"];
                    if let Some(secret) = reference["name"].as_str() {
                        let key = reference["key"].as_str().unwrap();
                        assert!(
                            secrets.get(secret).is_some_and(|keys| keys.contains(key)),
                            "{at}: secret {secret} has no key {key}"
                        );
                    }
                }
                if container["image"]
                    .as_str()
                    .unwrap()
                    .starts_with("freshgate")
                {
                    freshgate_containers += 1;
                    check_freshgate_container(layout, template, container, &secrets);
                }
            }
        }
        assert_eq!(
            freshgate_containers,
            1,
            "{}: one freshgate container",
            layout.dir.display()
        );
        check_services_and_ingress(layout);
    }
}

/// Services select pods that have the named ports; the Ingress sends browsers to the gateway's port.
fn check_services_and_ingress(layout: &Layout) {
    let at = layout.dir.display();
    let pods: Vec<&Value> = of_kind(layout, "Deployment")
        .map(|d| &d["spec"]["template"])
        .collect();
    for service in of_kind(layout, "Service") {
        let selector = service["spec"]["selector"].as_mapping().unwrap();
        let pod = pods
            .iter()
            .find(|pod| {
                selector
                    .iter()
                    .all(|(k, v)| &pod["metadata"]["labels"][k] == v)
            })
            .unwrap_or_else(|| panic!("{at}: service {} selects no pod", name(service)));
        let container_ports: BTreeSet<&str> = pod["spec"]["containers"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|c| c["ports"].as_sequence().into_iter().flatten())
            .filter_map(|p| p["name"].as_str())
            .collect();
        let ports = service["spec"]["ports"].as_sequence().unwrap();
        for port in ports {
            let target = port["targetPort"].as_str().unwrap();
            assert!(
                container_ports.contains(target),
                "{at}: service port {target}"
            );
        }
        let target_of = |name: &str| {
            ports
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["targetPort"].clone())
        };
        for ingress in of_kind(layout, "Ingress") {
            for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
                for path in rule["http"]["paths"].as_sequence().unwrap() {
                    let backend = &path["backend"]["service"];
                    assert_eq!(backend["name"], service["metadata"]["name"], "{at}");
                    let port = backend["port"]["name"].as_str().unwrap();
                    assert_eq!(
                        target_of(port),
                        Some("http".into()),
                        "{at}: the Ingress reaches the gateway, not the admin port or the provider"
                    );
                }
            }
        }
        for monitor in of_kind(layout, "ServiceMonitor") {
            for endpoint in monitor["spec"]["endpoints"].as_sequence().unwrap() {
                let port = endpoint["port"].as_str().unwrap();
                assert_eq!(
                    target_of(port),
                    Some("admin".into()),
                    "{at}: scraped on the admin port"
                );
                assert_eq!(endpoint["path"], "/metrics");
            }
        }
    }
}

#[test]
fn the_standalone_layout_keeps_two_replicas_through_scaling_and_disruptions() {
    let layout = resolve(&root().join("standalone"));
    let deployment = of_kind(&layout, "Deployment").next().expect("a Deployment");
    assert!(deployment["spec"]["replicas"].as_u64() >= Some(2));
    let hpa = of_kind(&layout, "HorizontalPodAutoscaler")
        .next()
        .expect("an HPA");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    assert!(hpa["spec"]["minReplicas"].as_u64() >= Some(2));
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for kind in ["PodDisruptionBudget", "NetworkPolicy"] {
        let object = of_kind(&layout, kind)
            .next()
            .unwrap_or_else(|| panic!("a {kind}"));
        let selector = object["spec"]["selector"]["matchLabels"]
            .as_mapping()
            .or(object["spec"]["podSelector"]["matchLabels"].as_mapping())
            .unwrap();
        assert!(
            selector.iter().all(|(k, v)| &labels[k] == v),
            "{kind} selects the gateway's pods"
        );
    }
    assert!(
        of_kind(&layout, "PodDisruptionBudget").next().unwrap()["spec"]["minAvailable"].as_u64()
            >= Some(1)
    );
}

#[test]
fn kubectl_kustomize_builds_every_layout_when_kubectl_is_installed() {
    let Ok(version) = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
    else {
        eprintln!(
            "kubectl is not installed: the kustomizations were resolved by the test above only"
        );
        return;
    };
    assert!(version.status.success());
    for layout in layouts() {
        let output = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(&layout.dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            layout.dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let built: Vec<Value> = serde_yaml::Deserializer::from_slice(&output.stdout)
            .map(|d| Value::deserialize(d).unwrap())
            .collect();
        assert_eq!(
            built.len(),
            layout.objects.len() + layout.config_maps.len(),
            "{}: the test resolved what kubectl builds",
            layout.dir.display()
        );
    }
}
