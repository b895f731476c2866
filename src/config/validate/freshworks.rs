//! The `freshworks` section: the signing key, the login timeout, the accounts and their redirect URLs, and
//! the claim mappings (whose checks `webchat` shares).

use std::collections::BTreeMap;
use std::time::Duration;

use url::Url;

use super::Validator;
use crate::config::raw::{
    Field, RawAccount, RawAllow, RawClaim, RawClaimSource, RawFreshworks, closest,
};
use crate::config::types::{
    Account, Allow, ClaimMap, ClaimMapping, ClaimSource, Freshworks, LoginMethod,
};

/// Freshworks claim names, in the order `ClaimMap.entries` keeps them.
pub const FRESHWORKS_CLAIMS: [&str; 6] = [
    "sub",
    "email",
    "given_name",
    "family_name",
    "phone_number",
    "picture",
];

/// Fix for a claim mapping that can be left out to get its default.
pub(super) const REMOVE_FOR_DEFAULT: &str = "remove the key to keep the default";

impl Validator {
    pub(super) fn freshworks(&mut self, raw: &RawFreshworks) -> Option<Freshworks> {
        const SIGNING_FIX: &str = "point freshworks.signing_key_file at the PEM private key whose public key is registered in the Freshworks SSO settings";
        let signing_key_file = self
            .required(
                "freshworks.signing_key_file",
                &raw.signing_key_file,
                SIGNING_FIX,
            )
            .and_then(|s| self.existing_file("freshworks.signing_key_file", s, SIGNING_FIX));
        let next_signing_key_file = match &raw.next_signing_key_file {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => self
                .existing_file(
                    "freshworks.next_signing_key_file",
                    s,
                    "point it at the key staged for the next rollover (`freshgate keygen --out next.key`), or remove it (docs/operations.md, key rollover)",
                )
                .map(Some),
        };
        let login_timeout = self.duration(
            "freshworks.login_timeout",
            &raw.login_timeout,
            Duration::from_secs(600),
            Duration::from_secs(60),
            Some(Duration::from_secs(600)),
            " (Freshworks' login nonce lives 10 minutes)",
        );
        let accounts = self.accounts(&raw.accounts);
        let claims = self.claims(&raw.claims);
        Some(Freshworks {
            signing_key_file: signing_key_file?,
            next_signing_key_file: next_signing_key_file?,
            login_timeout: login_timeout?,
            accounts: accounts?,
            claims: claims?,
        })
    }

    fn accounts(&mut self, field: &Field<Vec<RawAccount>>) -> Option<BTreeMap<String, Account>> {
        const KEY: &str = "freshworks.accounts";
        const FIX: &str = "add each Freshworks account under its id: `accounts: { \"12344\": { redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit } }`";
        let raw = self.required(KEY, field, FIX)?;
        if raw.is_empty() {
            self.push(KEY, "lists no account", FIX);
            return None;
        }
        let mut out = BTreeMap::new();
        let mut ok = true;
        for account in raw {
            let path = format!("{KEY}.{}", account.id);
            if account.id.trim().is_empty() {
                self.push(&path, "the account id is empty", FIX);
                ok = false;
                continue;
            }
            if account.id.len() > crate::config::MAX_ACCOUNT_ID_BYTES {
                self.push(
                    &format!("{KEY}.{}…", account.id.chars().take(32).collect::<String>()),
                    format!(
                        "the account id is {} bytes long, more than the {} a pending-login cookie has room for",
                        account.id.len(),
                        crate::config::MAX_ACCOUNT_ID_BYTES
                    ),
                    "use the id Freshworks sends as `client_id` or `module_id` (a number such as `12344`)",
                );
                ok = false;
                continue;
            }
            if out.contains_key(&account.id) {
                self.push(
                    &path,
                    format!("account `{}` is listed twice", account.id),
                    "keep one entry per account id (`12344:` and `\"12344\":` are the same id)",
                );
                ok = false;
                continue;
            }
            let redirect_key = format!("{path}.redirect_url");
            let redirect_url = self
                .required(
                    &redirect_key,
                    &account.redirect_url,
                    "add the redirect URL from the Freshworks SSO settings, e.g. `redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit`",
                )
                .and_then(|s| self.redirect_url(&redirect_key, s));
            let logout_key = format!("{path}.logout_redirect_url");
            let logout_redirect_url = match &account.logout_redirect_url {
                Field::Absent => Some(None),
                Field::Invalid => None,
                Field::Set(s) => self.redirect_url(&logout_key, s).map(Some),
            };
            let login = self.login_method(&format!("{path}.login"), &account.login);
            let allow = match &account.allow {
                Field::Absent => Some(Allow::default()),
                Field::Invalid => None,
                Field::Set(allow) => self.allow(&format!("{path}.allow"), allow),
            };
            match (redirect_url, logout_redirect_url, login, allow) {
                (Some(redirect_url), Some(logout_redirect_url), Some(login), Some(allow)) => {
                    out.insert(
                        account.id.clone(),
                        Account {
                            id: account.id.clone(),
                            redirect_url,
                            logout_redirect_url,
                            login,
                            allow,
                        },
                    );
                }
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn login_method(&mut self, key: &str, field: &Field<String>) -> Option<LoginMethod> {
        match field {
            Field::Absent => Some(LoginMethod::Oidc),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "oidc" => Some(LoginMethod::Oidc),
                "directory" => Some(LoginMethod::Directory),
                _ => {
                    self.push(
                        key,
                        format!("`{s}` is not a login method"),
                        "use `oidc` (the default: the OpenID provider of `upstream`) or `directory` (user name and password checked against `directory`)",
                    );
                    None
                }
            },
        }
    }

    /// `allow`: group names are kept as written (DNs are compared case-insensitively at login); email
    /// domains are lower-cased, without a leading `@`, and must look like domain names.
    fn allow(&mut self, key: &str, raw: &RawAllow) -> Option<Allow> {
        let groups = match &raw.groups {
            Field::Absent => Some(Vec::new()),
            Field::Invalid => None,
            Field::Set(groups) => {
                let mut ok = true;
                for (i, group) in groups.iter().enumerate() {
                    if group.trim().is_empty() || group.trim() != group {
                        self.push(
                            &format!("{key}.groups[{i}]"),
                            format!("`{group}` is empty or has leading or trailing spaces"),
                            "write each group as its distinguished name (directory logins), e.g. `CN=Freshservice Agents,OU=Groups,DC=corp,DC=example`, or as the provider's group name",
                        );
                        ok = false;
                    }
                }
                ok.then(|| groups.clone())
            }
        };
        let email_domains = match &raw.email_domains {
            Field::Absent => Some(Vec::new()),
            Field::Invalid => None,
            Field::Set(domains) => {
                let mut out = Vec::with_capacity(domains.len());
                for (i, domain) in domains.iter().enumerate() {
                    let d = domain.trim().trim_start_matches('@').to_ascii_lowercase();
                    let valid = !d.is_empty()
                        && !d.starts_with('.')
                        && !d.ends_with('.')
                        && !d.contains("..")
                        && d.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                    if valid {
                        out.push(d);
                    } else {
                        self.push(
                            &format!("{key}.email_domains[{i}]"),
                            format!("`{domain}` is not a domain name"),
                            "write the part after the `@` of allowed addresses, e.g. `email_domains: [corp.example]` (internationalised domains in their xn-- form)",
                        );
                    }
                }
                (out.len() == domains.len()).then_some(out)
            }
        };
        Some(Allow {
            groups: groups?,
            email_domains: email_domains?,
        })
    }

    /// A URL Freshworks or the browser is sent to after login or logout.
    fn redirect_url(&mut self, key: &str, s: &str) -> Option<Url> {
        let example = "https://acme.myfreshworks.com/sp/OIDC/12344/implicit";
        let url = self.http_url(key, s, example)?;
        if url.fragment().is_some() {
            self.push(
                key,
                format!("`{s}` has a fragment (`#...`)"),
                "remove the `#...` part; it would be replaced by the response",
            );
            return None;
        }
        self.https_unless_local(key, s, url)
    }

    fn claims(&mut self, field: &Field<Vec<RawClaim>>) -> Option<ClaimMap> {
        let mut entries: Vec<(String, ClaimMapping)> = FRESHWORKS_CLAIMS
            .iter()
            .map(|name| (name.to_string(), default_mapping(name)))
            .collect();
        let raw = match field {
            Field::Absent => return Some(ClaimMap { entries }),
            Field::Invalid => return None,
            Field::Set(raw) => raw,
        };
        let mut ok = true;
        for claim in raw {
            let path = format!("freshworks.claims.{}", claim.name);
            let Some(slot) = entries.iter_mut().find(|(name, _)| *name == claim.name) else {
                let hint = closest(&claim.name, &FRESHWORKS_CLAIMS)
                    .map(|c| format!(" Did you mean `{c}`?"))
                    .unwrap_or_default();
                self.push(
                    &path,
                    format!("`{}` is not a claim Freshworks reads", claim.name),
                    format!(
                        "remove it: Freshworks ignores unknown claims and reads only {}.{hint}",
                        FRESHWORKS_CLAIMS.join(", ")
                    ),
                );
                ok = false;
                continue;
            };
            let sources = match &claim.sources {
                Field::Set(sources) => sources,
                _ => {
                    ok = false;
                    continue;
                }
            };
            match self.claim_mapping(&path, sources, REMOVE_FOR_DEFAULT) {
                Some(mapping) => slot.1 = mapping,
                None => ok = false,
            }
        }
        ok.then_some(ClaimMap { entries })
    }

    /// `hint` ends the fix: what removing the key does.
    pub(super) fn claim_mapping(
        &mut self,
        path: &str,
        raw: &[RawClaimSource],
        hint: &str,
    ) -> Option<ClaimMapping> {
        const FORMS: &str = "write a claim name (`email`), a dotted path (`address.locality`), a fixed value \
                             (`{ value: \"-\" }`), or a list of those to try in order";
        let fix = format!("{FORMS}; {hint}");
        let fix = fix.as_str();
        if raw.is_empty() {
            self.push(path, "is an empty list", fix);
            return None;
        }
        let single = raw.len() == 1;
        let mut sources = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (i, source) in raw.iter().enumerate() {
            let key = if single {
                path.to_owned()
            } else {
                format!("{path}[{i}]")
            };
            match source {
                RawClaimSource::Name(name) => {
                    let name = name.trim();
                    if name.is_empty() {
                        self.push(&key, "is an empty claim name", fix);
                        ok = false;
                    } else if name.split('.').any(str::is_empty) {
                        self.push(
                            &key,
                            format!("`{name}` has an empty part in its dotted path"),
                            fix,
                        );
                        ok = false;
                    } else {
                        sources.push(ClaimSource::Path(
                            name.split('.').map(str::to_owned).collect(),
                        ));
                    }
                }
                RawClaimSource::Literal(value) => {
                    if value.is_empty() {
                        self.push(&key, "is an empty fixed value", fix);
                        ok = false;
                    } else {
                        sources.push(ClaimSource::Literal(value.clone()));
                    }
                }
            }
        }
        ok.then_some(ClaimMapping { sources })
    }
}

/// The mapping a Freshworks claim has when `claims` does not mention it.
pub fn default_mapping(freshworks_claim: &str) -> ClaimMapping {
    let names: &[&str] = match freshworks_claim {
        "given_name" => &["given_name", "name"],
        other => &[other][..],
    };
    ClaimMapping {
        sources: names
            .iter()
            .map(|n| ClaimSource::Path(vec![n.to_string()]))
            .collect(),
    }
}
