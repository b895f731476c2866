//! `directory.kerberos`: the silent Windows login's keytab and service principal.
//!
//! The service principal defaults to `HTTP/<public_url's host>@<REALM>`: RFC 4559 §4 has browsers ask the
//! KDC for a ticket to `HTTP@<host of the URL>`, which Kerberos names `HTTP/<host>@<REALM>` (RFC 4120 §6.2.1).
//! The realm defaults to the base DN's `DC=` labels, upper-cased and joined with dots (`DC=corp,DC=example`
//! -> `CORP.EXAMPLE`), which is the realm Active Directory gives a domain; a base DN without `DC=` labels
//! needs the principal written out.
//!
//! A build without the `kerberos` cargo feature has no GSS-API: the section is then an error at its key
//! that says how to get a build with it, reported with every other problem of the file.

use url::Url;

use super::Validator;
use crate::config::raw::{Field, RawKerberos};
use crate::config::types::{Kerberos, SecretFile};

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
        if !built_in {
            return None;
        }
        Some(Kerberos {
            keytab_file: keytab_file?,
            service_principal: service_principal?,
        })
    }
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
    let plain = |part: &str| {
        !part.is_empty()
            && !part
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '/' | '@' | '\\'))
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
