//! Hot reload: new requests use the new configuration, requests and tunnels in flight finish on the old
//! one, and a broken configuration is refused while the gateway keeps serving.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};

use crate::support::{self, Gateway, Idp, Setup};
use crate::{config_path, sighup, wait_reloads};

const NEW_ACCOUNT: &str =
    "    \"55555\":\n      redirect_url: http://beta.freshworks.test/sp/OIDC/55555/implicit\n";

fn login_query(account: &str) -> String {
    format!("/sso/jwt/login?client_id={account}&state=s&nonce=n")
}

/// A gateway in front of the provider that reloads on SIGHUP only (no polling).
async fn gateway(extra_top: &str) -> Gateway {
    let mut setup = Setup::new(Idp::shared().port);
    setup.extra_top = format!("reload: {{ poll_interval: off }}\n{extra_top}");
    let gateway = Gateway::start(&setup);
    gateway.wait_ready().await;
    gateway
}

fn add_account(gateway: &Gateway) {
    let path = config_path(gateway);
    let yaml = std::fs::read_to_string(&path).unwrap();
    let yaml = yaml.replacen("  accounts:\n", &format!("  accounts:\n{NEW_ACCOUNT}"), 1);
    std::fs::write(&path, yaml).unwrap();
}

#[tokio::test]
async fn a_new_account_works_right_after_sighup() {
    let gateway = gateway("").await;
    let browser = gateway.browser();
    let before = browser.get(&browser.url(&login_query("55555"))).await;
    assert_eq!(before.status(), 400, "not an account yet");
    add_account(&gateway);
    sighup(&gateway);
    wait_reloads(&gateway, "success", 1).await;
    let after = browser.get(&browser.url(&login_query("55555"))).await;
    assert_eq!(after.status(), 302, "{}", gateway.logs());
    // The provider was not discovered again: the reload kept what it knew, readiness never flapped.
    assert_eq!(
        gateway
            .logs()
            .matches("provider discovery and JWKS loaded")
            .count(),
        1,
        "{}",
        gateway.logs()
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains("freshgate_config_last_reload_success_timestamp_seconds 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_broken_configuration_or_key_file_is_refused_and_the_gateway_still_serves() {
    let gateway = gateway("").await;
    let path = config_path(&gateway);
    let good = std::fs::read_to_string(&path).unwrap();
    // A configuration problem: refused with the key and the fix in the log.
    std::fs::write(
        &path,
        good.replace(
            "  client_id: freshgate\n",
            "  client_id: freshgate\n  scopes_typo: [x]\n",
        ),
    )
    .unwrap();
    sighup(&gateway);
    wait_reloads(&gateway, "invalid", 1).await;
    assert!(
        gateway.has_logged("upstream.scopes_typo"),
        "{}",
        gateway.logs()
    );
    let browser = gateway.browser();
    assert_eq!(
        browser
            .get(&browser.url(&login_query("12344")))
            .await
            .status(),
        302
    );
    // A file it names that does not load: refused too.
    let broken_key = gateway.dir.path().join("broken.key");
    std::fs::write(
        &broken_key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let signing = support::repo().join("certs/freshworks-signing.key");
    std::fs::write(
        &path,
        good.replace(
            &signing.display().to_string(),
            &broken_key.display().to_string(),
        ),
    )
    .unwrap();
    sighup(&gateway);
    wait_reloads(&gateway, "failed", 1).await;
    assert!(gateway.has_logged("reload refused"), "{}", gateway.logs());
    assert_eq!(
        browser
            .get(&browser.url(&login_query("12344")))
            .await
            .status(),
        302
    );
    let ready = support::get(gateway.admin_url("/readyz")).await;
    assert_eq!(
        ready.status(),
        200,
        "still ready on the running configuration"
    );
    // Fixed again: the next reload applies.
    std::fs::write(&path, &good).unwrap();
    sighup(&gateway);
    wait_reloads(&gateway, "success", 1).await;
}

#[tokio::test]
async fn a_changed_file_is_noticed_without_a_signal() {
    let mut setup = Setup::new(Idp::shared().port);
    setup.extra_top = "reload: { poll_interval: 200ms }\n".into();
    let gateway = Gateway::start(&setup);
    gateway.wait_ready().await;
    add_account(&gateway);
    wait_reloads(&gateway, "success", 1).await;
    let browser = gateway.browser();
    assert_eq!(
        browser
            .get(&browser.url(&login_query("55555")))
            .await
            .status(),
        302
    );
    // Nothing changed since: no further reloads.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        gateway
            .metrics()
            .await
            .contains("freshgate_config_reloads_total{result=\"success\"} 1")
    );
}

/// The message of the WARN line logged for `key`, if any.
fn warning_for(logs: &str, key: &str) -> Option<String> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["level"] == "WARN" && line["key"] == key)
        .map(|line| line["message"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_reload_to_weaker_settings_logs_the_same_warnings_as_start_up() {
    let gateway = gateway("").await;
    let key = "freshworks.claims.email";
    assert_eq!(warning_for(&gateway.logs(), key), None, "nothing weak yet");
    let path = config_path(&gateway);
    let weak = std::fs::read_to_string(&path).unwrap().replace(
        "  claims:\n",
        "  claims:\n    email: [preferred_username]\n",
    );
    std::fs::write(&path, &weak).unwrap();
    sighup(&gateway);
    wait_reloads(&gateway, "success", 1).await;
    // The warnings follow the swap; the log is read from the process's output as it comes.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let on_reload = loop {
        if let Some(warning) = warning_for(&gateway.logs(), key) {
            break warning;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no warning on reload:\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(on_reload.contains("(fix: "), "{on_reload}");
    // The words a gateway started with that file logs (and `check` prints) for the same key.
    let started = Gateway::start_yaml(&weak);
    let at_start_up = warning_for(&started.logs(), key)
        .unwrap_or_else(|| panic!("no warning at start-up:\n{}", started.logs()));
    assert_eq!(on_reload, at_start_up);
}

#[tokio::test]
async fn settings_only_a_restart_changes_are_named_and_kept() {
    let gateway = gateway("").await;
    let path = config_path(&gateway);
    let yaml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, yaml.replace("idle_timeout: 5s", "idle_timeout: 7s")).unwrap();
    sighup(&gateway);
    wait_reloads(&gateway, "success", 1).await;
    assert!(
        gateway.has_logged("take effect only after a restart"),
        "{}",
        gateway.logs()
    );
    assert!(gateway.has_logged("limits"));
}

#[tokio::test]
async fn a_long_streamed_response_and_an_open_websocket_survive_a_reload() {
    let origin = support::origin::start().await;
    let mut setup = Setup::new(Idp::shared().port);
    setup.proxy_to = Some(origin.url());
    setup.extra_top = "reload: { poll_interval: off }\n".into();
    let gateway = Gateway::start(&setup);
    gateway.wait_ready().await;
    // A response whose second half is sent only after the reload.
    let browser = gateway.browser();
    let mut streamed = browser.get(&browser.url("/stream")).await;
    let first = streamed.chunk().await.unwrap().unwrap();
    assert_eq!(&first[..], b"first;");
    // A WebSocket opened before the reload.
    let stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{}/ws", support::PUBLIC_HOST),
    )
    .unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    ws.send("before".into()).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap().into_text().unwrap(),
        "echo:before"
    );

    add_account(&gateway);
    sighup(&gateway);
    wait_reloads(&gateway, "success", 1).await;

    origin.gates.client_saw_first_chunk.notify_one();
    let rest = tokio::time::timeout(Duration::from_secs(5), streamed.chunk())
        .await
        .expect("the stream goes on")
        .unwrap()
        .unwrap();
    assert_eq!(&rest[..], b"second");
    ws.send("after".into()).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert_eq!(reply.unwrap().unwrap().into_text().unwrap(), "echo:after");
}

#[tokio::test]
async fn a_swapped_tls_certificate_is_served_to_the_next_connection() {
    let dir = tempfile::tempdir().unwrap();
    let repo = support::repo();
    let (cert, key) = (
        dir.path().join("gateway.crt"),
        dir.path().join("gateway.key"),
    );
    std::fs::copy(repo.join("certs/gateway.crt"), &cert).unwrap();
    std::fs::copy(repo.join("certs/gateway.key"), &key).unwrap();
    let idp = Idp::start_at(0, "https://sso.freshgate.test");
    let mut setup = Setup::new(idp.port);
    setup.tls = true;
    setup.extra_top = "reload: { poll_interval: off }\n".into();
    let yaml = setup
        .yaml()
        .replace(
            &repo.join("certs/gateway.crt").display().to_string(),
            &cert.display().to_string(),
        )
        .replace(
            &repo.join("certs/gateway.key").display().to_string(),
            &key.display().to_string(),
        );
    let gateway = Gateway::start_yaml(&yaml);
    let first = served_certificate(&gateway).await;
    assert_eq!(
        first,
        std::fs::read(repo.join("certs/gateway.crt"))
            .map(der_of)
            .unwrap()
    );
    // A renewed certificate for the same name from the same CA (what cert-manager or certbot write).
    renew(dir.path(), &cert, &key);
    sighup(&gateway);
    wait_reloads(&gateway, "success", 1).await;
    let second = served_certificate(&gateway).await;
    assert_ne!(
        first, second,
        "the next connection gets the new certificate"
    );
    assert_eq!(second, der_of(std::fs::read(&cert).unwrap()));
}

/// The leaf certificate the gateway serves on a new connection, as DER.
async fn served_certificate(gateway: &Gateway) -> Vec<u8> {
    let config = support::rustls_client_config(Some(&support::repo().join("certs/dev-ca.pem")));
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from(support::PUBLIC_HOST).unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn der_of(pem: Vec<u8>) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

/// Issues a new leaf for the public host with the development CA, over `cert` and `key`.
fn renew(dir: &std::path::Path, cert: &std::path::Path, key: &std::path::Path) {
    let issued = dir.join("issued");
    std::fs::create_dir_all(&issued).unwrap();
    let (new_cert, new_key) =
        crate::issue_certificate(&issued, &format!("DNS:{}", support::PUBLIC_HOST));
    std::fs::copy(new_key, key).unwrap();
    std::fs::copy(new_cert, cert).unwrap();
}
