//! deploy/systemd: the unit passes `systemd-analyze verify` and keeps its `systemd-analyze security` score,
//! runs what the binary's command line accepts, gives the gateway the credentials its example configuration
//! names and the time its shutdown takes, and, run as the unit runs it (credentials directory, notification
//! socket, `ExecReload=`), serves and reloads. No service manager runs the tests, so the last part plays
//! systemd's side: the environment it sets and the command it runs.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use freshgate::config::{MapEnv, validate};

use crate::support::{self, Gateway, Idp};

/// The highest `systemd-analyze security` exposure the unit may have (0 is the best, 10 the worst; the
/// unit scores 1.5 with systemd 252).
const MAX_EXPOSURE: f64 = 2.0;

fn dir() -> PathBuf {
    support::repo().join("deploy/systemd")
}

/// A unit file as `key -> values`, every section together (the names do not repeat across sections here).
fn unit() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(dir().join("freshgate.service")).unwrap();
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';', '[']) {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        keys.entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    keys
}

fn one<'a>(unit: &'a BTreeMap<String, Vec<String>>, key: &str) -> &'a str {
    match unit.get(key).map(Vec::as_slice) {
        Some([value]) => value,
        other => panic!("{key}: {other:?}"),
    }
}

fn systemd_analyze(args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "systemd-analyze does not run ({e}): apt-get install systemd (scripts/test does)"
            )
        })
}

/// The unit with `ExecStart=` pointing at the built binary: `verify` checks that the program exists.
fn unit_for_the_built_binary(into: &Path) -> PathBuf {
    let text = std::fs::read_to_string(dir().join("freshgate.service")).unwrap();
    let installed = one(&unit(), "ExecStart")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let file = into.join("freshgate.service");
    std::fs::write(&file, text.replace(&installed, support::binary())).unwrap();
    file
}

#[test]
fn the_unit_passes_systemd_analyze_verify_and_keeps_its_security_score() {
    let scratch = tempfile::tempdir().unwrap();
    let file = unit_for_the_built_binary(scratch.path());
    let output = systemd_analyze(&["verify", file.to_str().unwrap()]);
    let said = crate::text(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.trim().is_empty(), "verify warns: {said}");

    let output = systemd_analyze(&["security", "--offline=yes", file.to_str().unwrap()]);
    let said = crate::text(&output);
    let exposure: f64 = said
        .lines()
        .find_map(|line| line.split_once("Overall exposure level for freshgate.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|score| score.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure in:\n{said}"));
    eprintln!("systemd-analyze security: exposure {exposure}");
    assert!(
        exposure <= MAX_EXPOSURE,
        "the sandbox weakened: exposure {exposure} > {MAX_EXPOSURE}\n{said}"
    );
}

/// The credentials and TLS files of the example configuration, in a directory standing in for
/// `$CREDENTIALS_DIRECTORY`, and the configuration with the TLS paths pointing at the development ones.
fn credentials(unit: &BTreeMap<String, Vec<String>>) -> (tempfile::TempDir, String) {
    let credentials = tempfile::tempdir().unwrap();
    let repo = support::repo();
    for load in &unit["LoadCredential"] {
        let (id, source) = load.split_once(':').expect("LoadCredential=ID:PATH");
        assert!(
            source.starts_with("/etc/freshgate/credentials/"),
            "{load}: kept apart from the configuration"
        );
        if id.ends_with(".key") {
            // As the README's steps make it: `freshgate keygen`, never a committed key.
            support::keygen(&credentials.path().join(id));
        } else {
            std::fs::write(
                credentials.path().join(id),
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            )
            .unwrap();
        }
        std::fs::set_permissions(
            credentials.path().join(id),
            std::os::unix::fs::PermissionsExt::from_mode(0o400),
        )
        .unwrap();
    }
    // The TLS files as the README installs them: the key readable by the gateway's user only.
    let tls = credentials.path().join("tls");
    std::fs::create_dir(&tls).unwrap();
    for (from, to) in [
        ("gateway.crt", "fullchain.pem"),
        ("gateway.key", "privkey.pem"),
    ] {
        std::fs::copy(repo.join("certs").join(from), tls.join(to)).unwrap();
        std::fs::set_permissions(
            tls.join(to),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
    }
    let yaml = std::fs::read_to_string(dir().join("gateway.yaml"))
        .unwrap()
        .replace("/etc/freshgate/tls/", &format!("{}/", tls.display()));
    (credentials, yaml)
}

#[test]
fn the_unit_runs_what_the_binary_and_its_example_configuration_accept() {
    let unit = unit();
    assert_eq!(one(&unit, "Type"), "notify", "the gateway sends READY=1");
    let exec_start: Vec<&str> = one(&unit, "ExecStart").split_whitespace().collect();
    assert_eq!(
        Path::new(exec_start[0]).file_name().unwrap(),
        "freshgate",
        "{exec_start:?}"
    );
    let cli = freshgate::cli::Cli::try_parse_from(&exec_start)
        .unwrap_or_else(|e| panic!("ExecStart {exec_start:?}: {e}"));
    let freshgate::cli::Command::Serve(serve) = cli.command else {
        panic!("ExecStart runs {exec_start:?}, not serve");
    };
    assert_eq!(
        serve.config.as_deref(),
        Some(Path::new("/etc/freshgate/gateway.yaml"))
    );
    assert_eq!(one(&unit, "ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one(&unit, "Restart"), "on-failure");
    // A dedicated user, from the sysusers.d file beside the unit.
    let sysusers = std::fs::read_to_string(dir().join("freshgate.sysusers")).unwrap();
    let user = one(&unit, "User");
    assert!(
        sysusers
            .lines()
            .any(|line| line.starts_with(&format!("u {user} "))),
        "{sysusers}"
    );
    assert_ne!(user, "root");
    // Capabilities only to bind 443, and no way to gain more.
    assert_eq!(one(&unit, "CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
    assert_eq!(one(&unit, "AmbientCapabilities"), "CAP_NET_BIND_SERVICE");
    assert_eq!(one(&unit, "NoNewPrivileges"), "yes");
    assert_eq!(one(&unit, "ProtectSystem"), "strict");
    assert!(
        !unit.contains_key("ReadWritePaths"),
        "the gateway writes no file"
    );

    // Every credential the configuration reads is loaded, and every one loaded is read.
    let (credentials, yaml) = credentials(&unit);
    let loaded: Vec<&str> = unit["LoadCredential"]
        .iter()
        .map(|load| load.split_once(':').unwrap().0)
        .collect();
    let read: Vec<&str> = yaml
        .match_indices("${CREDENTIALS_DIRECTORY}/")
        .map(|(at, prefix)| {
            let rest = &yaml[at + prefix.len()..];
            &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())]
        })
        .collect();
    let (mut loaded_sorted, mut read_sorted) = (loaded.clone(), read.clone());
    loaded_sorted.sort();
    read_sorted.sort();
    assert_eq!(loaded_sorted, read_sorted);
    let env = MapEnv::new().with(
        "CREDENTIALS_DIRECTORY",
        credentials.path().to_str().unwrap(),
    );
    let config = validate::load_str(&yaml, &dir().join("gateway.yaml"), &env)
        .unwrap_or_else(|errors| panic!("deploy/systemd/gateway.yaml: {errors}"));
    // systemd waits for the shutdown delay and the drain before it kills the gateway.
    let stop = freshgate::config::duration::parse(one(&unit, "TimeoutStopSec")).unwrap();
    assert!(
        stop >= config.limits.shutdown_delay + config.limits.shutdown_grace,
        "TimeoutStopSec {stop:?} is shorter than limits.shutdown_delay + limits.shutdown_grace"
    );
    assert!(
        config.listen.port() < 1024,
        "the capability is there for a privileged port"
    );
    assert!(
        freshgate::config::warnings(&config).is_empty(),
        "{:?}",
        freshgate::config::warnings(&config)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_serves_and_reloads_as_the_unit_runs_it() {
    let unit = unit();
    let (credentials, yaml) = credentials(&unit);
    let idp = Idp::shared();
    let yaml = yaml
        .replace("listen: 0.0.0.0:443", "listen: 127.0.0.1:0")
        .replace("admin_listen: 127.0.0.1:9901", "admin_listen: 127.0.0.1:0")
        .replace(
            "  issuer: https://acme.okta.com/oauth2/default",
            &format!(
                "  issuer: http://sso.freshgate.test/realms/acme\n  backchannel_url: http://127.0.0.1:{}",
                idp.port
            ),
        );
    let notify = tempfile::tempdir().unwrap();
    let socket_path = notify.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let gateway = Gateway::start_yaml_with_env(
        &yaml,
        &[
            (
                "CREDENTIALS_DIRECTORY",
                credentials.path().to_str().unwrap(),
            ),
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
        ],
    );
    let mut gateway = gateway;
    assert!(notification(&socket, &mut gateway).starts_with("READY=1\n"));
    // `systemctl reload`: the unit's ExecReload with $MAINPID.
    let reload = one(&unit, "ExecReload").replace("$MAINPID", &gateway.pid().to_string());
    let words: Vec<&str> = reload.split_whitespace().collect();
    let status = Command::new(words[0]).args(&words[1..]).status().unwrap();
    assert!(status.success());
    assert!(notification(&socket, &mut gateway).starts_with("RELOADING=1\n"));
    let ready = notification(&socket, &mut gateway);
    assert!(
        ready.contains("configuration reloaded"),
        "{ready}\n{}",
        gateway.logs()
    );
    assert!(
        !gateway.logs().contains("WARN"),
        "the credentials and TLS files raise no warning:\n{}",
        gateway.logs()
    );
}

/// The next datagram on the notification socket; when none comes, whether the gateway still runs and its log.
fn notification(socket: &UnixDatagram, gateway: &mut Gateway) -> String {
    let mut buffer = [0u8; 1024];
    match socket.recv(&mut buffer) {
        Ok(n) => String::from_utf8_lossy(&buffer[..n]).into_owned(),
        Err(e) => panic!(
            "no notification ({e}); the gateway's exit status: {:?}\n{}",
            gateway.try_wait(),
            gateway.logs()
        ),
    }
}
