//! The reader: a serde `Deserializer` over the parsed YAML that reads each value at its dotted path (kept in
//! `context`) and reports each problem where it is found. It returns an error only once the problem is
//! reported, so a [`Field`] turns any error below it into `Field::Invalid` and its section reads on.
//!
//! serde's derive turns each raw struct into a visitor of a map, and the reader feeds it:
//! - `deserialize_struct` is given the struct's field names by serde: any other key of the mapping is
//!   reported with a suggestion, and the known ones are handed over in the struct's order, each under its
//!   path (in recording mode, every key, to list them: `super::known_keys`);
//! - `deserialize_string` reads a single value: `${VAR}` expanded, a number or boolean taken as its text
//!   (a `Secret`, a newtype struct, the same way, with messages that never quote it);
//! - `deserialize_option` is how a [`Field`] tells absent (null) from written;
//! - anything else gets the YAML as written (`deserialize_any`), for the shapes read by hand (`shapes`).

use std::fmt::Display;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_yaml::{Mapping, Value};

use super::context::{enter, expand, last_segment, path, recorded, recording, report};
use super::{Field, suggest};
use crate::config::env::ExpandError;

/// The error of a [`Reader`]: the problem has been reported.
#[derive(Debug, thiserror::Error)]
#[error("a configuration problem (reported)")]
pub(super) struct Reported;

impl de::Error for Reported {
    /// A problem serde found (a value for a type no shape of ours reads): reported as it says.
    fn custom<T: Display>(msg: T) -> Self {
        report(
            msg.to_string(),
            "see docs/configuration.md for the values this key takes",
        );
        Reported
    }
}

/// Reads one value of the file, at the current path.
#[derive(Clone, Copy)]
pub(super) struct Reader<'v> {
    value: &'v Value,
    /// Reading a `Secret`: messages never quote the value.
    secret: bool,
}

impl<'v> Reader<'v> {
    pub(super) fn new(value: &'v Value) -> Reader<'v> {
        Reader {
            value,
            secret: false,
        }
    }

    /// A single value as text.
    fn text(self) -> Result<String, Reported> {
        match self.value {
            Value::String(s) => expand_at(s, self.secret),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => {
                let problem = format!("expected a single value, found {}", describe(other));
                report(
                    problem,
                    format!(
                        "write one value on the same line: `{}: ...`",
                        last_segment()
                    ),
                );
                Err(Reported)
            }
        }
    }
}

/// A value of type `T` read from `value` at the current path (problems reported).
pub(super) fn field<T: DeserializeOwned>(value: &Value) -> Field<T> {
    Field::deserialize(Reader::new(value)).unwrap_or(Field::Invalid)
}

/// `text` with its `${VAR}` references replaced; each problem reported.
fn expand_at(text: &str, secret: bool) -> Result<String, Reported> {
    let problems = match expand(text) {
        Ok(text) => return Ok(text),
        Err(problems) => problems,
    };
    for problem in problems {
        match problem {
            ExpandError::Unset(name) => {
                let (path, problem) = (path(), format!("environment variable {name} is not set"));
                let file_key = format!("{path}_file");
                if secret && super::known_keys().contains(&file_key) {
                    // `client_secret` -> "secret", `cookie_key` -> "key", `bind_password` -> "password".
                    let noun = path.rsplit(['.', '_']).next().unwrap_or_default();
                    report(
                        problem,
                        format!("export {name}, or set {file_key} to a file holding the {noun}"),
                    );
                } else {
                    let fix = "before starting freshgate, or write the value in the file";
                    report(problem, format!("export {name} {fix}"));
                }
            }
            ExpandError::Unterminated => report(
                "has `${` without a closing `}`",
                "close the reference (`${NAME}`), or write `$${` for a literal `${`",
            ),
            ExpandError::BadName(name) => report(
                match secret {
                    true => "has `${` followed by something that is not a variable name".to_owned(),
                    false => format!("`${{{name}}}` is not a variable reference"),
                },
                "variable names are letters, digits and `_` (`${NAME}`, no defaults); write `$${` for a literal `${`",
            ),
        }
    }
    Err(Reported)
}

impl<'de> Deserializer<'de> for Reader<'_> {
    type Error = Reported;

    /// The value as written, for a shape read by hand.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Reported> {
        self.value
            .clone()
            .deserialize_any(visitor)
            .map_err(de::Error::custom)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Reported> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Reported> {
        visitor.visit_string(self.text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Reported> {
        visitor.visit_string(self.text()?)
    }

    fn deserialize_newtype_struct<V>(self, name: &str, visitor: V) -> Result<V::Value, Reported>
    where
        V: Visitor<'de>,
    {
        // `config::types::Secret` derives `Deserialize`: a newtype struct of that name.
        visitor.visit_newtype_struct(Reader {
            secret: name == "Secret",
            ..self
        })
    }

    fn deserialize_struct<V>(
        self,
        _: &str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Reported>
    where
        V: Visitor<'de>,
    {
        let recording = recorded(fields);
        let entries = match self.value {
            // Every key, each with the same stand-in value, so that the sections inside are recorded too.
            stand_in if recording => fields.iter().map(|key| (*key, stand_in)).collect(),
            Value::Mapping(map) => {
                report_unknown(map, fields);
                let known = fields.iter().filter_map(|key| Some((*key, map.get(*key)?)));
                known.collect()
            }
            Value::Null => Vec::new(),
            other => {
                let problem = format!("expected a mapping of keys, found {}", describe(other));
                let (key, keys) = (last_segment(), fields.join(", "));
                report(
                    problem,
                    format!("write `{key}:` followed by indented keys ({keys})"),
                );
                return Err(Reported);
            }
        };
        visitor.visit_map(Entries {
            entries: entries.into_iter(),
            next: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct seq
        tuple tuple_struct map enum identifier ignored_any
    }
}

/// The known keys of a mapping, handed to a derived struct's visitor; each value is read under its key.
struct Entries<'v> {
    entries: std::vec::IntoIter<(&'static str, &'v Value)>,
    next: Option<(&'static str, &'v Value)>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Reported;

    fn next_key_seed<K>(&mut self, seed: K) -> Result<Option<K::Value>, Reported>
    where
        K: DeserializeSeed<'de>,
    {
        self.next = self.entries.next();
        self.next
            .map(|(key, _)| seed.deserialize(key.into_deserializer()))
            .transpose()
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Reported> {
        let (key, value) = self.next.take().expect("serde asks for a key first");
        let _at = enter(key);
        seed.deserialize(Reader::new(value))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    /// Never fails: whatever went wrong below has been reported (a `Reader` errs only then).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Caught<T>(Option<T>);
        impl<'de, T: Deserialize<'de>> Deserialize<'de> for Caught<T> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Caught(T::deserialize(d).ok()))
            }
        }
        Ok(match Option::<Caught<T>>::deserialize(d)? {
            None => Field::Absent,
            Some(Caught(None)) => Field::Invalid,
            Some(Caught(Some(value))) => Field::Set(value),
        })
    }
}

pub(super) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value (`!tag`)",
    }
}

/// A mapping key as text, for paths and messages.
pub(super) fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "~".to_owned(),
        other => format!("<{}>", describe(other)),
    }
}

/// Reports every key of `map` (at the current path) that is not in `known`, with a suggestion when one is
/// close. True when there was one.
pub(super) fn report_unknown(map: &Mapping, known: &[&str]) -> bool {
    if recording() {
        return false;
    }
    let mut found = false;
    for key in map.keys() {
        let name = key_text(key);
        if matches!(key, Value::String(_)) && known.contains(&name.as_str()) {
            continue;
        }
        found = true;
        let path = path();
        let section = path.is_empty().then(|| super::section_of(&name)).flatten();
        let fix = suggest::fix(&path, &name, known, section);
        let _at = enter(&name);
        report("unknown key", fix);
    }
    found
}
