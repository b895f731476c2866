//! The headers that protect what the gateway answers itself, set in one place: caching, MIME sniffing,
//! the referrer, framing and the content security policy, by kind of answer. Passthrough responses are
//! the provider's and keep its headers.
//!
//! - Anything that carries a code, a state, a token or a personal page is never stored (`Cache-Control:
//!   no-store`, RFC 9111 §5.2.2.5; RFC 6749 §5.1 and OIDC Core §3.1.3.3 for tokens, with `Pragma:
//!   no-cache` for HTTP/1.0 caches where a login passes).
//! - Pages run no script but what they name (CSP Level 3) and are never framed (`frame-ancestors
//!   'none'`; the sign-in form also `X-Frame-Options: DENY` for browsers without CSP), against
//!   clickjacking; nothing is sniffed into another type (`X-Content-Type-Options: nosniff`).
//! - Redirects and pages send no `Referer` (`no-referrer`): their URLs hold codes and states. The sign-in
//!   form is `same-origin`: under `no-referrer` browsers send `Origin: null` with its post (Fetch §3.1,
//!   "serializing a request origin"), and the origin check needs the real one.
//!
//! `Strict-Transport-Security` is not set: the gateway is usually behind a TLS-terminating proxy that
//! owns the host's HSTS policy, and a gateway on a development `http://` URL must not pin it.

use http::header::{self, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use crate::body::Body;

/// What a response is, for the headers that protect it.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// A page a person reads (`crate::pages`), HTML or JSON. `script` is the CSP hash source
    /// (`'sha256-…'`) of the one inline script it may run, if any.
    Page { script: Option<&'a str> },
    /// The sign-in form (`crate::login::form`): it posts to the gateway, which redirects to
    /// `redirect_origin` (CSP `form-action` governs the redirects after a submission too).
    LoginForm { redirect_origin: &'a str },
    /// A redirect of a login or logout: its `Location` or cookies carry codes, states and tokens.
    Redirect,
    /// A token in a JSON body (`/sso/webchat/token`).
    Token,
    /// A script other sites load (Web Chat's `widget.js`): revalidated on every load (`no-cache`) so a
    /// changed configuration shows at once.
    Script,
    /// Anything else the gateway answers itself (the admin listener, the simulator): never stored.
    Plain,
}

/// The headers of one kind of answer, the content security policy apart.
struct Policy {
    cache_control: &'static str,
    /// `Pragma: no-cache`, for HTTP/1.0 caches.
    pragma: bool,
    /// `X-Content-Type-Options: nosniff`.
    nosniff: bool,
    referrer_policy: Option<&'static str>,
    /// `X-Frame-Options: DENY`.
    frame_deny: bool,
}

impl Answer<'_> {
    fn policy(self) -> Policy {
        let policy = |cache_control, pragma, nosniff, referrer_policy, frame_deny| Policy {
            cache_control,
            pragma,
            nosniff,
            referrer_policy,
            frame_deny,
        };
        match self {
            Answer::Page { .. } => policy("no-store", false, true, Some("no-referrer"), false),
            Answer::LoginForm { .. } => policy("no-store", true, true, Some("same-origin"), true),
            Answer::Redirect => policy("no-store", true, false, Some("no-referrer"), false),
            Answer::Token => policy("no-store", true, false, None, false),
            Answer::Script => policy("no-cache", false, true, None, false),
            Answer::Plain => policy("no-store", false, false, None, false),
        }
    }

    fn content_security_policy(self) -> Option<String> {
        match self {
            Answer::Page { script } => Some(match script {
                None => "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
                    .to_owned(),
                Some(hash) => format!(
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; script-src '{hash}'"
                ),
            }),
            Answer::LoginForm { redirect_origin } => Some(format!(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {redirect_origin}; frame-ancestors 'none'; base-uri 'none'"
            )),
            _ => None,
        }
    }
}

/// A response the gateway writes itself: `status`, `body` of `content_type`, and the headers of `answer`.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
    answer: Answer<'_>,
) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    set(headers, answer);
    response
}

/// Sets the headers of `answer` on `headers`.
pub fn set(headers: &mut HeaderMap, answer: Answer<'_>) {
    let policy = answer.policy();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(policy.cache_control),
    );
    if policy.pragma {
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    if policy.nosniff {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    if let Some(referrer) = policy.referrer_policy {
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    }
    if let Some(csp) = answer.content_security_policy()
        && let Ok(value) = HeaderValue::from_str(&csp)
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if policy.frame_deny {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

#[cfg(test)]
mod tests {
    use http::header::{self, HeaderValue};
    use http::{HeaderMap, Response, StatusCode};

    use crate::body::Body;
    use crate::login::form::LoginForm;
    use crate::pages::Page;
    use crate::request_id::RequestIds;

    /// Every header of `response` but the request id (which differs per response), as `name: value`
    /// lines, sorted.
    fn recorded(response: &Response<Body>) -> Vec<String> {
        let mut lines: Vec<String> = response
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str() != "x-request-id")
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        lines.sort();
        lines
    }

    const PAGE_CSP: &str = "content-security-policy: default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

    /// What every kind of response the gateway writes itself carries, recorded from the renderers as
    /// they were before one table owned these headers: a change to any of them is a decision, not a
    /// side effect of a refactor.
    #[test]
    fn each_kind_of_response_carries_the_headers_it_always_had() {
        let id = RequestIds::new().next();
        let page = Page::new(StatusCode::NOT_FOUND, "not_found", "t", "m");
        assert_eq!(
            recorded(&page.render(&HeaderMap::new(), id)),
            [
                "cache-control: no-store",
                PAGE_CSP,
                "content-type: text/html; charset=utf-8",
                "referrer-policy: no-referrer",
                "x-content-type-options: nosniff",
            ],
            "an error page"
        );
        let mut json = HeaderMap::new();
        json.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert_eq!(
            recorded(&page.render(&json, id)),
            [
                "cache-control: no-store",
                PAGE_CSP,
                "content-type: application/json",
                "referrer-policy: no-referrer",
                "x-content-type-options: nosniff",
            ],
            "an error page as JSON"
        );
        let forgetting = recorded(&page.clone().forget_query().render(&HeaderMap::new(), id));
        let plain = recorded(&page.render(&HeaderMap::new(), id));
        assert_eq!(forgetting.len(), 5, "{forgetting:?}");
        assert!(
            forgetting[1].starts_with(&format!("{PAGE_CSP}; script-src 'sha256-"))
                && forgetting[1].ends_with("='"),
            "a page that drops its query: {forgetting:?}"
        );
        assert_eq!(
            [&forgetting[..1], &forgetting[2..]].concat(),
            [&plain[..1], &plain[2..]].concat()
        );

        let form = LoginForm {
            action: "/sso/jwt/callback",
            state: "s",
            account_label: "acme.freshdesk.com",
            username: "",
            message: None,
            notice: None,
            cancel: None,
            redirect_origin: "https://acme.freshdesk.com",
        };
        assert_eq!(
            recorded(&form.render(StatusCode::OK, id)),
            [
                "cache-control: no-store",
                "content-security-policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https://acme.freshdesk.com; frame-ancestors 'none'; base-uri 'none'",
                "content-type: text/html; charset=utf-8",
                "pragma: no-cache",
                "referrer-policy: same-origin",
                "x-content-type-options: nosniff",
                "x-frame-options: DENY",
            ],
            "the sign-in form"
        );

        assert_eq!(
            recorded(&crate::login::redirect(
                "https://acme.freshdesk.com/sp/OIDC/1/implicit?id_token=x",
                &["freshgate_pending=; Max-Age=0".to_owned()]
            )),
            [
                "cache-control: no-store",
                "location: https://acme.freshdesk.com/sp/OIDC/1/implicit?id_token=x",
                "pragma: no-cache",
                "referrer-policy: no-referrer",
                "set-cookie: freshgate_pending=; Max-Age=0",
            ],
            "a login's redirect"
        );

        assert_eq!(
            recorded(&crate::webchat::script("x".to_owned())),
            [
                "cache-control: no-cache",
                "content-type: text/javascript; charset=utf-8",
                "x-content-type-options: nosniff",
            ],
            "widget.js"
        );
        assert_eq!(
            recorded(&crate::webchat::json(
                StatusCode::OK,
                &serde_json::json!({"token": "x"})
            )),
            [
                "cache-control: no-store",
                "content-type: application/json",
                "pragma: no-cache",
            ],
            "a Web Chat token"
        );

        assert_eq!(
            recorded(&crate::simulate::html(StatusCode::OK, String::new())),
            [
                "cache-control: no-store",
                "content-type: text/html; charset=utf-8",
            ],
            "a simulator page"
        );
        assert_eq!(
            recorded(&crate::simulate::redirect(
                "http://127.0.0.1:1/sso/jwt/login"
            )),
            [
                "cache-control: no-store",
                "location: http://127.0.0.1:1/sso/jwt/login",
            ],
            "the simulator's redirect"
        );

        assert_eq!(
            recorded(&crate::admin::text(
                StatusCode::OK,
                "text/plain",
                String::new()
            )),
            ["cache-control: no-store", "content-type: text/plain"],
            "the admin listener"
        );
    }
}
