//! systemd's `Type=notify` protocol (deploy/systemd/freshgate.service): the gateway tells the service
//! manager when it is ready, when a reload runs and ends, and when it shuts down. The socket here stands in
//! for systemd's (no service manager runs the tests); what is checked is what systemd reads from it.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::support::{Gateway, Idp, Setup};
use crate::{config_path, sighup, wait_reloads};

/// The next datagram, as text.
fn next(socket: &UnixDatagram) -> String {
    let mut buffer = [0u8; 4096];
    let n = socket
        .recv(&mut buffer)
        .expect("a notification within the socket's timeout");
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_tells_systemd_when_it_is_ready_reloading_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut setup = Setup::new(Idp::shared().port);
    setup.extra_top = "reload: { poll_interval: off }\n".into();
    let yaml = setup.yaml().replace(
        "shutdown_grace: 5s",
        "shutdown_delay: 0s, shutdown_grace: 5s",
    );
    let mut gateway =
        Gateway::start_yaml_with_env(&yaml, &[("NOTIFY_SOCKET", path.to_str().unwrap())]);

    let ready = next(&socket);
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");
    assert!(
        ready.contains(&format!("STATUS=serving on {}", gateway.addr)),
        "{ready:?}"
    );

    // A reload: RELOADING=1 with the monotonic time it began, then READY=1 again.
    sighup(&gateway);
    let reloading = next(&socket);
    assert!(reloading.starts_with("RELOADING=1\n"), "{reloading:?}");
    let usec: u128 = reloading
        .lines()
        .find_map(|line| line.strip_prefix("MONOTONIC_USEC="))
        .expect("MONOTONIC_USEC")
        .parse()
        .unwrap();
    assert!(usec > 0);
    let ready = next(&socket);
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");
    assert!(ready.contains("configuration reloaded"), "{ready:?}");
    wait_reloads(&gateway, "success", 1).await;

    // A refused reload still ends in READY=1: the running configuration serves on.
    std::fs::write(config_path(&gateway), "listen: [not, an, address]\n").unwrap();
    sighup(&gateway);
    assert!(next(&socket).starts_with("RELOADING=1\n"));
    let ready = next(&socket);
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");
    assert!(ready.contains("reload was refused"), "{ready:?}");

    let status = tokio::task::block_in_place(|| gateway.terminate());
    assert!(status.success(), "{status:?}");
    let stopping = next(&socket);
    assert!(stopping.starts_with("STOPPING=1\n"), "{stopping:?}");
}
