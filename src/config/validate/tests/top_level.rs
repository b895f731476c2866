//! Whole-file behaviour: the full example and the defaults, every problem reported at once, `${VAR}`
//! references and secrets kept out of messages (`file`: the file itself).

use std::time::Duration;

use ipnet::IpNet;

use super::{COOKIE_KEY, Dir, MINIMAL, keys, mapping, no_env, path, with};
use crate::config::validate::{FRESHWORKS_CLAIMS, load, load_str};
use crate::config::{Limits, LogFormat, MapEnv};

const FULL_EXAMPLE: &str = "
listen: 0.0.0.0:8443
public_url: https://sso.example.com
tls:
  cert_file: certs/gateway.crt
  key_file: certs/gateway.key
admin_listen: 127.0.0.1:9901
trusted_proxies: [10.0.0.0/8, 192.168.1.7, 'fd00::1']
log: { format: json, level: 'info,freshgate=debug', access_log: false }
limits:
  header_read_timeout: 5s
  tls_handshake_timeout: 7s
  idle_timeout: 2m
  max_header_bytes: 32KiB
  max_connections: 500
  shutdown_grace: 1m30s
upstream:
  issuer: https://sso.example.com/realms/acme
  backchannel_url: http://127.0.0.1:8080
  client_id: freshgate
  client_secret: ${FRESHGATE_CLIENT_SECRET}
  scopes: [openid, email, profile, phone]
  ca_file: certs/internal-ca.pem
  preserve_host: false
  connect_timeout: 3s
  response_timeout: 45s
  jwks_refresh: 30m
session:
  cookie_key_file: secrets/cookie-key
freshworks:
  signing_key_file: certs/freshworks-signing.key
  login_timeout: 5m
  accounts:
    12344:
      redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit
      logout_redirect_url: https://acme.freshservice.com/
  claims:
    sub: sub
    email: email
    given_name: [given_name, name]
    family_name: [family_name]
    phone_number: phone_number
    picture: picture
";

fn full_example_dir() -> Dir {
    let dir = Dir::new();
    for f in [
        "certs/gateway.crt",
        "certs/gateway.key",
        "certs/internal-ca.pem",
        "certs/freshworks-signing.key",
    ] {
        dir.write(f, "-----BEGIN PLACEHOLDER-----\n");
    }
    dir.write("secrets/cookie-key", &format!("{COOKIE_KEY}\n"));
    dir.write("gateway.yaml", FULL_EXAMPLE);
    dir
}

#[test]
fn the_full_example_loads_into_the_expected_config() {
    let dir = full_example_dir();
    let env = MapEnv::new().with("FRESHGATE_CLIENT_SECRET", "s3cr3t-value");
    let c = load(&dir.config(), &env).unwrap_or_else(|e| panic!("{e}"));
    let base = std::path::absolute(&dir.0).unwrap();

    assert_eq!(c.source, dir.config());
    assert_eq!(c.listen, "0.0.0.0:8443".parse().unwrap());
    assert_eq!(c.public_url.as_str(), "https://sso.example.com/");
    assert_eq!(c.public("/sso/login"), "https://sso.example.com/sso/login");
    assert!(c.public_is_https());
    let tls = c.tls.as_ref().unwrap();
    assert_eq!(tls.cert_file, base.join("certs/gateway.crt"));
    assert_eq!(tls.key_file, base.join("certs/gateway.key"));
    assert_eq!(c.admin_listen, Some("127.0.0.1:9901".parse().unwrap()));
    let proxies: Vec<IpNet> = ["10.0.0.0/8", "192.168.1.7/32", "fd00::1/128"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(c.trusted_proxies, proxies);
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.log.level, "info,freshgate=debug");
    assert!(!c.log.access_log);

    assert_eq!(c.limits.header_read_timeout, Duration::from_secs(5));
    assert_eq!(c.limits.tls_handshake_timeout, Duration::from_secs(7));
    assert_eq!(c.limits.idle_timeout, Duration::from_secs(120));
    assert_eq!(c.limits.max_header_bytes, 32 * 1024);
    assert_eq!(c.limits.max_connections, 500);
    assert_eq!(c.limits.shutdown_grace, Duration::from_secs(90));

    let u = c.upstream.as_ref().unwrap();
    assert_eq!(u.issuer, "https://sso.example.com/realms/acme");
    assert_eq!(u.issuer_url.as_str(), "https://sso.example.com/realms/acme");
    assert_eq!(
        u.backchannel_url.as_ref().unwrap().as_str(),
        "http://127.0.0.1:8080/"
    );
    assert_eq!(u.proxy_to.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(u.client_id, "freshgate");
    assert_eq!(u.client_secret.expose(), "s3cr3t-value");
    assert_eq!(u.scopes, ["openid", "email", "profile", "phone"]);
    assert_eq!(u.ca_file, Some(base.join("certs/internal-ca.pem")));
    assert!(!u.preserve_host);
    assert_eq!(u.connect_timeout, Duration::from_secs(3));
    assert_eq!(u.response_timeout, Duration::from_secs(45));
    assert_eq!(u.jwks_refresh, Duration::from_secs(1800));

    let expected_key: Vec<u8> = (0..32).collect();
    assert_eq!(c.session.cookie_key.map(|k| k.to_vec()), Some(expected_key));

    let fw = c.freshworks.as_ref().unwrap();
    assert_eq!(
        fw.signing_key_file,
        base.join("certs/freshworks-signing.key")
    );
    assert_eq!(fw.login_timeout, Duration::from_secs(300));
    assert_eq!(fw.accounts.len(), 1);
    let account = &fw.accounts["12344"];
    assert_eq!(account.id, "12344");
    assert_eq!(
        account.redirect_url.as_str(),
        "https://acme.myfreshworks.com/sp/OIDC/12344/implicit"
    );
    assert_eq!(
        account.logout_redirect_url.as_ref().unwrap().as_str(),
        "https://acme.freshservice.com/"
    );
    let names: Vec<&str> = fw.claims.entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, FRESHWORKS_CLAIMS);
    assert_eq!(
        fw.claims.entries[2].1,
        mapping(vec![path(&["given_name"]), path(&["name"])])
    );
}

#[test]
fn a_minimal_file_gets_every_default() {
    let dir = Dir::new();
    let c = dir.ok(MINIMAL, &no_env());
    assert!(c.tls.is_none());
    assert!(c.public_is_https());
    assert_eq!(c.admin_listen, Some("127.0.0.1:9901".parse().unwrap()));
    assert!(c.trusted_proxies.is_empty());
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.log.level, "info");
    assert!(c.log.access_log);
    let d = Limits::default();
    assert_eq!(c.limits.header_read_timeout, d.header_read_timeout);
    assert_eq!(c.limits.max_header_bytes, d.max_header_bytes);
    assert_eq!(c.limits.max_connections, d.max_connections);
    assert_eq!(c.limits.shutdown_grace, d.shutdown_grace);
    assert_eq!(
        c.upstream.as_ref().unwrap().scopes,
        ["openid", "email", "profile"]
    );
    assert!(c.upstream.as_ref().unwrap().preserve_host);
    assert!(c.upstream.as_ref().unwrap().backchannel_url.is_none());
    assert!(c.upstream.as_ref().unwrap().ca_file.is_none());
    assert_eq!(
        c.upstream.as_ref().unwrap().connect_timeout,
        Duration::from_secs(5)
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().response_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().jwks_refresh,
        Duration::from_secs(3600)
    );
    assert!(c.session.cookie_key.is_none());
    assert!(c.freshworks.is_none());
}

#[test]
fn several_problems_are_all_reported_at_once() {
    let dir = Dir::new();
    let yaml = "
listen: 0.0.0.0:8443
public_url: https://sso.example.com
tls:
  cert_file: gateway.crt
  key_file: gateway.key
upstream:
  issuer: https://sso.example.com/realms/acme
  client_id: freshgate
  client_secrt: oops
  client_secret: ${FRESHGATE_CLIENT_SECRET}
  connect_timeout: soon
";
    dir.write("gateway.crt", "cert");
    let errors = dir.err(yaml, &no_env());
    assert_eq!(
        keys(&errors),
        vec![
            "tls.key_file",
            "upstream.client_secrt",
            "upstream.client_secret",
            "upstream.connect_timeout"
        ],
        "{errors}"
    );
    let text = errors.to_string();
    assert!(
        text.starts_with(&format!("{}: 4 problems\n", dir.config().display())),
        "{text}"
    );
    assert!(text.contains(
        "  upstream.client_secrt: unknown key\n    fix: remove it, or did you mean `client_secret`?"
    ));
    assert!(text.contains(
        "  upstream.client_secret: environment variable FRESHGATE_CLIENT_SECRET is not set\n    fix: export FRESHGATE_CLIENT_SECRET, or set upstream.client_secret_file to a file holding the secret"
    ));
    let key_path = std::path::absolute(dir.0.join("gateway.key")).unwrap();
    assert!(
        text.contains(&format!(
            "  tls.key_file: {} does not exist\n",
            key_path.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("upstream.connect_timeout: `soon` is not a duration"),
        "{text}"
    );
    assert!(text.contains("`1h30m`"), "{text}");
}

#[test]
fn a_missing_variable_is_reported_once_without_a_second_missing_secret_problem() {
    let dir = Dir::new();
    let yaml = MINIMAL.replace("not-a-real-secret", "${NOPE}");
    let errors = dir.err(&yaml, &no_env());
    assert_eq!(keys(&errors), vec!["upstream.client_secret"]);
}

#[test]
fn env_references_are_expanded_and_a_doubled_dollar_escapes_them() {
    let dir = Dir::new();
    let env = MapEnv::new().with("REALM", "acme").with("PORT", "9443");
    let yaml = "
listen: 0.0.0.0:${PORT}
public_url: https://sso.example.com
upstream:
  issuer: https://sso.example.com/realms/${REALM}
  client_id: freshgate
  client_secret: pa$$${word}
";
    let c = dir.ok(yaml, &env);
    assert_eq!(c.listen.port(), 9443);
    assert_eq!(
        c.upstream.as_ref().unwrap().issuer,
        "https://sso.example.com/realms/acme"
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().client_secret.expose(),
        "pa$${word}"
    );
    let yaml = yaml.replace("pa$$${word}", "'$${NOT_EXPANDED}'");
    let c = dir.ok(&yaml, &env);
    assert_eq!(
        c.upstream.as_ref().unwrap().client_secret.expose(),
        "${NOT_EXPANDED}"
    );
}

#[test]
fn secrets_never_appear_in_messages_or_debug_output() {
    let dir = full_example_dir();
    let secret = "s3cr3t-value-9f8e7d";
    let env = MapEnv::new().with("FRESHGATE_CLIENT_SECRET", secret);
    let config = load(&dir.config(), &env).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains(secret), "{debug}");
    assert!(!debug.contains(COOKIE_KEY), "{debug}");

    // Problems around secrets: both forms, a malformed reference, a bad cookie key.
    let yaml = format!(
        "{}  client_secret_file: x\nsession:\n  cookie_key: '{secret}'\n",
        MINIMAL.replace("not-a-real-secret", &format!("'{secret}${{'"))
    );
    let errors = load_str(&yaml, &dir.config(), &env).unwrap_err();
    assert_eq!(
        keys(&errors),
        vec![
            "upstream.client_secret",
            "upstream.client_secret",
            "session.cookie_key"
        ],
        "{errors}"
    );
    let shown = format!("{errors}\n{errors:?}");
    assert!(!shown.contains(secret), "{shown}");

    let yaml = with(&format!("session:\n  cookie_key: '${{{secret}}}'\n"));
    let errors = load_str(&yaml, &dir.config(), &env).unwrap_err();
    assert_eq!(keys(&errors), vec!["session.cookie_key"]);
    assert!(
        !format!("{errors}\n{errors:?}").contains(secret),
        "{errors}"
    );
}
