//! The `directory` section, accounts' `login` and `allow`, and when `upstream` may be left out.

use std::time::Duration;

use super::{Dir, freshworks_dir, keys, no_env};
use crate::config::validate::AD_USER_FILTER;
use crate::config::{DirectoryKind, LoginMethod, MapEnv, NestedGroups};

const HEAD: &str = "listen: 0.0.0.0:8443\npublic_url: https://sso.example.com\n";

/// A directory-only gateway: no `upstream`, one directory account.
fn directory_only(directory_extra: &str, account_extra: &str) -> String {
    format!(
        "{HEAD}directory:
  url: ldaps://dc1.corp.example:636
  bind_dn: CN=svc,OU=Service,DC=corp,DC=example
  bind_password: ${{BIND}}
  base_dn: DC=corp,DC=example
{directory_extra}freshworks:
  signing_key_file: signing.key
  accounts:
    \"12344\":
      redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit
      login: directory
{account_extra}"
    )
}

fn env() -> MapEnv {
    MapEnv::new().with("BIND", "svc-password")
}

#[test]
fn a_directory_only_gateway_needs_no_upstream_and_gets_active_directory_defaults() {
    let dir = freshworks_dir();
    let config = dir.ok(&directory_only("", ""), &env());
    assert!(config.upstream.is_none());
    let directory = config.directory.unwrap();
    assert_eq!(directory.kind, DirectoryKind::ActiveDirectory);
    assert_eq!(directory.user_filter, AD_USER_FILTER);
    assert_eq!(directory.nested_groups, NestedGroups::AdMatchingRule);
    assert_eq!(directory.timeout, Duration::from_secs(5));
    assert_eq!(directory.throttle.max_failures, 3);
    assert_eq!(directory.throttle.window, Duration::from_secs(300));
    assert!(
        !directory.show_lockouts,
        "lockouts look like wrong passwords by default"
    );
    assert_eq!(directory.bind_password.expose(), "svc-password");
    assert!(
        directory
            .attributes
            .contains(&("sub".to_owned(), "objectGUID".to_owned()))
    );
    let account = &config.freshworks.unwrap().accounts["12344"];
    assert_eq!(account.login, LoginMethod::Directory);
}

#[test]
fn written_attributes_replace_the_defaults_one_by_one() {
    let dir = freshworks_dir();
    let config = dir.ok(
        &directory_only(
            "  kind: openldap\n  attributes: { email: userPrincipalName, picture: thumbnailUrl }\n",
            "",
        ),
        &env(),
    );
    let directory = config.directory.unwrap();
    let get = |claim: &str| {
        directory
            .attributes
            .iter()
            .find(|(c, _)| c == claim)
            .map(|(_, a)| a.as_str())
    };
    assert_eq!(get("email"), Some("userPrincipalName"));
    assert_eq!(get("sub"), Some("entryUUID"));
    assert_eq!(get("picture"), Some("thumbnailUrl"));
    assert_eq!(directory.nested_groups, NestedGroups::Recursive);
}

#[test]
fn every_directory_problem_is_reported_at_once_with_its_key() {
    let dir = freshworks_dir();
    let yaml = format!(
        "{HEAD}directory:
  url: [ldap://dc1.corp.example, ldaps://dc2.corp.example:636/DC=corp, 'not a url']
  bind_dn: ''
  bind_password: ''
  kind: novell
  netbios_domain: WAY-TOO-LONG-A-NAME
  user_filter: (sAMAccountName=jdoe)
  attributes: {{ mail: mail, email: 'mail;binary' }}
  nested_groups: deep
  timeout: 2h
  throttle: {{ max_failures: 0, window: 1s }}
  show_lockouts: sometimes
freshworks:
  signing_key_file: signing.key
  accounts:
    \"1\": {{ redirect_url: 'https://a.myfreshworks.com/sp', login: ldap }}
"
    );
    let errors = dir.err(&yaml, &no_env());
    let found = keys(&errors);
    for key in [
        "directory.url[0]",
        "directory.url[1]",
        "directory.url[2]",
        "directory.bind_dn",
        "directory.bind_password",
        "directory.base_dn",
        "directory.kind",
        "directory.netbios_domain",
        "directory.user_filter",
        "directory.attributes.mail",
        "directory.attributes.email",
        "directory.nested_groups",
        "directory.timeout",
        "directory.throttle.max_failures",
        "directory.throttle.window",
        "directory.show_lockouts",
        "freshworks.accounts.1.login",
    ] {
        assert!(found.contains(&key), "{key} not reported:\n{errors}");
    }
    let text = errors.to_string();
    assert!(text.contains("would send passwords unencrypted"), "{text}");
    assert!(text.contains("start_tls: true"), "{text}");
}

#[test]
fn plain_ldap_is_allowed_to_this_machine_and_with_start_tls() {
    let dir = freshworks_dir();
    let local =
        directory_only("", "").replace("ldaps://dc1.corp.example:636", "ldap://127.0.0.1:3389");
    assert!(dir.load(&local, &env()).is_ok());
    let start_tls = directory_only("  start_tls: true\n", "")
        .replace("ldaps://dc1.corp.example:636", "ldap://dc1.corp.example");
    assert!(dir.ok(&start_tls, &env()).directory.unwrap().start_tls);
    let both = directory_only("  start_tls: true\n", "");
    assert_eq!(keys(&dir.err(&both, &env())), vec!["directory.url"]);
}

#[test]
fn an_account_names_a_login_method_whose_section_is_missing() {
    let dir = freshworks_dir();
    // An OIDC account (the default) without `upstream`.
    let yaml = format!(
        "{HEAD}freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"7\": {{ redirect_url: 'https://a.myfreshworks.com/sp' }}\n"
    );
    assert_eq!(
        keys(&dir.err(&yaml, &no_env())),
        vec!["freshworks.accounts.7.login"]
    );
    // A directory account without `directory`.
    let yaml = format!(
        "{}freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"7\": {{ redirect_url: 'https://a.myfreshworks.com/sp', login: directory }}\n",
        super::MINIMAL
    );
    assert_eq!(
        keys(&dir.err(&yaml, &no_env())),
        vec!["freshworks.accounts.7.login"]
    );
}

#[test]
fn allow_rules_are_checked_and_email_domains_normalised() {
    let dir = freshworks_dir();
    let config = dir.ok(
        &directory_only(
            "",
            "      allow: { groups: ['CN=Agents,OU=Groups,DC=corp,DC=example'], email_domains: ['@Corp.Example'] }\n",
        ),
        &env(),
    );
    let allow = &config.freshworks.unwrap().accounts["12344"].allow;
    assert_eq!(allow.groups, ["CN=Agents,OU=Groups,DC=corp,DC=example"]);
    assert_eq!(allow.email_domains, ["corp.example"]);
    let errors = dir.err(
        &directory_only(
            "",
            "      allow: { groups: [' x'], email_domains: ['corp example'], roles: [a] }\n",
        ),
        &env(),
    );
    assert_eq!(
        keys(&errors),
        vec![
            "freshworks.accounts.12344.allow.roles",
            "freshworks.accounts.12344.allow.groups[0]",
            "freshworks.accounts.12344.allow.email_domains[0]",
        ]
    );
}

#[test]
fn the_bind_password_is_never_quoted_and_can_come_from_a_file() {
    let dir: Dir = freshworks_dir();
    dir.write("ldap-bind", "from-a-file\n");
    let yaml = directory_only("", "").replace(
        "  bind_password: ${BIND}\n",
        "  bind_password_file: ldap-bind\n",
    );
    let config = dir.ok(&yaml, &no_env());
    assert_eq!(
        config.directory.unwrap().bind_password.expose(),
        "from-a-file"
    );
    assert!(
        config
            .secret_files
            .iter()
            .any(|f| f.key == "directory.bind_password_file")
    );
    let yaml = directory_only("  bind_dn: x\n", "");
    let errors = dir.err(&yaml, &env());
    assert!(!errors.to_string().contains("svc-password"));
}

#[cfg(feature = "kerberos")]
#[test]
fn kerberos_takes_a_keytab_and_defaults_the_principal_from_public_url_and_base_dn() {
    let dir = freshworks_dir();
    dir.write("freshgate.keytab", "keytab bytes");
    let config = dir.ok(
        &directory_only("  kerberos: { keytab_file: freshgate.keytab }\n", ""),
        &env(),
    );
    let kerberos = config.directory.unwrap().kerberos.unwrap();
    assert_eq!(
        kerberos.service_principal,
        "HTTP/sso.example.com@CORP.EXAMPLE"
    );
    assert!(kerberos.keytab_file.ends_with("freshgate.keytab"));
    assert!(
        config
            .secret_files
            .iter()
            .any(|f| f.key == "directory.kerberos.keytab_file"),
        "the keytab's mode is checked like every secret file's"
    );
    let written = dir.ok(
        &directory_only(
            "  kerberos: { keytab_file: freshgate.keytab, service_principal: HTTP/sso.corp.example@CORP.EXAMPLE }\n",
            "",
        ),
        &env(),
    );
    assert_eq!(
        written
            .directory
            .unwrap()
            .kerberos
            .unwrap()
            .service_principal,
        "HTTP/sso.corp.example@CORP.EXAMPLE"
    );
}

#[cfg(feature = "kerberos")]
#[test]
fn every_kerberos_problem_is_reported_at_once_with_its_key() {
    let dir = freshworks_dir();
    let errors = dir.err(
        &directory_only(
            "  kerberos: { keytab_file: missing.keytab, service_principal: sso.corp.example, ktpass: yes }\n",
            "",
        ),
        &env(),
    );
    assert_eq!(
        keys(&errors),
        vec![
            "directory.kerberos.ktpass",
            "directory.kerberos.keytab_file",
            "directory.kerberos.service_principal",
        ]
    );
    // Without DC= labels the realm cannot be guessed.
    dir.write("freshgate.keytab", "keytab bytes");
    let yaml = directory_only("  kerberos: { keytab_file: freshgate.keytab }\n", "")
        .replace("base_dn: DC=corp,DC=example", "base_dn: O=Acme");
    let errors = dir.err(&yaml, &env());
    assert_eq!(keys(&errors), vec!["directory.kerberos.service_principal"]);
    assert!(errors.to_string().contains("no DC= labels"), "{errors}");
    let errors = dir.err(&directory_only("  kerberos: {}\n", ""), &env());
    assert_eq!(keys(&errors), vec!["directory.kerberos.keytab_file"]);
}

#[cfg(feature = "kerberos")]
#[test]
fn only_the_gateways_realm_signs_in_unless_trusted_realms_names_another_with_its_mapping() {
    use crate::config::RealmMapping;
    let dir = freshworks_dir();
    dir.write("freshgate.keytab", "keytab bytes");
    let config = dir.ok(
        &directory_only("  kerberos: { keytab_file: freshgate.keytab }\n", ""),
        &env(),
    );
    let kerberos = config.directory.unwrap().kerberos.unwrap();
    assert_eq!(kerberos.realm(), "CORP.EXAMPLE");
    assert!(kerberos.trusted_realms.is_empty());
    let config = dir.ok(
        &directory_only(
            "  kerberos:\n    keytab_file: freshgate.keytab\n    trusted_realms: { PARTNER.EXAMPLE: upn, linux.corp.example: Short_Name }\n",
            "",
        ),
        &env(),
    );
    assert_eq!(
        config.directory.unwrap().kerberos.unwrap().trusted_realms,
        vec![
            ("PARTNER.EXAMPLE".to_owned(), RealmMapping::Upn),
            ("linux.corp.example".to_owned(), RealmMapping::ShortName),
        ],
        "realms kept exactly as written, in order"
    );
    let errors = dir.err(
        &directory_only(
            "  kerberos:\n    keytab_file: freshgate.keytab\n    trusted_realms: { CORP.EXAMPLE: upn, \"BAD REALM\": upn, PARTNER.EXAMPLE: sam, EMPTY.EXAMPLE: \"\" }\n",
            "",
        ),
        &env(),
    );
    let text = errors.to_string();
    assert_eq!(
        keys(&errors),
        vec![
            "directory.kerberos.trusted_realms.CORP.EXAMPLE",
            "directory.kerberos.trusted_realms.BAD REALM",
            "directory.kerberos.trusted_realms.PARTNER.EXAMPLE",
            "directory.kerberos.trusted_realms.EMPTY.EXAMPLE",
        ],
        "{text}"
    );
    assert!(text.contains("is the gateway's own realm"), "{text}");
    assert!(text.contains("`sam` is not a mapping"), "{text}");
    assert!(text.contains("EMPTY.EXAMPLE: is empty"), "{text}");
    assert!(
        text.contains("`upn`") && text.contains("`short_name`"),
        "{text}"
    );
    // The own realm is compared exactly: a lower-case spelling is another realm.
    dir.ok(
        &directory_only(
            "  kerberos:\n    keytab_file: freshgate.keytab\n    trusted_realms: { corp.example: short_name }\n",
            "",
        ),
        &env(),
    );
}

#[cfg(not(feature = "kerberos"))]
#[test]
fn without_the_kerberos_feature_the_section_is_an_error_that_says_how_to_get_it() {
    let dir = freshworks_dir();
    dir.write("freshgate.keytab", "keytab bytes");
    let errors = dir.err(
        &directory_only(
            "  kerberos: { keytab_file: freshgate.keytab }\n  timeout: 2h\n",
            "",
        ),
        &env(),
    );
    assert_eq!(
        keys(&errors),
        vec!["directory.timeout", "directory.kerberos"],
        "reported with the other problems"
    );
    let text = errors.to_string();
    assert!(text.contains("--features kerberos"), "{text}");
    assert!(text.contains("container image"), "{text}");
}
