//! Tests of configuration loading, one file per section of the configuration, and the helpers they share: a
//! scratch directory to load from, the smallest valid file, and shorthands for the problems found.

mod directory;
mod file;
mod freshworks;
mod insecure;
mod listen;
mod session;
mod store;
mod top_level;
mod upstream;
mod webchat;
mod webchat_values;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::load_str;
use crate::config::{ClaimMapping, ClaimSource, Config, ConfigErrors, MapEnv};

/// A scratch directory under the system temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "freshgate-config-test-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn write(&self, relative: &str, content: &str) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    fn config(&self) -> PathBuf {
        self.0.join("gateway.yaml")
    }

    fn load(&self, yaml: &str, env: &MapEnv) -> Result<Config, ConfigErrors> {
        load_str(yaml, &self.config(), env)
    }

    fn ok(&self, yaml: &str, env: &MapEnv) -> Config {
        self.load(yaml, env).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(&self, yaml: &str, env: &MapEnv) -> ConfigErrors {
        match self.load(yaml, env) {
            Ok(_) => panic!("loaded without error:\n{yaml}"),
            Err(e) => e,
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MINIMAL: &str = "
listen: 0.0.0.0:8443
public_url: https://sso.example.com
upstream:
  issuer: https://sso.example.com/realms/acme
  client_id: freshgate
  client_secret: not-a-real-secret
";

/// `MINIMAL` plus `extra` appended (extra top-level sections or upstream keys indented by two).
fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

fn keys(errors: &ConfigErrors) -> Vec<&str> {
    errors.errors.iter().map(|e| e.key.as_str()).collect()
}

fn no_env() -> MapEnv {
    MapEnv::new()
}

const COOKIE_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // bytes 0..32

fn path(names: &[&str]) -> ClaimSource {
    ClaimSource::Path(names.iter().map(|s| s.to_string()).collect())
}

fn mapping(sources: Vec<ClaimSource>) -> ClaimMapping {
    ClaimMapping { sources }
}

fn freshworks_dir() -> Dir {
    let dir = Dir::new();
    dir.write("signing.key", "key");
    dir
}
