//! `freshgate health`: asks a running gateway's `/readyz` and exits 0 when it is ready, 1 otherwise with
//! the reasons. It is the container image's `HEALTHCHECK` (the image has no shell and no curl) and works
//! for any orchestrator that runs a command: it reads only `admin_listen` from the configuration, so a
//! problem elsewhere in the file does not make a healthy gateway look ill.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use super::running;

/// Where the default configuration would put the admin listener, when there is no configuration to read.
const DEFAULT_ADMIN: &str = "127.0.0.1:9901";

/// What to ask.
pub struct Target {
    addr: SocketAddr,
    path: String,
}

impl Target {
    /// `--url` (plain `http://host:port/path`), else the configuration's admin listener, else the default
    /// admin address when no configuration was named and `./gateway.yaml` does not exist.
    pub fn choose(url: Option<&str>, config: &super::ConfigArg) -> Result<Target, String> {
        if let Some(url) = url {
            return parse_url(url);
        }
        let path = config.path();
        let named = config.config.is_some()
            || std::env::var_os(super::CONFIG_ENV).is_some_and(|v| !v.is_empty());
        if !named && !path.exists() {
            return Ok(Target {
                addr: DEFAULT_ADMIN.parse().expect("a socket address"),
                path: "/readyz".into(),
            });
        }
        Ok(Target {
            addr: running::admin_of(&path)?,
            path: "/readyz".into(),
        })
    }
}

fn parse_url(text: &str) -> Result<Target, String> {
    let url = url::Url::parse(text).map_err(|e| format!("--url {text}: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "--url {text}: the admin listener serves plain http only; write http://…"
        ));
    }
    let addr = url
        .socket_addrs(|| Some(80))
        .ok()
        .and_then(|addrs| addrs.into_iter().next())
        .ok_or_else(|| format!("--url {text}: cannot resolve its host"))?;
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path = format!("{path}?{query}");
    }
    Ok(Target { addr, path })
}

pub fn main(url: Option<&str>, config: &super::ConfigArg, timeout: Duration) -> ExitCode {
    let target = match Target::choose(url, config) {
        Ok(target) => target,
        Err(problem) => {
            eprintln!("not checked: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match running::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("freshgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let answer = runtime.block_on(running::get(target.addr, &target.path, timeout));
    let url = format!("http://{}{}", target.addr, target.path);
    match answer {
        Ok((200, _)) => {
            super::print_out(&format!("ready ({url})\n"));
            ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            eprintln!("not ready ({url} answered {status}): {}", reasons(&body));
            ExitCode::FAILURE
        }
        Err(problem) => {
            eprintln!(
                "not ready: {problem}; is `freshgate serve` running, with this admin_listen?"
            );
            ExitCode::FAILURE
        }
    }
}

/// The reasons of a `/readyz` answer, or the body itself when it is not one.
fn reasons(body: &str) -> String {
    let reasons: Vec<String> = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value["reasons"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|reason| reason.as_str().map(str::to_owned))
        .collect();
    if reasons.is_empty() {
        body.trim().chars().take(500).collect()
    } else {
        reasons.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_the_address_and_path_and_must_be_plain_http() {
        let target = parse_url("http://127.0.0.1:9999/healthz").unwrap();
        assert_eq!(target.addr, "127.0.0.1:9999".parse().unwrap());
        assert_eq!(target.path, "/healthz");
        assert!(
            parse_url("https://127.0.0.1:9901/readyz")
                .err()
                .unwrap()
                .contains("plain http")
        );
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn the_reasons_of_a_readiness_answer_are_listed() {
        assert_eq!(
            reasons(r#"{"ready":false,"reasons":["provider: down","shutting down"]}"#),
            "provider: down; shutting down"
        );
        assert_eq!(reasons("gateway overloaded\n"), "gateway overloaded");
    }
}
