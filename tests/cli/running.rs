//! `freshgate health` and `freshgate reload` against running gateways: what the container image's
//! HEALTHCHECK and the documented reload run.

use std::process::Command;

use crate::support::{self, Gateway, Idp, Setup};
use crate::text;

fn freshgate(args: &[&str]) -> std::process::Output {
    Command::new(support::binary())
        .args(args)
        .env_remove("FRESHGATE_CONFIG")
        .output()
        .expect("freshgate runs")
}

/// A gateway whose admin listener has a port of its own (so a configuration names it) and no file
/// watcher (so only the signal reloads).
fn start_gateway(idp_port: u16) -> (Gateway, String) {
    let admin = format!("127.0.0.1:{}", support::free_port());
    let mut setup = Setup::new(idp_port);
    setup.extra_top = "reload: { poll_interval: off }\n".into();
    let yaml = setup.yaml().replace(
        "admin_listen: 127.0.0.1:0",
        &format!("admin_listen: {admin}"),
    );
    let gateway = Gateway::start_yaml(&yaml);
    let config = gateway.dir.path().join("gateway.yaml");
    (gateway, config.to_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn health_exits_zero_when_the_gateway_is_ready_and_one_with_the_reasons_when_not() {
    // The provider is not up: not ready, and the reason says so.
    let (waiting, config) = start_gateway(support::free_port());
    // Until the first fetch has failed, the reason is that it has not happened yet; then it names the
    // document that could not be fetched. Either way: not ready, exit 1.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let out = loop {
        let output = freshgate(&["health", "-c", &config]);
        let out = text(&output);
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(out.contains("not ready"), "{out}");
        assert!(out.contains("answered 503"), "{out}");
        if out.contains("openid-configuration") || std::time::Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        out.contains("openid-configuration"),
        "the reason is the provider's: {out}"
    );
    // --url asks any path of the admin listener: /healthz is 200 while the process serves.
    let healthz = format!("http://{}/healthz", waiting.admin.unwrap());
    let output = freshgate(&["health", "--url", &healthz]);
    assert!(output.status.success(), "{}", text(&output));
    drop(waiting);

    let (ready, config) = start_gateway(Idp::shared().port);
    ready.wait_ready().await;
    let output = freshgate(&["health", "-c", &config]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains(&format!("ready (http://{}/readyz)", ready.admin.unwrap())),
        "{out}"
    );
    // Only admin_listen is read: a configuration broken elsewhere still finds the listener.
    let broken = ready.dir.path().join("broken.yaml");
    let yaml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &broken,
        format!("{yaml}unknown_key: 1\nsession: {{ cookie_key_file: /nonexistent }}\n"),
    )
    .unwrap();
    let output = freshgate(&["health", "-c", broken.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));

    // Gone: not ready, and why (the configuration kept, the gateway's directory goes with it).
    let admin = ready.admin.unwrap();
    let kept = tempfile::tempdir().unwrap();
    let config = kept.path().join("gateway.yaml");
    std::fs::write(&config, yaml).unwrap();
    drop(ready);
    let output = freshgate(&["health", "-c", config.to_str().unwrap()]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("cannot connect to http://{admin}/readyz")),
        "{out}"
    );
}

#[test]
fn health_says_why_it_cannot_ask_when_the_configuration_names_no_admin_listener() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    for (admin, expected) in [
        ("off", "admin_listen is off"),
        ("127.0.0.1:0", "port 0"),
        (
            "nowhere",
            "admin_listen: `nowhere` is not an IP address and port",
        ),
    ] {
        std::fs::write(&config, format!("admin_listen: {admin}\n")).unwrap();
        let output = freshgate(&["health", "-c", config.to_str().unwrap()]);
        let out = text(&output);
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(out.contains(expected), "{admin}: {out}");
    }
    let output = freshgate(&["health", "--url", "https://127.0.0.1:9901/readyz"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("plain http"));
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_signals_the_gateway_serving_that_configuration_and_reports_the_result() {
    let (gateway, config) = start_gateway(Idp::shared().port);
    gateway.wait_ready().await;
    // Another gateway runs beside it: -c picks the right one.
    let (_other, _) = start_gateway(Idp::shared().port);

    let output = freshgate(&["reload", "-c", &config]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "sent SIGHUP to freshgate serve (pid {}",
            gateway.pid()
        )),
        "{out}"
    );
    assert!(out.contains("configuration reloaded"), "{out}");
    assert!(
        gateway
            .metrics()
            .await
            .contains("freshgate_config_reloads_total{result=\"success\"} 1"),
        "{out}"
    );

    // A broken edit: refused, and the running configuration serves on.
    let yaml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        yaml.replace(
            "client_id: freshgate",
            "client_id: freshgate\n  client_secrt: typo",
        ),
    )
    .unwrap();
    let output = freshgate(&["reload", "--pid", &gateway.pid().to_string(), "-c", &config]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("reload refused"), "{out}");
    assert!(
        out.contains(&format!("freshgate check -c {config}")),
        "{out}"
    );
    assert_eq!(
        support::get(gateway.admin_url("/readyz")).await.status(),
        200
    );

    let output = freshgate(&["reload", "-c", "/nonexistent/gateway.yaml"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("no running `freshgate serve` serves /nonexistent/gateway.yaml"),
        "{out}"
    );
}
