//! What ops see: the gateway serving while the directory is down, certificates always checked, `freshgate
//! check` with `--test-user`, and an OpenID account beside a directory account in one gateway.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::flow::*;
use crate::support::slapd::{JDOE, Slapd};
use crate::support::{Gateway, Idp, Setup, binary, free_port};

#[tokio::test]
async fn the_gateway_serves_while_the_directory_is_down_and_readiness_says_why() {
    let slapd = Slapd::shared();
    let closed = format!("ldaps://127.0.0.1:{}", free_port());
    let directory = slapd_directory(slapd, false).replace(&slapd.ldaps_url, &closed);
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let health = crate::support::get(gateway.admin_url("/healthz")).await;
    assert_eq!(health.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let ready = loop {
        let ready = readiness(&gateway).await;
        if ready["checks"]["directory"] == "not ready" {
            break ready;
        }
        assert!(std::time::Instant::now() < deadline, "{ready}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready["ready"], false);
    assert!(
        ready["reasons"][0].as_str().unwrap().contains("directory"),
        "{ready}"
    );
    // The form still opens; a sign-in says the service is unavailable, and nothing is counted as a
    // wrong password.
    let response = login(&gateway, ACCOUNT, JDOE.sam, JDOE.password).await;
    let (status, body) = page_code(response).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("directory_unavailable"));
    assert!(
        !body.contains("127.0.0.1"),
        "no internal detail on the page"
    );
    let metrics = gateway.metrics().await;
    assert!(metrics.contains("freshgate_directory_up 0"), "{metrics}");
    assert!(
        metrics.contains("freshgate_directory_errors_total{kind=\"unreachable\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_directorys_certificate_is_always_checked() {
    let slapd = Slapd::shared();
    // Without the test CA the server's certificate is not trusted: no password is ever sent.
    let directory = slapd_directory(slapd, false)
        .replace(&format!("  ca_file: {}\n", slapd.ca_file.display()), "");
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let response = login(&gateway, ACCOUNT, JDOE.sam, JDOE.password).await;
    assert_eq!(response.status(), 503);
    assert!(gateway.has_logged("certificate"), "{}", gateway.logs());
}

#[test]
fn check_binds_reads_nothing_secret_and_shows_a_test_user() {
    let slapd = Slapd::shared();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, yaml(&slapd_directory(slapd, false), "")).unwrap();
    let output = Command::new(binary())
        .args(["check", "-c"])
        .arg(&config)
        .args(["--test-user", "CORP\\jdoe"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("the service account"), "{text}");
    assert!(
        text.contains("--test-user CORP\\jdoe: cn=John Doe")
            || text.contains("--test-user CORP\\jdoe: CN=John Doe"),
        "{text}"
    );
    assert!(text.contains(&format!("sub: {}", JDOE.guid)), "{text}");
    assert!(text.contains("email: jdoe@corp.example"), "{text}");
    assert!(
        text.to_lowercase()
            .contains("group: cn=freshservice agents"),
        "{text}"
    );
    assert!(text.contains("account: usable"), "{text}");
    assert!(!text.contains(&slapd.bind_password), "{text}");
    // A wrong service password is a problem with its fix, and exit status 1.
    std::fs::write(
        &config,
        yaml(
            &slapd_directory(slapd, false).replace(&slapd.bind_password, "wrong-password"),
            "",
        ),
    )
    .unwrap();
    let output = Command::new(binary())
        .args(["check", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("refused the service account's bind"),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "{text}");
}

#[tokio::test]
async fn an_openid_account_and_a_directory_account_are_served_side_by_side() {
    let idp = Idp::shared();
    let slapd = Slapd::shared();
    // The OpenID gateway of the other suites, with a directory account and the directory added.
    let account = format!(
        "    \"99999\":\n      redirect_url: {}\n      login: directory\n      allow: {{ groups: [\"{}\"] }}\n",
        crate::support::FRESHWORKS_REDIRECT,
        crate::support::slapd::AGENTS_GROUP
    );
    let mixed = Setup::new(idp.port).yaml().replacen(
        "  accounts:\n",
        &format!("  accounts:\n{account}"),
        1,
    ) + "directory:\n"
        + &slapd_directory(slapd, false);
    let gateway = Gateway::start_yaml(&mixed);
    gateway.wait_ready().await;
    // The OpenID account still goes to the provider.
    let browser = gateway.browser();
    let response = browser
        .get(&browser.url("/sso/jwt/login?client_id=12344&state=s&nonce=n"))
        .await;
    assert_eq!(response.status(), 302);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/realms/acme/")
    );
    let landed = browser
        .login("client_id=12344&state=s&nonce=n", "alice", "alice-password")
        .await;
    assert!(landed.contains("id_token="), "{landed}");
    // The directory account shows the gateway's form and logs in against the directory.
    let response = login(&gateway, "99999", JDOE.sam, JDOE.password).await;
    let payload = verified_payload(&token_of(&response, crate::support::FRESHWORKS_REDIRECT));
    assert_eq!(payload["sub"], JDOE.guid);
}

/// A TCP relay to the directory that can be cut (every connection dropped, new ones refused) and restored:
/// the directory "restarting" under a running gateway.
struct Relay {
    port: u16,
    on: Arc<AtomicBool>,
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let on = Arc::new(AtomicBool::new(true));
        let tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (on2, tasks2) = (on.clone(), tasks.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !on2.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks2.lock().unwrap().push(task.abort_handle());
            }
        });
        Relay { port, on, tasks }
    }

    fn cut(&self) {
        self.on.store(false, Ordering::SeqCst);
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.on.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn the_service_connection_is_made_again_when_the_directory_comes_back() {
    let slapd = Slapd::shared();
    let target = slapd.ldap_url.trim_start_matches("ldap://").to_owned();
    let relay = Relay::start(target).await;
    let directory = slapd_directory(slapd, false).replace(
        &slapd.ldaps_url,
        &format!("ldap://127.0.0.1:{}", relay.port),
    );
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    assert_eq!(
        login(&gateway, ACCOUNT, JDOE.sam, JDOE.password)
            .await
            .status(),
        302
    );
    relay.cut();
    let response = login(&gateway, ACCOUNT, JDOE.sam, JDOE.password).await;
    assert_eq!(response.status(), 503, "the directory is gone");
    assert_eq!(
        readiness(&gateway).await["checks"]["directory"],
        "not ready"
    );
    relay.restore();
    let response = login(&gateway, ACCOUNT, JDOE.sam, JDOE.password).await;
    assert_eq!(response.status(), 302, "{}", gateway.logs());
    assert_eq!(readiness(&gateway).await["checks"]["directory"], "ok");
}

#[tokio::test]
async fn a_directory_that_accepts_but_never_answers_times_out() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let slapd = Slapd::shared();
    let directory = slapd_directory(slapd, false)
        .replace(&slapd.ldaps_url, &format!("ldap://127.0.0.1:{port}"))
        .replace("timeout: 3s", "timeout: 300ms");
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let started = std::time::Instant::now();
    let response = login(&gateway, ACCOUNT, JDOE.sam, JDOE.password).await;
    assert_eq!(response.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_directory_errors_total{kind=\"timeout\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_filter_that_matches_two_entries_signs_nobody_in() {
    let slapd = Slapd::shared();
    // jdoe and jane are both `sn: Doe`.
    let directory = slapd_directory(slapd, false).replace(
        "  kind: active_directory\n",
        "  kind: active_directory\n  user_filter: \"(&(objectClass=user)(|(sAMAccountName={username})(sn={username})))\"\n",
    );
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let response = login(&gateway, ACCOUNT, "Doe", JDOE.password).await;
    let (status, body) = page_code(response).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("ambiguous_user"), "{body}");
}

#[tokio::test]
async fn a_list_of_urls_fails_over_to_the_next_server_in_order() {
    let slapd = Slapd::shared();
    let down = format!("ldaps://127.0.0.1:{}", free_port());
    let directory = slapd_directory(slapd, false).replace(
        &format!("  url: {}\n", slapd.ldaps_url),
        &format!("  url: [\"{down}\", \"{}\"]\n", slapd.ldaps_url),
    );
    assert!(directory.contains(&down), "{directory}");
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let response = login(&gateway, ACCOUNT, JDOE.sam, JDOE.password).await;
    assert_eq!(response.status(), 302, "{}", gateway.logs());
    assert!(
        gateway.has_logged("trying the next URL"),
        "{}",
        gateway.logs()
    );
}
