//! The gateway's own cookies, whoever sets them (the pending login, the logout hint, the Web Chat session):
//! their common name prefix, the prefixes and attribute that bind them to https, and reading one back.
//!
//! Over https every cookie is `Secure` and carries a prefix browsers enforce (RFC 6265bis §4.1.3): `__Host-`
//! for a cookie of `Path=/`, `__Secure-` for one scoped to a path (`__Host-` demands `Path=/`), host-only
//! either way by having no `Domain`. Plain-http development setups get neither.

use http::HeaderMap;
use http::header::COOKIE;

/// Prefix of every cookie the gateway sets (after an optional `__Host-` / `__Secure-` prefix); the
/// passthrough strips such cookies so the provider never sees them.
pub const GATEWAY_COOKIE_PREFIX: &str = "freshgate";

/// `__Secure-` over https, for a cookie scoped to a path.
pub fn secure_prefix(secure: bool) -> &'static str {
    if secure { "__Secure-" } else { "" }
}

/// `__Host-` over https, for a cookie of `Path=/`.
pub fn host_prefix(secure: bool) -> &'static str {
    if secure { "__Host-" } else { "" }
}

/// `; Secure` over https.
pub fn secure_attribute(secure: bool) -> &'static str {
    if secure { "; Secure" } else { "" }
}

/// The value of the cookie called `name` in the request, if any (the first one: RFC 6265bis §5.7.2).
pub fn find_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_cookie_picks_the_named_cookie_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "a=1; freshgate-login-x=abc".parse().unwrap());
        headers.append(COOKIE, "b=2".parse().unwrap());
        assert_eq!(find_cookie(&headers, "freshgate-login-x"), Some("abc"));
        assert_eq!(find_cookie(&headers, "b"), Some("2"));
        assert_eq!(find_cookie(&headers, "c"), None);
    }

    #[test]
    fn only_https_cookies_are_prefixed_and_secure() {
        assert_eq!(
            (
                secure_prefix(true),
                host_prefix(true),
                secure_attribute(true)
            ),
            ("__Secure-", "__Host-", "; Secure")
        );
        assert_eq!(
            (
                secure_prefix(false),
                host_prefix(false),
                secure_attribute(false)
            ),
            ("", "", "")
        );
    }
}
