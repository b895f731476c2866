//! Talking to a running gateway from the command line (`freshgate health`, `freshgate reload`): its admin
//! listener over plain HTTP, and its process.
//!
//! The process is found in `/proc` rather than through a pid file, which would need a writable directory
//! (the container image and the Kubernetes manifests have a read-only root filesystem) and goes stale
//! after a crash: every `freshgate serve` this user may signal, optionally only the one serving a given
//! configuration file. In a container that is PID 1; under systemd, `ExecReload=` has `$MAINPID`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;

use crate::config::{ProcessEnv, validate};

/// The most of an admin answer read: `/metrics` of a busy gateway is tens of KiB.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// Where to reach the admin listener from this machine: a wildcard address becomes loopback.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// The admin listener of the configuration at `path`, or why it cannot be asked.
pub fn admin_of(path: &Path) -> Result<SocketAddr, String> {
    match validate::admin_listen(path, &ProcessEnv) {
        Ok(Some(addr)) if addr.port() == 0 => Err(format!(
            "{}: admin_listen has port 0 (any free port), so its address is known to the gateway only; \
             give it a fixed port, or pass --url",
            path.display()
        )),
        Ok(Some(addr)) => Ok(reachable(addr)),
        Ok(None) => Err(format!(
            "{}: admin_listen is off, so there is no admin listener to ask; turn it on (e.g. \
             `admin_listen: 127.0.0.1:9901`)",
            path.display()
        )),
        Err(errors) => Err(errors.to_string()),
    }
}

/// `GET http://addr/path` with a deadline: the status and the body (at most [`MAX_ANSWER_BYTES`]).
pub async fn get(addr: SocketAddr, path: &str, within: Duration) -> Result<(u16, String), String> {
    let url = format!("http://{addr}{path}");
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {url}: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = http::Request::get(path)
            .header(http::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("{url}: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    match tokio::time::timeout(within, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{url} did not answer within {}",
            crate::config::duration::format(within)
        )),
    }
}

/// A current-thread runtime for one command.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// A running `freshgate serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub pid: u32,
    /// The configuration file it serves, absolute when its working directory could be read.
    pub config: PathBuf,
}

/// Every `freshgate serve` process this user may signal (root: every one), other than this process.
#[cfg(target_os = "linux")]
pub fn servers() -> std::io::Result<Vec<Server>> {
    let me = std::process::id();
    let uid = rustix::process::getuid().as_raw();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let dir = entry.path();
        // A process may end while it is read: whatever cannot be read is skipped.
        let Ok(cmdline) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        let Some(config) = serve_config(&args) else {
            continue;
        };
        if uid != 0 && owner(&dir) != Some(uid) {
            continue;
        }
        let environment = std::fs::read(dir.join("environ")).unwrap_or_default();
        let config = config.or_else(|| from_environment(&environment));
        let config = config.unwrap_or_else(|| PathBuf::from(super::DEFAULT_CONFIG));
        let config = if config.is_relative() {
            std::fs::read_link(dir.join("cwd"))
                .map(|cwd| cwd.join(&config))
                .unwrap_or(config)
        } else {
            config
        };
        found.push(Server { pid, config });
    }
    found.sort_by_key(|server| server.pid);
    Ok(found)
}

#[cfg(not(target_os = "linux"))]
pub fn servers() -> std::io::Result<Vec<Server>> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "finding the gateway's process needs Linux's /proc; pass --pid",
    ))
}

/// For the arguments of a `freshgate serve` process, `Some(its -c value, if any)`; `None` for any other.
fn serve_config(args: &[String]) -> Option<Option<PathBuf>> {
    let program = Path::new(args.first()?).file_name()?;
    if program != "freshgate" || args.get(1).map(String::as_str) != Some("serve") {
        return None;
    }
    let mut rest = args[2..].iter();
    while let Some(arg) = rest.next() {
        if arg == "-c" || arg == "--config" {
            return Some(rest.next().map(PathBuf::from));
        }
        if let Some(value) = arg
            .strip_prefix("--config=")
            .or_else(|| arg.strip_prefix("-c"))
        {
            return Some(Some(PathBuf::from(value.trim_start_matches('='))));
        }
    }
    Some(None)
}

/// `FRESHGATE_CONFIG` in a process's environment (`/proc/<pid>/environ`), when set and not empty.
fn from_environment(environ: &[u8]) -> Option<PathBuf> {
    let prefix = format!("{}=", super::CONFIG_ENV);
    environ
        .split(|b| *b == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .find_map(|entry| entry.strip_prefix(prefix.as_str()))
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// The real user id of a process, from `/proc/<pid>/status`.
#[cfg(target_os = "linux")]
fn owner(dir: &Path) -> Option<u32> {
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether two paths name the same file (compared after resolving links; as written when they do not
/// resolve).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Sends SIGHUP: the gateway reloads its configuration (`crate::reload`).
pub fn hang_up(pid: u32) -> Result<(), String> {
    let target = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| format!("{pid} is not a process id"))?;
    rustix::process::kill_process(target, rustix::process::Signal::HUP)
        .map_err(|e| format!("cannot signal process {pid}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn a_serve_process_is_told_by_its_arguments_and_its_configuration_found_in_them() {
        let path = |p: &str| Some(Some(PathBuf::from(p)));
        assert_eq!(
            serve_config(&args(
                "/usr/local/bin/freshgate serve -c /etc/freshgate/gateway.yaml"
            )),
            path("/etc/freshgate/gateway.yaml")
        );
        assert_eq!(
            serve_config(&args("freshgate serve --config=gw.yaml")),
            path("gw.yaml")
        );
        assert_eq!(
            serve_config(&args("freshgate serve -cgw.yaml")),
            path("gw.yaml")
        );
        assert_eq!(serve_config(&args("freshgate serve")), Some(None));
        assert_eq!(serve_config(&args("freshgate check -c gw.yaml")), None);
        assert_eq!(serve_config(&args("/usr/bin/vim serve -c gw.yaml")), None);
        assert_eq!(serve_config(&[]), None);
    }

    #[test]
    fn the_configuration_may_come_from_the_process_environment() {
        assert_eq!(
            from_environment(b"PATH=/bin\0FRESHGATE_CONFIG=/etc/g.yaml\0HOME=/"),
            Some(PathBuf::from("/etc/g.yaml"))
        );
        assert_eq!(from_environment(b"FRESHGATE_CONFIG=\0"), None);
        assert_eq!(from_environment(b""), None);
    }

    #[test]
    fn a_wildcard_admin_address_is_asked_on_loopback() {
        assert_eq!(
            reachable("0.0.0.0:9901".parse().unwrap()),
            "127.0.0.1:9901".parse().unwrap()
        );
        assert_eq!(
            reachable("[::]:9901".parse().unwrap()),
            "[::1]:9901".parse().unwrap()
        );
        assert_eq!(
            reachable("10.1.2.3:9901".parse().unwrap()),
            "10.1.2.3:9901".parse().unwrap()
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_test_process_is_not_a_gateway() {
        let me = std::process::id();
        assert!(servers().unwrap().iter().all(|s| s.pid != me));
    }
}
