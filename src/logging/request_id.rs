//! The request id on every JSON log line of a request, at the top level.
//!
//! The sign-in routes run inside a `request` span with a `request_id` field (`app.rs`), so the lines
//! logged deep down (the provider's back channel, the directory, the store) belong to their request.
//! `tracing_subscriber`'s JSON format would nest span fields under `spans`, where a log pipeline has to
//! dig for them; this format writes the innermost span's `request_id` as a top-level field of the line
//! instead, unless the event names one itself. The text format shows the span as its `request{…}:` prefix.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The field name, in spans and events alike.
pub const FIELD: &str = "request_id";

/// A span's request id, kept in the span's extensions.
struct SpanRequestId(String);

/// Keeps the `request_id` of each new span that has one, for [`WithRequestId`].
pub struct RecordRequestId;

impl<S> Layer<S> for RecordRequestId
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if attrs.metadata().fields().field(FIELD).is_none() {
            return;
        }
        let mut found = Find(None);
        attrs.record(&mut found);
        if let (Some(value), Some(span)) = (found.0, ctx.span(id)) {
            span.extensions_mut().insert(SpanRequestId(value));
        }
    }
}

struct Find(Option<String>);

impl Visit for Find {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == FIELD {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == FIELD {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// A JSON event format (`F`) with the request id of the event's span added at the top level.
pub struct WithRequestId<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for WithRequestId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let inherited = if event.metadata().fields().field(FIELD).is_some() {
            None
        } else {
            ctx.event_scope().and_then(|scope| {
                scope.from_root().find_map(|span| {
                    span.extensions()
                        .get::<SpanRequestId>()
                        .map(|id| id.0.clone())
                })
            })
        };
        let Some(id) = inherited else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => {
                let separator = if rest.starts_with('}') { "" } else { "," };
                write!(
                    writer,
                    "{{\"{FIELD}\":{}{separator}",
                    serde_json::Value::from(id)
                )?;
                writer.write_str(rest)
            }
            None => writer.write_str(&line),
        }
    }
}
