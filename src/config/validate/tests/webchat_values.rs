//! The `webchat` section: identity, lifetimes, properties, the widget, audience, and every problem at once.

use super::webchat::{WEBCHAT_SECRET, webchat, webchat_ok, webchat_with};
use super::{Dir, keys, no_env, with};
use crate::config::MapEnv;
use crate::config::validate::load_str;

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
