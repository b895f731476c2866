//! The `upstream` section: the client secret and its file, scopes, `proxy_to` and the issuer.

use std::path::Path;

use super::{Dir, MINIMAL, keys, no_env, with};

#[test]
fn a_client_secret_file_is_read_and_its_trailing_whitespace_trimmed() {
    let dir = Dir::new();
    dir.write("secrets/client", "  file-secret \n\n");
    let yaml = with("").replace(
        "client_secret: not-a-real-secret",
        "client_secret_file: secrets/client",
    );
    let c = dir.ok(&yaml, &no_env());
    assert_eq!(
        c.upstream.as_ref().unwrap().client_secret.expose(),
        "  file-secret"
    );
}

#[test]
fn an_empty_or_missing_client_secret_file_is_an_error() {
    let dir = Dir::new();
    dir.write("secrets/client", " \n");
    let yaml = MINIMAL.replace(
        "client_secret: not-a-real-secret",
        "client_secret_file: secrets/client",
    );
    let errors = dir.err(&yaml, &no_env());
    assert_eq!(keys(&errors), vec!["upstream.client_secret_file"]);
    assert!(errors.errors[0].problem.ends_with("is empty"), "{errors}");

    let yaml = yaml.replace("secrets/client", "secrets/missing");
    let errors = dir.err(&yaml, &no_env());
    assert!(
        errors.errors[0]
            .problem
            .ends_with("secrets/missing does not exist"),
        "{errors}"
    );
    assert!(Path::new(errors.errors[0].problem.split(' ').next().unwrap()).is_absolute());
}

#[test]
fn both_or_neither_client_secret_forms_are_an_error() {
    let dir = Dir::new();
    dir.write("secret", "x");
    let errors = dir.err(&with("  client_secret_file: secret\n"), &no_env());
    assert_eq!(keys(&errors), vec!["upstream.client_secret"]);
    assert!(errors.errors[0].problem.contains("both"));
    assert!(errors.errors[0].fix.contains("only one"));

    let yaml = MINIMAL.replace("  client_secret: not-a-real-secret\n", "");
    let errors = dir.err(&yaml, &no_env());
    assert_eq!(keys(&errors), vec!["upstream.client_secret"]);
    assert!(errors.errors[0].fix.contains("client_secret_file"));
}

#[test]
fn scopes_without_openid_are_rejected() {
    let dir = Dir::new();
    let errors = dir.err(&with("  scopes: [email, profile]\n"), &no_env());
    assert_eq!(keys(&errors), vec!["upstream.scopes"]);
    assert!(errors.errors[0].fix.contains("add `openid`"));
    let errors = dir.err(&with("  scopes: [openid, 'email profile']\n"), &no_env());
    assert_eq!(keys(&errors), vec!["upstream.scopes[1]"]);
    let c = dir.ok(&with("  scopes: [email, openid]\n"), &no_env());
    assert_eq!(c.upstream.as_ref().unwrap().scopes, ["email", "openid"]);
}

#[test]
fn proxy_to_defaults_to_the_backchannel_then_to_the_issuer_origin() {
    let dir = Dir::new();
    let issuer = |s: &str| MINIMAL.replace("https://sso.example.com/realms/acme", s);

    let c = dir.ok(
        &issuer("https://sso.example.com:8443/realms/acme"),
        &no_env(),
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().proxy_to.as_str(),
        "https://sso.example.com:8443/"
    );
    let c = dir.ok(
        &issuer("https://sso.example.com:443/realms/acme"),
        &no_env(),
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().proxy_to.as_str(),
        "https://sso.example.com/"
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().issuer,
        "https://sso.example.com:443/realms/acme"
    );

    let c = dir.ok(
        &with("  backchannel_url: http://keycloak:8080/\n"),
        &no_env(),
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().proxy_to.as_str(),
        "http://keycloak:8080/"
    );

    let c = dir.ok(
        &with("  backchannel_url: http://keycloak:8080\n  proxy_to: http://127.0.0.1:9000\n"),
        &no_env(),
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().proxy_to.as_str(),
        "http://127.0.0.1:9000/"
    );
    assert_eq!(
        c.upstream
            .clone()
            .unwrap()
            .backchannel_url
            .unwrap()
            .as_str(),
        "http://keycloak:8080/"
    );

    let errors = dir.err(
        &with("  proxy_to: http://127.0.0.1:9000/realms\n"),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["upstream.proxy_to"]);
    assert!(errors.errors[0].fix.contains("`http://127.0.0.1:9000`"));
}

#[test]
fn the_issuer_is_kept_exactly_as_written() {
    let dir = Dir::new();
    let yaml = MINIMAL.replace(
        "https://sso.example.com/realms/acme",
        "https://SSO.example.com/realms/acme/",
    );
    let c = dir.ok(&yaml, &no_env());
    assert_eq!(
        c.upstream.as_ref().unwrap().issuer,
        "https://SSO.example.com/realms/acme/"
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().issuer_url.host_str(),
        Some("sso.example.com")
    );
    let yaml = MINIMAL.replace(
        "https://sso.example.com/realms/acme",
        "'https://sso.example.com/r?x=1'",
    );
    assert_eq!(keys(&dir.err(&yaml, &no_env())), vec!["upstream.issuer"]);
}

#[test]
fn email_verified_defaults_to_required_and_names_its_three_values() {
    use crate::config::EmailVerified;
    let dir = Dir::new();
    assert_eq!(
        dir.ok(&with(""), &no_env())
            .upstream
            .unwrap()
            .email_verified,
        EmailVerified::Required
    );
    for (text, policy) in [
        ("if_present", EmailVerified::IfPresent),
        ("ignore", EmailVerified::Ignore),
        ("required", EmailVerified::Required),
    ] {
        let yaml = with(&format!("  email_verified: {text}\n"));
        assert_eq!(
            dir.ok(&yaml, &no_env()).upstream.unwrap().email_verified,
            policy
        );
    }
    let errors = dir.err(&with("  email_verified: sometimes\n"), &no_env());
    assert_eq!(keys(&errors), vec!["upstream.email_verified"]);
    assert!(errors.errors[0].fix.contains("if_present"), "{errors}");
}
