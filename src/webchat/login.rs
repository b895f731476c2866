//! `GET /sso/webchat/login?return_to=<page of an allowed origin>`: the provider login for the Web Chat
//! browser session, and its end: the callback (`crate::login`) hands the identity here, the session cookie
//! keeps what identifies the user to Freshdesk (`session`), and the browser goes back to `return_to`.

use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::{Map, Value};

use super::{Webchat, token};
use crate::audit::Attempt;
use crate::body::Body;
use crate::config::EmailVerified;
use crate::login::pending::{MAX_RETURN_TO_BYTES, return_to_url};
use crate::login::{
    Failure, Finished, Finisher, Identified, Login, PendingLogin, SsoError, Target, parse_query,
};
use crate::metrics::LoginOutcome;
use crate::request_id::RequestId;

impl Webchat {
    /// Starts the provider login of a Web Chat browser session for a checked `return_to`.
    pub fn login(
        &self,
        request: &Request<Incoming>,
        login: &Login,
        id: RequestId,
    ) -> Result<Response<Body>, Failure> {
        let params =
            parse_query(request.uri().query()).map_err(|_| (SsoError::BadReturnTo, None))?;
        let return_to = params
            .get("return_to")
            .and_then(|url| checked_return_to(url, &self.settings().allowed_origins))
            .ok_or((SsoError::BadReturnTo, None))?;
        self.metrics.login("started", "webchat");
        tracing::info!(request_id = %id, "web chat login started; browser sent to the provider");
        login.start_oidc(request.headers(), Target::Webchat { return_to })
    }
}

impl Finisher for Webchat {
    fn any_missing(&self, claims: &Map<String, Value>, policy: EmailVerified) -> bool {
        token::any_missing(self.settings(), claims, policy)
    }

    fn required_missing(&self, claims: &Map<String, Value>) -> bool {
        matches!(
            token::identity(self.settings(), claims),
            Err(token::NoIdentity::Missing(_))
        )
    }

    /// Keeps who the user is in the session cookie and sends the browser back to the app.
    fn finish(
        &self,
        pending: &PendingLogin,
        who: &Identified,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Finished, SsoError> {
        let Target::Webchat { return_to } = &pending.target else {
            return Err(SsoError::TamperedLogin { restart: None });
        };
        let settings = self.settings();
        let claims = &who.identity.claims;
        let identity = token::identity(settings, claims).map_err(|refusal| match refusal {
            token::NoIdentity::Missing(claim) => SsoError::MissingClaim {
                claim,
                sources: crate::claims::describe(&settings.identity),
            },
            token::NoIdentity::NotOneAddress => SsoError::NotOneAddress,
        })?;
        if token::email_unverified(settings, claims, self.provider.upstream.email_verified) {
            return Err(SsoError::EmailNotVerified);
        }
        let cookie = self.session.set(&identity, settings.session_ttl.as_secs());
        if let Some(email) = identity.get("email").and_then(Value::as_str) {
            attempt.email(email);
        }
        attempt.ended(LoginOutcome::Success, "ok");
        self.metrics.login("success", "webchat");
        tracing::info!(request_id = %id, sub = %who.identity.subject, "web chat session started");
        Ok(Finished {
            location: return_to_url(return_to),
            cookies: vec![cookie],
        })
    }
}

/// `return_to` when it is an absolute URL on an allowed origin, without user info (`https://x@app/` would
/// pass an origin check yet name someone else's page to some parsers, CVE-2021-21291's class), and short
/// enough to keep in the pending-login cookie. It is kept as sent: its normalized form (`return_to_url`)
/// can be three times longer (`é` becomes `%C3%A9`), and only the text sent is bounded.
fn checked_return_to(text: &str, allowed_origins: &[String]) -> Option<String> {
    if text.len() > MAX_RETURN_TO_BYTES {
        return None;
    }
    let url = url::Url::parse(text).ok()?;
    let origin = url.origin().ascii_serialization();
    let plain = url.username().is_empty() && url.password().is_none();
    (plain && allowed_origins.contains(&origin)).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_must_be_a_plain_url_of_an_allowed_origin() {
        let allowed = vec!["https://app.example.com".to_owned()];
        let long = format!(
            "https://app.example.com/{}",
            "a".repeat(MAX_RETURN_TO_BYTES)
        );
        let cases: &[(&str, bool)] = &[
            ("https://app.example.com/chat?x=1", true),
            ("https://APP.example.com:443/", true),
            ("https://x@app.example.com/", false),
            ("https://app.example.com:pw@app.example.com/", false),
            ("https://app.example.com@evil.example/", false),
            ("https://app.example.com.evil.example/", false),
            ("http://app.example.com/", false),
            ("//app.example.com/", false),
            ("javascript:alert(1)", false),
            (&long, false),
        ];
        for (url, ok) in cases {
            assert_eq!(checked_return_to(url, &allowed).is_some(), *ok, "{url}");
        }
    }
}
