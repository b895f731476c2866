//! Signing-key rollover: a staged key is shown by `check`, accepted by `simulate`'s verdict, and takes
//! over on a reload without a restart.

use crate::support::{self, Gateway, Idp, Setup, binary};
use crate::{config_path, sighup, wait_reloads};

#[tokio::test]
async fn a_staged_key_is_shown_by_check_and_takes_over_on_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let next = dir.path().join("next.key");
    let made = std::process::Command::new(binary())
        .args(["keygen", "--out"])
        .arg(&next)
        .output()
        .unwrap();
    assert!(made.status.success());
    let repo = support::repo();
    let current = repo.join("certs/freshworks-signing.key");
    let mut setup = Setup::new(Idp::shared().port);
    setup.extra_top = "reload: { poll_interval: off }\n".into();
    let yaml = setup.yaml().replace(
        "  login_timeout:",
        &format!(
            "  next_signing_key_file: {}\n  login_timeout:",
            next.display()
        ),
    );
    let gateway = Gateway::start_yaml(&yaml);
    gateway.wait_ready().await;

    // `check` prints both public keys and says which one is in use.
    let output = std::process::Command::new(binary())
        .args(["check", "-c"])
        .arg(config_path(&gateway))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let pubkey = |key: &std::path::Path| {
        let out = std::process::Command::new(binary())
            .args(["pubkey", "--key"])
            .arg(key)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (current_body, next_body) = (pubkey(&current), pubkey(&next));
    assert!(
        text.contains(&format!("Public key  {current_body}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Next public key  {next_body}")),
        "{text}"
    );

    // Tokens are signed with the key in use until the swap.
    let browser = gateway.browser();
    let landed = browser
        .login("client_id=12344&state=s&nonce=n", "alice", "alice-password")
        .await;
    let token = support::query(&landed)["id_token"].clone();
    assert!(
        support::verify_jwt_independently(&token, &repo.join("certs/freshworks-signing.pub.pem"))
            .is_ok()
    );

    // The swap: the staged key becomes the key in use; a reload, no restart.
    let path = config_path(&gateway);
    let yaml = std::fs::read_to_string(&path).unwrap();
    let swapped = yaml
        .replace(
            &format!("  next_signing_key_file: {}\n", next.display()),
            "",
        )
        .replace(&current.display().to_string(), &next.display().to_string());
    std::fs::write(&path, swapped).unwrap();
    sighup(&gateway);
    wait_reloads(&gateway, "success", 1).await;
    let browser = gateway.browser();
    let landed = browser
        .login(
            "client_id=12344&state=s2&nonce=n2",
            "alice",
            "alice-password",
        )
        .await;
    let token = support::query(&landed)["id_token"].clone();
    let next_pem = dir.path().join("next.pub.pem");
    let out = std::process::Command::new(binary())
        .args(["pubkey", "--pem", "--key"])
        .arg(&next)
        .output()
        .unwrap();
    std::fs::write(&next_pem, out.stdout).unwrap();
    assert!(
        support::verify_jwt_independently(&token, &next_pem).is_ok(),
        "signed with the new key"
    );
    assert!(
        support::verify_jwt_independently(&token, &repo.join("certs/freshworks-signing.pub.pem"))
            .is_err(),
        "and no longer with the old one"
    );
}
