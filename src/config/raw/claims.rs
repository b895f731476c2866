//! Claim sources: a claim name or dotted path, a fixed `{ value: ... }`, or a list of those, alone
//! (`webchat.email`) or in a mapping from a name to its sources (`freshworks.claims`, `webchat.*_properties`).

use serde_yaml::{Mapping, Value};

use super::schema::LITERAL_KEYS;
use super::walk::{Walk, describe, describe_cap, join, key_text};
use super::{Field, RawClaim, RawClaimSource};

impl Walk<'_> {
    /// A mapping from a name (`what`, e.g. "Freshworks claim") to claim sources, in file order.
    pub(super) fn claim_map(
        &mut self,
        path: &str,
        value: Option<&Value>,
        what: &str,
        fix: &str,
    ) -> Field<Vec<RawClaim>> {
        let map = match value {
            None | Some(Value::Null) => return Field::Absent,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.push(
                    path,
                    format!(
                        "expected a mapping from {what} to source, found {}",
                        describe(other)
                    ),
                    fix,
                );
                return Field::Invalid;
            }
        };
        let mut out = Vec::with_capacity(map.len());
        for (key, value) in map {
            let name = key_text(key);
            let sources = self.claim_sources(&join(path, &name), value);
            out.push(RawClaim { name, sources });
        }
        Field::Set(out)
    }

    /// The claim sources of one key that may be left out (absent or empty: `Absent`).
    pub(super) fn optional_claim_sources(
        &mut self,
        path: &str,
        value: Option<&Value>,
    ) -> Field<Vec<RawClaimSource>> {
        match value {
            None | Some(Value::Null) => Field::Absent,
            Some(value) => self.claim_sources(path, value),
        }
    }

    /// One source, or a list of sources tried in order. An empty value is reported.
    fn claim_sources(&mut self, path: &str, value: &Value) -> Field<Vec<RawClaimSource>> {
        match value {
            Value::Sequence(items) => {
                let mut sources = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.claim_source(&format!("{path}[{i}]"), item) {
                        Some(source) => sources.push(source),
                        None => ok = false,
                    }
                }
                if ok {
                    Field::Set(sources)
                } else {
                    Field::Invalid
                }
            }
            single => match self.claim_source(path, single) {
                Some(source) => Field::Set(vec![source]),
                None => Field::Invalid,
            },
        }
    }

    /// One claim source: a claim name or dotted path, or `{ value: ... }`. `None` when reported.
    fn claim_source(&mut self, path: &str, value: &Value) -> Option<RawClaimSource> {
        const FIX: &str = "write a claim name (`email`), a dotted path (`address.locality`), a fixed value \
                           (`{ value: \"-\" }`), or a list of those to try in order";
        match value {
            Value::Mapping(_) => {
                match self.section(path, Some(value), LITERAL_KEYS, |w, s| {
                    w.scalar(&s.path("value"), s.get("value"))
                }) {
                    Field::Set(Field::Set(literal)) => Some(RawClaimSource::Literal(literal)),
                    Field::Set(Field::Absent) => {
                        // A mapping with only unknown keys has had them reported already.
                        if value.as_mapping().is_none_or(Mapping::is_empty) {
                            self.push(path, "a fixed value needs `value`", FIX);
                        }
                        None
                    }
                    _ => None,
                }
            }
            Value::Null => {
                self.push(path, "is empty", FIX);
                None
            }
            Value::Sequence(_) | Value::Tagged(_) => {
                self.push(
                    path,
                    format!("{} cannot be a claim source", describe_cap(value)),
                    FIX,
                );
                None
            }
            scalar => match self.scalar(path, Some(scalar)) {
                Field::Set(name) => Some(RawClaimSource::Name(name)),
                _ => None,
            },
        }
    }
}
