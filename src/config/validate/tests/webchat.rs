//! The `webchat` section: defaults, allowed origins, secrets, identity, lifetimes, properties and the widget.

use std::time::Duration;

use super::{Dir, MINIMAL, keys, mapping, no_env, path, with};
use crate::config::validate::load_str;
use crate::config::{ClaimSource, IdentifyBy, MapEnv, Webchat};

const WEBCHAT_SECRET: &str = "wc-s3cr3t-0123456789abcdef0123456789";

/// `MINIMAL` plus a webchat section holding `body` (keys indented by two).
fn webchat(body: &str) -> String {
    with(&format!("webchat:\n{body}"))
}

/// A webchat section with the two required keys and `extra` (keys indented by two).
fn webchat_with(extra: &str) -> String {
    webchat(&format!(
        "  secret: {WEBCHAT_SECRET}\n  allowed_origins: [https://app.example.com]\n{extra}"
    ))
}

fn webchat_ok(dir: &Dir, yaml: &str) -> Webchat {
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

#[test]
fn an_unknown_identify_by_lists_the_two_values() {
    let dir = Dir::new();
    let errors = dir.err(&webchat_with("  identify_by: phone\n"), &no_env());
    assert_eq!(keys(&errors), vec!["webchat.identify_by"]);
    assert!(errors.errors[0].problem.contains("`phone`"));
    assert!(
        errors.errors[0]
            .fix
            .starts_with("use `email` or `unique_external_id`"),
        "{errors}"
    );
}

#[test]
fn webchat_lifetimes_outside_their_ranges_are_refused() {
    let dir = Dir::new();
    for (key, bad, range) in [
        ("ttl", "5s", "between 10s and 24h"),
        ("ttl", "25h", "between 10s and 24h"),
        ("session_ttl", "30s", "between 1m and 168h"),
        ("session_ttl", "169h", "between 1m and 168h"),
    ] {
        let errors = dir.err(&webchat_with(&format!("  {key}: {bad}\n")), &no_env());
        assert_eq!(keys(&errors), vec![format!("webchat.{key}")], "{bad}");
        assert!(errors.errors[0].problem.contains(range), "{errors}");
        assert!(
            errors.errors[0].fix.contains(&format!("`{key}: ")),
            "{errors}"
        );
    }
    for (key, ok) in [
        ("ttl", "10s"),
        ("ttl", "24h"),
        ("session_ttl", "1m"),
        ("session_ttl", "168h"),
    ] {
        webchat_ok(&dir, &webchat_with(&format!("  {key}: {ok}\n")));
    }
    let errors = dir.err(&webchat_with("  ttl: soon\n"), &no_env());
    assert!(errors.errors[0].problem.contains("is not a duration"));
}

#[test]
fn a_property_name_outside_letters_digits_and_underscores_is_refused() {
    let dir = Dir::new();
    let errors = dir.err(
        &webchat_with(
            "  contact_properties: { 'full name': name, cf_ok: x }\n  ticket_properties: { cf-plan: plan, '': x }\n",
        ),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec![
            "webchat.contact_properties.full name",
            "webchat.ticket_properties.cf-plan",
            "webchat.ticket_properties.",
        ],
        "{errors}"
    );
    assert!(errors.errors[0].fix.contains("`cf_plan`"));
    assert_eq!(errors.errors[2].problem, "the property name is empty");
}

#[test]
fn bad_property_mappings_are_reported_like_claim_mappings() {
    let dir = Dir::new();
    let errors = dir.err(
        &webchat_with(
            "  contact_properties: { name: [], phone: a..b, cf_x: { valu: x } }\n  email: ''\n  1: x\n",
        ),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec![
            "webchat.1",
            "webchat.contact_properties.cf_x.valu",
            "webchat.email",
            "webchat.contact_properties.name",
            "webchat.contact_properties.phone",
        ],
        "{errors}"
    );
    assert!(errors.errors[3].fix.contains("{ value: \"-\" }"));
    assert!(
        errors.errors[3]
            .fix
            .ends_with("remove the property to leave it out")
    );
    assert!(
        errors.errors[2]
            .fix
            .ends_with("remove the key to keep the default")
    );

    let errors = dir.err(&webchat_with("  ticket_properties: [a]\n"), &no_env());
    assert_eq!(keys(&errors), vec!["webchat.ticket_properties"]);
    assert!(
        errors.errors[0]
            .fix
            .contains("ticket_properties: { cf_plan: plan }")
    );
}

#[test]
fn an_unknown_key_in_webchat_is_reported_with_a_suggestion() {
    let dir = Dir::new();
    let errors = dir.err(
        &webchat_with(
            "  allowed_origin: x\n  identifyby: email\n  widget: { host: https://w.example.com, token: t, widget_id: 1, widgetid: 2 }\n",
        ),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec![
            "webchat.allowed_origin",
            "webchat.identifyby",
            "webchat.widget.widgetid"
        ],
        "{errors}"
    );
    assert_eq!(
        errors.errors[0].fix,
        "remove it, or did you mean `allowed_origins`?"
    );
    assert_eq!(
        errors.errors[1].fix,
        "remove it, or did you mean `identify_by`?"
    );
    assert_eq!(
        errors.errors[2].fix,
        "remove it, or did you mean `widget_id`?"
    );

    let errors = dir.err(
        &with("allowed_origins: [https://a.example.com]\n"),
        &no_env(),
    );
    assert_eq!(errors.errors[0].fix, "move it under `webchat:`");
}

#[test]
fn the_widget_needs_host_token_and_id_and_reads_a_numeric_id_as_text() {
    let dir = Dir::new();
    let errors = dir.err(&webchat_with("  widget: {}\n"), &no_env());
    assert_eq!(
        keys(&errors),
        vec![
            "webchat.widget.host",
            "webchat.widget.token",
            "webchat.widget.widget_id"
        ]
    );
    let errors = dir.err(
        &webchat_with(
            "  widget: { host: 'http://widget.example.com', token: ' ', widget_id: 7 }\n",
        ),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec!["webchat.widget.host", "webchat.widget.token"]
    );
    assert!(errors.errors[0].problem.contains("http on a public host"));
    let w = webchat_ok(
        &dir,
        &webchat_with(
            "  widget: { host: 'http://widget.test:8080', token: tok, widget_id: 123 }\n",
        ),
    );
    let widget = w.widget.unwrap();
    assert_eq!(widget.host.as_str(), "http://widget.test:8080/");
    assert_eq!(widget.widget_id, "123");
    // YAML reads a leading zero as text, so the id is kept as written.
    let w = webchat_ok(
        &dir,
        &webchat_with("  widget: { host: https://w.example.com, token: t, widget_id: 0123 }\n"),
    );
    assert_eq!(w.widget.unwrap().widget_id, "0123");
    let debug = format!("{widget:?}");
    assert!(!debug.contains("tok\""), "{debug}");
}

#[test]
fn audience_values_are_kept_and_blank_ones_refused() {
    let dir = Dir::new();
    let w = webchat_ok(&dir, &webchat_with("  audience: [freshgate]\n"));
    assert_eq!(w.audience, ["freshgate"]);
    let errors = dir.err(&webchat_with("  audience: [a, '', ' b']\n"), &no_env());
    assert_eq!(
        keys(&errors),
        vec!["webchat.audience[1]", "webchat.audience[2]"]
    );
}

#[test]
fn every_webchat_problem_is_reported_at_once() {
    let dir = Dir::new();
    let errors = dir.err(
        &webchat(
            "  identify_by: id\n  ttl: 0\n  allowed_origins: ['*']\n  contact_properties: { a.b: x }\n  session_ttl: 8d\n",
        ),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec![
            "webchat.secret",
            "webchat.identify_by",
            "webchat.ttl",
            "webchat.allowed_origins[0]",
            "webchat.contact_properties.a.b",
            "webchat.session_ttl",
        ],
        "{errors}"
    );
    assert!(errors.errors.iter().all(|e| !e.fix.is_empty()));
}

#[test]
fn the_webchat_secret_never_appears_in_messages_or_debug_output() {
    let dir = Dir::new();
    let config = dir.ok(&webchat_with(""), &no_env());
    let debug = format!("{config:?}");
    assert!(!debug.contains(WEBCHAT_SECRET), "{debug}");
    assert!(debug.contains("webchat: Some(Webchat"), "{debug}");

    let env = MapEnv::new().with("WC", WEBCHAT_SECRET);
    dir.write("secret", WEBCHAT_SECRET);
    for body in [
        format!("  secret: '{WEBCHAT_SECRET}'\n  secret_file: secret\n"),
        format!("  secret: '{WEBCHAT_SECRET}${{'\n"),
        format!("  secret: '${{{WEBCHAT_SECRET}}}'\n"),
        "  secret: ${WC}\n  secret_file: secret\n".to_owned(),
        format!(
            "  secret: {WEBCHAT_SECRET}\n  widget: {{ host: https://w.example.com, token: {WEBCHAT_SECRET}, widget_id: 1 }}\n  ttl: 1s\n"
        ),
    ] {
        let yaml = webchat(&format!("{body}  allowed_origins: ['*']\n"));
        let errors = load_str(&yaml, &dir.config(), &env).unwrap_err();
        assert!(keys(&errors).contains(&"webchat.allowed_origins[0]"));
        let shown = format!("{errors}\n{errors:?}");
        assert!(!shown.contains(WEBCHAT_SECRET), "{shown}");
    }
}
