//! Logs: `tracing`, text by default or one JSON object per line (`log.format: json`), to stdout.
//!
//! What is never logged: tokens, authorization codes, client secrets, cookies, and query strings (of `/sso/*`
//! and of passthrough requests alike). Request handlers log only the path; errors are logged by kind.
//!
//! Every line about a request carries its `request_id` (`request_id`). JSON lines name their `target`,
//! so a pipeline can route the sign-in audit trail (`freshgate::audit`, `crate::audit`) apart from the rest.

pub mod request_id;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};
use request_id::{RecordRequestId, WithRequestId};

/// Environment variable that overrides `log.level` (handy for a one-off debug session).
pub const LOG_LEVEL_ENV: &str = "FRESHGATE_LOG";

pub fn init(log: &LogConfig, level_override: Option<String>) {
    let directive = level_override.unwrap_or_else(|| log.level.clone());
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|e| {
        eprintln!("freshgate: log level `{directive}` is not valid ({e}); using `info`");
        EnvFilter::new("info")
    });
    // Colours only for a terminal: a pipe, a file or a container log gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(RecordRequestId);
    let result = match log.format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(ansi),
            )
            .try_init(),
        LogFormat::Json => registry.with(json_layer(std::io::stdout)).try_init(),
    };
    if let Err(e) = result {
        eprintln!("freshgate: logging was already set up: {e}");
    }
}

/// The JSON format: one flat object per line with `timestamp`, `level`, `target`, the event's fields and
/// `message`, and the request id of the span it belongs to.
pub fn json_layer<S, W>(
    writer: W,
) -> tracing_subscriber::fmt::Layer<S, JsonFields, WithRequestId<Format<Json>>, W>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    let format = tracing_subscriber::fmt::format()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true);
    tracing_subscriber::fmt::layer()
        .json()
        .with_ansi(false)
        .with_writer(writer)
        .event_format(WithRequestId(format))
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
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Lines written by the JSON format while `f` runs, as written.
    pub(crate) fn raw_json_lines(f: impl FnOnce()) -> Vec<String> {
        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let buffer = buffer.clone();
            move || Captured(buffer.clone())
        };
        let subscriber = tracing_subscriber::registry()
            .with(RecordRequestId)
            .with(json_layer(writer));
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// Lines written by the JSON format while `f` runs, parsed.
    pub(crate) fn json_lines(f: impl FnOnce()) -> Vec<serde_json::Value> {
        raw_json_lines(f)
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_inside_a_request_span_carry_its_id_at_the_top_level() {
        let lines = json_lines(|| {
            tracing::info!("outside");
            let span = tracing::info_span!("request", request_id = "abc-123");
            let _entered = span.enter();
            tracing::warn!(target: "freshgate::audit", outcome = "failure", "deep down");
            tracing::info!(request_id = "explicit", "names its own");
        });
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].get("request_id").is_none());
        assert_eq!(lines[1]["request_id"], "abc-123");
        assert_eq!(lines[1]["target"], "freshgate::audit");
        assert_eq!(lines[1]["outcome"], "failure");
        assert_eq!(lines[1]["message"], "deep down");
        assert!(lines[1].get("spans").is_none() && lines[1].get("span").is_none());
        assert_eq!(lines[2]["request_id"], "explicit");
    }

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
