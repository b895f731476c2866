//! The pages a person sees when something goes wrong: what happened, what to do, and the request id to quote.
//!
//! Pages never carry internal detail (no error chains, no upstream messages, no secrets); that goes to the log
//! line with the same request id. Clients that ask for JSON and not HTML get the same content as JSON.

use http::header::{self, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use crate::body::Body;
use crate::request_id::RequestId;

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
}

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
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
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
        let link = match &self.link {
            Some((label, href)) => format!(
                r#"<p><a class="button" href="{}">{}</a></p>"#,
                escape(href),
                escape(label)
            ),
            None => String::new(),
        };
        let advice = if self.advice.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", escape(&self.advice))
        };
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}}
h1{{font-size:1.4rem}}.button{{display:inline-block;padding:.5rem 1rem;background:#2563eb;color:#fff;border-radius:.3rem;text-decoration:none}}
.id{{color:#52606d;font-size:.85rem}}</style></head>
<body><main><h1>{title}</h1><p>{message}</p>{advice}{link}
<p class="id">Error {status} · {code} · request id <code>{id}</code></p></main></body></html>
"#,
            title = escape(&self.title),
            message = escape(&self.message),
            status = self.status.as_u16(),
            code = self.code,
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
