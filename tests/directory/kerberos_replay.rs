//! A Negotiate token is accepted once (RFC 4120 §3.2.3), wherever it is sent again: after a reload that
//! rebuilds the directory, after a restart, on another replica (the store, Redis here: Debian's
//! `redis-server`), and wrapped in another framing. And no writable file system is needed for it.
//! Tokens are captured on their way (`negotiate::fresh_token`), as an eavesdropper would.

use std::time::{Duration, Instant};

use base64::Engine;

use crate::flow::*;
use crate::negotiate::*;
use crate::support::kdc::Kdc;
use crate::support::redis::Redis;
use crate::support::slapd::{JDOE, Slapd};
use crate::support::{FRESHWORKS_REDIRECT, Gateway};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// DER of the Kerberos V5 mechanism OID (RFC 4121 §4.1), Microsoft's variant, and SPNEGO's.
const KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
const MS_KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
const SPNEGO_OID: &[u8] = &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend(content);
    out
}

/// The bare Kerberos token (RFC 4121 §4.1: `60 82 len len`, the Kerberos OID, `01 00`, the AP-REQ)
/// inside curl's SPNEGO token, found by its header: written here rather than with the gateway's parser.
fn bare_kerberos(spnego: &[u8]) -> Vec<u8> {
    let start = (1..spnego.len() - 16)
        .find(|&i| {
            spnego[i] == 0x60 && spnego[i + 1] == 0x82 && spnego[i + 4..].starts_with(KRB5_OID)
        })
        .expect("a Kerberos token inside SPNEGO");
    let length = usize::from(spnego[start + 2]) << 8 | usize::from(spnego[start + 3]);
    spnego[start..start + 4 + length].to_vec()
}

/// The same Kerberos token in another SPNEGO token: Microsoft's OID listed first, as Windows does.
fn spnego_with_ms_oid(kerberos: &[u8]) -> Vec<u8> {
    let mech_types = tlv(0xa0, &tlv(0x30, &[MS_KRB5_OID, KRB5_OID].concat()));
    let mech_token = tlv(0xa2, &tlv(0x04, kerberos));
    let init = tlv(0xa0, &tlv(0x30, &[mech_types, mech_token].concat()));
    tlv(0x60, &[SPNEGO_OID, &init].concat())
}

async fn send(gateway: &Gateway, token: &str) -> reqwest::Response {
    with_authorization(gateway, &format!("Negotiate {token}")).await
}

async fn assert_signed_in(gateway: &Gateway, token: &str, what: &str) {
    let response = send(gateway, token).await;
    assert_eq!(response.status(), 302, "{what}\n{}", gateway.logs());
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(FRESHWORKS_REDIRECT),
        "{what}: {location}"
    );
}

async fn assert_replay_refused(gateway: &Gateway, token: &str, what: &str) {
    let response = send(gateway, token).await;
    assert_form_with_challenge(response, what).await;
}

/// `freshgate_directory_logins_total{outcome="failure",reason="kerberos_replayed"}` of `gateway`.
async fn replays_counted(gateway: &Gateway) -> u64 {
    let metrics = gateway.metrics().await;
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                "freshgate_directory_logins_total{outcome=\"failure\",reason=\"kerberos_replayed\"} ",
            )
        })
        .map_or(0, |n| n.trim().parse().unwrap())
}

fn sighup(gateway: &Gateway) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn wait_for_reload(gateway: &Gateway) {
    let wanted = "freshgate_config_reloads_total{result=\"success\"} 1";
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gateway.metrics().await.contains(wanted) {
        assert!(Instant::now() < deadline, "no reload:\n{}", gateway.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_token_is_accepted_once_even_after_a_reload_that_rebuilds_the_directory() {
    let kdc = Kdc::shared();
    let yaml = kerberos_yaml(
        kdc,
        &slapd_directory(Slapd::shared(), false),
        "",
        "reload: { poll_interval: off }\n",
    );
    let gateway = Gateway::start_yaml(&yaml);
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let (captured, later) = (fresh_token(kdc, &ccache), fresh_token(kdc, &ccache));
    assert_signed_in(&gateway, &captured, "the first use").await;
    // A changed directory.timeout makes the reload build a new directory (and Kerberos acceptor).
    let config = gateway.dir.path().join("gateway.yaml");
    let changed = yaml.replace("  timeout: 3s\n", "  timeout: 4s\n");
    assert_ne!(changed, yaml);
    std::fs::write(&config, changed).unwrap();
    sighup(&gateway);
    wait_for_reload(&gateway).await;
    assert_replay_refused(&gateway, &captured, "the same token after the reload").await;
    assert!(
        gateway.has_logged("\"reason\":\"kerberos_replayed\""),
        "{}",
        gateway.logs()
    );
    // Another authenticator of the same ticket is no replay.
    assert_signed_in(&gateway, &later, "a fresh token after the reload").await;
    assert_eq!(replays_counted(&gateway).await, 1);
}

#[tokio::test]
async fn the_same_authenticator_in_another_wrapping_is_still_a_replay() {
    let kdc = Kdc::shared();
    let gateway = kerberos_gateway(kdc);
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let captured = fresh_token(kdc, &ccache);
    let spnego = B64.decode(&captured).unwrap();
    let bare = bare_kerberos(&spnego);
    let windows_style = spnego_with_ms_oid(&bare);
    assert_ne!(windows_style, spnego);
    // The bare Kerberos token (no SPNEGO) is a valid token of its own: GSS-API accepts it, once.
    assert_signed_in(&gateway, &B64.encode(&bare), "the bare Kerberos token").await;
    for (what, token) in [
        ("curl's own SPNEGO token", &spnego),
        ("SPNEGO with Microsoft's OID first", &windows_style),
        ("the bare token again", &bare),
    ] {
        assert_replay_refused(&gateway, &B64.encode(token), what).await;
    }
    assert_eq!(replays_counted(&gateway).await, 3, "{}", gateway.logs());
}

#[tokio::test]
async fn a_token_is_accepted_once_across_a_restart_and_by_replicas_sharing_redis_even_fifty_at_once()
 {
    let kdc = Kdc::shared();
    let redis = Redis::start();
    let yaml = kerberos_yaml(
        kdc,
        &slapd_directory(Slapd::shared(), false),
        "",
        &format!("store: {{ url: \"{}\" }}\n", redis.url()),
    );
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let captured = fresh_token(kdc, &ccache);
    let mut first = Gateway::start_yaml(&yaml);
    assert_signed_in(&first, &captured, "the first use").await;
    first.terminate();
    let restarted = Gateway::start_yaml(&yaml);
    assert_replay_refused(&restarted, &captured, "after the restart").await;
    let replica = Gateway::start_yaml(&yaml);
    assert_replay_refused(&replica, &captured, "on the other replica").await;
    // One captured token sent 50 times at once, to both replicas: exactly one sign-in.
    let token = fresh_token(kdc, &ccache);
    let sends = (0..50).map(|i| {
        let gateway = if i % 2 == 0 { &restarted } else { &replica };
        send(gateway, &token)
    });
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 302).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        49,
        "{statuses:?}"
    );
    assert_eq!(
        replays_counted(&restarted).await + replays_counted(&replica).await,
        2 + 49
    );
}

/// Whether `unshare` can give a process a read-only root file system here (root, or user namespaces).
fn read_only_root_works() -> bool {
    std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -o remount,bind,ro / && ! touch /freshgate-read-only-probe 2>/dev/null",
        ])
        .output()
        .is_ok_and(|output| output.status.success())
}

#[tokio::test]
async fn kerberos_starts_and_signs_in_once_without_a_writable_file_system() {
    let kdc = Kdc::shared();
    let yaml = kerberos_yaml(kdc, &slapd_directory(Slapd::shared(), false), "", "");
    // Every place MIT krb5 or the gateway would write a replay cache or a temporary file is under a
    // path that is not a directory (`/dev/null/…`): nothing can be created there, even by root.
    let env = [
        ("TMPDIR", Some("/dev/null/tmp")),
        ("HOME", Some("/dev/null/home")),
        ("KRB5RCACHEDIR", Some("/dev/null/rcache")),
        ("KRB5RCACHETYPE", None),
        ("KRB5RCACHENAME", None),
    ];
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    let mut runs = vec![("no writable TMPDIR, HOME or KRB5RCACHEDIR", Vec::new())];
    // And, where `unshare` may, the whole root file system read-only, as Kubernetes'
    // `readOnlyRootFilesystem: true` (deploy/kubernetes/) makes it.
    if read_only_root_works() {
        let wrapper = [
            "unshare",
            "-m",
            "sh",
            "-c",
            "mount -o remount,bind,ro / && exec \"$0\" \"$@\"",
        ];
        runs.push(("a read-only root file system", wrapper.to_vec()));
    } else {
        eprintln!("unshare cannot remount / read-only here: only the environment variant runs");
    }
    for (what, wrapper) in runs {
        let gateway = Gateway::start_wrapped(&yaml, &wrapper, &env);
        let captured = fresh_token(kdc, &ccache);
        assert_signed_in(&gateway, &captured, what).await;
        assert_replay_refused(&gateway, &captured, what).await;
        assert!(
            !gateway.logs().contains("cannot make"),
            "{what}: {}",
            gateway.logs()
        );
    }
}

#[tokio::test]
async fn while_the_store_is_down_fail_closed_refuses_the_ticket_and_fail_open_remembers_per_replica()
 {
    let kdc = Kdc::shared();
    let mut redis = Redis::start();
    let store = |on_error: &str| {
        kerberos_yaml(
            kdc,
            &slapd_directory(Slapd::shared(), false),
            "",
            &format!(
                "store: {{ url: \"{}\", timeout: 300ms, on_error: {on_error} }}\n",
                redis.url()
            ),
        )
    };
    let closed = Gateway::start_yaml(&store("fail_closed"));
    let (open_a, open_b) = (
        Gateway::start_yaml(&store("fail_open")),
        Gateway::start_yaml(&store("fail_open")),
    );
    redis.stop();
    let ccache = kdc.kinit(JDOE.sam, JDOE.password);
    // fail_closed: no sign-in the gateway could not remember, and a page that says why.
    let response = send(&closed, &fresh_token(kdc, &ccache)).await;
    assert_eq!(response.status(), 503);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The sign-in service is not available right now")
    );
    assert!(closed.has_logged("store_unavailable"), "{}", closed.logs());
    // fail_open: each replica remembers in its own memory, so the other replica accepts the copy once.
    let captured = fresh_token(kdc, &ccache);
    assert_signed_in(&open_a, &captured, "the first use, store down").await;
    assert_replay_refused(&open_a, &captured, "again on the same replica").await;
    assert_signed_in(
        &open_b,
        &captured,
        "on the other replica while the store is down",
    )
    .await;
    assert_replay_refused(&open_b, &captured, "again on the other replica").await;
    assert!(open_a.has_logged("fail_open"), "{}", open_a.logs());
}
