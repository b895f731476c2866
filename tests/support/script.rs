//! A fixture script run by the tests (`tests/ldap/slapd.sh`, `tests/krb5/kdc.sh`): started with
//! `--exit-on-stdin-close`, it prints one JSON ready line and runs until its standard input closes, which
//! dropping the handle does.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Script {
    child: Child,
    /// Kept open: the script stops what it started and exits when it closes.
    stdin: Option<ChildStdin>,
    pub ready: Value,
}

impl Script {
    /// Runs `command` (stderr to `stderr_path`, removed once read) and waits for its ready line; panics
    /// with the script's stderr and `install` (what to install) when it does not come.
    pub fn start(mut command: Command, stderr_path: &Path, what: &str, install: &str) -> Script {
        let stderr = File::create(stderr_path).expect("a file for the fixture's stderr");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("bash runs {what}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let ready: Option<Value> = serde_json::from_str(line.trim()).ok();
        let err = std::fs::read_to_string(stderr_path).unwrap_or_default();
        let _ = std::fs::remove_file(stderr_path);
        let Some(ready) = ready.filter(|_| read.is_ok()) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not start ({install}): {}{err}", line.trim());
        };
        Script {
            stdin: child.stdin.take(),
            child,
            ready,
        }
    }

    /// A text field of the ready line.
    pub fn field(&self, name: &str) -> String {
        self.ready[name]
            .as_str()
            .unwrap_or_else(|| panic!("the ready line has {name}: {}", self.ready))
            .to_string()
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        // Closing stdin makes the script stop what it started, remove its directory and exit.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
