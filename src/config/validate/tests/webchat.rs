//! The `webchat` section: defaults, allowed origins and secrets (`webchat_values`: the other keys), and the
//! helpers both files use.

use std::time::Duration;

use super::{Dir, MINIMAL, keys, mapping, no_env, path, with};
use crate::config::{ClaimSource, IdentifyBy, Webchat};

pub(super) const WEBCHAT_SECRET: &str = "wc-s3cr3t-0123456789abcdef0123456789";

/// `MINIMAL` plus a webchat section holding `body` (keys indented by two).
pub(super) fn webchat(body: &str) -> String {
    with(&format!("webchat:\n{body}"))
}

/// A webchat section with the two required keys and `extra` (keys indented by two).
pub(super) fn webchat_with(extra: &str) -> String {
    webchat(&format!(
        "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com]\n{extra}"
    ))
}

pub(super) fn webchat_ok(dir: &Dir, yaml: &str) -> Webchat {
    dir.ok(yaml, &no_env())
        .webchat
        .expect("webchat is configured")
}

#[test]
fn the_full_webchat_example_loads_into_the_expected_settings() {
    let dir = Dir::new();
    dir.write("secrets/webchat", &format!("{WEBCHAT_SECRET}\n"));
    let yaml = webchat(
        "  secret_file: secrets/webchat
  identify_by: unique_external_id
  unique_external_id: [employee_id, sub]
  email: mail
  ttl: 15m
  audience: [api://freshdesk, account]
  allowed_origins: [https://app.example.com, 'https://Support.Example.com:8443/', 'http://localhost:3000']
  contact_properties: { name: [name, { value: Agent }], phone: phone_number, cf_team: org.team }
  ticket_properties: { cf_plan: plan }
  widget:
    host: https://widget.example.com
    token: abc
    widget_id: 123
  session_ttl: 12h
",
    );
    let w = webchat_ok(&dir, &yaml);
    assert_eq!(w.secret.expose(), WEBCHAT_SECRET);
    assert_eq!(w.identify_by, IdentifyBy::UniqueExternalId);
    assert_eq!(w.identify_by.as_str(), "unique_external_id");
    assert_eq!(
        w.identity,
        mapping(vec![path(&["employee_id"]), path(&["sub"])])
    );
    assert_eq!(w.ttl, Duration::from_secs(900));
    assert_eq!(w.audience, ["api://freshdesk", "account"]);
    assert_eq!(
        w.allowed_origins,
        [
            "https://app.example.com",
            "https://support.example.com:8443",
            "http://localhost:3000"
        ]
    );
    assert_eq!(
        w.contact_properties,
        vec![
            (
                "name".to_string(),
                mapping(vec![path(&["name"]), ClaimSource::Literal("Agent".into())])
            ),
            ("phone".to_string(), mapping(vec![path(&["phone_number"])])),
            ("cf_team".to_string(), mapping(vec![path(&["org", "team"])])),
        ]
    );
    assert_eq!(
        w.ticket_properties,
        vec![("cf_plan".to_string(), mapping(vec![path(&["plan"])]))]
    );
    let widget = w.widget.as_ref().unwrap();
    assert_eq!(widget.host.as_str(), "https://widget.example.com/");
    assert_eq!(widget.token, "abc");
    assert_eq!(widget.widget_id, "123");
    assert_eq!(w.session_ttl, Duration::from_secs(12 * 3600));

    // With `identify_by: email` the `email` mapping is the identity.
    let yaml = yaml.replace("identify_by: unique_external_id", "identify_by: Email");
    assert_eq!(
        webchat_ok(&dir, &yaml).identity,
        mapping(vec![path(&["mail"])])
    );
}

#[test]
fn only_a_secret_and_allowed_origins_give_every_webchat_default() {
    let dir = Dir::new();
    let w = webchat_ok(&dir, &webchat_with(""));
    assert_eq!(w.secret.expose(), WEBCHAT_SECRET);
    assert_eq!(w.identify_by, IdentifyBy::Email);
    assert_eq!(w.identity, mapping(vec![path(&["email"])]));
    assert_eq!(w.ttl, Duration::from_secs(600));
    assert!(w.audience.is_empty());
    assert_eq!(w.allowed_origins, ["https://app.example.com"]);
    assert_eq!(
        w.contact_properties,
        vec![
            ("name".to_string(), mapping(vec![path(&["name"])])),
            ("phone".to_string(), mapping(vec![path(&["phone_number"])])),
            ("language".to_string(), mapping(vec![path(&["locale"])])),
        ]
    );
    assert!(w.ticket_properties.is_empty());
    assert!(w.widget.is_none());
    assert_eq!(w.session_ttl, Duration::from_secs(8 * 3600));

    let w = webchat_ok(&dir, &webchat_with("  identify_by: unique_external_id\n"));
    assert_eq!(w.identity, mapping(vec![path(&["sub"])]));

    // Without webchat there is none; written empty, the section counts as absent.
    assert!(dir.ok(MINIMAL, &no_env()).webchat.is_none());
    assert!(dir.ok(&with("webchat:\n"), &no_env()).webchat.is_none());
}

#[test]
fn empty_contact_properties_mean_none_and_a_bare_key_keeps_the_default() {
    let dir = Dir::new();
    let w = webchat_ok(&dir, &webchat_with("  contact_properties: {}\n"));
    assert!(w.contact_properties.is_empty());
    let w = webchat_ok(&dir, &webchat_with("  contact_properties:\n"));
    assert_eq!(w.contact_properties.len(), 3);
}

#[test]
fn a_wildcard_origin_is_refused_with_the_reason() {
    let dir = Dir::new();
    for bad in ["'*'", "'https://*.example.com'"] {
        let yaml = webchat(&format!(
            "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com, {bad}]\n"
        ));
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(keys(&errors), vec!["webchat.allowed_origins[1]"], "{bad}");
        assert_eq!(
            errors.errors[0].fix,
            "list each origin; a wildcard would let any site mint tokens for your users"
        );
    }
}

#[test]
fn an_origin_with_a_path_query_fragment_or_user_info_is_refused() {
    let dir = Dir::new();
    for bad in [
        "https://app.example.com/chat",
        "https://app.example.com/?a=b",
        "https://app.example.com#top",
        "https://user:pw@app.example.com",
        "app.example.com",
        "ftp://app.example.com",
        "null",
    ] {
        let yaml = webchat(&format!(
            "  secret: {WEBCHAT_SECRET}\n  allowed_origins: ['{bad}']\n"
        ));
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(keys(&errors), vec!["webchat.allowed_origins[0]"], "{bad}");
        assert!(!errors.errors[0].fix.is_empty());
    }
    let yaml = webchat(&format!(
        "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com/chat]\n"
    ));
    let errors = dir.err(&yaml, &no_env());
    assert_eq!(
        errors.errors[0].fix,
        "write just the origin: `https://app.example.com`"
    );
}

#[test]
fn an_http_origin_is_refused_on_a_public_host_and_allowed_on_local_ones() {
    let dir = Dir::new();
    let origins = |list: &str| {
        webchat(&format!(
            "  secret: {WEBCHAT_SECRET}\n  allowed_origins: {list}\n"
        ))
    };
    let errors = dir.err(&origins("[http://app.example.com]"), &no_env());
    assert_eq!(keys(&errors), vec!["webchat.allowed_origins[0]"]);
    assert_eq!(
        errors.errors[0].problem,
        "`http://app.example.com` uses http on a public host"
    );
    assert!(
        errors.errors[0]
            .fix
            .starts_with("use https (`https://app.example.com`)"),
        "{errors}"
    );
    let w = webchat_ok(
        &dir,
        &origins(
            "[http://localhost:3000, 'http://127.0.0.1:8080/', 'http://[::1]', http://shop.test, 'https://APP.example.com:443']",
        ),
    );
    assert_eq!(
        w.allowed_origins,
        [
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]",
            "http://shop.test",
            "https://app.example.com"
        ]
    );
}

#[test]
fn missing_empty_or_repeated_allowed_origins_are_errors() {
    let dir = Dir::new();
    let errors = dir.err(
        &webchat(&format!("  secret: {WEBCHAT_SECRET}\n")),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["webchat.allowed_origins"]);
    assert_eq!(errors.errors[0].problem, "is required but not set");
    assert!(errors.errors[0].fix.contains("allowed_origins: [https://"));

    let errors = dir.err(
        &webchat(&format!(
            "  secret: {WEBCHAT_SECRET}\n  allowed_origins: []\n"
        )),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["webchat.allowed_origins"]);
    assert_eq!(errors.errors[0].problem, "lists no origin");

    let errors = dir.err(
        &webchat(&format!(
            "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://a.example.com, 'https://A.example.com:443/']\n"
        )),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["webchat.allowed_origins[1]"]);
    assert!(errors.errors[0].problem.contains("already listed"));
}

#[test]
fn both_missing_or_empty_webchat_secrets_are_errors() {
    let dir = Dir::new();
    dir.write("secret", WEBCHAT_SECRET);
    let errors = dir.err(&webchat_with("  secret_file: secret\n"), &no_env());
    assert_eq!(keys(&errors), vec!["webchat.secret"]);
    assert_eq!(
        errors.errors[0].problem,
        "both secret and secret_file are set"
    );
    assert_eq!(
        errors.errors[0].fix,
        "keep only one of webchat.secret and webchat.secret_file"
    );

    let errors = dir.err(
        &webchat("  allowed_origins: [https://app.example.com]\n"),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["webchat.secret"]);
    assert!(errors.errors[0].fix.contains("secret_file"), "{errors}");

    let errors = dir.err(
        &webchat("  secret: ''\n  allowed_origins: [https://app.example.com]\n"),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["webchat.secret"]);
    assert_eq!(errors.errors[0].problem, "is empty");

    dir.write("empty", "\n");
    let errors = dir.err(
        &webchat("  secret_file: empty\n  allowed_origins: [https://app.example.com]\n"),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["webchat.secret_file"]);

    // A short secret is accepted (the gateway warns about it at start-up).
    let w = webchat_ok(
        &dir,
        &webchat("  secret: short\n  allowed_origins: [https://app.example.com]\n"),
    );
    assert_eq!(w.secret.expose(), "short");

    let errors = dir.err(
        &webchat(
            "  secret: ${FRESHDESK_WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com]\n",
        ),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["webchat.secret"]);
    assert_eq!(
        errors.errors[0].fix,
        "export FRESHDESK_WEBCHAT_SECRET, or set webchat.secret_file to a file holding the secret"
    );
}
