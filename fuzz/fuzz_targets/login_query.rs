//! `GET /sso/jwt/login?…`: the query Freshworks (or anyone) sends, through `parse_query` and `check` against
//! a fixed account map, and the error page a refusal shows.
#![no_main]

mod common;

use std::collections::BTreeMap;

use freshgate::config::Account;
use freshgate::freshworks::login::{MAX_PARAM_BYTES, check};
use freshgate::login::{SsoError, parse_query};
use libfuzzer_sys::fuzz_target;

fn accounts() -> BTreeMap<String, Account> {
    [
        (
            "acme",
            "https://acme.freshdesk.com/sp/OIDC/1/callback",
            None,
        ),
        (
            "12345",
            "https://example.myfreshworks.com/sp/OIDC/12345/implicit",
            Some("https://example.myfreshworks.com/logout"),
        ),
        ("ünï", "https://xn--n-vfa.example/cb?x=1&y=%20", None),
    ]
    .into_iter()
    .map(|(id, redirect, logout)| {
        let account = Account {
            id: id.to_owned(),
            redirect_url: redirect.parse().unwrap(),
            logout_redirect_url: logout.map(|l| l.parse().unwrap()),
            login: freshgate::config::LoginMethod::Oidc,
            allow: freshgate::config::Allow::default(),
        };
        (id.to_owned(), account)
    })
    .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let accounts = accounts();
    let params = match parse_query(Some(query)) {
        Ok(params) => params,
        Err(error) => {
            assert!(matches!(
                error,
                SsoError::BadLoginRequest {
                    reason: "duplicate_parameter",
                    ..
                }
            ));
            common::check_page(&error.page());
            return;
        }
    };
    match check(&params, &accounts) {
        Ok(login) => {
            let id = params.get("client_id").or(params.get("module_id")).unwrap();
            assert_eq!(&login.account.id, id);
            assert_eq!(Some(&login.state), params.get("state"));
            assert_eq!(Some(&login.nonce), params.get("nonce"));
            for value in [&login.state, &login.nonce] {
                assert!(!value.is_empty() && value.len() <= MAX_PARAM_BYTES);
            }
            if let Some(redirect_uri) = params.get("redirect_uri") {
                assert_eq!(redirect_uri, login.account.redirect_url.as_str());
            }
        }
        Err(error) => {
            assert!(error.status().is_client_error(), "{error:?}");
            let _ = error.detail();
            common::check_page(&error.page());
        }
    }
});
