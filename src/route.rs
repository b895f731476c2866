//! Which part of the gateway answers a path. Everything outside `/sso/` belongs to the provider.

/// The gateway's routes; also the `route` label of the request metrics.
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
}

impl Route {
    pub const ALL: [Route; 8] = [
        Route::Passthrough,
        Route::SsoLogin,
        Route::SsoCallback,
        Route::SsoLogout,
        Route::WebchatToken,
        Route::WebchatLogin,
        Route::WebchatWidget,
        Route::SsoUnknown,
    ];

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
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The gateway's own routes carry codes, states and tokens in their query strings: never log those.
    pub fn is_sso(self) -> bool {
        self != Route::Passthrough
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
    fn route_indexes_match_their_position() {
        for (i, route) in Route::ALL.iter().enumerate() {
            assert_eq!(route.index(), i);
        }
    }
}
