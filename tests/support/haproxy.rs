//! A real load balancer in front of gateway replicas: Debian's HAProxy, run as this user on 127.0.0.1 with
//! a configuration of the test's making, health-checking each replica's `/readyz` the way an operator's
//! balancer does (README: "put `/readyz` on the admin listener as its health check"). Killed on drop.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One replica behind the balancer: where it serves, and where its `/readyz` answers.
pub struct Backend {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
}

pub struct Haproxy {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// HAProxy's binary: `HAPROXY` or Debian's.
fn binary() -> String {
    std::env::var("HAPROXY").unwrap_or_else(|_| "/usr/sbin/haproxy".to_owned())
}

impl Haproxy {
    /// Balances round-robin over `backends`, checking `GET /readyz` every `check_every`; a replica is taken
    /// out after two failed checks and put back after one good one. `retries 0`: a request sent to a
    /// replica that refuses the connection fails (a 503 to the client) instead of being retried elsewhere,
    /// so the test sees every refused connection. Responses carry `x-served-by: s<index>`.
    pub fn start(backends: &[Backend], check_every: Duration) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = super::free_port();
        let inter = format!("{}ms", check_every.as_millis());
        let mut config = format!(
            "global\n  maxconn 4096\n\
             defaults\n  mode http\n  retries 0\n  timeout connect 2s\n  timeout client 30s\n  \
             timeout server 30s\n  timeout check 1s\n  timeout http-keep-alive 30s\n  option http-keep-alive\n\
             frontend clients\n  bind 127.0.0.1:{port}\n  default_backend replicas\n\
             backend replicas\n  balance roundrobin\n  http-reuse always\n  option httpchk\n  \
             http-check send meth GET uri /readyz\n  http-check expect status 200\n  \
             http-response set-header x-served-by %[srv_name]\n  \
             default-server inter {inter} fastinter {inter} downinter {inter} fall 2 rise 1\n"
        );
        for (i, backend) in backends.iter().enumerate() {
            config += &format!(
                "  server s{i} {} check addr {} port {}\n",
                backend.addr,
                backend.admin.ip(),
                backend.admin.port()
            );
        }
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).unwrap();
        let log = std::fs::File::create(dir.path().join("haproxy.log")).unwrap();
        let child = Command::new(binary())
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} does not run ({e}): the shutdown tests need HAProxy (apt-get install haproxy)",
                    binary()
                )
            });
        let mut haproxy = Haproxy {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(haproxy.addr).is_err() {
            if let Ok(Some(status)) = haproxy.child.try_wait() {
                panic!("haproxy exited with {status}:\n{}", haproxy.log());
            }
            assert!(
                Instant::now() < deadline,
                "haproxy did not listen:\n{}",
                haproxy.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        haproxy
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
