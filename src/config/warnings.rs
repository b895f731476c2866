//! Settings that work but weaken the gateway. `serve` logs each at start-up and `check` lists each, with
//! the key and the fix; none stops the gateway, because each has a legitimate use. (Settings nothing
//! legitimate needs are refused while validating: `validate::insecure`.)

use std::path::Path;

use super::error::ConfigError;
use super::types::{ClaimMapping, ClaimSource, Config, EmailVerified, IdentifyBy};
use super::validate::values::is_local_host;

/// Claims users can usually edit themselves at the provider (OIDC Core §5.1's profile claims). OIDC Core
/// §5.7: only `sub` with `iss` is a stable identifier; `preferred_username` in particular "MUST NOT" be
/// relied upon as unique. An address taken from one of these lets a user choose whose account opens.
pub const USER_EDITABLE_CLAIMS: &[&str] = &[
    "preferred_username",
    "nickname",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "profile",
    "website",
];

/// Logs each setting that works but weakens the gateway (`config::warnings`, the same list `check` prints),
/// with its key and fix: at start-up, and again whenever a reload applies a configuration, so that a reload
/// to weaker settings is never silent.
pub fn log_warnings(config: &Config) {
    for warning in warnings(config) {
        tracing::warn!(key = %warning.key, "{warning}");
    }
    if config.session.cookie_key.is_none() {
        tracing::warn!(
            key = "session.cookie_key_file",
            "session.cookie_key_file is not set: using a random cookie key for this process; logins in flight \
             break when it restarts, and replicas cannot finish each other's logins"
        );
    }
}

/// Every warning for `config`, in the order of the configuration file.
pub fn warnings(config: &Config) -> Vec<ConfigError> {
    let mut out = Vec::new();
    if let Some(addr) = config.admin_listen
        && addr.ip().is_unspecified()
    {
        out.push(ConfigError::new(
            "admin_listen",
            format!(
                "`{addr}` listens on every interface: /metrics and /readyz answer anyone who can reach this machine"
            ),
            format!(
                "bind it to `127.0.0.1:{}`, or to the one address your probes use, and keep the port closed to \
                 the outside (firewall, Kubernetes NetworkPolicy)",
                addr.port()
            ),
        ));
    }
    if let Some(upstream) = &config.upstream
        && upstream.issuer_url.scheme() == "http"
        && !is_local_host(&upstream.issuer_url)
    {
        out.push(ConfigError::new(
            "upstream.issuer",
            format!(
                "`{}` is plain http on a host that is not local: browsers reach the provider's login page \
                 without TLS, and unless upstream.backchannel_url says otherwise so do the gateway's key and \
                 token requests",
                upstream.issuer
            ),
            "serve the provider over https and write that issuer; if the gateway can reach it only over a \
             private network, set upstream.backchannel_url to that private address",
        ));
    }
    for (key, mapping) in identity_mappings(config) {
        if let Some(claim) = user_editable_source(mapping) {
            out.push(ConfigError::new(
                &key,
                format!(
                    "takes the user's identity from `{claim}`, which users can change at most providers: \
                     whoever sets it to a colleague's address signs in as that colleague"
                ),
                "map it from `email` (checked with email_verified) or from a claim only administrators \
                 set, such as `upn` (Entra ID) or a directory attribute",
            ));
        }
    }
    if config
        .upstream
        .as_ref()
        .is_some_and(|upstream| upstream.email_verified == EmailVerified::Ignore)
        && identity_mappings(config)
            .iter()
            .any(|(_, mapping)| reads_the_email_claim(mapping))
    {
        out.push(ConfigError::new(
            "upstream.email_verified",
            "is `ignore`: an address a user typed in at the provider without proving it is theirs signs them in \
             as its owner",
            "remove the key (the default `required`), or use `if_present` for a provider that never sends \
             email_verified (Entra ID)",
        ));
    }
    for file in &config.secret_files {
        if let Some(mode) = readable_by_others(&file.path) {
            out.push(ConfigError::new(
                &file.key,
                format!(
                    "{} can be read by group or others (mode {mode:04o})",
                    file.path.display()
                ),
                format!(
                    "run `chmod 600 {}` so that only the user freshgate runs as can read it",
                    shell_quoted(&file.path)
                ),
            ));
        }
    }
    out
}

/// The mappings that decide whose account opens: Freshworks' `email` and Web Chat's identifier.
fn identity_mappings(config: &Config) -> Vec<(String, &ClaimMapping)> {
    let mut mappings = Vec::new();
    if let Some(freshworks) = &config.freshworks {
        mappings.extend(
            freshworks
                .claims
                .entries
                .iter()
                .filter(|(name, _)| name == "email")
                .map(|(_, mapping)| ("freshworks.claims.email".to_owned(), mapping)),
        );
    }
    if let Some(webchat) = &config.webchat {
        let key = match webchat.identify_by {
            IdentifyBy::Email => "webchat.email",
            IdentifyBy::UniqueExternalId => "webchat.unique_external_id",
        };
        mappings.push((key.to_owned(), &webchat.identity));
    }
    mappings
}

/// The first user-editable claim among a mapping's sources (a fallback counts: it wins when the others are
/// absent).
fn user_editable_source(mapping: &ClaimMapping) -> Option<&str> {
    mapping.sources.iter().find_map(|source| match source {
        ClaimSource::Path(path)
            if path.len() == 1 && USER_EDITABLE_CLAIMS.contains(&path[0].as_str()) =>
        {
            Some(path[0].as_str())
        }
        _ => None,
    })
}

fn reads_the_email_claim(mapping: &ClaimMapping) -> bool {
    mapping.sources.iter().any(
        |source| matches!(source, ClaimSource::Path(path) if path.len() == 1 && path[0] == "email"),
    )
}

/// The file's permission bits when group or others may read or write it.
fn readable_by_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// `path` as a shell word: as it is when it holds only safe characters, else single-quoted.
fn shell_quoted(path: &Path) -> String {
    let text = path.display().to_string();
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=@%:,".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MapEnv, validate};

    /// A scratch directory with the secret files the configurations below name, mode 0600.
    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new() -> Dir {
            let dir = Dir(tempfile::tempdir().unwrap());
            for name in [
                "client.secret",
                "cookie.key",
                "webchat.secret",
                "signing.key",
            ] {
                dir.write(
                    name,
                    if name == "cookie.key" {
                        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
                    } else {
                        "s3cret-s3cret-s3cret-s3cret-s3cret"
                    },
                    0o600,
                );
            }
            dir
        }

        fn write(&self, name: &str, content: &str, mode: u32) {
            use std::os::unix::fs::PermissionsExt as _;
            let path = self.0.path().join(name);
            std::fs::write(&path, content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }

        fn warnings(&self, yaml: &str) -> Vec<String> {
            let config =
                validate::load_str(yaml, &self.0.path().join("gateway.yaml"), &MapEnv::new())
                    .unwrap_or_else(|e| panic!("{e}"));
            warnings(&config).iter().map(ToString::to_string).collect()
        }
    }

    const BASE: &str = "listen: 0.0.0.0:8443
public_url: https://sso.example.com
upstream:
  issuer: https://sso.example.com/realms/acme
  client_id: freshgate
  client_secret_file: client.secret
session: { cookie_key_file: cookie.key }
";

    #[test]
    fn a_careful_configuration_has_no_warning() {
        let dir = Dir::new();
        let yaml = format!(
            "{BASE}freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"1\":\n      redirect_url: https://acme.myfreshworks.com/sp/OIDC/1/implicit\n\
             webchat:\n  secret_file: webchat.secret\n  allowed_origins: [https://app.example.com]\n"
        );
        assert_eq!(dir.warnings(&yaml), Vec::<String>::new());
    }

    #[test]
    fn each_weak_setting_is_named_by_its_key_with_the_fix() {
        let dir = Dir::new();
        let freshworks = |claims: &str| {
            format!(
                "freshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"1\":\n      redirect_url: https://acme.myfreshworks.com/sp/OIDC/1/implicit\n  claims:\n{claims}"
            )
        };
        // (extra configuration, key warned about, words of the problem, words of the fix)
        let cases: Vec<(String, &str, &str, &str)> = vec![
            ("admin_listen: 0.0.0.0:9901\n".into(), "admin_listen", "every interface", "127.0.0.1:9901"),
            ("admin_listen: '[::]:9901'\n".into(), "admin_listen", "every interface", "127.0.0.1:9901"),
            (
                "upstream:\n  issuer: http://idp.example.com/realms/acme\n".into(),
                "upstream.issuer",
                "plain http",
                "https",
            ),
            (freshworks("    email: preferred_username\n"), "freshworks.claims.email", "`preferred_username`", "upn"),
            (
                freshworks("    email: [email, nickname]\n"),
                "freshworks.claims.email",
                "`nickname`",
                "email_verified",
            ),
            (
                "webchat:\n  secret_file: webchat.secret\n  allowed_origins: [https://app.example.com]\n  identify_by: unique_external_id\n  unique_external_id: preferred_username\n".into(),
                "webchat.unique_external_id",
                "`preferred_username`",
                "upn",
            ),
            (
                format!("{}upstream:\n  email_verified: ignore\n", freshworks("    sub: sub\n")),
                "upstream.email_verified",
                "`ignore`",
                "if_present",
            ),
        ];
        for (extra, key, problem, fix) in cases {
            let yaml = merge(BASE, &extra);
            let found = dir.warnings(&yaml);
            assert_eq!(found.len(), 1, "{extra}: {found:?}");
            let warning = &found[0];
            assert!(warning.starts_with(&format!("{key}: ")), "{warning}");
            assert!(
                warning.contains(problem) && warning.contains("(fix: ") && warning.contains(fix),
                "{warning}"
            );
        }
    }

    #[test]
    fn email_verified_ignore_is_not_worth_a_warning_when_no_address_comes_from_the_email_claim() {
        let dir = Dir::new();
        let yaml = merge(
            BASE,
            "upstream:\n  email_verified: ignore\nfreshworks:\n  signing_key_file: signing.key\n  accounts:\n    \"1\":\n      redirect_url: https://acme.myfreshworks.com/sp/OIDC/1/implicit\n  claims:\n    email: upn\n",
        );
        assert_eq!(dir.warnings(&yaml), Vec::<String>::new());
    }

    #[test]
    fn secret_files_readable_by_group_or_others_are_named_with_the_chmod_that_fixes_them() {
        let dir = Dir::new();
        let yaml = format!(
            "{BASE}webchat:\n  secret_file: webchat.secret\n  allowed_origins: [https://app.example.com]\n"
        );
        for (file, key, mode) in [
            ("client.secret", "upstream.client_secret_file", 0o644),
            ("cookie.key", "session.cookie_key_file", 0o640),
            ("webchat.secret", "webchat.secret_file", 0o604),
        ] {
            dir.write(
                file,
                &std::fs::read_to_string(dir.0.path().join(file)).unwrap(),
                mode,
            );
            let found = dir.warnings(&yaml);
            assert_eq!(found.len(), 1, "{found:?}");
            let path = dir.0.path().join(file);
            assert_eq!(
                found[0],
                format!(
                    "{key}: {} can be read by group or others (mode {mode:04o}) (fix: run `chmod 600 {}` so that only the user freshgate runs as can read it)",
                    path.display(),
                    path.display()
                )
            );
            dir.write(file, &std::fs::read_to_string(&path).unwrap(), 0o600);
        }
    }

    #[test]
    fn the_tls_key_file_is_checked_too() {
        let dir = Dir::new();
        dir.write("tls.key", "key", 0o644);
        dir.write("tls.crt", "cert", 0o644);
        let yaml = format!("{BASE}tls: {{ cert_file: tls.crt, key_file: tls.key }}\n");
        let found = dir.warnings(&yaml);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("tls.key_file: "), "{}", found[0]);
    }

    #[test]
    fn paths_with_spaces_or_quotes_are_quoted_for_the_shell() {
        assert_eq!(
            shell_quoted(Path::new("/etc/freshgate/a.key")),
            "/etc/freshgate/a.key"
        );
        assert_eq!(shell_quoted(Path::new("/x/my key")), "'/x/my key'");
        assert_eq!(shell_quoted(Path::new("/x/it's")), r"'/x/it'\''s'");
    }

    /// `base` with the sections of `extra` merged in (YAML mappings, one level deep).
    fn merge(base: &str, extra: &str) -> String {
        let mut doc: serde_yaml::Value = serde_yaml::from_str(base).unwrap();
        let extra: serde_yaml::Value = serde_yaml::from_str(extra).unwrap();
        for (key, value) in extra.as_mapping().unwrap() {
            match (doc.get_mut(key), value) {
                (Some(serde_yaml::Value::Mapping(section)), serde_yaml::Value::Mapping(more)) => {
                    for (k, v) in more {
                        section.insert(k.clone(), v.clone());
                    }
                }
                _ => {
                    doc.as_mapping_mut()
                        .unwrap()
                        .insert(key.clone(), value.clone());
                }
            }
        }
        serde_yaml::to_string(&doc).unwrap()
    }
}
