//! systemd's service notification protocol (sd_notify(3)), for `Type=notify` units (deploy/systemd/): the
//! gateway says `READY=1` once its listeners are bound and everything that must load has loaded,
//! `RELOADING=1` while a reload runs (then `READY=1` again), and `STOPPING=1` when it starts shutting down, so
//! that `systemctl start` returns when the gateway serves and `systemctl status` shows what it is doing.
//!
//! The protocol is one datagram of `KEY=VALUE` lines to the `AF_UNIX` socket named by `NOTIFY_SOCKET` (a
//! path, or `@name` in the abstract namespace), which the standard library sends; a library for it would
//! be larger than this file. Without `NOTIFY_SOCKET` (not run by systemd, or `Type=simple`) every call does
//! nothing. Failures are logged at debug level only: a notification is advice to the service manager,
//! never a reason to stop serving.

use std::os::unix::net::UnixDatagram;

use tracing::debug;

/// The environment variable systemd sets to the socket it listens on.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Listeners bound, keys loaded: the service is up (or back after a reload). `status` is free text for
/// `systemctl status`.
pub fn ready(status: &str) {
    send(&format!("READY=1\nSTATUS={}", one_line(status)));
}

/// A reload began. `MONOTONIC_USEC` is the time it began (`CLOCK_MONOTONIC`); systemd 253's
/// `Type=notify-reload` requires it, older ones ignore it.
pub fn reloading() {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let usec = now.tv_sec as u128 * 1_000_000 + now.tv_nsec as u128 / 1000;
    send(&format!(
        "RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS=reloading the configuration"
    ));
}

/// Shutdown began: systemd stops counting the service as running.
pub fn stopping(status: &str) {
    send(&format!("STOPPING=1\nSTATUS={}", one_line(status)));
}

/// A status line only (a refused reload, for example).
pub fn status(status: &str) {
    send(&format!("STATUS={}", one_line(status)));
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn send(message: &str) {
    let Some(socket) = std::env::var_os(NOTIFY_SOCKET) else {
        return;
    };
    let socket = socket.to_string_lossy().into_owned();
    if let Err(e) = send_to(&socket, message) {
        debug!(socket = %socket, error = %e, "systemd notification not sent");
    }
}

fn send_to(socket: &str, message: &str) -> std::io::Result<()> {
    let datagram = UnixDatagram::unbound()?;
    if let Some(name) = socket.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            datagram.send_to_addr(message.as_bytes(), &addr)?;
            return Ok(());
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "abstract sockets exist on Linux only",
            ));
        }
    }
    if !socket.starts_with('/') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "not a socket path (systemd's vsock: addresses are for virtual machines)",
        ));
    }
    datagram.send_to(message.as_bytes(), socket)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_is_one_datagram_of_lines_to_a_path_or_an_abstract_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        send_to(path.to_str().unwrap(), "READY=1\nSTATUS=serving").unwrap();
        let mut buffer = [0u8; 256];
        let n = server.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1\nSTATUS=serving");

        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let name = format!("freshgate-notify-test-{}", std::process::id());
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
            let server = UnixDatagram::bind_addr(&addr).unwrap();
            send_to(&format!("@{name}"), "STOPPING=1").unwrap();
            let n = server.recv(&mut buffer).unwrap();
            assert_eq!(&buffer[..n], b"STOPPING=1");
        }
        assert!(send_to("vsock:2:1234", "READY=1").is_err());
    }

    #[test]
    fn a_status_stays_on_one_line() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
