//! A stand-in for what no real Redis does: a TCP server in the test process that answers `+OK` to every
//! command it is sent, as a misconfigured proxy or the wrong service on the store's port might. A real
//! `redis-server` answers each command in its own shape (an integer, an array, the value stored), so it
//! cannot play this part; the tests that need a real store use `redis::Redis`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct AlwaysOk {
    pub port: u16,
    commands: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl AlwaysOk {
    pub fn start() -> AlwaysOk {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let commands = Arc::new(AtomicUsize::new(0));
        let counted = commands.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                let serve = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            return;
                        };
                        tokio::spawn(answer_ok(stream, counted.clone()));
                    }
                };
                tokio::select! {
                    _ = stopped => {}
                    () = serve => {}
                }
            });
        });
        AlwaysOk {
            port,
            commands,
            _stop: stop,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Commands answered so far.
    pub fn commands(&self) -> usize {
        self.commands.load(Ordering::Relaxed)
    }
}

/// Reads RESP commands (arrays of bulk strings, or inline lines) and answers each with `+OK`.
async fn answer_ok(mut stream: tokio::net::TcpStream, commands: Arc<AtomicUsize>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(length) = command_length(&buffer) {
            buffer.drain(..length);
            commands.fetch_add(1, Ordering::Relaxed);
            if stream.write_all(b"+OK\r\n").await.is_err() {
                return;
            }
        }
    }
}

/// The length of the first whole command in `buffer`, if it holds one.
fn command_length(buffer: &[u8]) -> Option<usize> {
    let line_end = |from: usize| {
        buffer[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|at| from + at)
    };
    if buffer.first() != Some(&b'*') {
        return line_end(0).map(|end| end + 2);
    }
    let end = line_end(0)?;
    let items: usize = std::str::from_utf8(&buffer[1..end]).ok()?.parse().ok()?;
    let mut at = end + 2;
    for _ in 0..items {
        let end = line_end(at)?;
        let length: usize = std::str::from_utf8(buffer.get(at + 1..end)?)
            .ok()?
            .parse()
            .ok()?;
        at = end + 2 + length + 2;
        if at > buffer.len() {
            return None;
        }
    }
    Some(at)
}
