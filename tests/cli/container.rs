//! The container image as the Dockerfile and README document it: the image's command parses, the ports it
//! exposes are the ones examples/container.yaml listens on, that configuration validates with nothing but
//! the secret files the `docker run` line mounts, and the HEALTHCHECK's command parses and answers for a
//! gateway running that configuration. (Building the image needs a container engine and registry this test
//! cannot count on; the binary it runs is the one tested here.)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use freshgate::config::{MapEnv, validate};
use serde_yaml::Value;

use crate::kubernetes::file_values;
use crate::support::{self, Gateway, Idp};

/// The JSON-array form of a Dockerfile instruction (`CMD ["serve", ...]`).
fn exec_form(dockerfile: &str, instruction: &str) -> Vec<String> {
    let line = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("the Dockerfile has no {instruction}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{instruction} {line}: {e}"))
}

/// The files the docker run line's steps make, in a directory standing in for the mount.
fn mounted_secrets() -> tempfile::TempDir {
    let secrets = tempfile::tempdir().unwrap();
    let repo = support::repo();
    for (file, from) in [
        ("gateway.crt", Some("certs/gateway.crt")),
        ("gateway.key", Some("certs/gateway.key")),
        ("client-secret", None),
        ("cookie-key", None),
    ] {
        let content = match from {
            Some(path) => std::fs::read_to_string(repo.join(path)).unwrap(),
            None => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        };
        let path = secrets.path().join(file);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
    }
    // As the README's docker run line makes it: a key of its own (the image refuses the committed ones
    // where public_url is not local).
    support::keygen(&secrets.path().join("freshworks-signing.key"));
    secrets
}

const MOUNT: &str = "/etc/freshgate/secrets";

#[test]
fn the_container_configuration_runs_with_the_files_the_docker_run_line_mounts() {
    let dockerfile = std::fs::read_to_string(support::repo().join("Dockerfile")).unwrap();
    assert_eq!(exec_form(&dockerfile, "ENTRYPOINT"), ["freshgate"]);
    let command = exec_form(&dockerfile, "CMD");
    let cli = freshgate::cli::Cli::try_parse_from(
        std::iter::once("freshgate".to_owned()).chain(command.clone()),
    )
    .unwrap_or_else(|e| panic!("CMD {command:?}: {e}"));
    let freshgate::cli::Command::Serve(config) = cli.command else {
        panic!("CMD {command:?} is not `serve`");
    };
    let config_path = config.config.expect("CMD names the configuration");
    assert!(
        dockerfile.contains(&format!(
            "examples/container.yaml:{}:ro",
            config_path.display()
        )),
        "the docker run line mounts examples/container.yaml where CMD reads it"
    );
    assert!(dockerfile.contains("USER 10001:10001"), "a non-root image");

    let text = std::fs::read_to_string(support::repo().join("examples/container.yaml")).unwrap();
    let yaml: Value = serde_yaml::from_str(&text).unwrap();
    let port = |key: &str| {
        yaml[key]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_owned()
    };
    let exposed = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("EXPOSE "))
        .expect("EXPOSE");
    assert_eq!(
        exposed,
        format!("{} {}", port("listen"), port("admin_listen"))
    );
    assert!(
        yaml["admin_listen"]
            .as_str()
            .unwrap()
            .starts_with("0.0.0.0:"),
        "health checks reach the admin listener from outside the container"
    );

    let mount = MOUNT;
    assert!(dockerfile.contains(&format!("-v \"$PWD/secrets:{mount}:ro\"")));
    let secrets = mounted_secrets();
    for file in std::fs::read_dir(secrets.path()).unwrap() {
        let file = file.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            dockerfile.contains(&format!("secrets/{file}"))
                || dockerfile.contains(&format!("/out/{file}"))
                || dockerfile.contains(&format!("certs/{file}")),
            "the steps make {file}"
        );
    }
    let text = text.replace(
        &format!("{mount}/"),
        &format!("{}/", secrets.path().display()),
    );
    let mut files: Vec<PathBuf> = Vec::new();
    file_values(&serde_yaml::from_str(&text).unwrap(), &mut files);
    assert_eq!(files.len(), 5, "{files:?}");
    for file in &files {
        assert!(
            file.starts_with(secrets.path()),
            "{} is not in the mounted secrets",
            file.display()
        );
    }
    let env = MapEnv::new();
    if let Err(errors) = validate::load_str(&text, &secrets.path().join("gateway.yaml"), &env) {
        panic!("examples/container.yaml does not validate with the mounted files: {errors}");
    }
}

/// The HEALTHCHECK instruction: its options and its command.
fn healthcheck(dockerfile: &str) -> (Vec<(String, String)>, Vec<String>) {
    let line = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("HEALTHCHECK "))
        .expect("the Dockerfile has a HEALTHCHECK");
    let (options, command) = line.split_once(" CMD ").expect("HEALTHCHECK … CMD [...]");
    let options = options
        .split_whitespace()
        .map(|option| {
            let (name, value) = option
                .trim_start_matches("--")
                .split_once('=')
                .unwrap_or_else(|| panic!("--name=value: {option}"));
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let command = serde_json::from_str(command).unwrap_or_else(|e| panic!("CMD {command}: {e}"));
    (options, command)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_healthcheck_asks_the_readiness_of_the_configuration_the_image_serves() {
    let dockerfile = std::fs::read_to_string(support::repo().join("Dockerfile")).unwrap();
    let (options, command) = healthcheck(&dockerfile);
    // Exec form, no shell: the binary the image installs on PATH.
    assert_eq!(command[0], "freshgate");
    assert!(dockerfile.contains("COPY --from=builder /out/freshgate /usr/local/bin/freshgate"));
    let cli = freshgate::cli::Cli::try_parse_from(command.clone())
        .unwrap_or_else(|e| panic!("HEALTHCHECK {command:?}: {e}"));
    let freshgate::cli::Command::Health {
        config,
        url,
        timeout,
    } = cli.command
    else {
        panic!("HEALTHCHECK {command:?} is not `freshgate health`");
    };
    assert_eq!(url, None, "it asks the configuration's own admin listener");
    let served = exec_form(&dockerfile, "CMD");
    let freshgate::cli::Command::Serve(serve) =
        freshgate::cli::Cli::try_parse_from(std::iter::once("freshgate".to_owned()).chain(served))
            .unwrap()
            .command
    else {
        panic!("CMD is serve");
    };
    assert_eq!(config.config, serve.config, "the configuration CMD serves");
    let option = |name: &str| {
        options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| freshgate::config::duration::parse(v).unwrap())
            .unwrap_or_else(|| panic!("HEALTHCHECK --{name}"))
    };
    assert!(
        timeout < option("timeout"),
        "freshgate health gives up ({timeout:?}) before Docker kills it"
    );
    assert!(option("interval") >= option("timeout"));

    // The same command against a gateway running the image's configuration (its files in a temporary
    // mount, the provider the tests' own, the admin listener on a wildcard address as in the image).
    let secrets = mounted_secrets();
    let idp = Idp::shared();
    let admin_port = support::free_port();
    let yaml = std::fs::read_to_string(support::repo().join("examples/container.yaml"))
        .unwrap()
        .replace(
            &format!("{MOUNT}/"),
            &format!("{}/", secrets.path().display()),
        )
        .replace("listen: 0.0.0.0:8443", "listen: 127.0.0.1:0")
        .replace("0.0.0.0:9901", &format!("0.0.0.0:{admin_port}"))
        .replace(
            "https://sso.example.com/realms/acme",
            "http://sso.freshgate.test/realms/acme",
        )
        .replace(
            "http://keycloak:8080",
            &format!("http://127.0.0.1:{}", idp.port),
        );
    let gateway = Gateway::start_yaml(&yaml);
    let config = gateway.dir.path().join("gateway.yaml");
    let mut args = command.clone();
    let at = args.iter().position(|a| a == "-c").unwrap() + 1;
    args[at] = config.to_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let output = std::process::Command::new(support::binary())
            .args(&args[1..])
            .output()
            .unwrap();
        let out = crate::text(&output);
        if output.status.success() {
            assert!(
                out.contains(&format!("ready (http://127.0.0.1:{admin_port}/readyz)")),
                "{out}"
            );
            break;
        }
        assert!(
            out.contains("not ready"),
            "a gateway that is not ready yet says so: {out}"
        );
        assert!(
            Instant::now() < deadline,
            "the gateway never became ready: {out}\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
