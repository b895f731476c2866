//! The gateway's own sign-in page for directory accounts: a user name and password form that works without
//! JavaScript, names the Freshworks account it signs in to, and posts to the gateway with the pending
//! login's state as its anti-forgery token (the state is bound to a sealed cookie only this browser holds).
//!
//! Accessibility (WCAG 2.2): real `<label>`s, `autocomplete` hints so password managers fill it, the
//! error announced with `role="alert"` and tied to the fields with `aria-describedby`, focus on the first
//! field that needs attention, visible focus, and nothing that depends on colour alone.
//!
//! Its policy allows no script at all and posting only to the gateway itself (`form-action 'self'`); it is
//! never framed (`frame-ancestors 'none'`, against clickjacking of the password field).

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use crate::body::Body;
use crate::pages::escape;
use crate::request_id::RequestId;
use crate::security_headers::{self, Answer};

pub struct LoginForm<'a> {
    /// Where the form posts (the callback path).
    pub action: &'a str,
    /// The pending login's state: the anti-forgery token.
    pub state: &'a str,
    /// What the user signs in to, e.g. the Freshworks portal's host name.
    pub account_label: &'a str,
    /// The user name typed last time, kept after a failed try (never the password).
    pub username: &'a str,
    /// Why the last try failed, if it did.
    pub message: Option<&'a str>,
    /// Something to know before signing in that is no mistake of the user's (announced politely, the
    /// fields are not marked invalid), e.g. that the silent Windows sign-in does not work right now.
    pub notice: Option<&'a str>,
    /// Where "cancel" leads (the Freshworks portal).
    pub cancel: Option<&'a str>,
    /// The origin the successful post redirects to (the account's `redirect_url`): CSP `form-action`
    /// governs the redirects after a form submission too, so it is allowed beside `'self'` and nothing else.
    pub redirect_origin: &'a str,
}

impl LoginForm<'_> {
    pub fn render(&self, status: StatusCode, id: RequestId) -> Response<Body> {
        let mut response = Response::new(Body::from(self.html(id)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        // `Referrer-Policy: same-origin`: the origin check of the post needs the real origin.
        security_headers::set(
            headers,
            Answer::LoginForm {
                redirect_origin: self.redirect_origin,
            },
        );
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            headers.insert("x-request-id", value);
        }
        response
    }

    fn html(&self, id: RequestId) -> String {
        let (alert, described) = match self.message {
            Some(message) => (
                format!(
                    r#"<p id="problem" class="problem" role="alert">{}</p>"#,
                    escape(message)
                ),
                r#" aria-describedby="problem" aria-invalid="true""#,
            ),
            None => (String::new(), ""),
        };
        let notice = self
            .notice
            .map(|notice| format!(r#"<p class="notice" role="status">{}</p>"#, escape(notice)))
            .unwrap_or_default();
        // Focus where the user has to act: the password after a failed try with a name, else the name.
        let (name_focus, password_focus) = if self.username.is_empty() {
            (" autofocus", "")
        } else {
            ("", " autofocus")
        };
        let cancel = self
            .cancel
            .map(|href| format!(r#" <a class="cancel" href="{}">Cancel</a>"#, escape(href)))
            .unwrap_or_default();
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to {account}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}}
h1{{font-size:1.4rem}}label{{display:block;margin-top:1rem;font-weight:600}}
input{{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #52606d;border-radius:.3rem}}
input:focus,button:focus,a:focus{{outline:3px solid #2563eb;outline-offset:2px}}
button{{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit;background:#2563eb;color:#fff;border:0;border-radius:.3rem;cursor:pointer}}
.problem{{border-left:4px solid #b91c1c;padding:.5rem .75rem;background:#fef2f2;color:#7f1d1d}}
.problem::before{{content:"Error: ";font-weight:600}}
.notice{{border-left:4px solid #b45309;padding:.5rem .75rem;background:#fffbeb;color:#78350f}}.hint,.id{{color:#52606d;font-size:.85rem}}.cancel{{margin-left:1rem}}</style></head>
<body><main>
<h1>Sign in to {account}</h1>
<p class="hint">Use your Windows (directory) account: <code>name</code>, <code>name@domain</code> or <code>DOMAIN\name</code>.</p>
{notice}{alert}
<form method="post" action="{action}" accept-charset="UTF-8">
<input type="hidden" name="state" value="{state}">
<label for="username">User name</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="256" value="{username}"{described}{name_focus}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{described}{password_focus}>
<button id="sign-in" type="submit">Sign in</button>{cancel}
</form>
<p class="id">request id <code>{id}</code></p>
</main></body></html>
"#,
            account = escape(self.account_label),
            action = escape(self.action),
            state = escape(self.state),
            username = escape(self.username),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request_id::RequestIds;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn the_form_escapes_what_it_echoes_and_allows_no_script() {
        let form = LoginForm {
            action: "/sso/jwt/callback",
            state: "st\"ate",
            account_label: "acme.myfreshworks.com",
            username: "\"><script>alert(1)</script>",
            message: Some("The user name or password is not right."),
            notice: None,
            cancel: Some("https://acme.myfreshworks.com/"),
            redirect_origin: "https://acme.myfreshworks.com",
        };
        let response = form.render(StatusCode::OK, RequestIds::new().next());
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("form-action 'self' https://acme.myfreshworks.com;")
                && !csp.contains("script-src"),
            "{csp}"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(!body.contains("<script>"));
        assert!(body.contains("&quot;&gt;&lt;script&gt;"));
        assert!(body.contains(r#"value="st&quot;ate""#));
        assert!(body.contains(r#"role="alert""#));
        assert!(body.contains(r#"autocomplete="current-password""#));
        // After a failed try with a name, the password field takes the focus.
        assert!(body.contains(r#"autocomplete="current-password" required aria-describedby="problem" aria-invalid="true" autofocus"#));
    }

    #[tokio::test]
    async fn a_notice_is_announced_politely_and_marks_no_field_invalid() {
        let form = LoginForm {
            action: "/sso/jwt/callback",
            state: "state",
            account_label: "acme.myfreshworks.com",
            username: "",
            message: None,
            notice: Some("Windows sign-in <does not> work"),
            cancel: None,
            redirect_origin: "https://acme.myfreshworks.com",
        };
        let response = form.render(StatusCode::UNAUTHORIZED, RequestIds::new().next());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains(
            r#"<p class="notice" role="status">Windows sign-in &lt;does not&gt; work</p>"#
        ));
        assert!(!body.contains("aria-invalid") && !body.contains(r#"role="alert""#));
    }
}
