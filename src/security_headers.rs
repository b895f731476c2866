#[cfg(test)]
mod tests {
    use http::header::{self, HeaderValue};
    use http::{HeaderMap, Response, StatusCode};

    use crate::body::Body;
    use crate::login_form::LoginForm;
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
            recorded(&crate::freshworks::redirect(
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
