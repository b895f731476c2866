//! The manifests in deploy/kubernetes: every kustomization resolves, and what they run is what the binary and
//! its configuration accept. kubeconform's schemas cannot be downloaded here, so the invariants that matter
//! are checked directly: the container's arguments parse with the binary's own command line, probes hit
//! `/healthz` and `/readyz` on the admin port of the mounted configuration, every secret and config-map key
//! referenced exists, security contexts are locked down, the mounted configuration validates, the pod's
//! termination grace covers the gateway's shutdown delay and grace, each layout is scraped one way, no
//! replica count fights an autoscaler, and the network policy lets the gateway reach what it is configured to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Parser;
use freshgate::config::{Config, MapEnv, validate};
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

/// The freshgate container of a pod template, checked against the binary and its mounted configuration,
/// which it returns.
fn check_freshgate_container(
    layout: &Layout,
    template: &Value,
    container: &Value,
    secrets: &BTreeMap<String, BTreeSet<String>>,
) -> Config {
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
    // Scraped by annotation, when it is (else a ServiceMonitor: `each_layout_is_scraped_one_way`).
    let annotations = &template["metadata"]["annotations"];
    if !annotations["prometheus.io/scrape"].is_null() {
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{at}");
        assert_eq!(
            annotations["prometheus.io/port"],
            admin.to_string().as_str(),
            "{at}: scrape port"
        );
        assert_eq!(annotations["prometheus.io/path"], "/metrics", "{at}");
    }

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
    validate::load_str(&text, &dir.path().join("gateway.yaml"), &MapEnv::new()).unwrap_or_else(
        |errors| panic!("{at}: the mounted configuration does not validate: {errors}"),
    )
}

/// On SIGTERM the gateway serves on for `limits.shutdown_delay`, then drains for up to
/// `limits.shutdown_grace`: the kubelet must not kill it before both are over, and any container it passes
/// requests to in the same pod (Keycloak, in the sidecar layout) must still serve during the delay.
fn check_shutdown(layout: &Layout, template: &Value, config: &Config) {
    let at = layout.dir.display();
    let pod = &template["spec"];
    let limits = &config.limits;
    let needed = limits.shutdown_delay + limits.shutdown_grace;
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    assert!(
        grace >= needed.as_secs(),
        "{at}: terminationGracePeriodSeconds {grace} is shorter than limits.shutdown_delay + \
         limits.shutdown_grace ({needed:?}): the kubelet would kill the gateway mid-drain"
    );
    assert!(
        !limits.shutdown_delay.is_zero(),
        "{at}: limits.shutdown_delay is 0: the pod refuses connections while endpoints update"
    );
    for other in pod["containers"].as_sequence().unwrap() {
        if other["image"].as_str().unwrap().starts_with("freshgate") {
            continue;
        }
        let sleep = other["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap_or(0);
        assert!(
            sleep >= limits.shutdown_delay.as_secs(),
            "{at}: container {} stops before the gateway's shutdown delay ends (preStop sleep {sleep}s)",
            other["name"].as_str().unwrap()
        );
        assert!(
            grace >= sleep,
            "{at}: the grace period covers the preStop sleep"
        );
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
                    let config = check_freshgate_container(layout, template, container, &secrets);
                    check_shutdown(layout, template, &config);
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
fn no_replica_count_fights_an_autoscaler() {
    for layout in layouts() {
        for hpa in of_kind(&layout, "HorizontalPodAutoscaler") {
            let target = &hpa["spec"]["scaleTargetRef"];
            let deployment = layout
                .objects
                .iter()
                .find(|o| o["kind"] == target["kind"] && o["metadata"]["name"] == target["name"])
                .unwrap_or_else(|| panic!("{}: the HPA's target exists", layout.dir.display()));
            assert!(
                deployment["spec"]["replicas"].is_null(),
                "{}: {} sets replicas, which every `kubectl apply -k` would reset under the HPA",
                layout.dir.display(),
                name(deployment)
            );
        }
    }
}

#[test]
fn each_layout_is_scraped_one_way() {
    for layout in layouts() {
        let annotated = of_kind(&layout, "Deployment")
            .filter(|d| {
                !d["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"].is_null()
            })
            .count();
        let monitors =
            of_kind(&layout, "ServiceMonitor").count() + of_kind(&layout, "PodMonitor").count();
        assert_eq!(
            annotated + monitors,
            1,
            "{}: {annotated} annotated pod templates and {monitors} monitors: Prometheus would scrape the \
             gateway {} times",
            layout.dir.display(),
            annotated + monitors
        );
    }
}

/// Where a URL of the configuration connects: its port, or its scheme's default.
fn port_of_url(text: &str) -> u16 {
    let url = url::Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    url.port().unwrap_or(match url.scheme() {
        "http" => 80,
        "https" => 443,
        "ldap" => 389,
        "ldaps" => 636,
        "redis" | "rediss" => 6379,
        other => panic!("{text}: no default port known for {other}"),
    })
}

/// Whether an egress rule admits `port` over `protocol` (a rule without ports admits every port).
fn admits(rule: &Value, port: u16, protocol: &str) -> bool {
    match rule["ports"].as_sequence() {
        None => true,
        Some(ports) => ports.iter().any(|p| {
            p["port"].as_u64() == Some(u64::from(port))
                && p["protocol"].as_str().unwrap_or("TCP") == protocol
        }),
    }
}

#[test]
fn the_network_policy_lets_the_gateway_reach_what_a_real_setup_needs() {
    let mut checked = 0;
    for layout in layouts() {
        let at = layout.dir.display().to_string();
        for policy in of_kind(&layout, "NetworkPolicy") {
            if !str_list(&policy["spec"]["policyTypes"]).contains(&"Egress".to_owned()) {
                // The sidecar's: the pod's egress is Keycloak's to decide (docs/kubernetes.md).
                continue;
            }
            checked += 1;
            let rules = policy["spec"]["egress"]
                .as_sequence()
                .expect("egress rules");
            let allowed =
                |port: u16, protocol: &str| rules.iter().any(|r| admits(r, port, protocol));
            // DNS, and what the real setups need: a provider on the internet (Okta, Entra ID), the
            // domain controllers (LDAPS, the global catalog over TLS), Redis or Valkey.
            for (port, protocol) in [
                (53, "UDP"),
                (53, "TCP"),
                (443, "TCP"),
                (636, "TCP"),
                (3269, "TCP"),
                (6379, "TCP"),
            ] {
                assert!(
                    allowed(port, protocol),
                    "{at}: no egress to {port}/{protocol}"
                );
            }
            // And every address the mounted configuration names.
            for yaml in layout.config_maps.values().flat_map(|keys| keys.values()) {
                let config: Value = serde_yaml::from_str(yaml).unwrap();
                let mut urls: Vec<String> = Vec::new();
                let upstream = &config["upstream"];
                for key in ["backchannel_url", "proxy_to", "issuer"] {
                    urls.extend(upstream[key].as_str().map(str::to_owned));
                }
                match &config["directory"]["url"] {
                    Value::String(url) => urls.push(url.clone()),
                    other => urls.extend(str_list(other)),
                }
                urls.extend(config["store"]["url"].as_str().map(str::to_owned));
                assert!(!urls.is_empty(), "{at}: the configuration names addresses");
                for url in urls {
                    assert!(
                        allowed(port_of_url(&url), "TCP"),
                        "{at}: the network policy blocks {url}"
                    );
                }
            }
        }
    }
    assert!(checked >= 2, "the standalone layouts restrict egress");
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
        // The fields the checks above read where a patch or a base could change them.
        for deployment in built.iter().filter(|o| o["kind"] == "Deployment") {
            let resolved = of_kind(&layout, "Deployment")
                .find(|d| d["metadata"]["name"] == deployment["metadata"]["name"])
                .expect("the same Deployment");
            for (what, built, ours) in [
                (
                    "annotations",
                    &deployment["spec"]["template"]["metadata"]["annotations"],
                    &resolved["spec"]["template"]["metadata"]["annotations"],
                ),
                (
                    "replicas",
                    &deployment["spec"]["replicas"],
                    &resolved["spec"]["replicas"],
                ),
                (
                    "terminationGracePeriodSeconds",
                    &deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
                    &resolved["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
                ),
            ] {
                assert_eq!(built, ours, "{}: {what}", layout.dir.display());
            }
        }
    }
}
