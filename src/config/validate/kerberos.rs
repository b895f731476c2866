//! `directory.kerberos`: the silent Windows login's keytab and service principal.
//!
//! The service principal defaults to `HTTP/<public_url's host>@<REALM>`: RFC 4559 §4 has browsers ask the
//! KDC for a ticket to `HTTP@<host of the URL>`, which Kerberos names `HTTP/<host>@<REALM>` (RFC 4120 §6.2.1).
//! The realm defaults to the base DN's `DC=` labels, upper-cased and joined with dots (`DC=corp,DC=example`
//! -> `CORP.EXAMPLE`), which is the realm Active Directory gives a domain; a base DN without `DC=` labels
//! needs the principal written out.
//!
//! `trusted_realms` lets users of other realms in (a realm trust): each realm, written exactly as the KDC
//! spells it, with how its names find a directory entry. Without it only the service principal's realm
//! signs in (`crate::directory::kerberos`).
//!
//! A build without the `kerberos` cargo feature has no GSS-API: the section is then an error at its key
//! that says how to get a build with it, reported with every other problem of the file.

use url::Url;

use super::Validator;
use crate::config::raw::{Field, RawKerberos};
use crate::config::types::{Kerberos, RealmMapping, SecretFile};

const KEY: &str = "directory.kerberos";

impl Validator {
    pub(super) fn kerberos(
        &mut self,
        raw: &RawKerberos,
        public_url: Option<&Url>,
        base_dn: Option<&str>,
    ) -> Option<Kerberos> {
        let built_in = cfg!(feature = "kerberos");
        if !built_in {
            self.push(
                KEY,
                "this freshgate was built without Kerberos support (the `kerberos` cargo feature)",
                "use the container image (built with it), or build with `cargo build --release --locked --features kerberos` \
                 (Debian: apt-get install libkrb5-dev libclang-dev pkg-config); or remove directory.kerberos to sign in with passwords only",
            );
        }
        let keytab_file = match &raw.keytab_file {
            Field::Absent => {
                self.push(
                    &format!("{KEY}.keytab_file"),
                    "is required but not set",
                    "point it at the keytab with the service principal's keys, e.g. `keytab_file: /run/secrets/freshgate.keytab` (made with `ktpass`, docs/directory.md)",
                );
                None
            }
            Field::Invalid => None,
            Field::Set(written) => {
                let path = self.existing_file(
                    &format!("{KEY}.keytab_file"),
                    written,
                    "point it at the keytab exported for the gateway's service principal (`ktpass … -out freshgate.keytab`), readable by the gateway's user only",
                );
                if let Some(path) = &path {
                    self.secret_files.push(SecretFile {
                        key: format!("{KEY}.keytab_file"),
                        path: path.clone(),
                    });
                }
                path
            }
        };
        let service_principal = match &raw.service_principal {
            Field::Invalid => None,
            Field::Set(written) => match check_service_principal(written.trim()) {
                Ok(()) => Some(written.trim().to_owned()),
                Err(problem) => {
                    self.push(
                        &format!("{KEY}.service_principal"),
                        format!("`{written}` {problem}"),
                        "write it as `HTTP/<the gateway's host name>@<REALM>`, e.g. `HTTP/sso.corp.example@CORP.EXAMPLE`, or remove it for that default",
                    );
                    None
                }
            },
            // public_url or base_dn missing or wrong: reported at its own key.
            Field::Absent => match (public_url.and_then(Url::host_str), base_dn) {
                (Some(host), Some(base_dn)) => match default_realm(base_dn) {
                    Some(realm) => Some(format!(
                        "HTTP/{}@{realm}",
                        host.trim_end_matches('.').to_ascii_lowercase()
                    )),
                    None => {
                        self.push(
                            &format!("{KEY}.service_principal"),
                            "is required: directory.base_dn has no DC= labels to take the realm from",
                            "write the service principal, e.g. `service_principal: HTTP/sso.corp.example@CORP.EXAMPLE`",
                        );
                        None
                    }
                },
                _ => None,
            },
        };
        let own_realm = service_principal
            .as_deref()
            .and_then(|p| p.rsplit_once('@'))
            .map(|(_, realm)| realm.to_owned());
        let trusted_realms = match &raw.trusted_realms {
            Field::Absent => Some(Vec::new()),
            Field::Invalid => None,
            Field::Set(rules) => self.trusted_realms(rules, own_realm.as_deref()),
        };
        if !built_in {
            return None;
        }
        Some(Kerberos {
            keytab_file: keytab_file?,
            service_principal: service_principal?,
            trusted_realms: trusted_realms?,
        })
    }

    fn trusted_realms(
        &mut self,
        rules: &[(String, String)],
        own_realm: Option<&str>,
    ) -> Option<Vec<(String, RealmMapping)>> {
        let mut out = Vec::with_capacity(rules.len());
        let mut ok = true;
        for (realm, mapping) in rules {
            let key = format!("{KEY}.trusted_realms.{realm}");
            if !plain(realm) {
                self.push(
                    &key,
                    format!("`{realm}` is not a Kerberos realm"),
                    "write the realm exactly as its KDC names it, e.g. `PARTNER.EXAMPLE` (no spaces, `@`, `/` or `\\`)",
                );
                ok = false;
                continue;
            }
            if own_realm == Some(realm.as_str()) {
                self.push(
                    &key,
                    "is the gateway's own realm (the service principal's), whose users always sign in",
                    "remove it; trusted_realms is for other realms only",
                );
                ok = false;
                continue;
            }
            let mapping = match mapping.trim().to_ascii_lowercase().as_str() {
                "upn" => RealmMapping::Upn,
                "short_name" => RealmMapping::ShortName,
                other => {
                    self.push(
                        &key,
                        match other {
                            "" => "is empty".to_owned(),
                            other => format!("`{other}` is not a mapping"),
                        },
                        "write `upn` (the directory entry whose user principal name is name@REALM) or `short_name` (the entry with the same short name: only if the realm's names are the directory's own)",
                    );
                    ok = false;
                    continue;
                }
            };
            out.push((realm.clone(), mapping));
        }
        ok.then_some(out)
    }
}

/// A realm or principal component: not empty, no spaces, control characters, `/`, `@` or `\`.
fn plain(part: &str) -> bool {
    !part.is_empty()
        && !part
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '/' | '@' | '\\'))
}

/// The realm Active Directory gives the domain of `base_dn`: its `DC=` labels, upper-cased, joined with
/// dots. `None` when it has none.
pub fn default_realm(base_dn: &str) -> Option<String> {
    let labels: Vec<String> = base_dn
        .split(',')
        .filter_map(|rdn| rdn.split_once('='))
        .filter(|(attribute, _)| attribute.trim().eq_ignore_ascii_case("dc"))
        .map(|(_, value)| value.trim().to_uppercase())
        .filter(|label| !label.is_empty())
        .collect();
    (!labels.is_empty()).then(|| labels.join("."))
}

/// `service/host@REALM` (RFC 4120 §6.2: a two-component service name and its realm); `Err` says what is
/// wrong with it.
fn check_service_principal(text: &str) -> Result<(), &'static str> {
    let Some((name, realm)) = text.rsplit_once('@') else {
        return Err("has no realm (`@REALM`)");
    };
    let Some((service, host)) = name.split_once('/') else {
        return Err("is not a service principal (`service/host@REALM`)");
    };
    if !plain(service) || !plain(host) {
        return Err("is not a service principal (`service/host@REALM`)");
    }
    if !plain(realm) {
        return Err("has an empty or malformed realm");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_realm_defaults_to_the_base_dns_dc_labels_upper_cased() {
        assert_eq!(
            default_realm("DC=corp,DC=example").as_deref(),
            Some("CORP.EXAMPLE")
        );
        assert_eq!(
            default_realm("OU=Staff, dc=acme ,dc=co,dc=uk").as_deref(),
            Some("ACME.CO.UK")
        );
        assert_eq!(default_realm("O=Acme"), None);
    }

    #[test]
    fn only_service_slash_host_at_realm_is_a_service_principal() {
        for ok in [
            "HTTP/sso.corp.example@CORP.EXAMPLE",
            "HTTP/sso@CORP",
            "http/sso.corp.example@corp.example",
        ] {
            assert_eq!(check_service_principal(ok), Ok(()), "{ok}");
        }
        for bad in [
            "HTTP/sso.corp.example",
            "sso.corp.example@CORP.EXAMPLE",
            "HTTP/@CORP.EXAMPLE",
            "/sso@CORP.EXAMPLE",
            "HTTP/sso/x@CORP.EXAMPLE",
            "HTTP/sso@",
            "HTTP/sso corp@CORP.EXAMPLE",
            "HTTP/sso@CORP EXAMPLE",
        ] {
            assert!(check_service_principal(bad).is_err(), "{bad}");
        }
    }
}
