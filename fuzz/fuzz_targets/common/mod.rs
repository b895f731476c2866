//! Checks shared by the fuzz targets.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use freshgate::body::Body;
use freshgate::pages::Page;
use freshgate::request_id::RequestIds;
use http::HeaderMap;
use http_body::Body as _;

/// The tags the error page template writes; any other `<` in a page is text that escaped `pages::escape`.
const PAGE_TAGS: [&str; 22] = [
    "<!doctype ",
    "<html ",
    "<head>",
    "</head>",
    "<meta ",
    "<title>",
    "</title>",
    "<style>",
    "</style>",
    "<body>",
    "</body>",
    "<main>",
    "</main>",
    "<h1>",
    "</h1>",
    "<p>",
    "<p ",
    "</p>",
    "<a ",
    "</a>",
    "<code>",
    "</code>",
];

/// Renders `page` as HTML and as JSON, and checks that the HTML holds no markup but the template's.
pub fn check_page(page: &Page) {
    let id = RequestIds::new().next();
    let html = body_text(page.render(&HeaderMap::new(), id).into_body());
    for (at, _) in html.match_indices('<') {
        assert!(
            PAGE_TAGS.iter().any(|tag| html[at..].starts_with(tag))
                || html[at..].starts_with("</html>"),
            "unescaped markup in an error page at byte {at}: {html}"
        );
    }
    let mut json = HeaderMap::new();
    json.insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json"),
    );
    let json = body_text(page.render(&json, id).into_body());
    let value: serde_json::Value =
        serde_json::from_str(&json).expect("the JSON error page is JSON");
    assert!(value["error"].is_string(), "{json}");
}

/// The whole of a body the gateway wrote itself (those are complete at once).
fn body_text(mut body: Body) -> String {
    let mut context = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match Pin::new(&mut body).poll_frame(&mut context) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Poll::Ready(None) => break,
            Poll::Ready(Some(Err(e))) => panic!("a page body failed: {e}"),
            Poll::Pending => panic!("a page body is not complete at once"),
        }
    }
    String::from_utf8(out).expect("pages are UTF-8")
}
