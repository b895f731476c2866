//! Settings refused because they would expose users and nothing legitimate needs them.

use super::{Dir, MINIMAL, keys, no_env, with};

#[test]
fn a_public_url_over_plain_http_is_refused_unless_the_host_is_local() {
    let dir = Dir::new();
    // (public_url, refused)
    let cases: &[(&str, bool)] = &[
        ("https://sso.example.com", false),
        ("http://localhost:8080", false),
        ("http://127.0.0.1:8080", false),
        ("http://[::1]:8080", false),
        ("http://sso.freshgate.test", false),
        ("http://dev.localhost", false),
        ("http://sso.example.com", true),
        ("http://sso.internal", true),
        ("http://10.0.0.5:8080", true),
        ("http://0.0.0.0:8080", true),
    ];
    for (url, refused) in cases {
        let yaml = MINIMAL.replace("https://sso.example.com\n", &format!("{url}\n"));
        let result = dir.load(&yaml, &no_env());
        assert_eq!(result.is_err(), *refused, "{url}: {result:?}");
        if let Err(errors) = result {
            assert_eq!(keys(&errors), vec!["public_url"], "{url}");
            let error = &errors.errors[0];
            assert!(error.problem.contains("plain http"), "{error}");
            assert!(
                error.fix.contains("https://") && error.fix.contains("tls:"),
                "{error}"
            );
        }
    }
}

#[test]
fn trusted_proxies_that_cover_every_address_are_refused() {
    let dir = Dir::new();
    // (trusted_proxies, refused)
    let cases: &[(&str, bool)] = &[
        ("[10.0.0.0/8, 192.168.0.0/16, 'fd00::/8']", false),
        ("[0.0.0.0/1]", false),
        ("[0.0.0.0/0]", true),
        ("['::/0']", true),
        ("[10.0.0.0/8, '::/0']", true),
        ("[0.0.0.0/1, 128.0.0.0/1]", true),
        ("[0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/1]", true),
        ("['::/1', '8000::/1']", true),
        ("[1.2.3.4/0]", true),
    ];
    for (list, refused) in cases {
        let result = dir.load(&with(&format!("trusted_proxies: {list}\n")), &no_env());
        assert_eq!(result.is_err(), *refused, "{list}: {result:?}");
        if let Err(errors) = result {
            assert_eq!(keys(&errors), vec!["trusted_proxies"], "{list}");
            let error = &errors.errors[0];
            assert!(
                error.problem.contains("every client could forge"),
                "{error}"
            );
            assert!(error.fix.contains("your own proxies"), "{error}");
        }
    }
}
