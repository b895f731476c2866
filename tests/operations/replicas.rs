//! Two replicas sharing Redis: a callback replayed on the other replica is refused, failed logins on both
//! add up, and logins wait for the store while it is away and work again when it is back.

use std::time::Duration;

use crate::support::ad_standin::{AdStandin, StandinUser};
use crate::support::redis::Redis;
use crate::support::{self, Browser, Gateway, Idp, Setup};

/// A cookie key both replicas share (`session.cookie_key_file`), written to `dir`.
fn shared_setup(dir: &std::path::Path, store: &str) -> Setup {
    let key = dir.join("cookie.key");
    std::fs::write(&key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
    let mut permissions = std::fs::metadata(&key).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    std::fs::set_permissions(&key, permissions).unwrap();
    let mut setup = Setup::new(Idp::shared().port);
    setup.extra_top = format!(
        "session: {{ cookie_key_file: {} }}\nstore: {store}\nreload: {{ poll_interval: off }}\n",
        key.display()
    );
    setup
}

#[tokio::test]
async fn a_callback_replayed_on_the_other_replica_is_refused() {
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let setup = shared_setup(dir.path(), &format!("{{ url: \"{}\" }}", redis.url()));
    let (a, b) = (Gateway::start(&setup), Gateway::start(&setup));
    a.wait_ready().await;
    b.wait_ready().await;
    let browser = a.browser();
    let callback = browser
        .login_until_callback("client_id=12344&state=s&nonce=n", "alice", "alice-password")
        .await;
    let stolen_cookie = browser.cookies_for(&callback);
    assert_eq!(browser.get(&callback).await.status(), 302);
    // The same callback with a copy of the cookie, sent to the other replica.
    let attacker = Browser::new(b.addr, false);
    let replay = attacker
        .client
        .get(&callback)
        .header("cookie", stolen_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.unwrap().contains("already used"));
    assert!(
        b.has_logged("\"reason\":\"replayed_callback\""),
        "{}",
        b.logs()
    );
}

/// The directory gateway of `tests/directory`, with a store.
pub fn directory_yaml(ad: &AdStandin, store: &str) -> String {
    format!(
        "listen: 127.0.0.1:0\npublic_url: {}\nadmin_listen: 127.0.0.1:0\nlog: {{ format: json, level: info }}\n\
         store: {store}\nreload: {{ poll_interval: off }}\n\
         directory:\n  url: {}\n  bind_dn: \"{}\"\n  bind_password: {}\n  base_dn: \"{}\"\n  timeout: 3s\n  \
         throttle: {{ max_failures: 3, window: 60s }}\n\
         freshworks:\n  signing_key_file: {}\n  accounts:\n    \"1\":\n      redirect_url: {}\n      login: directory\n",
        support::PUBLIC_ORIGIN,
        ad.url,
        ad.bind_dn,
        ad.bind_password,
        ad.base_dn,
        support::repo()
            .join("certs/freshworks-signing.key")
            .display(),
        support::FRESHWORKS_REDIRECT,
    )
}

/// Posts a wrong (or right) password for `user` through `gateway`'s form; the response status.
pub async fn try_password(gateway: &Gateway, user: &str, password: &str) -> u16 {
    let browser = gateway.browser();
    let response = browser
        .get(&browser.url("/sso/jwt/login?client_id=1&state=s&nonce=n"))
        .await;
    let html = response.text().await.unwrap();
    let start = html.find(r#"name="state" value=""#).unwrap() + r#"name="state" value=""#.len();
    let state = html[start..].split('"').next().unwrap().to_owned();
    browser
        .client
        .post(browser.url("/sso/jwt/callback"))
        .header("origin", support::PUBLIC_ORIGIN)
        .form(&[
            ("state", state.as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn failed_logins_on_both_replicas_add_up() {
    let redis = Redis::start();
    let ad = AdStandin::start(vec![
        StandinUser::new("victim", "right").mail(Some("victim@corp.example")),
    ]);
    let yaml = directory_yaml(&ad, &format!("{{ url: \"{}\" }}", redis.url()));
    let (a, b) = (Gateway::start_yaml(&yaml), Gateway::start_yaml(&yaml));
    assert_eq!(try_password(&a, "victim", "wrong").await, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(try_password(&b, "victim", "wrong").await, 200);
    // B knows of A's failure: its backoff after two failures is two seconds.
    assert_eq!(try_password(&b, "victim", "wrong").await, 429);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(try_password(&a, "victim", "wrong").await, 200);
    // Three failures in all: both replicas hold the user, even with the right password.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(try_password(&a, "victim", "right").await, 429);
    assert_eq!(try_password(&b, "victim", "right").await, 429);
    assert_eq!(
        ad.binds(&StandinUser::new("victim", "").dn()),
        3,
        "no bind past the shared limit"
    );
}

#[tokio::test]
async fn logins_wait_for_the_store_while_it_is_away_and_work_again_when_it_is_back() {
    let mut redis = Redis::start();
    let ad = AdStandin::start(vec![
        StandinUser::new("jdoe", "right").mail(Some("jdoe@corp.example")),
    ]);
    let closed = Gateway::start_yaml(&directory_yaml(
        &ad,
        &format!("{{ url: \"{}\", timeout: 300ms }}", redis.url()),
    ));
    let open = Gateway::start_yaml(&directory_yaml(
        &ad,
        &format!(
            "{{ url: \"{}\", timeout: 300ms, on_error: fail_open }}",
            redis.url()
        ),
    ));
    assert_eq!(try_password(&closed, "jdoe", "right").await, 302);
    redis.stop();
    // fail_closed: a clear page, readiness says why, the error is counted.
    assert_eq!(try_password(&closed, "jdoe", "right").await, 503);
    let ready: serde_json::Value = support::get(closed.admin_url("/readyz"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["store"], "not ready", "{ready}");
    assert!(
        closed
            .metrics()
            .await
            .contains("freshgate_store_errors_total{operation=")
    );
    // fail_open: logins go on, with a warning, and readiness stays ready.
    assert_eq!(try_password(&open, "jdoe", "right").await, 302);
    assert!(open.has_logged("fail_open"), "{}", open.logs());
    let ready: serde_json::Value = support::get(open.admin_url("/readyz"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["store"], "degraded", "{ready}");
    assert_eq!(ready["ready"], true);
    // The store comes back on the same port: logins work again without a restart.
    redis.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let status = try_password(&closed, "jdoe", "right").await;
        if status == 302 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status}:\n{}",
            closed.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready: serde_json::Value = support::get(closed.admin_url("/readyz"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["store"], "ok", "{ready}");
}

#[tokio::test]
async fn a_tls_store_is_used_with_its_ca_and_refused_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = crate::issue_certificate(dir.path(), "IP:127.0.0.1");
    let redis = Redis::start_tls(&cert, &key);
    let ad = AdStandin::start(vec![
        StandinUser::new("jdoe", "right").mail(Some("jdoe@corp.example")),
    ]);
    let ca = support::repo().join("certs/dev-ca.pem");
    let trusted = Gateway::start_yaml(&directory_yaml(
        &ad,
        &format!(
            "{{ url: \"{}\", ca_file: {}, timeout: 1s }}",
            redis.url(),
            ca.display()
        ),
    ));
    assert_eq!(try_password(&trusted, "jdoe", "wrong").await, 200);
    assert!(trusted.metrics().await.contains("freshgate_store_up 1"));
    // Without the CA the server's certificate is not trusted: the store is unreachable, logins wait.
    let untrusted = Gateway::start_yaml(&directory_yaml(
        &ad,
        &format!("{{ url: \"{}\", timeout: 1s }}", redis.url()),
    ));
    assert_eq!(try_password(&untrusted, "jdoe", "right").await, 503);
    assert!(untrusted.metrics().await.contains("freshgate_store_up 0"));
}

#[test]
fn check_pings_the_store_and_names_the_fix_when_it_does_not_answer() {
    let mut redis = Redis::start();
    let ad = AdStandin::start(vec![StandinUser::new("jdoe", "right")]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(
        &config,
        directory_yaml(
            &ad,
            &format!("{{ url: \"{}\", timeout: 300ms }}", redis.url()),
        ),
    )
    .unwrap();
    let check = || {
        let output = std::process::Command::new(support::binary())
            .args(["check", "-c"])
            .arg(&config)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, text) = check();
    assert!(
        text.contains("shared store keeps what it is told"),
        "{text}"
    );
    assert_eq!(code, Some(0), "{text}");
    redis.stop();
    let (code, text) = check();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("store: ") && text.contains("fix: check store.url"),
        "{text}"
    );
    // Something that answers but is not a store (a stand-in: no real Redis answers `+OK` to everything).
    let fake = crate::support::always_ok::AlwaysOk::start();
    std::fs::write(
        &config,
        directory_yaml(
            &ad,
            &format!("{{ url: \"{}\", timeout: 300ms }}", fake.url()),
        ),
    )
    .unwrap();
    let (code, text) = check();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("a value written was not read back"), "{text}");
}
