//! The `session` section: the cookie key, inline or in a file.

use base64::Engine;

use super::{COOKIE_KEY, Dir, keys, no_env, with};
use crate::config::MapEnv;

#[test]
fn a_cookie_key_of_the_wrong_length_says_how_to_make_one() {
    let dir = Dir::new();
    let short = "AAECAwQFBgcICQoLDA0ODw=="; // 16 bytes
    let env = MapEnv::new().with("COOKIE_KEY", short);
    let errors = dir.err(&with("session: { cookie_key: '${COOKIE_KEY}' }\n"), &env);
    assert_eq!(keys(&errors), vec!["session.cookie_key"]);
    let e = &errors.errors[0];
    assert!(
        e.problem.contains("16 bytes") && e.problem.contains("32"),
        "{e}"
    );
    assert!(e.fix.contains("head -c 32 /dev/urandom | base64"), "{e}");
    assert!(!errors.to_string().contains(short));

    dir.write("cookie-key", &format!("{short}\n"));
    let errors = dir.err(&with("session: { cookie_key_file: cookie-key }\n"), &env);
    assert_eq!(keys(&errors), vec!["session.cookie_key_file"]);
    assert!(
        errors.errors[0]
            .fix
            .contains("head -c 32 /dev/urandom | base64")
    );

    let errors = dir.err(&with("session: { cookie_key: 'not base64!' }\n"), &env);
    assert!(errors.errors[0].problem.contains("is not base64"));
}

#[test]
fn a_cookie_key_may_be_url_safe_unpadded_and_surrounded_by_whitespace() {
    let dir = Dir::new();
    let bytes: Vec<u8> = (200..232).collect();
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
    assert!(url_safe.contains('-') || url_safe.contains('_'));
    dir.write("key", &format!("\n  {url_safe}  \n"));
    let c = dir.ok(&with("session:\n  cookie_key_file: key\n"), &no_env());
    assert_eq!(c.session.cookie_key.unwrap().to_vec(), bytes);
}

#[test]
fn both_cookie_key_forms_are_an_error() {
    let dir = Dir::new();
    dir.write("key", COOKIE_KEY);
    let errors = dir.err(
        &with(&format!(
            "session: {{ cookie_key_file: key, cookie_key: '{COOKIE_KEY}' }}\n"
        )),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["session.cookie_key"]);
    assert!(!errors.to_string().contains(COOKIE_KEY));
}
