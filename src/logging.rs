//! Logs: `tracing`, text by default or one JSON object per line (`log.format: json`), to stdout.
//!
//! What is never logged: tokens, authorization codes, client secrets, cookies, and query strings (of `/sso/*`
//! and of passthrough requests alike). Request handlers log only the path; errors are logged by kind.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Environment variable that overrides `log.level` (handy for a one-off debug session).
pub const LOG_LEVEL_ENV: &str = "FRESHGATE_LOG";

pub fn init(log: &LogConfig, level_override: Option<String>) {
    let directive = level_override.unwrap_or_else(|| log.level.clone());
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|e| {
        eprintln!("freshgate: log level `{directive}` is not valid ({e}); using `info`");
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    if let Err(e) = result {
        eprintln!("freshgate: logging was already set up: {e}");
    }
}
