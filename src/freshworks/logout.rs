//! `GET /sso/jwt/logout`: the Logout URL configured in Freshworks.
//!
//! OpenID Connect RP-Initiated Logout 1.0 §2 at the provider's `end_session_endpoint`, with `client_id` and
//! the account's `logout_redirect_url` as `post_logout_redirect_uri` (which must be registered at the
//! provider); a "signed out" page when the provider has no such endpoint. When this browser logged in through
//! the gateway, the provider's ID token kept in the sealed logout cookie goes along as `id_token_hint`: Okta
//! requires it, and Keycloak then signs the user out without asking for confirmation. The cookie is deleted
//! either way.
//!
//! Because the hint makes the provider sign the user out silently, it goes only with a logout this browser
//! asked for: a same-origin or direct navigation (Fetch Metadata `Sec-Fetch-Site: same-origin` / `none`) or
//! one whose `Referer` is the gateway or a configured Freshworks account. Any other site can still navigate
//! a browser here (logout CSRF, RFC 9700 §4.7), but then the provider asks the user before signing out.

use http::header::REFERER;
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::Freshworks;
use crate::body::Body;
use crate::config::Account;
use crate::login::{Failure, parse_query, redirect};
use crate::pages::Page;
use crate::request_id::RequestId;

impl Freshworks {
    /// Signs the browser out: at the provider when it can, else with a "signed out" page. `webchat_session`
    /// is the `Set-Cookie` that ends this browser's Web Chat session, if it has one: signing out of
    /// Freshworks ends it too (a shared computer).
    pub fn logout(
        &self,
        request: &Request<Incoming>,
        id: RequestId,
        webchat_session: Option<String>,
    ) -> Result<Response<Body>, Failure> {
        let params = parse_query(request.uri().query()).unwrap_or_default();
        let hint = self.hints.read(request.headers());
        let asked_here = asked_by_user_or_freshworks(request.headers(), &self.logout_origins());
        let named = params
            .get("client_id")
            .or(params.get("module_id"))
            .or(hint.as_ref().map(|hint| &hint.account));
        let account = self.logout_account(named);
        let clear: Vec<String> = std::iter::once(self.hints.clear())
            .chain(webchat_session)
            .collect();
        // A directory account has no session at a provider to end.
        let at_provider = account.is_none_or(|a| a.login == crate::config::LoginMethod::Oidc);
        let end_session = self
            .provider
            .as_ref()
            .filter(|_| at_provider)
            .and_then(|provider| provider.current().ok())
            .and_then(|discovered| {
                discovered
                    .metadata
                    .additional_metadata()
                    .end_session_endpoint
                    .clone()
            })
            .and_then(|endpoint| url::Url::parse(&endpoint).ok());
        self.metrics.login(
            "logout",
            if end_session.is_some() {
                "provider"
            } else {
                "local"
            },
        );
        match end_session {
            Some(mut url) => {
                let sent_hint = hint.as_ref().filter(|_| asked_here);
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(hint) = sent_hint {
                        query.append_pair("id_token_hint", &hint.id_token);
                    }
                    if let Some(provider) = &self.provider {
                        query.append_pair("client_id", &provider.upstream.client_id);
                    }
                    if let Some(target) = account.and_then(|a| a.logout_redirect_url.as_ref()) {
                        query.append_pair("post_logout_redirect_uri", target.as_str());
                    }
                }
                tracing::info!(
                    request_id = %id,
                    id_token_hint = sent_hint.is_some(),
                    hint_withheld = hint.is_some() && sent_hint.is_none(),
                    "logout: browser sent to the provider's end_session_endpoint"
                );
                Ok(redirect(url.as_str(), &clear))
            }
            None => {
                let mut page = Page::new(
                    StatusCode::OK,
                    "signed_out",
                    "You are signed out",
                    "You have been signed out of Freshworks.",
                )
                .advice("Close the browser to end your session at your organisation's sign-in service too.");
                // Never a dead end: the account's logout_redirect_url, else its Freshworks portal.
                if let Some(account) = account {
                    page = match &account.logout_redirect_url {
                        Some(target) => page.link("Continue", target.as_str()),
                        None => page.link(
                            "Back to Freshworks",
                            format!("{}/", account.redirect_url.origin().ascii_serialization()),
                        ),
                    };
                }
                let mut response = page.render(request.headers(), id);
                for cookie in &clear {
                    if let Ok(value) = http::HeaderValue::from_str(cookie) {
                        response
                            .headers_mut()
                            .append(http::header::SET_COOKIE, value);
                    }
                }
                Ok(response)
            }
        }
    }

    /// Origins whose pages may start a silent logout: the gateway's and every Freshworks account's.
    fn logout_origins(&self) -> Vec<String> {
        let mut origins = vec![self.config.public_url.origin().ascii_serialization()];
        if let Some(freshworks) = &self.config.freshworks {
            for account in freshworks.accounts.values() {
                origins.push(account.redirect_url.origin().ascii_serialization());
                if let Some(url) = &account.logout_redirect_url {
                    origins.push(url.origin().ascii_serialization());
                }
            }
        }
        origins
    }

    /// The account named in the request, else the only configured one.
    fn logout_account(&self, id: Option<&String>) -> Option<&Account> {
        let accounts = &self.config.freshworks.as_ref()?.accounts;
        match id {
            Some(id) => accounts.get(id),
            None if accounts.len() == 1 => accounts.values().next(),
            None => None,
        }
    }
}

/// True when the logout request shows it was not forged by another site: a same-origin or direct navigation
/// by Fetch Metadata, or a `Referer` on one of `origins`. Browsers never let a page forge either; an absent
/// `Referer` proves nothing (a page can suppress it), so it does not count.
fn asked_by_user_or_freshworks(headers: &HeaderMap, origins: &[String]) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok());
    if matches!(fetch_site, Some("same-origin" | "none")) {
        return true;
    }
    headers
        .get(REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| url::Url::parse(referer).ok())
        .is_some_and(|referer| origins.contains(&referer.origin().ascii_serialization()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_direct_or_freshworks_referred_logouts_may_be_silent() {
        let origins = vec![
            "https://sso.example.com".to_owned(),
            "https://acme.myfreshworks.com".to_owned(),
        ];
        let cases: &[(Option<&str>, Option<&str>, bool)] = &[
            (Some("same-origin"), None, true),
            (Some("none"), None, true),
            (
                Some("cross-site"),
                Some("https://acme.myfreshworks.com/logout"),
                true,
            ),
            (
                None,
                Some("https://sso.example.com/realms/acme/account"),
                true,
            ),
            (Some("cross-site"), None, false),
            (Some("cross-site"), Some("https://evil.example/"), false),
            (Some("same-site"), Some("https://other.example.com/"), false),
            (
                Some("cross-site"),
                Some("https://acme.myfreshworks.com.evil.example/"),
                false,
            ),
            (
                Some("cross-site"),
                Some("http://acme.myfreshworks.com/"),
                false,
            ),
            (Some("cross-site"), Some("not a url"), false),
            (None, None, false),
        ];
        for (fetch_site, referer, silent) in cases {
            let mut headers = HeaderMap::new();
            if let Some(site) = fetch_site {
                headers.insert("sec-fetch-site", site.parse().unwrap());
            }
            if let Some(referer) = referer {
                headers.insert(REFERER, referer.parse().unwrap());
            }
            assert_eq!(
                asked_by_user_or_freshworks(&headers, &origins),
                *silent,
                "{fetch_site:?} {referer:?}"
            );
        }
    }
}
