//! CORS for `/sso/webchat/token` (Fetch standard §3.2): only the configured origins, never a wildcard, and
//! credentials allowed because the browser-session flavour uses a cookie.

use http::header::{self, HeaderMap, HeaderValue};

/// The request header browser-session callers must send: a custom header forces a CORS preflight, so a
/// cross-site form or image request can never reach the cookie-authenticated endpoint (CSRF defence).
pub const CSRF_HEADER: &str = "x-freshgate-webchat";

/// The request's `Origin`, when it is one of `allowed`.
pub fn allowed_origin<'a>(headers: &'a HeaderMap, allowed: &[String]) -> Option<&'a str> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    allowed.iter().any(|a| a == origin).then_some(origin)
}

/// Headers that let `origin` read the response (with credentials).
pub fn allow(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    vary_origin(headers);
}

/// Preflight answer headers.
pub fn preflight(headers: &mut HeaderMap, origin: &str) {
    allow(headers, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, x-freshgate-webchat"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
}

/// Responses differ by origin: caches must key on it.
pub fn vary_origin(headers: &mut HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins_are_allowed_exactly() {
        let allowed = vec!["https://app.example.com".to_owned()];
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, "https://app.example.com".parse().unwrap());
        assert_eq!(
            allowed_origin(&headers, &allowed),
            Some("https://app.example.com")
        );
        for other in [
            "https://app.example.com.evil.test",
            "http://app.example.com",
            "null",
            "https://evil.test",
        ] {
            headers.insert(header::ORIGIN, other.parse().unwrap());
            assert_eq!(allowed_origin(&headers, &allowed), None, "{other}");
        }
    }
}
