//! The metrics a running gateway exports, checked against independent readers: promtool's linter for the
//! exposition and Prometheus' naming conventions, openssl for the certificate's expiry (before and after
//! a renewal), `ps` for the process, `/readyz` for readiness.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::prometheus::promtool;
use crate::support::{Gateway, Idp, Setup, free_port, get, repo};
use crate::{Stack, login_query};

/// The value of the sample `name` (with its labels, as rendered) in an exposition.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn promtool_finds_nothing_to_fault_in_the_exposition_after_logins_and_passthrough() {
    let stack = Stack::start("").await;
    let gateway = &stack.gateway;
    let browser = gateway.browser();
    browser
        .login(&login_query("s", "n"), "alice", "alice-password")
        .await;
    browser.get(&browser.url("/sso/jwt/callback?state=x")).await;
    browser
        .get(&browser.url("/realms/acme/.well-known/openid-configuration"))
        .await;
    let metrics = gateway.metrics().await;
    let (ok, output) = promtool(&["check", "metrics"], &metrics);
    assert!(
        ok && output.trim().is_empty(),
        "promtool check metrics:\n{output}\n{metrics}"
    );
    for family in [
        "freshgate_build_info{",
        "freshgate_login_duration_seconds_bucket{method=\"oidc\",outcome=\"success\"",
        "freshgate_login_request_duration_seconds_bucket{method=\"oidc\",outcome=\"failure\"",
        "freshgate_provider_duration_seconds_bucket{operation=\"discovery\",result=\"ok\"",
        "freshgate_provider_duration_seconds_bucket{operation=\"jwks\",result=\"ok\"",
        "freshgate_provider_duration_seconds_bucket{operation=\"token\",result=\"ok\"",
        "freshgate_store_duration_seconds_bucket{operation=\"first_use\",result=\"ok\"",
        "freshgate_ready 1",
        "process_cpu_seconds_total ",
    ] {
        assert!(metrics.contains(family), "{family} in\n{metrics}");
    }
    let build = format!(
        "freshgate_build_info{{version=\"{}\",kerberos=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION"),
        cfg!(feature = "kerberos")
    );
    assert!(metrics.contains(&build), "{build} in\n{metrics}");
}

#[tokio::test]
async fn the_process_metrics_are_the_gateways_own_as_ps_reads_them() {
    let gateway = Gateway::start(&Setup::new(free_port()));
    // Idle: its memory holds still while both read it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let metrics = gateway.metrics().await;
    let ps = std::process::Command::new("ps")
        .args(["-o", "rss=,etimes=", "-p", &gateway.pid().to_string()])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let text = String::from_utf8(ps.stdout).unwrap();
    let columns: Vec<f64> = text
        .split_whitespace()
        .map(|c| c.parse().unwrap())
        .collect();
    let rss = sample(&metrics, "process_resident_memory_bytes").unwrap();
    let ps_rss = columns[0] * 1024.0;
    assert!(
        (rss - ps_rss).abs() <= ps_rss * 0.25,
        "RSS {rss} against ps's {ps_rss}"
    );
    let started = sample(&metrics, "process_start_time_seconds").unwrap();
    assert!(
        (started - (now() - columns[1])).abs() <= 2.0,
        "started {started}, ps says {}",
        now() - columns[1]
    );
    let open = sample(&metrics, "process_open_fds").unwrap();
    let max = sample(&metrics, "process_max_fds").unwrap();
    let listed = std::fs::read_dir(format!("/proc/{}/fd", gateway.pid()))
        .unwrap()
        .count() as f64;
    assert!(
        open >= 4.0 && (open - listed).abs() <= 3.0,
        "{open} open, {listed} listed"
    );
    assert!(max >= open, "{max}");
    assert!(sample(&metrics, "process_cpu_seconds_total").unwrap() > 0.0);
}

/// A certificate for the public host, signed by the development CA, valid for `days`, with the
/// gateway's development key.
fn certificate(dir: &std::path::Path, name: &str, days: u32) -> std::path::PathBuf {
    let certs = repo().join("certs");
    let csr = dir.join(format!("{name}.csr"));
    let out = dir.join(format!("{name}.crt"));
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    let key = certs.join("gateway.key");
    run(&[
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        "/CN=sso.freshgate.test",
        "-out",
        csr.to_str().unwrap(),
    ]);
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(&ext, "subjectAltName=DNS:sso.freshgate.test\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        certs.join("dev-ca.pem").to_str().unwrap(),
        "-CAkey",
        certs.join("dev-ca.key").to_str().unwrap(),
        "-CAcreateserial",
        "-CAserial",
        dir.join("serial").to_str().unwrap(),
        "-days",
        &days.to_string(),
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        out.to_str().unwrap(),
    ]);
    out
}

/// `notAfter` of a PEM certificate, as openssl reads it, in Unix seconds.
fn not_after(path: &std::path::Path) -> f64 {
    let output = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let date = text
        .trim()
        .trim_start_matches("notAfter=")
        .replace('Z', "+0000");
    chrono::DateTime::parse_from_str(&date, "%Y-%m-%d %H:%M:%S%z")
        .unwrap_or_else(|e| panic!("{e}: {date}"))
        .timestamp() as f64
}

#[tokio::test]
async fn the_certificates_expiry_is_exported_and_follows_a_renewal_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served.crt");
    std::fs::copy(certificate(dir.path(), "first", 90), &served).unwrap();
    let idp = Idp::start_at(0, "https://sso.freshgate.test");
    let mut setup = Setup::new(idp.port);
    setup.tls = true;
    setup.extra_top = "reload: { poll_interval: 200ms }\n".into();
    let yaml = setup.yaml().replace(
        &repo().join("certs/gateway.crt").display().to_string(),
        &served.display().to_string(),
    );
    let gateway = Gateway::start_yaml(&yaml);
    let expiry = "freshgate_tls_certificate_expiry_timestamp_seconds{listener=\"gateway\"}";
    let left = "freshgate_tls_certificate_expires_in_seconds{listener=\"gateway\"}";
    let metrics = gateway.metrics().await;
    assert_eq!(
        sample(&metrics, expiry),
        Some(not_after(&served)),
        "{metrics}"
    );
    let seconds = sample(&metrics, left).unwrap();
    assert!(
        (seconds - (not_after(&served) - now())).abs() <= 5.0,
        "{seconds}"
    );
    assert!(seconds > 89.0 * 86400.0);

    // cert-manager renews: a new file in place, with another expiry. The gauges follow at the reload.
    let renewed = certificate(dir.path(), "renewed", 5);
    std::fs::copy(&renewed, &served).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = gateway.metrics().await;
        if sample(&metrics, expiry) == Some(not_after(&renewed)) {
            let seconds = sample(&metrics, left).unwrap();
            assert!(
                seconds <= 5.0 * 86400.0 && seconds > 4.9 * 86400.0,
                "{seconds}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}\n{}", gateway.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn readiness_is_a_gauge_that_says_what_readyz_says() {
    let port = free_port();
    let gateway = Gateway::start(&Setup::new(port));
    let metrics = gateway.metrics().await;
    assert!(metrics.contains("\nfreshgate_ready 0\n"), "{metrics}");
    assert_eq!(get(gateway.admin_url("/readyz")).await.status(), 503);
    // The provider comes up; the gateway becomes ready and the gauge follows.
    let _idp = Idp::start(port);
    gateway.wait_ready().await;
    let metrics = gateway.metrics().await;
    assert!(metrics.contains("\nfreshgate_ready 1\n"), "{metrics}");
}
