//! The `directory` section: where the Active Directory or LDAP server is, how the gateway proves who it is
//! there, how users are found, which attributes become which claims, and the failed-login throttle.
//!
//! `kind` picks the defaults of the filter, the attributes and the nested-group method, so an Active
//! Directory setup needs only the URL, the service account and the base DN.

use std::time::Duration;

use url::Url;

use super::Validator;
use super::files::SecretKey;
use super::freshworks::FRESHWORKS_CLAIMS;
use crate::config::raw::{Field, RawDirectory, RawThrottle};
use crate::config::types::{Directory, DirectoryKind, NestedGroups, Throttle};

/// The placeholder of `user_filter` that the typed user name (escaped, RFC 4515 §3) replaces.
pub const USERNAME_PLACEHOLDER: &str = "{username}";

/// Active Directory: user objects (`sAMAccountType` 805306368 is SAM_USER_OBJECT, which leaves out
/// computers and contacts) found by their pre-Windows 2000 name or their UPN.
pub const AD_USER_FILTER: &str =
    "(&(sAMAccountType=805306368)(|(sAMAccountName={username})(userPrincipalName={username})))";
/// OpenLDAP: `inetOrgPerson` entries found by `uid` or by their address.
pub const OPENLDAP_USER_FILTER: &str =
    "(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))";

/// Default claim -> attribute mapping per kind. `objectGUID` and `entryUUID` never change when a user is
/// renamed or moved, which is what Freshworks' `sub` needs.
pub fn default_attributes(kind: DirectoryKind) -> Vec<(String, String)> {
    let sub = match kind {
        DirectoryKind::ActiveDirectory => "objectGUID",
        DirectoryKind::OpenLdap => "entryUUID",
    };
    [
        ("sub", sub),
        ("email", "mail"),
        ("given_name", "givenName"),
        ("family_name", "sn"),
        ("phone_number", "telephoneNumber"),
    ]
    .into_iter()
    .map(|(claim, attribute)| (claim.to_owned(), attribute.to_owned()))
    .collect()
}

impl Validator {
    pub(super) fn directory(
        &mut self,
        raw: &RawDirectory,
        public_url: Option<&Url>,
    ) -> Option<Directory> {
        let start_tls = self.bool("directory.start_tls", &raw.start_tls, false);
        let urls = self
            .required(
                "directory.url",
                &raw.url,
                "add the directory's address, e.g. `url: ldaps://dc1.corp.example:636` (a list is tried in order)",
            )
            .and_then(|urls| self.directory_urls(urls, start_tls.unwrap_or(false)));
        let ca_file = match &raw.ca_file {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => self
                .existing_file(
                    "directory.ca_file",
                    s,
                    "point directory.ca_file at the PEM file of the CA that signed the domain controllers' certificates, or remove it to trust the public web roots",
                )
                .map(Some),
        };
        let bind_dn = self
            .required(
                "directory.bind_dn",
                &raw.bind_dn,
                "add the read-only service account, e.g. `bind_dn: CN=svc-freshgate,OU=Service,DC=corp,DC=example` (or `CORP\\svc-freshgate`, or its UPN)",
            )
            .and_then(|s| self.not_blank("directory.bind_dn", s, "write the service account's DN, `DOMAIN\\user` or UPN"));
        let bind_password = self.required_secret(
            &SecretKey {
                section: "directory",
                name: "bind_password",
                missing_fix: "set `bind_password_file: /run/secrets/ldap-bind` (a file holding the service account's password), or `bind_password: ${LDAP_BIND_PASSWORD}`",
                empty_fix: "set the service account's password (if it comes from `${VAR}`, that variable is empty); an empty password would bind anonymously (RFC 4513 §5.1.2)",
                file_fix: "point directory.bind_password_file at a file holding the service account's password, or set directory.bind_password instead",
            },
            &raw.bind_password,
            &raw.bind_password_file,
        );
        let base_dn = self
            .required(
                "directory.base_dn",
                &raw.base_dn,
                "add where users are searched, e.g. `base_dn: DC=corp,DC=example`",
            )
            .and_then(|s| {
                self.not_blank(
                    "directory.base_dn",
                    s,
                    "write the DN users are searched under, e.g. `DC=corp,DC=example`",
                )
            });
        let kind = match &raw.kind {
            Field::Absent => Some(DirectoryKind::ActiveDirectory),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "active_directory" | "ad" => Some(DirectoryKind::ActiveDirectory),
                "openldap" | "ldap" => Some(DirectoryKind::OpenLdap),
                _ => {
                    self.push(
                        "directory.kind",
                        format!("`{s}` is not a kind of directory"),
                        "use `active_directory` (the default) or `openldap`; the kind picks the defaults of user_filter, attributes and nested_groups",
                    );
                    None
                }
            },
        };
        let netbios_domain = match &raw.netbios_domain {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) if valid_netbios(s) => Some(Some(s.trim().to_owned())),
            Field::Set(s) => {
                self.push(
                    "directory.netbios_domain",
                    format!("`{s}` is not a NetBIOS domain name"),
                    "write the short domain name users type before the backslash (`CORP` in `CORP\\jdoe`): 1 to 15 letters, digits, `-` or `_`",
                );
                None
            }
        };
        let kind_or_default = kind.unwrap_or(DirectoryKind::ActiveDirectory);
        let user_filter = match &raw.user_filter {
            Field::Absent => Some(
                match kind_or_default {
                    DirectoryKind::ActiveDirectory => AD_USER_FILTER,
                    DirectoryKind::OpenLdap => OPENLDAP_USER_FILTER,
                }
                .to_owned(),
            ),
            Field::Invalid => None,
            Field::Set(s) => self.user_filter(s),
        };
        let attributes = match &raw.attributes {
            Field::Absent => Some(default_attributes(kind_or_default)),
            Field::Invalid => None,
            Field::Set(written) => self.attributes(written, kind_or_default),
        };
        let nested_groups = match &raw.nested_groups {
            Field::Absent => Some(match kind_or_default {
                DirectoryKind::ActiveDirectory => NestedGroups::AdMatchingRule,
                DirectoryKind::OpenLdap => NestedGroups::Recursive,
            }),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "ad_matching_rule" => Some(NestedGroups::AdMatchingRule),
                "recursive" => Some(NestedGroups::Recursive),
                "off" | "false" => Some(NestedGroups::Off),
                _ => {
                    self.push(
                        "directory.nested_groups",
                        format!("`{s}` is not a way to find nested groups"),
                        "use `ad_matching_rule` (Active Directory's LDAP_MATCHING_RULE_IN_CHAIN, one search), `recursive` (a bounded walk of member searches, any LDAP server) or `off` (direct membership only)",
                    );
                    None
                }
            },
        };
        let timeout = self.duration(
            "directory.timeout",
            &raw.timeout,
            Duration::from_secs(5),
            Duration::from_millis(100),
            Some(Duration::from_secs(60)),
            " (a login page waits this long for the directory)",
        );
        let throttle = self.throttle(raw.throttle.set().unwrap_or(&RawThrottle::default()));
        let show_lockouts = self.bool("directory.show_lockouts", &raw.show_lockouts, false);
        let kerberos = match &raw.kerberos {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(k) => self.kerberos(k, public_url, base_dn.as_deref()).map(Some),
        };
        Some(Directory {
            urls: urls?,
            start_tls: start_tls?,
            ca_file: ca_file?,
            bind_dn: bind_dn?,
            bind_password: bind_password?,
            base_dn: base_dn?,
            kind: kind?,
            netbios_domain: netbios_domain?,
            user_filter: user_filter?,
            attributes: attributes?,
            nested_groups: nested_groups?,
            timeout: timeout?,
            throttle: throttle?,
            show_lockouts: show_lockouts?,
            kerberos: kerberos?,
        })
    }

    fn not_blank(&mut self, key: &str, s: &str, fix: &str) -> Option<String> {
        if s.trim().is_empty() {
            self.push(key, "is empty", fix);
            None
        } else {
            Some(s.trim().to_owned())
        }
    }

    /// `ldaps://` URLs, or `ldap://` with StartTLS; plain `ldap://` only to this machine, where no password
    /// crosses a network. A URL carries only scheme, host and port.
    fn directory_urls(&mut self, written: &[String], start_tls: bool) -> Option<Vec<Url>> {
        let mut out = Vec::with_capacity(written.len());
        for (i, s) in written.iter().enumerate() {
            let key = if written.len() == 1 {
                "directory.url".to_owned()
            } else {
                format!("directory.url[{i}]")
            };
            let url = match Url::parse(s.trim()) {
                Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => url,
                _ => {
                    self.push(
                        &key,
                        format!("`{s}` is not an LDAP URL"),
                        "write it as `ldaps://dc1.corp.example:636` or `ldap://dc1.corp.example:389` with `start_tls: true`",
                    );
                    continue;
                }
            };
            let extra = (url.path() != "" && url.path() != "/")
                || url.query().is_some()
                || url.fragment().is_some()
                || !url.username().is_empty()
                || url.password().is_some();
            if extra {
                self.push(
                    &key,
                    format!("`{s}` has more than a scheme, host and port"),
                    "the base DN, filter and service account have their own keys (base_dn, user_filter, bind_dn): keep only `ldaps://host:port`",
                );
                continue;
            }
            match (url.scheme(), start_tls) {
                ("ldaps", true) => self.push(
                    &key,
                    format!("`{s}` is already TLS (ldaps), and start_tls is true"),
                    "use `ldaps://` with `start_tls: false`, or `ldap://` with `start_tls: true`",
                ),
                ("ldaps", false) | ("ldap", true) => out.push(url),
                ("ldap", false) if is_loopback(&url) => out.push(url),
                ("ldap", false) => self.push(
                    &key,
                    format!("`{s}` would send passwords unencrypted"),
                    "use `ldaps://host:636`, or keep `ldap://` and set `start_tls: true`; certificates are always checked (add directory.ca_file for a private CA)",
                ),
                _ => self.push(
                    &key,
                    format!("`{s}` is not an LDAP URL"),
                    "write it as `ldaps://dc1.corp.example:636`",
                ),
            }
        }
        (out.len() == written.len() && !out.is_empty()).then_some(out)
    }

    fn user_filter(&mut self, s: &str) -> Option<String> {
        const KEY: &str = "directory.user_filter";
        if !s.contains(USERNAME_PLACEHOLDER) {
            self.push(
                KEY,
                format!("`{s}` has no `{USERNAME_PLACEHOLDER}`"),
                "put `{username}` where the typed user name goes, e.g. `(&(objectClass=user)(sAMAccountName={username}))`",
            );
            return None;
        }
        let sample = s.replace(USERNAME_PLACEHOLDER, "jdoe");
        if ldap3::parse_filter(&sample).is_err() {
            self.push(
                KEY,
                format!("`{s}` is not an LDAP filter (RFC 4515)"),
                "write a parenthesised filter, e.g. `(&(objectClass=user)(sAMAccountName={username}))`; `(`, `)`, `*` and `\\` in values are written \\28, \\29, \\2a and \\5c",
            );
            return None;
        }
        Some(s.trim().to_owned())
    }

    /// Claims named as Freshworks names them; attributes as LDAP names them (a descriptor or an OID).
    /// `sub` and `email` are needed: kept from the kind's defaults when not written.
    fn attributes(
        &mut self,
        written: &[(String, String)],
        kind: DirectoryKind,
    ) -> Option<Vec<(String, String)>> {
        let mut ok = true;
        for (claim, attribute) in written {
            let key = format!("directory.attributes.{claim}");
            if !FRESHWORKS_CLAIMS.contains(&claim.as_str()) {
                ok = false;
                self.push(
                    &key,
                    format!("`{claim}` is not a Freshworks claim"),
                    format!(
                        "use one of {}; other claims come from freshworks.claims",
                        FRESHWORKS_CLAIMS.join(", ")
                    ),
                );
            }
            if !valid_attribute(attribute) {
                ok = false;
                self.push(
                    &key,
                    format!("`{attribute}` is not an attribute name"),
                    "write the directory attribute's name, e.g. `mail`, `objectGUID` or `extensionAttribute1`",
                );
            }
        }
        if !ok {
            return None;
        }
        let mut out = default_attributes(kind);
        for (claim, attribute) in written {
            match out.iter_mut().find(|(c, _)| c == claim) {
                Some(entry) => entry.1 = attribute.clone(),
                None => out.push((claim.clone(), attribute.clone())),
            }
        }
        Some(out)
    }

    fn throttle(&mut self, raw: &RawThrottle) -> Option<Throttle> {
        let max_failures = self.count(
            "directory.throttle.max_failures",
            &raw.max_failures,
            3,
            1,
            "3",
        );
        let window = self.duration(
            "directory.throttle.window",
            &raw.window,
            Duration::from_secs(300),
            Duration::from_secs(10),
            Some(Duration::from_secs(24 * 3600)),
            " (at least the domain's lockout observation window)",
        );
        let per_ip = self.count(
            "directory.throttle.max_failures_per_ip",
            &raw.max_failures_per_ip,
            30,
            1,
            "30",
        );
        let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Some(Throttle {
            max_failures: as_u32(max_failures?),
            window: window?,
            max_failures_per_ip: as_u32(per_ip?),
        })
    }
}

/// `ldap://` URLs have opaque hosts (not a special scheme, WHATWG URL §4.3), so the address is parsed
/// here: loopback addresses and `localhost` only.
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn valid_netbios(s: &str) -> bool {
    let s = s.trim();
    (1..=15).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// An attribute descriptor (RFC 4512 §1.4: a letter, then letters, digits and `-`) or a numeric OID.
fn valid_attribute(s: &str) -> bool {
    let descriptor = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = !s.is_empty()
        && s.split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    descriptor || oid
}
