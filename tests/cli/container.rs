//! The container image as the Dockerfile and README document it: the image's command parses, the ports it
//! exposes are the ones examples/container.yaml listens on, and that configuration validates with nothing but
//! the secret files the `docker run` line mounts. (Building the image needs a container registry this test
//! cannot count on; the binary it runs is the one tested here.)

use std::path::PathBuf;

use clap::Parser;
use freshgate::config::{MapEnv, validate};
use serde_yaml::Value;

use crate::kubernetes::file_values;
use crate::support;

/// The JSON-array form of a Dockerfile instruction (`CMD ["serve", ...]`).
fn exec_form(dockerfile: &str, instruction: &str) -> Vec<String> {
    let line = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("the Dockerfile has no {instruction}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{instruction} {line}: {e}"))
}

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

    // The files the docker run line's steps make, in a directory standing in for the mount.
    let mount = "/etc/freshgate/secrets";
    assert!(dockerfile.contains(&format!("-v \"$PWD/secrets:{mount}:ro\"")));
    let secrets = tempfile::tempdir().unwrap();
    let repo = support::repo();
    for (file, from) in [
        ("gateway.crt", Some("certs/gateway.crt")),
        ("gateway.key", Some("certs/gateway.key")),
        (
            "freshworks-signing.key",
            Some("certs/freshworks-signing.key"),
        ),
        ("client-secret", None),
        ("cookie-key", None),
    ] {
        assert!(
            dockerfile.contains(&format!("secrets/{file}"))
                || dockerfile.contains(&format!("/out/{file}"))
                || dockerfile.contains(&format!("certs/{file}")),
            "the steps make {file}"
        );
        let content = match from {
            Some(path) => std::fs::read_to_string(repo.join(path)).unwrap(),
            None => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        };
        std::fs::write(secrets.path().join(file), content).unwrap();
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
