//! `GET /sso/jwt/login`: the Login URL configured in Freshworks.
//!
//! Freshworks sends either the seeds' shape (`module_id`, `state`, `nonce`, `grant_type=implicit`, `scope`)
//! or the current one (`client_id`, `state`, `nonce`, `response_type=id_token`, `scope`, `redirect_uri`).
//! The request is checked strictly — it is the start of a login for someone's Freshworks account — and a
//! bad one gets a 400 page, never a redirect (RFC 9700 §4.1: exact redirect URI matching, no open redirect).

use std::collections::HashMap;

use super::error::SsoError;
use crate::config::Account;

/// Longest `state` or `nonce` accepted from Freshworks, in bytes after URL decoding. Freshworks documents
/// no length (the seeds show 9 to 11 alphanumeric characters, `state=hgdg43567`, `nonce=1545894408`), but its
/// `state` is an opaque value its own systems may lengthen, so the Login URL contract is 1 KiB each, returned
/// byte for byte. Both ride in the pending-login cookie, whose binary layout (`pending_format`) keeps it under
/// the 4096 bytes browsers keep per cookie (RFC 6265bis §5.6) at these sizes whatever the characters.
pub const MAX_PARAM_BYTES: usize = 1024;

/// Longest Web Chat `return_to` accepted, as the app sends it: it is kept in the pending-login cookie too.
pub const MAX_RETURN_TO_BYTES: usize = 1024;

/// A checked login request.
#[derive(Debug, Clone)]
pub struct LoginRequest<'a> {
    pub account: &'a Account,
    pub state: String,
    pub nonce: String,
}

fn bad(reason: &'static str, message: impl Into<String>) -> SsoError {
    SsoError::BadLoginRequest {
        reason,
        message: message.into(),
    }
}

/// Parses the query; each parameter at most once (RFC 6749 §3.1).
pub fn parse_query(query: Option<&str>) -> Result<HashMap<String, String>, SsoError> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if params.insert(name.to_string(), value.to_string()).is_some() {
            return Err(bad(
                "duplicate_parameter",
                format!(
                    "The parameter `{}` appears more than once.",
                    name.chars().take(64).collect::<String>()
                ),
            ));
        }
    }
    Ok(params)
}

pub fn check<'a>(
    params: &HashMap<String, String>,
    accounts: &'a std::collections::BTreeMap<String, Account>,
) -> Result<LoginRequest<'a>, SsoError> {
    let id = match (params.get("client_id"), params.get("module_id")) {
        (Some(a), Some(b)) if a != b => {
            return Err(bad(
                "conflicting_account",
                "The link names two different accounts (client_id and module_id).",
            ));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => {
            return Err(bad(
                "missing_account",
                "The link does not say which Freshworks account it is for (no client_id or module_id).",
            ));
        }
    };
    let account = accounts
        .get(id)
        .ok_or_else(|| SsoError::UnknownAccount { id: id.clone() })?;
    if let Some(redirect_uri) = params.get("redirect_uri")
        && redirect_uri != account.redirect_url.as_str()
    {
        return Err(SsoError::RedirectUriMismatch {
            account: account.id.clone(),
        });
    }
    if let Some(response_type) = params.get("response_type")
        && response_type != "id_token"
    {
        return Err(bad(
            "unsupported_response_type",
            "The link asks for a response type other than id_token.",
        ));
    }
    if let Some(grant_type) = params.get("grant_type")
        && grant_type != "implicit"
    {
        return Err(bad(
            "unsupported_grant_type",
            "The link asks for a grant type other than implicit.",
        ));
    }
    let state = required(params, "state")?;
    let nonce = required(params, "nonce")?;
    Ok(LoginRequest {
        account,
        state,
        nonce,
    })
}

fn required(params: &HashMap<String, String>, name: &'static str) -> Result<String, SsoError> {
    match params.get(name) {
        None => Err(bad(
            "missing_parameter",
            format!("The link has no `{name}`."),
        )),
        Some(value) if value.is_empty() => Err(bad(
            "missing_parameter",
            format!("The link's `{name}` is empty."),
        )),
        Some(value) if value.len() > MAX_PARAM_BYTES => Err(bad(
            "oversized_parameter",
            format!("The link's `{name}` is longer than {MAX_PARAM_BYTES} bytes."),
        )),
        Some(value) if value.chars().any(char::is_control) => Err(bad(
            "invalid_parameter",
            format!("The link's `{name}` contains control characters."),
        )),
        Some(value) => Ok(value.clone()),
    }
}

impl super::Sso {
    /// Starts the provider login for a checked Freshworks request.
    pub(super) async fn login(
        &self,
        request: &http::Request<hyper::body::Incoming>,
        id: crate::request_id::RequestId,
        attempt: &crate::audit::Attempt,
    ) -> Result<http::Response<crate::body::Body>, super::Failure> {
        let (freshworks, _) = self.freshworks().map_err(|e| (e, None))?;
        let params = parse_query(request.uri().query()).map_err(|e| (e, None))?;
        // A configured account named by the request is the attempt's, even when the rest is refused.
        if let Some(account) = ["client_id", "module_id"]
            .iter()
            .find_map(|name| freshworks.accounts.get(params.get(*name)?))
        {
            attempt.account(&account.id);
            attempt.method(match account.login {
                crate::config::LoginMethod::Directory => crate::metrics::LoginMethod::Directory,
                crate::config::LoginMethod::Oidc => crate::metrics::LoginMethod::Oidc,
            });
        }
        let checked = check(&params, &freshworks.accounts).map_err(|e| (e, None))?;
        let shape = if params.contains_key("client_id") {
            "current"
        } else {
            "seed"
        };
        self.metrics.login("started", shape);
        if checked.account.login == crate::config::LoginMethod::Directory {
            tracing::info!(request_id = %id, account = %checked.account.id, shape, "login started; directory sign-in page shown");
            return self
                .start_directory_login(request.headers(), &checked, id, attempt)
                .await;
        }
        tracing::info!(request_id = %id, account = %checked.account.id, shape, "login started; browser sent to the provider");
        self.start_login(
            request.headers(),
            checked.account.id.clone(),
            checked.state,
            checked.nonce,
            None,
        )
    }

    /// `GET /sso/webchat/login?return_to=<page of an allowed origin>`: the provider login for the Web Chat
    /// browser session; the callback sets the session cookie and returns the browser to `return_to`.
    pub(super) async fn webchat_login(
        &self,
        request: &http::Request<hyper::body::Incoming>,
        id: crate::request_id::RequestId,
    ) -> Result<http::Response<crate::body::Body>, super::Failure> {
        let webchat = self.webchat().map_err(|e| (e, None))?;
        let params =
            parse_query(request.uri().query()).map_err(|_| (SsoError::BadReturnTo, None))?;
        let return_to = params
            .get("return_to")
            .and_then(|url| checked_return_to(url, &webchat.settings().allowed_origins))
            .ok_or((SsoError::BadReturnTo, None))?;
        self.metrics.login("started", "webchat");
        tracing::info!(request_id = %id, "web chat login started; browser sent to the provider");
        self.start_login(
            request.headers(),
            String::new(),
            String::new(),
            String::new(),
            Some(return_to),
        )
    }

    /// Seals a new pending login in a cookie and sends the browser to the provider's authorization
    /// endpoint with PKCE S256 and a fresh state and nonce of our own. The browser's oldest pending login is
    /// dropped when it already has `MAX_PENDING_LOGINS` (see `pending_list`).
    fn start_login(
        &self,
        headers: &http::HeaderMap,
        account: String,
        fw_state: String,
        fw_nonce: String,
        return_to: Option<String>,
    ) -> Result<http::Response<crate::body::Body>, super::Failure> {
        use crate::oidc::flow::{authorization_url, random_token, unix_now};

        let provider = self.provider().map_err(|e| (e, None))?;
        let discovered = provider
            .current()
            .map_err(|detail| (SsoError::ProviderNotReady { detail }, None))?;
        let pending = super::pending::PendingLogin {
            state: random_token(),
            nonce: random_token(),
            pkce_verifier: random_token(),
            account,
            fw_state,
            fw_nonce,
            started: unix_now(),
            started_ms: crate::store::now_ms(),
            return_to,
            directory: false,
        };
        let url = authorization_url(
            &discovered,
            &provider.upstream,
            &self.callback_url(),
            &pending.state,
            &pending.nonce,
            &pending.pkce_verifier,
        );
        let cookies =
            self.cookies
                .start_login_cookies(headers, &pending, self.login_timeout().as_secs());
        Ok(super::redirect(url.as_str(), &cookies))
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

/// The URL a checked `return_to` names, normalized (percent-encoded, punycode host) for a `Location` header.
pub fn return_to_url(checked: &str) -> String {
    url::Url::parse(checked).map_or_else(|_| checked.to_owned(), |url| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn accounts() -> BTreeMap<String, Account> {
        let mut accounts = BTreeMap::new();
        accounts.insert(
            "12344".to_owned(),
            Account {
                id: "12344".into(),
                redirect_url: "https://acme.myfreshworks.com/sp/OIDC/12344/implicit"
                    .parse()
                    .unwrap(),
                logout_redirect_url: None,
                login: crate::config::LoginMethod::Oidc,
                allow: crate::config::Allow::default(),
            },
        );
        accounts
    }

    fn params(query: &str) -> HashMap<String, String> {
        parse_query(Some(query)).unwrap()
    }

    #[test]
    fn the_seed_shape_is_accepted() {
        let accounts = accounts();
        let request = check(
            &params("module_id=12344&state=s1&nonce=n1&grant_type=implicit&scope=profile%20openid%20email"),
            &accounts,
        )
        .unwrap();
        assert_eq!(request.account.id, "12344");
        assert_eq!(
            (request.state.as_str(), request.nonce.as_str()),
            ("s1", "n1")
        );
    }

    #[test]
    fn the_current_shape_with_the_exact_redirect_uri_is_accepted() {
        let accounts = accounts();
        let query = "client_id=12344&state=s&nonce=n&response_type=id_token&scope=openid%20email%20profile&redirect_uri=https%3A%2F%2Facme.myfreshworks.com%2Fsp%2FOIDC%2F12344%2Fimplicit";
        assert!(check(&params(query), &accounts).is_ok());
    }

    #[test]
    fn redirect_uris_that_differ_in_any_way_are_refused() {
        let accounts = accounts();
        for uri in [
            "//evil.example",
            "https://acme.myfreshworks.com.evil.example/sp/OIDC/12344/implicit",
            "https://acme.myfreshworks.com@evil.example/sp/OIDC/12344/implicit",
            "https://acme.myfreshworks.com/sp/OIDC/12344/implicit%0d%0aLocation:%20https://evil.example",
            "https://acme.myfreshworks.com:8443/sp/OIDC/12344/implicit",
            "https://acme.myfreshworks.com/sp/OIDC/99999/implicit",
            "https://acme.myfreshworks.com/sp/OIDC/12344/implicit?x=1",
            "http://acme.myfreshworks.com/sp/OIDC/12344/implicit",
        ] {
            let query = format!(
                "client_id=12344&state=s&nonce=n&redirect_uri={}",
                urlencode(uri)
            );
            assert!(
                matches!(
                    check(&params(&query), &accounts),
                    Err(SsoError::RedirectUriMismatch { .. })
                ),
                "{uri} was not refused"
            );
        }
    }

    #[test]
    fn unknown_accounts_and_missing_or_oversized_state_and_nonce_are_refused() {
        let accounts = accounts();
        assert!(matches!(
            check(&params("client_id=1&state=s&nonce=n"), &accounts),
            Err(SsoError::UnknownAccount { .. })
        ));
        assert!(check(&params("client_id=12344&nonce=n"), &accounts).is_err());
        assert!(check(&params("client_id=12344&state=&nonce=n"), &accounts).is_err());
        assert!(check(&params("client_id=12344&state=s"), &accounts).is_err());
        let long = "a".repeat(MAX_PARAM_BYTES + 1);
        assert!(
            check(
                &params(&format!("client_id=12344&state={long}&nonce=n")),
                &accounts
            )
            .is_err()
        );
        let ok = "a".repeat(MAX_PARAM_BYTES);
        assert!(
            check(
                &params(&format!("client_id=12344&state={ok}&nonce={ok}")),
                &accounts
            )
            .is_ok()
        );
    }

    #[test]
    fn a_state_and_nonce_of_1_kib_of_url_significant_characters_are_kept_byte_for_byte() {
        let accounts = accounts();
        let state: String = "/&=+%~\"\\<> ?#;"
            .chars()
            .cycle()
            .take(MAX_PARAM_BYTES)
            .collect();
        let nonce = format!("{}é", "~".repeat(MAX_PARAM_BYTES - 2));
        let query = format!(
            "client_id=12344&state={}&nonce={}",
            urlencode(&state),
            urlencode(&nonce)
        );
        let request = check(&params(&query), &accounts).unwrap();
        assert_eq!((request.state, request.nonce), (state, nonce));
        let over = format!("{}é", "~".repeat(MAX_PARAM_BYTES - 1));
        let query = format!("client_id=12344&state=s&nonce={}", urlencode(&over));
        assert!(matches!(
            check(&params(&query), &accounts),
            Err(SsoError::BadLoginRequest {
                reason: "oversized_parameter",
                ..
            })
        ));
    }

    #[test]
    fn control_characters_in_state_or_nonce_are_refused_and_non_ascii_is_kept() {
        let accounts = accounts();
        for (query, ok) in [
            (
                "client_id=12344&state=st%20%C3%A4%2B%2F%3D&nonce=n%C3%B8nce",
                true,
            ),
            ("client_id=12344&state=a%0Ab&nonce=n", false),
            ("client_id=12344&state=s&nonce=n%00", false),
            ("client_id=12344&state=s&nonce=n%7F", false),
        ] {
            assert_eq!(check(&params(query), &accounts).is_ok(), ok, "{query}");
        }
    }

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

    #[test]
    fn duplicated_parameters_and_conflicting_ids_are_refused() {
        assert!(parse_query(Some("state=a&state=b")).is_err());
        assert!(
            check(
                &params("client_id=12344&module_id=5&state=s&nonce=n"),
                &accounts()
            )
            .is_err()
        );
        assert!(
            check(
                &params("client_id=12344&response_type=code&state=s&nonce=n"),
                &accounts()
            )
            .is_err()
        );
    }

    fn urlencode(text: &str) -> String {
        url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }
}
