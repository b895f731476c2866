//! Insecure configuration is never accepted silently: settings nothing legitimate needs are refused by
//! `check` and `serve` alike, the others are listed by `check` and logged by `serve`, each with its key and
//! its fix.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::{APP_ORIGIN, CLIENT_SECRET, Gateway, Idp, Setup, binary};

fn write(path: &Path, content: &str, mode: u32) {
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A working configuration with every weak setting that has a legitimate use, and the keys warned about.
fn weak_config(dir: &Path) -> (String, Vec<&'static str>) {
    let secret = dir.join("client.secret");
    write(&secret, CLIENT_SECRET, 0o644);
    let cookie_key = dir.join("cookie.key");
    write(
        &cookie_key,
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        0o640,
    );
    let mut setup = Setup::new(Idp::shared().port);
    setup.claims = "    email: [email, preferred_username]\n".into();
    setup.upstream_extra = "  email_verified: ignore\n".into();
    setup.extra_top = format!("session: {{ cookie_key_file: {} }}\n", cookie_key.display());
    setup.webchat = Some(format!(
        "  secret: webchat-test-secret-0123456789abcdef\n  allowed_origins: [{APP_ORIGIN}]\n  audience: [https://api.acme.test]\n"
    ));
    let yaml = setup
        .yaml()
        .replace("admin_listen: 127.0.0.1:0", "admin_listen: 0.0.0.0:0")
        .replace(
            &format!("client_secret: {CLIENT_SECRET}"),
            &format!("client_secret_file: {}", secret.display()),
        );
    let keys = vec![
        "admin_listen",
        "freshworks.claims.email",
        "upstream.email_verified",
        "upstream.client_secret_file",
        "session.cookie_key_file",
    ];
    (yaml, keys)
}

fn freshgate(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env_remove("FRESHGATE_CONFIG")
        .output()
        .expect("freshgate runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn check_lists_each_weak_setting_with_its_key_and_fix_and_still_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (yaml, keys) = weak_config(dir.path());
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, yaml).unwrap();
    let output = freshgate(&["check", "-c", config.to_str().unwrap()]);
    let out = text(&output);
    assert!(output.status.success(), "warnings are not problems: {out}");
    for key in keys {
        let line = out
            .lines()
            .find(|line| line.starts_with(&format!("  warning  {key}: ")))
            .unwrap_or_else(|| panic!("no warning for {key}:\n{out}"));
        assert!(line.contains(" (fix: "), "{line}");
    }
    assert!(out.contains("chmod 600"), "{out}");
    assert!(!out.contains(CLIENT_SECRET), "the secret was printed");
}

#[tokio::test]
async fn serve_logs_the_same_warnings_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (yaml, keys) = weak_config(dir.path());
    let gateway = Gateway::start_yaml(&yaml);
    for key in keys {
        assert!(
            gateway.has_logged(&format!("\"key\":\"{key}\"")),
            "{key} not logged:\n{}",
            gateway.logs()
        );
    }
    let logs = gateway.logs();
    let line = logs
        .lines()
        .find(|line| line.contains("\"key\":\"admin_listen\""))
        .unwrap();
    assert!(
        line.contains("\"level\":\"WARN\"") && line.contains("(fix: "),
        "{line}"
    );
    assert!(!logs.contains(CLIENT_SECRET), "the secret reached the log");
}

/// Runs `freshgate serve`, which must exit on its own within 20 s; a gateway that keeps running is killed
/// and reported.
fn serve_must_exit(config: &Path) -> Output {
    let mut child = Command::new(binary())
        .args(["serve", "-c"])
        .arg(config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!("serve started instead of refusing:\n{}", text(&output));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn serve_and_check_refuse_to_trust_every_client_or_to_serve_browsers_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    let setup = Setup::new(Idp::shared().port);
    // (change to the working configuration, key refused, words of the fix)
    let cases: [(String, &str, &str); 3] = [
        (
            setup.yaml().replace(
                "admin_listen:",
                "trusted_proxies: [0.0.0.0/0]\nadmin_listen:",
            ),
            "trusted_proxies",
            "your own proxies",
        ),
        (
            setup.yaml().replace(
                "admin_listen:",
                "trusted_proxies: ['::/1', '8000::/1']\nadmin_listen:",
            ),
            "trusted_proxies",
            "your own proxies",
        ),
        (
            setup.yaml().replace(
                "public_url: http://sso.freshgate.test",
                "public_url: http://sso.example.com",
            ),
            "public_url",
            "public_url: https://sso.example.com",
        ),
    ];
    for (yaml, key, fix) in cases {
        std::fs::write(&config, &yaml).unwrap();
        let served = serve_must_exit(&config);
        let out = text(&served);
        assert_eq!(served.status.code(), Some(2), "{out}");
        assert!(
            out.contains(&format!("\n  {key}: ")),
            "{key} not named: {out}"
        );
        assert!(out.contains("fix: ") && out.contains(fix), "{out}");
        let checked = freshgate(&["check", "-c", config.to_str().unwrap()]);
        let out = text(&checked);
        assert_eq!(checked.status.code(), Some(1), "{out}");
        assert!(
            out.contains(&format!("PROBLEM  {key}: ")) && out.contains(fix),
            "{out}"
        );
    }
}

/// The keys committed to the repository (certs/, the test keys) are public. A gateway whose public_url is
/// not local refuses to sign with one, recognised by its public key wherever the file was copied, in
/// `serve`, `check` and on reload; the same key serves a local public_url (the demo, these tests).
#[tokio::test]
async fn a_key_committed_to_the_repository_is_refused_where_public_url_is_not_local() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("our-signing.pem");
    let committed =
        std::fs::read_to_string(crate::support::repo().join("certs/freshworks-signing.key"))
            .unwrap();
    write(&copy, &committed, 0o600);
    let local = Setup::new(Idp::shared().port).yaml().replace(
        &crate::support::repo()
            .join("certs/freshworks-signing.key")
            .display()
            .to_string(),
        &copy.display().to_string(),
    );
    assert!(local.contains("our-signing.pem"));
    let public = local.replace(
        "public_url: http://sso.freshgate.test",
        "public_url: https://sso.example.com",
    );
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, &public).unwrap();
    let served = serve_must_exit(&config);
    let out = text(&served);
    assert_eq!(served.status.code(), Some(2), "{out}");
    for part in [
        "freshworks.signing_key_file: ",
        "our-signing.pem",
        "certs/freshworks-signing.key",
        "fix: make a key of your own with `freshgate keygen --out",
    ] {
        assert!(out.contains(part), "{part}: {out}");
    }
    let checked = freshgate(&["check", "-c", config.to_str().unwrap()]);
    let out = text(&checked);
    assert_eq!(checked.status.code(), Some(1), "{out}");
    assert!(
        out.contains("PROBLEM  freshworks.signing_key_file: ")
            && out.contains("freshgate keygen --out"),
        "{out}"
    );
    assert!(
        out.contains("(unavailable until the signing key problem is fixed)"),
        "no public key to paste: {out}"
    );

    // A running gateway with a local public_url signs with it; a reload to a public one is refused and the
    // running configuration keeps serving.
    let gateway = Gateway::start_yaml(&local);
    gateway.wait_ready().await;
    std::fs::write(gateway.dir.path().join("gateway.yaml"), &public).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        crate::raw::metric_reaches(
            &gateway,
            "freshgate_config_reloads_total{result=\"failed\"} 1"
        )
        .await,
        "{}",
        gateway.logs()
    );
    assert!(
        gateway.has_logged("is the key committed to freshgate's repository"),
        "{}",
        gateway.logs()
    );
    let browser = gateway.browser();
    let login = browser
        .get(&browser.url("/sso/jwt/login?client_id=12344&state=s&nonce=n"))
        .await;
    assert_eq!(
        login.status(),
        302,
        "the running configuration still serves"
    );
}
