//! Which part of the gateway answers a request. Everything outside `/sso/` belongs to the provider.
//!
//! Before a path is routed, request targets that no provider page needs are refused
//! ([`Route::classify`]): `CONNECT` (a gateway is no forward proxy, RFC 9110 §9.3.6), the asterisk form
//! (`OPTIONS *`, RFC 9112 §3.2.4: a question about the server, not a provider page), and any spelling of
//! `/sso` that a lenient server would normalise onto the gateway's own paths ([`canonical`]).

pub mod canonical;

use http::Method;

/// The gateway's routes; also the `route` label of the request metrics.
/// The largest body a request to `/sso/` may have: the directory sign-in form (user name, password and
/// the form's state) fits many times over.
pub const SSO_MAX_BODY_BYTES: u64 = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Passthrough,
    SsoLogin,
    SsoCallback,
    SsoLogout,
    WebchatToken,
    WebchatLogin,
    WebchatWidget,
    /// A path under `/sso/` the gateway does not serve: answered with a 404 page, never passed through, so
    /// the provider can never be made to answer on the gateway's own paths.
    SsoUnknown,
    /// Refused before routing (bad host, `CONNECT`, a non-canonical `/sso` spelling): never answered by a
    /// route. Only a metrics label; [`Route::of`] never returns it.
    Refused,
}

/// A request target refused before routing; see [`Route::classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `CONNECT`: would make the gateway a tunnel to any host (RFC 9110 §9.3.6).
    Connect,
    /// The asterisk form (`OPTIONS *`), or any other target that is not a path: no provider page.
    NotAPath,
    /// A path outside `/sso` as written that a lenient server would normalise onto `/sso`.
    NonCanonicalSso,
}

impl Route {
    pub const ALL: [Route; 9] = [
        Route::Passthrough,
        Route::SsoLogin,
        Route::SsoCallback,
        Route::SsoLogout,
        Route::WebchatToken,
        Route::WebchatLogin,
        Route::WebchatWidget,
        Route::SsoUnknown,
        Route::Refused,
    ];

    /// The route for a request, or why its target is refused before any route sees it.
    pub fn classify(method: &Method, path: &str) -> Result<Route, Refused> {
        if method == Method::CONNECT {
            return Err(Refused::Connect);
        }
        if !path.starts_with('/') {
            return Err(Refused::NotAPath);
        }
        match Route::of(path) {
            Route::Passthrough if canonical::may_reach_sso(path) => Err(Refused::NonCanonicalSso),
            route => Ok(route),
        }
    }

    /// The route for a path as written (byte for byte).
    pub fn of(path: &str) -> Route {
        let Some(rest) = path.strip_prefix("/sso") else {
            return Route::Passthrough;
        };
        match rest {
            "/jwt/login" => Route::SsoLogin,
            "/jwt/callback" => Route::SsoCallback,
            "/jwt/logout" => Route::SsoLogout,
            "/webchat/token" => Route::WebchatToken,
            "/webchat/login" => Route::WebchatLogin,
            "/webchat/widget.js" => Route::WebchatWidget,
            "" => Route::SsoUnknown,
            rest if rest.starts_with('/') => Route::SsoUnknown,
            // `/ssofoo` is not ours.
            _ => Route::Passthrough,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Route::Passthrough => "passthrough",
            Route::SsoLogin => "sso_login",
            Route::SsoCallback => "sso_callback",
            Route::SsoLogout => "sso_logout",
            Route::WebchatToken => "webchat_token",
            Route::WebchatLogin => "webchat_login",
            Route::WebchatWidget => "webchat_widget",
            Route::SsoUnknown => "sso_unknown",
            Route::Refused => "refused",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The gateway's own routes carry codes, states and tokens in their query strings: never log those.
    pub fn is_sso(self) -> bool {
        self != Route::Passthrough
    }

    /// The longest request body the route takes, `None` for no limit of the gateway's own (passthrough
    /// bodies are the provider's business and are streamed). The gateway's own routes take at most the
    /// sign-in form (`SSO_MAX_BODY_BYTES`); the others read no body at all. A request that declares more
    /// is answered 413 before any of its body is read (RFC 9110 §15.5.14), and a body of unknown length is
    /// read no further than the limit.
    pub fn max_body_bytes(self) -> Option<u64> {
        match self {
            Route::Passthrough | Route::Refused => None,
            _ => Some(SSO_MAX_BODY_BYTES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_sso_are_passed_through() {
        assert_eq!(Route::of("/"), Route::Passthrough);
        assert_eq!(
            Route::of("/realms/acme/protocol/openid-connect/auth"),
            Route::Passthrough
        );
        assert_eq!(Route::of("/ssofoo"), Route::Passthrough);
    }

    #[test]
    fn sso_paths_are_the_gateways_own_even_when_unknown() {
        assert_eq!(Route::of("/sso/jwt/login"), Route::SsoLogin);
        assert_eq!(Route::of("/sso/jwt/callback"), Route::SsoCallback);
        assert_eq!(Route::of("/sso/jwt/logout"), Route::SsoLogout);
        assert_eq!(Route::of("/sso/webchat/token"), Route::WebchatToken);
        assert_eq!(Route::of("/sso/webchat/login"), Route::WebchatLogin);
        assert_eq!(Route::of("/sso/webchat/widget.js"), Route::WebchatWidget);
        assert_eq!(Route::of("/sso"), Route::SsoUnknown);
        assert_eq!(Route::of("/sso/"), Route::SsoUnknown);
        assert_eq!(Route::of("/sso/jwt/login/extra"), Route::SsoUnknown);
    }

    #[test]
    fn lenient_spellings_of_sso_are_refused_and_the_providers_paths_are_not() {
        let get = Method::GET;
        for path in [
            "/SSO/jwt/login",
            "//sso/jwt/callback",
            "/sso;x/jwt/login",
            "/%73so/jwt/login",
            "/sso%2Fjwt%2Flogin",
            "/./sso/jwt/login",
            "/sso\\jwt/login",
            "/Sso",
        ] {
            assert_eq!(
                Route::classify(&get, path),
                Err(Refused::NonCanonicalSso),
                "{path}"
            );
        }
        for path in [
            "/realms/acme/%2e%2e/x",
            "/SSOfoo",
            "/ssofoo",
            "/realms/Acme",
        ] {
            assert_eq!(
                Route::classify(&get, path),
                Ok(Route::Passthrough),
                "{path}"
            );
        }
        assert_eq!(Route::classify(&get, "/sso/jwt/login"), Ok(Route::SsoLogin));
        assert_eq!(
            Route::classify(&get, "/sso/./jwt/login"),
            Ok(Route::SsoUnknown)
        );
    }

    #[test]
    fn connect_and_asterisk_targets_are_refused_before_routing() {
        assert_eq!(
            Route::classify(&Method::CONNECT, "/"),
            Err(Refused::Connect)
        );
        assert_eq!(Route::classify(&Method::CONNECT, ""), Err(Refused::Connect));
        assert_eq!(
            Route::classify(&Method::OPTIONS, "*"),
            Err(Refused::NotAPath)
        );
        assert_eq!(Route::classify(&Method::GET, "*"), Err(Refused::NotAPath));
        assert_eq!(Route::classify(&Method::GET, ""), Err(Refused::NotAPath));
        assert_eq!(
            Route::classify(&Method::OPTIONS, "/x"),
            Ok(Route::Passthrough)
        );
    }

    #[test]
    fn route_indexes_match_their_position() {
        for (i, route) in Route::ALL.iter().enumerate() {
            assert_eq!(route.index(), i);
        }
    }
}
