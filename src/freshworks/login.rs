//! `GET /sso/jwt/login`: the Login URL configured in Freshworks.
//!
//! Freshworks sends either the seeds' shape (`module_id`, `state`, `nonce`, `grant_type=implicit`, `scope`)
//! or the current one (`client_id`, `state`, `nonce`, `response_type=id_token`, `scope`, `redirect_uri`).
//! The request is checked strictly — it is the start of a login for someone's Freshworks account — and a
//! bad one gets a 400 page, never a redirect (RFC 9700 §4.1: exact redirect URI matching, no open redirect).

use std::collections::HashMap;

use http::{Request, Response};
use hyper::body::Incoming;

use super::Freshworks;
use crate::audit::Attempt;
use crate::body::Body;
use crate::config::Account;
/// Longest `state` or `nonce` accepted from Freshworks (1 KiB each, kept byte for byte in the pending
/// login).
pub use crate::login::pending::MAX_PARAM_BYTES;
use crate::login::{Failure, Login, SsoError, Target, parse_query};
use crate::metrics::LoginMethod;
use crate::request_id::RequestId;

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

impl Freshworks {
    /// Starts the login of a checked Freshworks request by the account's method: at the provider, or with
    /// the gateway's sign-in form (and the silent Windows login) for a directory account.
    pub async fn login(
        &self,
        request: &Request<Incoming>,
        login: &Login,
        id: RequestId,
        attempt: &Attempt,
    ) -> Result<Response<Body>, Failure> {
        let (freshworks, _) = self.signing().map_err(|e| (e, None))?;
        let params = parse_query(request.uri().query()).map_err(|e| (e, None))?;
        // A configured account named by the request is the attempt's, even when the rest is refused.
        if let Some(account) = ["client_id", "module_id"]
            .iter()
            .find_map(|name| freshworks.accounts.get(params.get(*name)?))
        {
            attempt.account(&account.id);
            attempt.method(match account.login {
                crate::config::LoginMethod::Directory => LoginMethod::Directory,
                crate::config::LoginMethod::Oidc => LoginMethod::Oidc,
            });
        }
        let checked = check(&params, &freshworks.accounts).map_err(|e| (e, None))?;
        let shape = if params.contains_key("client_id") {
            "current"
        } else {
            "seed"
        };
        self.metrics.login("started", shape);
        let account = checked.account;
        let target = Target::Freshworks {
            account: account.id.clone(),
            state: checked.state,
            nonce: checked.nonce,
        };
        if account.login == crate::config::LoginMethod::Directory {
            tracing::info!(request_id = %id, account = %account.id, shape, "login started; directory sign-in page shown");
            return login
                .start_directory(request.headers(), account, target, id, attempt, self)
                .await;
        }
        tracing::info!(request_id = %id, account = %account.id, shape, "login started; browser sent to the provider");
        login.start_oidc(request.headers(), target)
    }
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
