//! The file itself: YAML problems, unreadable and empty files, relative paths, scalars, anchors and merges.

use super::{Dir, MINIMAL, freshworks_dir, keys, no_env, with};
use crate::config::validate::{load, load_str};

#[test]
fn yaml_syntax_errors_give_line_and_column() {
    let dir = Dir::new();
    let errors = dir.err(
        "listen: 0.0.0.0:8443\nupstream:\n  issuer: a\n client_id: b\n",
        &no_env(),
    );
    assert_eq!(errors.errors.len(), 1);
    let e = &errors.errors[0];
    assert_eq!(e.key, "");
    assert!(
        e.problem
            .starts_with("not valid YAML at line 4, column 2: "),
        "{e}"
    );
    assert_eq!(e.problem.matches("line 4").count(), 1, "said once: {e}");

    let errors = dir.err("a: 1\na: 2\n", &no_env());
    assert!(errors.errors[0].problem.contains("duplicate"), "{errors}");
}

#[test]
fn an_unreadable_file_is_one_problem_naming_the_file() {
    let dir = Dir::new();
    let missing = dir.0.join("missing.yaml");
    let errors = load(&missing, &no_env()).unwrap_err();
    assert_eq!(errors.file, missing);
    assert_eq!(errors.errors.len(), 1);
    assert_eq!(errors.errors[0].key, "");
    assert!(
        errors.errors[0]
            .problem
            .contains(&missing.display().to_string())
    );
    assert!(
        errors.errors[0].problem.ends_with("it does not exist"),
        "{errors}"
    );
    assert!(
        errors
            .to_string()
            .starts_with(&format!("{}: 1 problem\n", missing.display()))
    );

    let errors = load(&dir.0, &no_env()).unwrap_err();
    assert!(
        errors.errors[0].problem.ends_with("it is a directory"),
        "{errors}"
    );
}

#[test]
fn an_empty_file_reports_every_required_key() {
    let dir = Dir::new();
    let errors = dir.err("", &no_env());
    assert_eq!(keys(&errors), vec!["listen", "public_url", "upstream"]);
    let errors = dir.err("upstream: {}\n", &no_env());
    assert_eq!(
        keys(&errors),
        vec![
            "listen",
            "public_url",
            "upstream.issuer",
            "upstream.client_id",
            "upstream.client_secret"
        ]
    );
}

#[test]
fn relative_paths_resolve_against_the_config_files_directory() {
    let dir = Dir::new();
    dir.write("etc/certs/a.crt", "c");
    dir.write("etc/certs/a.key", "k");
    let yaml = with("tls: { cert_file: certs/a.crt, key_file: certs/a.key }\n");
    let c = load_str(&yaml, &dir.0.join("etc/gateway.yaml"), &no_env()).unwrap();
    assert_eq!(
        c.tls.unwrap().key_file,
        std::path::absolute(dir.0.join("etc/certs/a.key")).unwrap()
    );

    let abs = dir.0.join("etc/certs/a.crt");
    let yaml = with(&format!(
        "tls: {{ cert_file: '{}', key_file: certs/a.key }}\n",
        abs.display()
    ));
    let errors = load_str(&yaml, &dir.0.join("gateway.yaml"), &no_env()).unwrap_err();
    assert_eq!(keys(&errors), vec!["tls.key_file"]);
    assert!(
        errors.errors[0]
            .fix
            .contains("remove the tls section to serve plain HTTP")
    );

    let errors = dir.err(
        &with("tls: { cert_file: etc, key_file: etc/certs/a.key }\n"),
        &no_env(),
    );
    assert!(
        errors.errors[0]
            .problem
            .ends_with("is a directory, not a file"),
        "{errors}"
    );
}

#[test]
fn scalars_written_as_numbers_are_accepted_where_text_is_expected() {
    let dir = Dir::new();
    let c = dir.ok(
        &MINIMAL.replace("client_id: freshgate", "client_id: 12345"),
        &no_env(),
    );
    assert_eq!(c.upstream.as_ref().unwrap().client_id, "12345");
}

#[test]
fn yaml_anchors_and_merge_keys_work() {
    let dir = freshworks_dir();
    let yaml = with(
        "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"1\": &acct { redirect_url: https://a.example.com/cb }\n    \"2\":\n      <<: *acct\n      logout_redirect_url: https://a.example.com/\n",
    );
    let c = dir.ok(&yaml, &no_env());
    let accounts = c.freshworks.unwrap().accounts;
    assert_eq!(
        accounts["2"].redirect_url.as_str(),
        "https://a.example.com/cb"
    );
}
