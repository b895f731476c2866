//! The `webchat` section: what the Freshdesk Web Chat token carries (secret, identity, lifetime, audience,
//! contact and ticket properties), the origins allowed to ask for one, and the widget loader.

use std::time::Duration;

use super::Validator;
use super::files::SecretKey;
use super::freshworks::REMOVE_FOR_DEFAULT;
use crate::config::raw::{Field, RawClaim, RawClaimSource, RawWebchat, RawWidget};
use crate::config::types::{ClaimMapping, ClaimSource, IdentifyBy, Webchat, Widget};

/// `webchat.contact_properties` when the key is absent: Freshdesk contact property -> provider claim.
pub const DEFAULT_CONTACT_PROPERTIES: [(&str, &str); 3] = [
    ("name", "name"),
    ("phone", "phone_number"),
    ("language", "locale"),
];

impl Validator {
    pub(super) fn webchat(&mut self, raw: &RawWebchat) -> Option<Webchat> {
        let secret = self.required_secret(
            &SecretKey {
                section: "webchat",
                name: "secret",
                missing_fix: "set `secret: ${FRESHDESK_WEBCHAT_SECRET}` and export that variable, or set `secret_file` to a file holding the widget's JWT secret from Freshdesk",
                empty_fix: "set it to the widget's JWT secret from Freshdesk (if it comes from `${VAR}`, that variable is empty)",
                file_fix: "point webchat.secret_file at a file holding the widget's JWT secret from Freshdesk, or set webchat.secret instead",
            },
            &raw.secret,
            &raw.secret_file,
        );
        let identify_by = match &raw.identify_by {
            Field::Absent => Some(IdentifyBy::Email),
            Field::Invalid => None,
            Field::Set(s) => match s.trim().to_ascii_lowercase().as_str() {
                "email" => Some(IdentifyBy::Email),
                "unique_external_id" => Some(IdentifyBy::UniqueExternalId),
                _ => {
                    self.push(
                        "webchat.identify_by",
                        format!("`{s}` is not a way to identify the user"),
                        "use `email` or `unique_external_id` (the Freshdesk contact field the token carries)",
                    );
                    None
                }
            },
        };
        // Both mappings are checked, whichever one is used.
        let email = self.optional_claim_mapping("webchat.email", &raw.email, "email");
        let unique_external_id = self.optional_claim_mapping(
            "webchat.unique_external_id",
            &raw.unique_external_id,
            "sub",
        );
        let ttl = self.duration(
            "webchat.ttl",
            &raw.ttl,
            Duration::from_secs(600),
            Duration::from_secs(10),
            Some(Duration::from_secs(24 * 3600)),
            "",
        );
        let audience = self.audience(&raw.audience);
        let allowed_origins = self.allowed_origins(&raw.allowed_origins);
        let contact_properties = match &raw.contact_properties {
            Field::Absent => Some(
                DEFAULT_CONTACT_PROPERTIES
                    .iter()
                    .map(|(property, claim)| {
                        (
                            property.to_string(),
                            ClaimMapping {
                                sources: vec![ClaimSource::Path(vec![claim.to_string()])],
                            },
                        )
                    })
                    .collect(),
            ),
            field => self.properties("webchat.contact_properties", field),
        };
        let ticket_properties = match &raw.ticket_properties {
            Field::Absent => Some(Vec::new()),
            field => self.properties("webchat.ticket_properties", field),
        };
        let widget = match &raw.widget {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Set(w) => self.widget(w).map(Some),
        };
        let session_ttl = self.duration(
            "webchat.session_ttl",
            &raw.session_ttl,
            Duration::from_secs(8 * 3600),
            Duration::from_secs(60),
            Some(Duration::from_secs(7 * 24 * 3600)),
            " (at most 7 days)",
        );

        let identify_by = identify_by?;
        let identity = match identify_by {
            IdentifyBy::Email => email?,
            IdentifyBy::UniqueExternalId => unique_external_id?,
        };
        Some(Webchat {
            secret: secret?,
            identify_by,
            identity,
            ttl: ttl?,
            audience: audience?,
            allowed_origins: allowed_origins?,
            contact_properties: contact_properties?,
            ticket_properties: ticket_properties?,
            widget: widget?,
            session_ttl: session_ttl?,
        })
    }

    /// A claim mapping that is the single claim `default` when absent.
    fn optional_claim_mapping(
        &mut self,
        key: &str,
        field: &Field<Vec<RawClaimSource>>,
        default: &str,
    ) -> Option<ClaimMapping> {
        match field {
            Field::Absent => Some(ClaimMapping {
                sources: vec![ClaimSource::Path(vec![default.to_owned()])],
            }),
            Field::Invalid => None,
            Field::Set(sources) => self.claim_mapping(key, sources, REMOVE_FOR_DEFAULT),
        }
    }

    fn audience(&mut self, field: &Field<Vec<String>>) -> Option<Vec<String>> {
        const KEY: &str = "webchat.audience";
        let items = match field {
            Field::Absent => return Some(Vec::new()),
            Field::Invalid => return None,
            Field::Set(items) => items,
        };
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let key = format!("{KEY}[{i}]");
            if item.trim().is_empty() {
                self.push(
                    &key,
                    "is empty",
                    "write an `aud` value the provider puts in its access tokens, or remove the item (an empty list does not check `aud`)",
                );
                ok = false;
            } else if item.trim() != item {
                self.push(
                    &key,
                    format!("`{item}` has leading or trailing spaces"),
                    "remove them; `aud` values are compared character for character",
                );
                ok = false;
            }
        }
        ok.then(|| items.clone())
    }

    fn allowed_origins(&mut self, field: &Field<Vec<String>>) -> Option<Vec<String>> {
        const KEY: &str = "webchat.allowed_origins";
        const FIX: &str = "list the origins of the pages that embed the chat widget, e.g. `allowed_origins: [https://app.example.com]`";
        const EXAMPLE: &str = "https://app.example.com";
        let items = self.required(KEY, field, FIX)?;
        if items.is_empty() {
            self.push(KEY, "lists no origin", FIX);
            return None;
        }
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let key = format!("{KEY}[{i}]");
            let s = item.trim();
            if s.contains('*') {
                self.push(
                    &key,
                    format!("`{s}` is a wildcard; origins must be listed one by one"),
                    "list each origin; a wildcard would let any site mint tokens for your users",
                );
                ok = false;
                continue;
            }
            let Some(url) = self
                .origin_url(&key, s, EXAMPLE)
                .and_then(|url| self.https_unless_local(&key, s, url))
            else {
                ok = false;
                continue;
            };
            let origin = url.origin().ascii_serialization();
            if out.contains(&origin) {
                self.push(
                    &key,
                    format!("`{s}` is the origin `{origin}`, which is already listed"),
                    "list each origin once (case, a trailing `/` and a default port do not make a different origin)",
                );
                ok = false;
                continue;
            }
            out.push(origin);
        }
        ok.then_some(out)
    }

    /// `webchat.contact_properties` or `webchat.ticket_properties` when written.
    fn properties(
        &mut self,
        key: &str,
        field: &Field<Vec<RawClaim>>,
    ) -> Option<Vec<(String, ClaimMapping)>> {
        let raw = match field {
            Field::Set(raw) => raw,
            _ => return None,
        };
        let mut out: Vec<(String, ClaimMapping)> = Vec::with_capacity(raw.len());
        let mut ok = true;
        for property in raw {
            let path = format!("{key}.{}", property.name);
            let name = &property.name;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                let problem = if name.is_empty() {
                    "the property name is empty".to_owned()
                } else {
                    format!("`{name}` is not a Freshdesk property name")
                };
                self.push(
                    &path,
                    problem,
                    "use the field name Freshdesk shows for the property: letters, digits and `_` only (custom fields look like `cf_plan`)",
                );
                ok = false;
                continue;
            }
            if out.iter().any(|(n, _)| n == name) {
                self.push(
                    &path,
                    format!("property `{name}` is listed twice"),
                    "keep one entry per property (`1:` and `\"1\":` are the same name)",
                );
                ok = false;
                continue;
            }
            let Field::Set(sources) = &property.sources else {
                ok = false;
                continue;
            };
            match self.claim_mapping(&path, sources, "remove the property to leave it out") {
                Some(mapping) => out.push((name.clone(), mapping)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn widget(&mut self, raw: &RawWidget) -> Option<Widget> {
        const HOST_KEY: &str = "webchat.widget.host";
        const HOST_FIX: &str = "add the widget host from the Freshdesk widget code, e.g. `host: https://widget.freshworks.com`";
        let host = self.required(HOST_KEY, &raw.host, HOST_FIX).and_then(|s| {
            let url = self.http_url(HOST_KEY, s, "https://widget.freshworks.com")?;
            self.https_unless_local(HOST_KEY, s, url)
        });
        let mut text = |key: &str, field: &Field<String>, fix: &str| {
            let s = self.required(key, field, fix)?.trim();
            if s.is_empty() {
                self.push(key, "is empty", fix);
                return None;
            }
            Some(s.to_owned())
        };
        let token = text(
            "webchat.widget.token",
            &raw.token,
            "add the widget token from the Freshdesk widget code, e.g. `token: ${FRESHDESK_WIDGET_TOKEN}`",
        );
        let widget_id = text(
            "webchat.widget.widget_id",
            &raw.widget_id,
            "add the widget id from the Freshdesk widget code, e.g. `widget_id: \"123\"`",
        );
        Some(Widget {
            host: host?,
            token: token?,
            widget_id: widget_id?,
        })
    }
}
