//! The `freshworks` section: accounts and their redirect URLs, the signing key, claim mappings and the
//! login timeout.

use super::{Dir, freshworks_dir, keys, mapping, no_env, path, with};
use crate::config::validate::{FRESHWORKS_CLAIMS, default_mapping};
use crate::config::{ClaimMapping, ClaimSource};

fn account(redirect: &str) -> String {
    with(&format!(
        "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"12344\":\n      redirect_url: '{redirect}'\n"
    ))
}

#[test]
fn an_account_id_too_long_for_the_pending_login_cookie_is_refused_with_the_fix() {
    let dir = freshworks_dir();
    let id = "1".repeat(crate::config::MAX_ACCOUNT_ID_BYTES + 1);
    let yaml = with(&format!(
        "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"{id}\":\n      redirect_url: https://acme.myfreshworks.com/sp\n"
    ));
    let errors = dir.err(&yaml, &no_env());
    assert_eq!(
        keys(&errors),
        vec![format!("freshworks.accounts.{}…", &id[..32]).as_str()]
    );
    assert!(errors.errors[0].fix.contains("client_id"), "{errors}");
    let longest = "1".repeat(crate::config::MAX_ACCOUNT_ID_BYTES);
    let c = dir.ok(&yaml.replace(&id, &longest), &no_env());
    assert!(c.freshworks.unwrap().accounts.contains_key(&longest));
}

#[test]
fn a_redirect_url_with_user_info_is_rejected_without_quoting_it() {
    let dir = freshworks_dir();
    let errors = dir.err(
        &account("https://admin:hunter2@acme.myfreshworks.com/sp"),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec!["freshworks.accounts.12344.redirect_url"]
    );
    assert!(!errors.to_string().contains("hunter2"), "{errors}");
}

#[test]
fn a_redirect_url_over_http_is_allowed_only_for_local_hosts() {
    let dir = freshworks_dir();
    let errors = dir.err(
        &account("http://acme.myfreshworks.com/sp/OIDC/12344/implicit"),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec!["freshworks.accounts.12344.redirect_url"]
    );
    assert!(
        errors.errors[0]
            .fix
            .contains("`https://acme.myfreshworks.com/sp/OIDC/12344/implicit`")
    );
    for ok in [
        "http://localhost:3000/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "http://acme.freshworks.test/cb",
        "https://acme.myfreshworks.com/cb?x=1",
    ] {
        let c = dir.ok(&account(ok), &no_env());
        assert_eq!(
            c.freshworks.unwrap().accounts["12344"]
                .redirect_url
                .as_str(),
            ok
        );
    }
    for bad in [
        "https://acme.myfreshworks.com/cb#frag",
        "/sp/OIDC/12344/implicit",
        "javascript:alert(1)",
    ] {
        let errors = dir.err(&account(bad), &no_env());
        assert_eq!(
            keys(&errors),
            vec!["freshworks.accounts.12344.redirect_url"],
            "{bad}"
        );
    }
}

#[test]
fn a_logout_redirect_url_follows_the_same_rules() {
    let dir = freshworks_dir();
    let yaml = format!(
        "{}      logout_redirect_url: http://acme.freshservice.com/\n",
        account("https://acme.myfreshworks.com/cb")
    );
    let errors = dir.err(&yaml, &no_env());
    assert_eq!(
        keys(&errors),
        vec!["freshworks.accounts.12344.logout_redirect_url"]
    );
}

#[test]
fn a_numeric_account_key_is_the_account_id() {
    let dir = freshworks_dir();
    let yaml = with(
        "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    12344: { redirect_url: https://a.example.com/cb }\n    abc: { redirect_url: https://b.example.com/cb }\n",
    );
    let c = dir.ok(&yaml, &no_env());
    let accounts = c.freshworks.unwrap().accounts;
    assert_eq!(accounts.keys().collect::<Vec<_>>(), ["12344", "abc"]);
    assert_eq!(accounts["12344"].id, "12344");
}

#[test]
fn the_same_account_id_written_as_number_and_string_is_an_error() {
    let dir = freshworks_dir();
    let yaml = with(
        "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    12344: { redirect_url: https://a.example.com/cb }\n    '12344': { redirect_url: https://b.example.com/cb }\n",
    );
    let errors = dir.err(&yaml, &no_env());
    assert_eq!(keys(&errors), vec!["freshworks.accounts.12344"]);
}

#[test]
fn the_freshworks_section_needs_a_signing_key_and_an_account() {
    let dir = Dir::new();
    let errors = dir.err(&with("freshworks:\n  login_timeout: 5m\n"), &no_env());
    assert_eq!(
        keys(&errors),
        vec!["freshworks.signing_key_file", "freshworks.accounts"]
    );
    let errors = dir.err(
        &with("freshworks:\n  signing_key_file: nope.key\n  accounts: {}\n"),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec!["freshworks.signing_key_file", "freshworks.accounts"]
    );
    assert!(
        errors.errors[0]
            .problem
            .ends_with("nope.key does not exist")
    );
    assert_eq!(errors.errors[1].problem, "lists no account");
}

fn claims(yaml_claims: &str) -> String {
    format!(
        "{}  claims:\n{yaml_claims}",
        account("https://acme.myfreshworks.com/cb")
    )
}

#[test]
fn claims_merge_with_the_defaults_and_accept_every_form() {
    let dir = freshworks_dir();
    let yaml = claims(
        "    sub: preferred_username\n    family_name: [family_name, { value: \"-\" }]\n    phone_number: address.phone\n    picture: { value: https://example.com/a.png }\n",
    );
    let c = dir.ok(&yaml, &no_env());
    let entries = c.freshworks.unwrap().claims.entries;
    let expected = vec![
        (
            "sub".to_string(),
            mapping(vec![path(&["preferred_username"])]),
        ),
        ("email".to_string(), mapping(vec![path(&["email"])])),
        (
            "given_name".to_string(),
            mapping(vec![path(&["given_name"]), path(&["name"])]),
        ),
        (
            "family_name".to_string(),
            mapping(vec![
                path(&["family_name"]),
                ClaimSource::Literal("-".into()),
            ]),
        ),
        (
            "phone_number".to_string(),
            mapping(vec![path(&["address", "phone"])]),
        ),
        (
            "picture".to_string(),
            mapping(vec![ClaimSource::Literal(
                "https://example.com/a.png".into(),
            )]),
        ),
    ];
    assert_eq!(entries, expected);
}

#[test]
fn claims_default_when_the_section_is_absent() {
    let dir = freshworks_dir();
    let c = dir.ok(&account("https://acme.myfreshworks.com/cb"), &no_env());
    let entries = c.freshworks.unwrap().claims.entries;
    let got: Vec<(String, ClaimMapping)> = entries;
    let expected: Vec<(String, ClaimMapping)> = FRESHWORKS_CLAIMS
        .iter()
        .map(|n| (n.to_string(), default_mapping(n)))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        expected[2].1,
        mapping(vec![path(&["given_name"]), path(&["name"])])
    );
    assert_eq!(expected[3].1, mapping(vec![path(&["family_name"])]));
}

#[test]
fn bad_claim_mappings_are_reported_with_the_fix() {
    let dir = freshworks_dir();
    let yaml = claims(
        "    nickname: nick\n    emial: mail\n    email: []\n    given_name: ''\n    family_name: [a..b]\n    picture: { value: '' }\n",
    );
    let errors = dir.err(&yaml, &no_env());
    assert_eq!(
        keys(&errors),
        vec![
            "freshworks.claims.nickname",
            "freshworks.claims.emial",
            "freshworks.claims.email",
            "freshworks.claims.given_name",
            "freshworks.claims.family_name",
            "freshworks.claims.picture",
        ],
        "{errors}"
    );
    assert!(
        errors.errors[0]
            .fix
            .contains("Freshworks ignores unknown claims")
    );
    assert!(errors.errors[1].fix.contains("Did you mean `email`?"));
    assert!(
        errors.errors[2..]
            .iter()
            .all(|e| e.fix.contains("{ value: \"-\" }"))
    );
}

#[test]
fn a_login_timeout_outside_one_to_ten_minutes_is_rejected() {
    let dir = freshworks_dir();
    let base = account("https://acme.myfreshworks.com/cb");
    for bad in ["11m", "1h", "30s"] {
        let yaml = base.replace(
            "freshworks:\n",
            &format!("freshworks:\n  login_timeout: {bad}\n"),
        );
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(keys(&errors), vec!["freshworks.login_timeout"], "{bad}");
        assert!(
            errors.errors[0].problem.contains("between 1m and 10m"),
            "{errors}"
        );
        assert!(
            errors.errors[0].fix.contains("nonce lives 10 minutes"),
            "{errors}"
        );
    }
    for ok in ["10m", "1m", "600"] {
        let yaml = base.replace(
            "freshworks:\n",
            &format!("freshworks:\n  login_timeout: {ok}\n"),
        );
        dir.ok(&yaml, &no_env());
    }
}
