//! The pages a person sees when something goes wrong: what happened, what to do, and the request id to quote.
//!
//! Pages never carry internal detail (no error chains, no upstream messages, no secrets); that goes to the log
//! line with the same request id. Clients that ask for JSON and not HTML get the same content as JSON.

use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use crate::body::Body;
use crate::request_id::RequestId;
use crate::security_headers::{self, Answer};

/// What a page says. `title` and `message` are plain text; they are escaped on output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub status: StatusCode,
    /// A short machine-readable code, also used in the JSON form (e.g. `provider_unreachable`).
    pub code: &'static str,
    pub title: String,
    pub message: String,
    /// What the reader can do about it.
    pub advice: String,
    /// An optional link, e.g. "Start the login again".
    pub link: Option<(String, String)>,
    /// A second, less prominent way out, e.g. "Sign out and use another account".
    pub other_link: Option<(String, String)>,
    /// Drop the query from the address bar (a callback's `code` and `state` are spent; a reload or a
    /// bookmark of them only leads to "already used").
    pub forget_query: bool,
}

/// The script that drops the query from the address bar; allowed by its hash only (CSP Level 3
/// `'sha256-…'` source), so pages still run no other script.
const FORGET_QUERY_SCRIPT: &str = "history.replaceState(null,'',location.pathname)";

impl Page {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Page {
            status,
            code,
            title: title.into(),
            message: message.into(),
            advice: String::new(),
            link: None,
            other_link: None,
            forget_query: false,
        }
    }

    pub fn advice(mut self, advice: impl Into<String>) -> Self {
        self.advice = advice.into();
        self
    }

    pub fn link(mut self, label: impl Into<String>, href: impl Into<String>) -> Self {
        self.link = Some((label.into(), href.into()));
        self
    }

    pub fn other_link(mut self, label: impl Into<String>, href: impl Into<String>) -> Self {
        self.other_link = Some((label.into(), href.into()));
        self
    }

    pub fn forget_query(mut self) -> Self {
        self.forget_query = true;
        self
    }

    /// Renders the page for the client that sent `request_headers`.
    pub fn render(&self, request_headers: &HeaderMap, id: RequestId) -> Response<Body> {
        let (content_type, body) = if wants_json(request_headers) {
            ("application/json", self.json(id))
        } else {
            ("text/html; charset=utf-8", self.html(id))
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        let script = self.forget_query.then(|| script_hash(FORGET_QUERY_SCRIPT));
        security_headers::set(
            headers,
            Answer::Page {
                script: script.as_deref(),
            },
        );
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            headers.insert("x-request-id", value);
        }
        response
    }

    fn json(&self, id: RequestId) -> String {
        serde_json::json!({
            "error": self.code,
            "title": self.title,
            "message": self.message,
            "advice": self.advice,
            "request_id": id.to_string(),
        })
        .to_string()
    }

    fn html(&self, id: RequestId) -> String {
        let button = |class: &str, (label, href): &(String, String)| {
            format!(
                r#"<a class="{class}" href="{}">{}</a>"#,
                escape(href),
                escape(label)
            )
        };
        let links: Vec<String> = [("button", &self.link), ("button other", &self.other_link)]
            .into_iter()
            .filter_map(|(class, link)| link.as_ref().map(|link| button(class, link)))
            .collect();
        let link = if links.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", links.join(" "))
        };
        let advice = if self.advice.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", escape_with_code(&self.advice))
        };
        let script = if self.forget_query {
            format!("<script>{FORGET_QUERY_SCRIPT}</script>")
        } else {
            String::new()
        };
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}}
h1{{font-size:1.4rem}}.button{{display:inline-block;padding:.5rem 1rem;background:#2563eb;color:#fff;border-radius:.3rem;text-decoration:none}}
.other{{background:#fff;color:#2563eb;border:1px solid #2563eb;margin-left:.5rem}}
.id{{color:#52606d;font-size:.85rem}}</style>{script}</head>
<body><main><h1>{title}</h1><p>{message}</p>{advice}{link}
<p class="id">{status_line} · request id <code>{id}</code></p></main></body></html>
"#,
            title = escape(&self.title),
            message = escape_with_code(&self.message),
            status_line = if self.status.is_success() {
                self.code.to_owned()
            } else {
                format!("Error {} · {}", self.status.as_u16(), self.code)
            },
        )
    }
}

/// `'sha256-…'` for a CSP script source (CSP Level 3 §8.4): base64 of the script's SHA-256.
fn script_hash(script: &str) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, script.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

fn wants_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accept.contains("application/json") && !accept.contains("text/html")
}

/// HTML-escapes text for element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text like [`escape`], and shows `` `spans` `` in backticks as code, as the messages write key
/// names and values: a page shows `email`, not a raw backtick. An unpaired backtick stays as it is.
pub fn escape_with_code(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(&escape(part));
            out.push_str("</code>");
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// A duration as people say it: "1 second", "45 seconds", "2 minutes", "3 hours" (rounded up, so a wait
/// is never under-stated).
pub fn span(duration: Duration) -> String {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    let (n, unit) = if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else if seconds >= 60 && seconds.is_multiple_of(60) && seconds < 90 * 60 {
        (seconds / 60, "minute")
    } else if seconds < 90 {
        (seconds, "second")
    } else if seconds < 90 * 60 {
        (seconds.div_ceil(60), "minute")
    } else {
        (seconds.div_ceil(3600), "hour")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_said_with_the_right_plural_and_never_shorter_than_they_are() {
        let cases = [
            (Duration::from_secs(1), "1 second"),
            (Duration::from_millis(1_200), "2 seconds"),
            (Duration::from_secs(45), "45 seconds"),
            (Duration::from_secs(60), "1 minute"),
            (Duration::from_secs(61), "61 seconds"),
            (Duration::from_secs(91), "2 minutes"),
            (Duration::from_secs(1800), "30 minutes"),
            (Duration::from_secs(3600), "1 hour"),
            (Duration::from_secs(7300), "3 hours"),
        ];
        for (duration, said) in cases {
            assert_eq!(span(duration), said, "{duration:?}");
        }
    }
    use crate::request_id::RequestIds;
    use http_body_util::BodyExt;

    async fn text(response: Response<Body>) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn html_page_escapes_text_and_shows_the_request_id() {
        let id = RequestIds::new().next();
        let page = Page::new(StatusCode::BAD_REQUEST, "bad", "<script>", "a & b")
            .link("again", "/x?a=1&b=\"2\"");
        let response = page.render(&HeaderMap::new(), id);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body = text(response).await;
        assert!(body.contains("&lt;script&gt;"));
        assert!(!body.contains("<script>"));
        assert!(body.contains("a &amp; b"));
        assert!(body.contains("/x?a=1&amp;b=&quot;2&quot;"));
        assert!(body.contains(&id.to_string()));
    }

    #[tokio::test]
    async fn json_clients_get_json() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let id = RequestIds::new().next();
        let response = Page::new(StatusCode::BAD_GATEWAY, "provider_unreachable", "t", "m")
            .render(&headers, id);
        assert_eq!(response.headers()["content-type"], "application/json");
        let value: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
        assert_eq!(value["error"], "provider_unreachable");
        assert_eq!(value["request_id"], id.to_string());
    }

    #[test]
    fn backtick_spans_become_code_and_stay_escaped() {
        assert_eq!(
            escape_with_code("needs `email` & `<b>`"),
            "needs <code>email</code> &amp; <code>&lt;b&gt;</code>"
        );
        assert_eq!(escape_with_code("one ` alone"), "one ` alone");
    }

    #[tokio::test]
    async fn a_page_that_forgets_its_query_runs_only_the_script_its_policy_names() {
        let page = Page::new(StatusCode::FORBIDDEN, "x", "t", "m `claim`").forget_query();
        let response = page.render(&HeaderMap::new(), RequestIds::new().next());
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = text(response).await;
        assert!(body.contains(&format!("<script>{FORGET_QUERY_SCRIPT}</script>")));
        assert_eq!(body.matches("<script").count(), 1);
        // The hash, computed independently of `script_hash` by openssl.
        let expected = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "printf '%s' \"{FORGET_QUERY_SCRIPT}\" | openssl dgst -sha256 -binary | openssl base64"
            ))
            .output()
            .unwrap();
        let expected = String::from_utf8(expected.stdout).unwrap();
        assert!(
            csp.ends_with(&format!("script-src 'sha256-{}'", expected.trim())),
            "{csp}"
        );
        assert!(body.contains("m <code>claim</code>"));
    }
}
