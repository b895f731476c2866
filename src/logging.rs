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
    // Colours only for a terminal: a pipe, a file or a container log gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
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

/// Text that came with a request (a parameter name, an account id, a provider's message), made safe for one
/// log line: control characters are escaped, so a request cannot end the line and forge another one in the
/// text format (CWE-117), and the text is cut at 200 characters.
pub fn one_line(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    let mut out = String::with_capacity(text.len().min(MAX_CHARS + 8));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_text_cannot_start_a_new_log_line() {
        assert_eq!(
            one_line("x\nevent=login succeeded\r\u{1b}[31m"),
            "x\\nevent=login succeeded\\r\\u{1b}[31m"
        );
        assert_eq!(one_line("plain `id` ünïcode"), "plain `id` ünïcode");
        let long = one_line(&"a".repeat(500));
        assert_eq!(long.chars().count(), 201);
        assert!(long.ends_with('…'));
    }
}
