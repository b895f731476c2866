//! The `upstream` section: the OpenID provider's issuer, where to reach it, the client's credentials and
//! scopes, and the timeouts of calls to it.

use std::time::Duration;

use super::Validator;
use super::files::SecretKey;
use super::values::origin_of;
use crate::config::raw::{Field, RawUpstream};
use crate::config::types::{EmailVerified, Secret, Upstream};

impl Validator {
    pub(super) fn upstream(&mut self, raw: &RawUpstream) -> Option<Upstream> {
        let issuer = self
            .required(
                "upstream.issuer",
                &raw.issuer,
                "add the provider's issuer URL, e.g. `issuer: https://sso.example.com/realms/acme`",
            )
            .and_then(|s| {
                if s.trim() != s {
                    self.push(
                        "upstream.issuer",
                        format!("`{s}` has leading or trailing spaces"),
                        "remove them; the issuer is compared character for character with the provider's",
                    );
                    return None;
                }
                let url = self.http_url("upstream.issuer", s, "https://sso.example.com/realms/acme")?;
                if url.query().is_some() || url.fragment().is_some() {
                    self.push(
                        "upstream.issuer",
                        format!("`{s}` has a query or fragment"),
                        "write the issuer exactly as the provider's discovery document states it (it never has `?` or `#`)",
                    );
                    return None;
                }
                Some((s.clone(), url))
            });
        let backchannel_url = match &raw.backchannel_url {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => self
                .origin_url("upstream.backchannel_url", s, "http://127.0.0.1:8080")
                .map(Some),
        };
        let proxy_to = match &raw.proxy_to {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => self
                .origin_url("upstream.proxy_to", s, "http://127.0.0.1:8080")
                .map(Some),
        };
        let client_id = self
            .required(
                "upstream.client_id",
                &raw.client_id,
                "add the client id registered for freshgate at the provider, e.g. `client_id: freshgate`",
            )
            .and_then(|s| {
                if s.trim().is_empty() {
                    self.push(
                        "upstream.client_id",
                        "is empty",
                        "write the client id registered for freshgate at the provider",
                    );
                    None
                } else {
                    Some(s.clone())
                }
            });
        let client_secret = self.client_secret(raw);
        let scopes = self.scopes(&raw.scopes);
        let ca_file = match &raw.ca_file {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(s) => self
                .existing_file(
                    "upstream.ca_file",
                    s,
                    "point upstream.ca_file at the PEM file of the CA that signed the provider's certificate, or remove it to trust the public web roots",
                )
                .map(Some),
        };
        let preserve_host = self.bool("upstream.preserve_host", &raw.preserve_host, true);
        let email_verified = match &raw.email_verified {
            Field::Absent => Some(EmailVerified::Required),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "required" => Some(EmailVerified::Required),
                "if_present" => Some(EmailVerified::IfPresent),
                "ignore" => Some(EmailVerified::Ignore),
                _ => {
                    self.push(
                        "upstream.email_verified",
                        format!("`{s}` is not a policy for the provider's email_verified claim"),
                        "use `required` (the default: the provider must say the address is verified), \
                         `if_present` (refuse only email_verified: false) or `ignore`",
                    );
                    None
                }
            },
        };
        let connect_timeout = self.timeout(
            "upstream.connect_timeout",
            &raw.connect_timeout,
            Duration::from_secs(5),
        );
        let response_timeout = self.timeout(
            "upstream.response_timeout",
            &raw.response_timeout,
            Duration::from_secs(30),
        );
        let jwks_refresh = self.timeout(
            "upstream.jwks_refresh",
            &raw.jwks_refresh,
            Duration::from_secs(3600),
        );

        let groups_claim = match &raw.groups_claim {
            Field::Absent => Some("groups".to_owned()),
            Field::Invalid => None,
            Field::Set(s) if !s.trim().is_empty() && !s.contains(char::is_whitespace) => {
                Some(s.clone())
            }
            Field::Set(s) => {
                self.push(
                    "upstream.groups_claim",
                    format!("`{s}` is not a claim name"),
                    "write the name of the ID token or userinfo claim that lists the user's groups, e.g. `groups_claim: groups`",
                );
                None
            }
        };
        let (issuer, issuer_url) = issuer?;
        let backchannel_url = backchannel_url?;
        let proxy_to = match (proxy_to?, &backchannel_url) {
            (Some(url), _) => url,
            (None, Some(backchannel)) => backchannel.clone(),
            (None, None) => origin_of(&issuer_url)?,
        };
        Some(Upstream {
            issuer,
            issuer_url,
            backchannel_url,
            proxy_to,
            client_id: client_id?,
            client_secret: client_secret?,
            scopes: scopes?,
            ca_file: ca_file?,
            preserve_host: preserve_host?,
            email_verified: email_verified?,
            connect_timeout: connect_timeout?,
            response_timeout: response_timeout?,
            jwks_refresh: jwks_refresh?,
            groups_claim: groups_claim?,
        })
    }

    fn client_secret(&mut self, raw: &RawUpstream) -> Option<Secret> {
        self.required_secret(
            &SecretKey {
                section: "upstream",
                name: "client_secret",
                missing_fix: "set `client_secret: ${FRESHGATE_CLIENT_SECRET}` and export that variable, or set `client_secret_file` to a file holding the secret",
                empty_fix: "set it to the client secret registered at the provider (if it comes from `${VAR}`, that variable is empty)",
                file_fix: "point upstream.client_secret_file at a file holding the client secret, or set upstream.client_secret instead",
            },
            &raw.client_secret,
            &raw.client_secret_file,
        )
    }

    fn scopes(&mut self, field: &Field<Vec<String>>) -> Option<Vec<String>> {
        const KEY: &str = "upstream.scopes";
        let scopes = match field {
            Field::Absent => return Some(vec!["openid".into(), "email".into(), "profile".into()]),
            Field::Invalid => return None,
            Field::Set(scopes) => scopes,
        };
        let mut ok = true;
        for (i, scope) in scopes.iter().enumerate() {
            if scope.trim().is_empty()
                || scope
                    .chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '\\')
            {
                ok = false;
                self.push(
                    &format!("{KEY}[{i}]"),
                    format!("`{scope}` is not a scope name"),
                    "write one scope per list item, without spaces: `scopes: [openid, email, profile]`",
                );
            }
        }
        if ok && !scopes.iter().any(|s| s == "openid") {
            ok = false;
            self.push(
                KEY,
                "does not include `openid`",
                "add `openid` to the list (OpenID Connect needs it to return an ID token), e.g. `scopes: [openid, email, profile]`",
            );
        }
        ok.then(|| scopes.clone())
    }
}
