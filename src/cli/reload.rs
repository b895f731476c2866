//! `freshgate reload`: sends the running gateway SIGHUP and says whether the reload applied.
//!
//! It finds the gateway's process in `/proc` (`running::servers`; `--pid` to name it), signals it, and,
//! when the admin listener of that gateway's configuration answers, waits until
//! `freshgate_config_reloads_total` counts the reload and reports its result: applied (exit 0), or refused
//! with the running configuration still serving (exit 1). A reload endpoint on the admin listener was the
//! other way to do this; it would let anyone who reaches that port (Prometheus' network, in Kubernetes)
//! make the gateway reload, where a signal needs the gateway's own user.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::running::{self, Server};

/// The counter a reload increments, by result (`crate::reload`).
const RELOADS: &str = "freshgate_config_reloads_total";

pub fn main(config: &super::ConfigArg, pid: Option<u32>, timeout: Duration) -> ExitCode {
    let server = match pick(config, pid) {
        Ok(server) => server,
        Err(problem) => {
            eprintln!("freshgate reload: {problem}");
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
    runtime.block_on(reload(&server, timeout))
}

/// The gateway to signal: `--pid`, else the one `freshgate serve` found (serving `-c FILE`, when given).
fn pick(config: &super::ConfigArg, pid: Option<u32>) -> Result<Server, String> {
    let wanted = config.config.as_deref();
    if let Some(pid) = pid {
        let found = running::servers().unwrap_or_default();
        return Ok(found
            .into_iter()
            .find(|s| s.pid == pid)
            .unwrap_or_else(|| Server {
                pid,
                config: config.path(),
            }));
    }
    let all = running::servers().map_err(|e| format!("cannot list processes: {e}; pass --pid"))?;
    let matching: Vec<&Server> = all
        .iter()
        .filter(|s| wanted.is_none_or(|w| running::same_file(w, &s.config)))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] if all.is_empty() => Err(
            "no running `freshgate serve` found that this user may signal; start it, or pass --pid"
                .to_owned(),
        ),
        [] => Err(format!(
            "no running `freshgate serve` serves {}; running: {}",
            wanted.map_or(String::new(), |w| w.display().to_string()),
            list(&all)
        )),
        several => Err(format!(
            "several gateways run: {}; pick one with -c FILE or --pid",
            list(several.iter().copied())
        )),
    }
}

fn list<'a>(servers: impl IntoIterator<Item = &'a Server>) -> String {
    servers
        .into_iter()
        .map(|s| format!("pid {} (-c {})", s.pid, s.config.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn reload(server: &Server, timeout: Duration) -> ExitCode {
    // Ask for the counters first: the reload is told from them afterwards.
    let admin = running::admin_of(&server.config);
    let before = match admin {
        Ok(addr) => counts(addr).await.map(|counts| (addr, counts)),
        Err(problem) => Err(problem),
    };
    if let Err(problem) = running::hang_up(server.pid) {
        eprintln!("freshgate reload: {problem}");
        return ExitCode::FAILURE;
    }
    super::print_out(&format!(
        "sent SIGHUP to freshgate serve (pid {}, -c {})\n",
        server.pid,
        server.config.display()
    ));
    let (addr, before) = match before {
        Ok(known) => known,
        Err(problem) => {
            super::print_out(&format!(
                "the gateway's log says whether the reload applied (its admin listener cannot tell: {problem})\n"
            ));
            return ExitCode::SUCCESS;
        }
    };
    let deadline = Instant::now() + timeout;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(now) = counts(addr).await
            && let Some(result) = now
                .iter()
                .find(|(result, n)| **n > before.get(*result).copied().unwrap_or(0))
                .map(|(result, _)| result.as_str())
        {
            return report(result, &server.config);
        }
        if Instant::now() >= deadline {
            eprintln!(
                "no reload was counted within {}: see the gateway's log",
                crate::config::duration::format(timeout)
            );
            return ExitCode::FAILURE;
        }
    }
}

fn report(result: &str, config: &Path) -> ExitCode {
    match result {
        "success" => {
            super::print_out("configuration reloaded: new requests use it\n");
            ExitCode::SUCCESS
        }
        "invalid" => {
            eprintln!(
                "reload refused: the configuration has problems, and the running one keeps serving; \
                 `freshgate check -c {}` lists them (the gateway's log too)",
                config.display()
            );
            ExitCode::FAILURE
        }
        _ => {
            eprintln!(
                "reload refused: a file the configuration names did not load, and the running configuration \
                 keeps serving; the gateway's log names it"
            );
            ExitCode::FAILURE
        }
    }
}

/// `freshgate_config_reloads_total` by result, from the admin listener's `/metrics`.
async fn counts(addr: SocketAddr) -> Result<BTreeMap<String, u64>, String> {
    let (status, text) = running::get(addr, "/metrics", Duration::from_secs(3)).await?;
    if status != 200 {
        return Err(format!("http://{addr}/metrics answered {status}"));
    }
    Ok(parse_counts(&text))
}

fn parse_counts(metrics: &str) -> BTreeMap<String, u64> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix(RELOADS)?.strip_prefix("{result=\""))
        .filter_map(|rest| {
            let (result, rest) = rest.split_once("\"}")?;
            Some((result.to_owned(), rest.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_counts_are_read_from_the_metrics_text() {
        let text = "# TYPE freshgate_config_reloads_total counter\n\
                    freshgate_config_reloads_total{result=\"success\"} 3\n\
                    freshgate_config_reloads_total{result=\"invalid\"} 1\n\
                    freshgate_config_reloads_totalx{result=\"failed\"} 9\n\
                    other 1\n";
        let counts = parse_counts(text);
        assert_eq!(counts.len(), 2);
        assert_eq!(counts["success"], 3);
        assert_eq!(counts["invalid"], 1);
    }
}
