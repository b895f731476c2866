//! The values with a shape of their own, named by `#[serde(deserialize_with = "shapes::…")]` on their field:
//! a list (every bad item reported, not just the first), one value or a list, mappings kept in file order
//! (`directory.attributes`, claim mappings, accounts keyed by numbers or strings), claim sources (a claim
//! name, `{ value: ... }`, or a list of those) and `store: memory`.
//!
//! Each takes the value as written and reads it by hand, reporting at the path of the part that is wrong;
//! the sections inside (an account, the store's mapping) are read by serde like any other.

use serde::{Deserialize, Deserializer};
use serde_yaml::{Mapping, Value};

use super::context::{enter, enter_item, last_segment, report};
use super::reader::{Reader, describe, field, key_text, report_unknown};
use super::{Field, RawAccount, RawClaim, RawClaimSource, RawStore};

/// The value as written (absent when null), read by `read`.
fn written<'de, D: Deserializer<'de>, T>(
    d: D,
    read: impl FnOnce(&Value) -> Field<T>,
) -> Result<Field<T>, D::Error> {
    Ok(match Field::<Value>::deserialize(d)? {
        Field::Set(value) => read(&value),
        Field::Absent => Field::Absent,
        Field::Invalid => Field::Invalid,
    })
}

/// A single value as text (`None`: reported).
fn text(value: &Value) -> Option<String> {
    String::deserialize(Reader::new(value)).ok()
}

/// Each item read at its index (`key[i]`); usable only when every item is.
fn each<T>(items: &[Value], mut read: impl FnMut(&Value) -> Option<T>) -> Field<Vec<T>> {
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let _at = enter_item(i);
        match read(item) {
            Some(v) => out.push(v),
            None => ok = false,
        }
    }
    if ok { Field::Set(out) } else { Field::Invalid }
}

/// A list of single values.
pub(super) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Field<Vec<String>>, D::Error> {
    written(d, list_of)
}

fn list_of(value: &Value) -> Field<Vec<String>> {
    let Value::Sequence(items) = value else {
        let example = match value {
            Value::String(s) if !s.contains('$') => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => "a, b".to_owned(),
        };
        report(
            format!("expected a list, found {}", describe(value)),
            format!(
                "write it as a list, e.g. `{}: [{example}]` or one `- item` per line",
                last_segment()
            ),
        );
        return Field::Invalid;
    };
    each(items, |item| match item {
        Value::Null => {
            report("is empty", "remove the empty item from the list");
            None
        }
        item => text(item),
    })
}

/// One value or a list of them (`url: ldaps://a` or `url: [ldaps://a, ldaps://b]`).
pub(super) fn one_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Field<Vec<String>>, D::Error> {
    written(d, |value| match value {
        Value::Sequence(_) => list_of(value),
        single => text(single).map_or(Field::Invalid, |s| Field::Set(vec![s])),
    })
}

/// The entries of a mapping in file order, each read under its key by `read`; `None` when the value is not
/// a mapping (reported with `problem` and `fix`).
fn entries<T>(
    value: &Value,
    problem: &str,
    fix: &str,
    mut read: impl FnMut(&Value, &Value) -> T,
) -> Option<Vec<T>> {
    let Value::Mapping(map) = value else {
        report(format!("{problem}, found {}", describe(value)), fix);
        return None;
    };
    Some(map.iter().map(|(key, value)| read(key, value)).collect())
}

/// `directory.attributes`: Freshworks claim -> directory attribute.
pub(super) fn attributes<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Field<Vec<(String, String)>>, D::Error> {
    written(d, |value| {
        string_map(
            value,
            "write one Freshworks claim per line with the directory attribute it comes from, e.g. `attributes: { email: mail, sub: objectGUID }`",
        )
    })
}

/// `directory.kerberos.trusted_realms`: realm -> how its users find their directory entry.
pub(super) fn trusted_realms<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Field<Vec<(String, String)>>, D::Error> {
    written(d, |value| {
        string_map(
            value,
            "write one realm per line with how its users find their directory entry, e.g. `trusted_realms: { PARTNER.EXAMPLE: upn }` (or `short_name`)",
        )
    })
}

/// A mapping from names to single values, in file order; `fix` says how to write it.
fn string_map(value: &Value, fix: &str) -> Field<Vec<(String, String)>> {
    let pairs = entries(value, "expected a mapping", fix, |key, value| {
        let name = key_text(key);
        let _at = enter(&name);
        match value {
            Value::Null => {
                report("is empty", fix);
                None
            }
            value => text(value).map(|text| (name, text)),
        }
    });
    match pairs.map(|pairs| pairs.into_iter().collect::<Option<Vec<_>>>()) {
        Some(Some(pairs)) => Field::Set(pairs),
        _ => Field::Invalid,
    }
}

/// `freshworks.accounts`: each account under its id, in file order.
pub(super) fn accounts<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Field<Vec<RawAccount>>, D::Error> {
    written(d, |value| {
        let accounts = entries(
            value,
            "expected a mapping from account id to its settings",
            "write each account under its id, e.g. `accounts: { \"12344\": { redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit } }`",
            |key, value| {
                let id = match key {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        report(
                            format!("an account id is {}, not an id", describe(other)),
                            "use the account id Freshworks shows in its SSO settings, e.g. `\"12344\":`",
                        );
                        return None;
                    }
                };
                let _at = enter(&id);
                Some(match field::<RawAccount>(value) {
                    Field::Set(account) => RawAccount { id, ..account },
                    // Written empty: every required key is missing, which validate reports.
                    Field::Absent => RawAccount {
                        id,
                        ..RawAccount::default()
                    },
                    Field::Invalid => RawAccount {
                        id,
                        redirect_url: Field::Invalid,
                        logout_redirect_url: Field::Invalid,
                        login: Field::Invalid,
                        allow: Field::Invalid,
                    },
                })
            },
        );
        accounts.map_or(Field::Invalid, |accounts| {
            Field::Set(accounts.into_iter().flatten().collect())
        })
    })
}

/// `freshworks.claims`: Freshworks claim -> claim sources.
pub(super) fn freshworks_claims<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Field<Vec<RawClaim>>, D::Error> {
    written(d, |value| {
        claim_map(
            value,
            "Freshworks claim",
            "write one Freshworks claim per line, e.g. `claims: { email: email, given_name: [given_name, name] }`",
        )
    })
}

/// `webchat.contact_properties`: Freshdesk contact property -> claim sources.
pub(super) fn contact_properties<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Field<Vec<RawClaim>>, D::Error> {
    written(d, |value| {
        claim_map(
            value,
            "Freshdesk contact property",
            "write one Freshdesk property per line, e.g. `contact_properties: { name: name, phone: phone_number }`, or `{}` for none",
        )
    })
}

/// `webchat.ticket_properties`: Freshdesk ticket property -> claim sources.
pub(super) fn ticket_properties<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Field<Vec<RawClaim>>, D::Error> {
    written(d, |value| {
        claim_map(
            value,
            "Freshdesk ticket property",
            "write one Freshdesk ticket property per line, e.g. `ticket_properties: { cf_plan: plan }`, or `{}` for none",
        )
    })
}

/// A mapping from a name (`what`, e.g. "Freshworks claim") to its claim sources, in file order.
fn claim_map(value: &Value, what: &str, fix: &str) -> Field<Vec<RawClaim>> {
    let problem = format!("expected a mapping from {what} to source");
    let claims = entries(value, &problem, fix, |key, value| {
        let name = key_text(key);
        let _at = enter(&name);
        RawClaim {
            sources: sources(value),
            name,
        }
    });
    claims.map_or(Field::Invalid, Field::Set)
}

/// The claim sources of one key that may be left out (`webchat.email`).
pub(super) fn claim_sources<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Field<Vec<RawClaimSource>>, D::Error> {
    written(d, sources)
}

const SOURCE_FIX: &str = "write a claim name (`email`), a dotted path (`address.locality`), a fixed value \
                          (`{ value: \"-\" }`), or a list of those to try in order";

/// One source, or a list of sources tried in order. An empty value is reported.
fn sources(value: &Value) -> Field<Vec<RawClaimSource>> {
    match value {
        Value::Sequence(items) => each(items, source),
        single => source(single).map_or(Field::Invalid, |source| Field::Set(vec![source])),
    }
}

/// One claim source: a claim name or dotted path, or `{ value: ... }`. `None` when reported.
fn source(value: &Value) -> Option<RawClaimSource> {
    match value {
        Value::Mapping(map) => literal(map),
        Value::Null => {
            report("is empty", SOURCE_FIX);
            None
        }
        Value::Sequence(_) | Value::Tagged(_) => {
            let what = describe(value);
            report(
                format!(
                    "{}{} cannot be a claim source",
                    what[..1].to_uppercase(),
                    &what[1..]
                ),
                SOURCE_FIX,
            );
            None
        }
        scalar => text(scalar).map(RawClaimSource::Name),
    }
}

/// `{ value: ... }`: a fixed value instead of a claim.
fn literal(map: &Mapping) -> Option<RawClaimSource> {
    let unknown = report_unknown(map, &["value"]);
    let value = {
        let _at = enter("value");
        field::<String>(map.get("value").unwrap_or(&Value::Null))
    };
    match value {
        Field::Set(literal) => Some(RawClaimSource::Literal(literal)),
        // Only unknown keys: they have been reported.
        Field::Absent if !unknown => {
            report("a fixed value needs `value`", SOURCE_FIX);
            None
        }
        _ => None,
    }
}

/// `store: memory`, or the mapping of a Redis / Valkey store.
pub(super) fn store<'de, D: Deserializer<'de>>(d: D) -> Result<Field<RawStore>, D::Error> {
    written(d, |value| match value {
        Value::String(word) if word.trim().eq_ignore_ascii_case("memory") => Field::Set(RawStore {
            memory: true,
            ..RawStore::default()
        }),
        // Not quoted: a Redis URL written here may hold a password.
        Value::String(_) => {
            report(
                "is neither `memory` nor a mapping of settings",
                "write `store: memory` (the default, one process) or a mapping for Redis or Valkey: `store: { url: redis://redis:6379 }`",
            );
            Field::Invalid
        }
        mapping => field::<RawStore>(mapping),
    })
}
