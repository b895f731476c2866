//! The command line: `check`, `keygen`, `pubkey`, `--help`, `--version`, and `serve` refusing bad input.

#[path = "cli/container.rs"]
mod container;
#[path = "cli/documented.rs"]
mod documented;
#[path = "cli/kubernetes.rs"]
mod kubernetes;
#[path = "cli/kustomize.rs"]
mod kustomize;
#[path = "cli/running.rs"]
mod running;
mod support;
#[path = "cli/systemd.rs"]
mod systemd;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use support::{Idp, Setup};

fn freshgate(args: &[&str]) -> std::process::Output {
    Command::new(support::binary())
        .args(args)
        .env_remove("FRESHGATE_CONFIG")
        .output()
        .expect("freshgate runs")
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn check_names_every_problem_of_a_broken_config_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    let yaml = Setup::new(support::free_port())
        .yaml()
        .replace(
            "client_id: freshgate",
            "client_id: freshgate\n  client_secrt: typo",
        )
        .replace(
            &support::repo()
                .join("certs/freshworks-signing.key")
                .display()
                .to_string(),
            "missing/signing.key",
        );
    std::fs::write(&config, yaml).unwrap();
    let output = freshgate(&["check", "-c", config.to_str().unwrap()]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("upstream.client_secrt: unknown key"), "{out}");
    assert!(
        out.contains("client_secret"),
        "the fix suggests the right key: {out}"
    );
    assert!(out.contains("freshworks.signing_key_file"), "{out}");
    assert!(out.contains("missing/signing.key"), "{out}");
    assert!(
        out.contains("upstream.backchannel_url") && out.contains("Connection refused"),
        "{out}"
    );
    assert!(out.contains("3 problems"), "{out}");
}

#[test]
fn check_of_a_broken_config_looks_at_the_provider_its_variables_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    let port = support::free_port();
    let yaml = Setup::new(port)
        .yaml()
        .replace(
            &format!("backchannel_url: http://127.0.0.1:{port}"),
            "backchannel_url: http://127.0.0.1:${FRESHGATE_TEST_IDP_PORT}",
        )
        .replace(
            "client_id: freshgate",
            "client_id: freshgate\n  client_secrt: typo",
        );
    assert!(yaml.contains("${FRESHGATE_TEST_IDP_PORT}"), "{yaml}");
    std::fs::write(&config, yaml).unwrap();
    let output = Command::new(support::binary())
        .args(["check", "-c", config.to_str().unwrap()])
        .env_remove("FRESHGATE_CONFIG")
        .env("FRESHGATE_TEST_IDP_PORT", port.to_string())
        .output()
        .expect("freshgate runs");
    let out = text(&output);
    assert!(out.contains("upstream.client_secrt: unknown key"), "{out}");
    assert!(
        out.contains(&format!(
            "cannot fetch http://127.0.0.1:{port}/realms/acme/.well-known/openid-configuration"
        )) && out.contains("Connection refused"),
        "the provider is read with the same parse as serve, variables expanded: {out}"
    );
}

#[test]
fn check_of_a_good_config_prints_what_to_paste_into_freshworks() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, Setup::new(Idp::shared().port).yaml()).unwrap();
    let output = freshgate(&["check", "-c", config.to_str().unwrap()]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("Login URL   http://sso.freshgate.test/sso/jwt/login"),
        "{out}"
    );
    assert!(
        out.contains("Logout URL  http://sso.freshgate.test/sso/jwt/logout"),
        "{out}"
    );
    assert!(
        out.contains("Redirect URI  http://sso.freshgate.test/sso/jwt/callback"),
        "{out}"
    );
    let pem =
        std::fs::read_to_string(support::repo().join("certs/freshworks-signing.pub.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(out.contains(&format!("Public key  {body}\n")), "{out}");
    assert!(!out.contains("BEGIN PUBLIC KEY"));
    assert!(
        !out.contains(support::CLIENT_SECRET),
        "the client secret was printed"
    );
}

#[test]
fn serve_refuses_to_start_with_a_broken_config_and_lists_the_problems() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(
        &config,
        "listen: nowhere\npublic_url: ftp://x\nupstream: {}\n",
    )
    .unwrap();
    let output = freshgate(&["serve", "-c", config.to_str().unwrap()]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    for key in [
        "listen",
        "public_url",
        "upstream.issuer",
        "upstream.client_id",
    ] {
        assert!(out.contains(&format!("{key}:")), "{key} not named: {out}");
    }
}

#[test]
fn keygen_writes_a_private_key_readable_only_by_its_owner_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.key");
    let output = freshgate(&["keygen", "--bits", "2048", "--out", key.to_str().unwrap()]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(out.contains("-----BEGIN PUBLIC KEY-----"));

    let pubkey = freshgate(&["pubkey", "--key", key.to_str().unwrap()]);
    let body = String::from_utf8(pubkey.stdout).unwrap();
    assert!(pubkey.status.success());
    assert!(out.contains(body.trim()), "keygen and pubkey disagree");
    // Independent check: openssl derives the same public key.
    let openssl = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    let openssl_body: String = String::from_utf8(openssl.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(body.trim(), openssl_body);

    let again = freshgate(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again).contains("exists"), "{}", text(&again));
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        pem,
        "the existing key was changed"
    );
}

#[test]
fn keygen_makes_missing_directories_for_its_owner_or_says_which_it_cannot_make() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("etc/freshgate/freshworks-signing.key");
    let output = freshgate(&["keygen", "--out", key.to_str().unwrap()]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    for made in ["etc", "etc/freshgate"] {
        let made = dir.path().join(made);
        assert!(
            out.contains(&format!(
                "Made the directory {} (mode 0700)",
                made.display()
            )),
            "{out}"
        );
        assert_eq!(
            std::fs::metadata(&made).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // sysfs refuses every mkdir, even root's: the refusal names the directory, where and why.
    let output = freshgate(&["keygen", "--out", "/sys/freshgate-keygen-test/keys/k.key"]);
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(
        out.contains("the directory /sys/freshgate-keygen-test does not exist, and it cannot be made in /sys: permission denied"),
        "{out}"
    );
    // A file where a directory should be.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let output = freshgate(&["keygen", "--out", file.join("k.key").to_str().unwrap()]);
    assert!(
        text(&output).contains(&format!("{} is a file, not a directory", file.display())),
        "{}",
        text(&output)
    );
}

#[test]
fn keygen_refuses_sizes_other_than_2048_3072_and_4096() {
    let dir = tempfile::tempdir().unwrap();
    let output = freshgate(&[
        "keygen",
        "--bits",
        "1024",
        "--out",
        dir.path().join("k").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(text(&output).contains("2048"));
}

#[test]
fn pubkey_prints_pem_on_request_and_reads_the_config_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, Setup::new(1).yaml()).unwrap();
    let output = freshgate(&["pubkey", "-c", config.to_str().unwrap(), "--pem"]);
    assert!(output.status.success(), "{}", text(&output));
    let expected =
        std::fs::read_to_string(support::repo().join("certs/freshworks-signing.pub.pem")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
}

#[test]
fn a_1024_bit_key_from_the_freshworks_article_is_refused_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("jwtRS256.key");
    let status = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("1024")
        .output()
        .unwrap();
    assert!(status.status.success());
    let output = freshgate(&["pubkey", "--key", key.to_str().unwrap()]);
    let out = text(&output);
    assert!(!output.status.success());
    assert!(
        out.contains("1024 bits") && out.contains("freshgate keygen"),
        "{out}"
    );
}

#[test]
fn help_shows_examples_and_version_prints_the_version() {
    let help = text(&freshgate(&["--help"]));
    assert!(
        help.contains("Examples:") && help.contains("freshgate check -c gateway.yaml"),
        "{help}"
    );
    let version = text(&freshgate(&["--version"]));
    assert!(version.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn simulate_refuses_an_account_that_does_not_redirect_to_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    let yaml = Setup::new(1).yaml().replace(
        support::FRESHWORKS_REDIRECT,
        "https://acme.myfreshworks.com/sp/OIDC/12344/implicit",
    );
    std::fs::write(&config, yaml).unwrap();
    let output = freshgate(&["simulate", "-c", config.to_str().unwrap()]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(
        out.contains("127.0.0.1:9911/sso/callback") && out.contains("--account"),
        "{out}"
    );
}

#[test]
fn check_names_the_backchannel_url_when_that_is_what_refused_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    let port = support::free_port();
    std::fs::write(&config, Setup::new(port).yaml()).unwrap();
    let output = freshgate(&["check", "-c", config.to_str().unwrap()]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let problem = out
        .lines()
        .find(|line| line.contains("PROBLEM"))
        .expect("a problem line");
    assert!(
        problem.contains(&format!(
            "PROBLEM  upstream.backchannel_url: cannot fetch http://127.0.0.1:{port}/realms/acme/.well-known/openid-configuration"
        )) && problem.contains("Connection refused"),
        "the problem names the address that was contacted: {out}"
    );
}

#[test]
fn check_with_one_secret_variable_unset_still_shows_every_other_result_and_the_paste_block() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    let idp = Idp::start_at(0, "https://sso.freshgate.test");
    let mut setup = Setup::new(idp.port);
    setup.tls = true;
    let yaml = setup.yaml().replace(
        &format!("client_secret: {}", support::CLIENT_SECRET),
        "client_secret: ${FRESHGATE_TEST_UNSET_SECRET}",
    );
    std::fs::write(&config, yaml).unwrap();
    let output = Command::new(support::binary())
        .args(["check", "-c", config.to_str().unwrap()])
        .env_remove("FRESHGATE_TEST_UNSET_SECRET")
        .output()
        .unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "PROBLEM  upstream.client_secret: environment variable FRESHGATE_TEST_UNSET_SECRET is not set"
        ),
        "{out}"
    );
    for shown in [
        "ok       TLS certificate",
        "ok       signing key",
        "ok       provider https://sso.freshgate.test/realms/acme",
        "Login URL   https://sso.freshgate.test/sso/jwt/login",
        "Public key  MII",
        "Redirect URI  https://sso.freshgate.test/sso/jwt/callback",
        "1 problem;",
    ] {
        assert!(out.contains(shown), "{shown:?} missing: {out}");
    }
    assert!(
        !out.contains("AAAAAAAAAAAAAAAA"),
        "the stand-in value is shown: {out}"
    );
}

#[test]
fn a_yaml_syntax_error_is_shown_once_at_the_line_of_the_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(
        &config,
        "listen: 0.0.0.0:8443\npublic_url: https://sso.example.com\nupstream:\n  client_id: \"freshgate\n  scopes: [openid]\n",
    )
    .unwrap();
    let output = freshgate(&["check", "-c", config.to_str().unwrap()]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("not valid YAML at line 4, column 14: while scanning a quoted scalar that starts there, found unexpected end of stream at line 6, column 1"),
        "{out}"
    );
    assert!(
        out.contains("      4 |   client_id: \"freshgate\n        |              ^\n"),
        "the line is quoted with a caret under the quote: {out}"
    );
    assert_eq!(out.matches("line 6").count(), 1, "{out}");
}

#[test]
fn keygen_into_a_closed_pipe_exits_quietly_after_writing_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.key");
    let mut child = Command::new(support::binary())
        .args(["keygen", "--out", key.to_str().unwrap()])
        .env("RUST_BACKTRACE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away at once, as `head` does after its lines: keygen writes into a closed pipe.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    assert!(key.exists(), "the key was written");
}

#[test]
fn help_examples_keep_each_comment_on_its_own_line_in_an_80_column_terminal() {
    let output = Command::new(support::binary())
        .arg("--help")
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let help = text(&output);
    let examples = help
        .split("Examples:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("an Examples section");
    assert!(examples.lines().count() >= 6, "{help}");
    for line in examples.lines() {
        let line = line.trim_start();
        assert!(
            line.starts_with('#')
                || line.starts_with("freshgate ")
                || line.starts_with("FRESHGATE_CONFIG="),
            "a wrapped line reads like a command: {line:?}\n{help}"
        );
        assert!(
            !line.starts_with("freshgate") || !line.contains('#'),
            "{line:?}"
        );
    }
}

#[test]
fn the_demo_configuration_has_its_own_cookie_key_and_no_warning_about_a_random_one() {
    // The demo's directory runs in target/demo-ldap while the demo runs: here a test directory of its own
    // stands in, on other ports.
    let slapd = support::slapd::Slapd::start();
    let repo = support::repo();
    let text_of_demo = std::fs::read_to_string(repo.join("examples/demo.yaml"))
        .unwrap()
        .replace(
            "../target/demo-ldap/ca.pem",
            slapd.ca_file.to_str().unwrap(),
        )
        .replace("ldaps://127.0.0.1:8636", &slapd.ldaps_url)
        .replace("../certs/", &format!("{}/certs/", repo.display()));
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.yaml");
    std::fs::write(&demo, text_of_demo).unwrap();
    let output = freshgate(&["check", "-c", demo.to_str().unwrap()]);
    let out = text(&output);
    assert!(out.contains("ok       configuration"), "{out}");
    assert!(
        out.contains("the service account"),
        "the demo's directory binds: {out}"
    );
    assert!(!out.contains("cookie_key"), "{out}");
    assert!(!out.contains("warning"), "{out}");
}
