//! Behaviour of reading the file into raw structs: unknown keys and their suggestions, value shapes,
//! `${VAR}` expansion, claim sources, and the edit distance behind the suggestions.

mod keys;
mod reader;

use super::suggest::edit_distance;
use super::*;
use crate::config::env::MapEnv;

fn read(yaml: &str, env: &MapEnv) -> (Option<RawConfig>, Vec<ConfigError>) {
    let value: Value = serde_yaml::from_str(yaml).unwrap();
    let mut errors = Vec::new();
    let raw = RawConfig::from_value(&value, env, &mut errors);
    (raw, errors)
}

fn keys(errors: &[ConfigError]) -> Vec<&str> {
    errors.iter().map(|e| e.key.as_str()).collect()
}

#[test]
fn misspelled_key_is_reported_with_its_path_and_a_suggestion() {
    let (_, errors) = read("upstream:\n  client_secrt: x\n", &MapEnv::new());
    assert_eq!(
        errors,
        vec![ConfigError::new(
            "upstream.client_secrt",
            "unknown key",
            "remove it, or did you mean `client_secret`?"
        )]
    );
}

#[test]
fn every_unknown_key_is_reported_at_every_depth() {
    let yaml = "
lisen: 1
bogus: 2
log: { formt: json }
freshworks:
  accounts:
    \"1\": { redirect: x }
  claims:
    email: { valu: x }
";
    let (_, errors) = read(yaml, &MapEnv::new());
    assert_eq!(
        keys(&errors),
        vec![
            "lisen",
            "bogus",
            "log.formt",
            "freshworks.accounts.1.redirect",
            "freshworks.claims.email.valu",
        ]
    );
    assert!(errors[0].fix.contains("`listen`"));
    assert!(
        errors[1]
            .fix
            .contains("the keys allowed at the top level are listen, public_url")
    );
    assert!(errors[2].fix.contains("`format`"));
    assert!(errors[4].fix.contains("`value`"));
}

#[test]
fn a_key_that_is_part_of_known_keys_suggests_them() {
    let (_, errors) = read("upstream:\n  timeout: 5s\n", &MapEnv::new());
    assert_eq!(
        errors[0].fix,
        "remove it, or did you mean `connect_timeout` or `response_timeout`?"
    );
}

#[test]
fn a_single_value_where_a_list_belongs_gets_the_list_form_as_fix() {
    let (_, errors) = read("trusted_proxies: 10.0.0.0/8\n", &MapEnv::new());
    assert_eq!(
        errors[0].fix,
        "write it as a list, e.g. `trusted_proxies: [10.0.0.0/8]` or one `- item` per line"
    );
}

#[test]
fn a_section_key_written_at_the_top_level_is_pointed_to_its_section() {
    let (_, errors) = read("client_id: x\n", &MapEnv::new());
    assert_eq!(errors[0].key, "client_id");
    assert_eq!(errors[0].fix, "move it under `upstream:`");
}

#[test]
fn numbers_and_booleans_are_read_as_text() {
    let (raw, errors) = read(
        "listen: 8443\nlog: { access_log: false }\nupstream: { client_id: 12345 }\n",
        &MapEnv::new(),
    );
    assert!(errors.is_empty(), "{errors:?}");
    let raw = raw.unwrap();
    assert_eq!(raw.listen, Field::Set("8443".into()));
    assert_eq!(
        raw.log.set().unwrap().access_log,
        Field::Set("false".into())
    );
    assert_eq!(
        raw.upstream.set().unwrap().client_id,
        Field::Set("12345".into())
    );
}

#[test]
fn a_value_of_the_wrong_shape_is_reported_and_marked_invalid() {
    let (raw, errors) = read(
        "listen: [a]\ntls: yes\nupstream: { scopes: openid }\n",
        &MapEnv::new(),
    );
    assert_eq!(keys(&errors), vec!["listen", "tls", "upstream.scopes"]);
    assert_eq!(errors[0].problem, "expected a single value, found a list");
    assert_eq!(
        errors[1].problem,
        "expected a mapping of keys, found a string"
    );
    let raw = raw.unwrap();
    assert_eq!(raw.listen, Field::Invalid);
    assert_eq!(raw.tls, Field::Invalid);
    assert_eq!(raw.upstream.set().unwrap().scopes, Field::Invalid);
}

#[test]
fn env_references_are_expanded_in_values_and_reported_with_their_key() {
    let env = MapEnv::new().with("HOST", "sso.example.com");
    let (raw, errors) = read(
        "public_url: https://${HOST}\nupstream:\n  client_secret: ${FRESHGATE_CLIENT_SECRET}\n  scopes: [openid, '${SCOPE}']\n",
        &env,
    );
    assert_eq!(
        raw.as_ref().unwrap().public_url,
        Field::Set("https://sso.example.com".into())
    );
    assert_eq!(
        keys(&errors),
        vec!["upstream.client_secret", "upstream.scopes[1]"]
    );
    assert_eq!(
        errors[0].problem,
        "environment variable FRESHGATE_CLIENT_SECRET is not set"
    );
    assert_eq!(
        errors[0].fix,
        "export FRESHGATE_CLIENT_SECRET, or set upstream.client_secret_file to a file holding the secret"
    );
    let upstream = raw.unwrap().upstream;
    assert_eq!(upstream.set().unwrap().client_secret, Field::Invalid);
}

#[test]
fn unknown_keys_are_not_expanded() {
    let (_, errors) = read("extra: ${NOT_SET}\n", &MapEnv::new());
    assert_eq!(keys(&errors), vec!["extra"]);
}

#[test]
fn a_malformed_reference_in_a_secret_is_reported_without_the_value() {
    let (_, errors) = read(
        "session:\n  cookie_key: \"abc${s3cr3t-part}\"\n",
        &MapEnv::new(),
    );
    assert_eq!(keys(&errors), vec!["session.cookie_key"]);
    assert!(!errors[0].to_string().contains("s3cr3t"), "{}", errors[0]);
}

#[test]
fn numeric_account_ids_become_text() {
    let (raw, errors) = read(
        "freshworks:\n  accounts:\n    12344: { redirect_url: a }\n    \"abc\":\n",
        &MapEnv::new(),
    );
    assert!(errors.is_empty(), "{errors:?}");
    let accounts = raw.unwrap().freshworks.set().unwrap().accounts.clone();
    let accounts = accounts.set().unwrap();
    assert_eq!(accounts[0].id, "12344");
    assert_eq!(accounts[0].redirect_url, Field::Set("a".into()));
    assert_eq!(accounts[1].id, "abc");
    assert_eq!(accounts[1].redirect_url, Field::Absent);
}

#[test]
fn claim_sources_take_every_documented_form() {
    let yaml = "
freshworks:
  claims:
    sub: preferred_username
    email: [mail, email]
    given_name: { value: \"-\" }
    family_name: [family_name, { value: 0 }]
    phone_number: []
";
    let (raw, errors) = read(yaml, &MapEnv::new());
    assert!(errors.is_empty(), "{errors:?}");
    let fw = raw.unwrap().freshworks;
    let claims = fw.set().unwrap().claims.set().unwrap().clone();
    use RawClaimSource::*;
    let got: Vec<(String, Field<Vec<RawClaimSource>>)> =
        claims.into_iter().map(|c| (c.name, c.sources)).collect();
    assert_eq!(
        got,
        vec![
            (
                "sub".into(),
                Field::Set(vec![Name("preferred_username".into())])
            ),
            (
                "email".into(),
                Field::Set(vec![Name("mail".into()), Name("email".into())])
            ),
            ("given_name".into(), Field::Set(vec![Literal("-".into())])),
            (
                "family_name".into(),
                Field::Set(vec![Name("family_name".into()), Literal("0".into())])
            ),
            ("phone_number".into(), Field::Set(vec![])),
        ]
    );
}

#[test]
fn malformed_claim_sources_are_reported_with_the_fix() {
    let yaml = "
freshworks:
  claims:
    sub:
    email: [[a]]
    given_name: {}
";
    let (_, errors) = read(yaml, &MapEnv::new());
    assert_eq!(
        keys(&errors),
        vec![
            "freshworks.claims.sub",
            "freshworks.claims.email[0]",
            "freshworks.claims.given_name"
        ]
    );
    assert!(errors.iter().all(|e| e.fix.contains("{ value: \"-\" }")));
}

#[test]
fn webchat_mappings_take_the_claim_source_forms_and_keep_file_order() {
    let yaml = "
webchat:
  secret: ${WC_SECRET}
  email: [mail, { value: x }]
  unique_external_id:
  contact_properties: { phone: phone_number, name: [name, nickname] }
  ticket_properties: {}
  widget: { widget_id: 42 }
";
    let env = MapEnv::new().with("WC_SECRET", "from-env");
    let (raw, errors) = read(yaml, &env);
    assert!(errors.is_empty(), "{errors:?}");
    let raw = raw.unwrap();
    let w = raw.webchat.set().unwrap();
    use RawClaimSource::*;
    assert_eq!(w.secret, Field::Set(Secret::new("from-env")));
    assert_eq!(
        w.email,
        Field::Set(vec![Name("mail".into()), Literal("x".into())])
    );
    assert_eq!(w.unique_external_id, Field::Absent);
    let props: Vec<(String, Field<Vec<RawClaimSource>>)> = w
        .contact_properties
        .set()
        .unwrap()
        .iter()
        .map(|c| (c.name.clone(), c.sources.clone()))
        .collect();
    assert_eq!(
        props,
        vec![
            (
                "phone".into(),
                Field::Set(vec![Name("phone_number".into())])
            ),
            (
                "name".into(),
                Field::Set(vec![Name("name".into()), Name("nickname".into())])
            ),
        ]
    );
    assert_eq!(w.ticket_properties, Field::Set(vec![]));
    assert_eq!(w.widget.set().unwrap().widget_id, Field::Set("42".into()));
}

#[test]
fn an_unset_webchat_secret_variable_points_to_secret_file() {
    let (_, errors) = read(
        "webchat:\n  secret: ${WC}\n  secrt_file: x\n",
        &MapEnv::new(),
    );
    assert_eq!(keys(&errors), vec!["webchat.secrt_file", "webchat.secret"]);
    assert_eq!(errors[0].fix, "remove it, or did you mean `secret_file`?");
    assert_eq!(
        errors[1].fix,
        "export WC, or set webchat.secret_file to a file holding the secret"
    );
}

#[test]
fn a_file_that_is_not_a_mapping_is_one_problem() {
    let (raw, errors) = read("- a\n- b\n", &MapEnv::new());
    assert!(raw.is_none());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "");
}

#[test]
fn an_empty_file_is_an_empty_configuration() {
    let (raw, errors) = read("", &MapEnv::new());
    assert!(errors.is_empty());
    assert_eq!(raw.unwrap(), RawConfig::default());
}

#[test]
fn edit_distance_counts_single_edits_and_swaps() {
    assert_eq!(edit_distance("client_secrt", "client_secret"), 1);
    assert_eq!(edit_distance("lsiten", "listen"), 1);
    assert_eq!(edit_distance("Listen", "listen"), 0);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(closest("tsl", &["tls", "log"]), Some("tls"));
    assert_eq!(closest("frobnicate", top_keys()), None);
}
