//! The reader: a serde `Deserializer` over the parsed YAML that knows the dotted path of the value it reads,
//! reports each problem where it is found, and returns an error only once the problem is reported.
//!
//! serde's derive turns each raw struct into a visitor of a map, and the reader feeds it:
//! - `deserialize_struct` is given the struct's field names by serde: any other key of the mapping is
//!   reported (`keys`), and the known ones are handed over in the struct's order, each under its path;
//! - `deserialize_string` reads a single value: `${VAR}` expanded, a number or boolean taken as its text; a
//!   `Secret` (a newtype struct) is read the same way with messages that never quote it;
//! - `deserialize_option` is how a [`Field`] tells absent (null) from written;
//! - anything else gets the YAML as written (`deserialize_any`), for the shapes read by hand (`shapes`).
//!
//! The problems and the path live in a context kept for the duration of one read. It is a thread-local
//! because serde's derived code passes nothing but the deserializer from a struct to its fields; a
//! `Field<T>` therefore only needs serde's `Deserialize`, and any error below it has been reported when it
//! arrives, so the `Field` becomes `Invalid` and its section reads on. The variables the file names are
//! looked up before reading, so the context owns them instead of borrowing the caller's [`Env`].
//!
//! The same reader, in recording mode, walks the structs without a file to list their keys (`keys::schema`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_yaml::Value;

use super::Field;
use super::keys;
use crate::config::env::{Env, ExpandError, MapEnv, expand};
use crate::config::error::ConfigError;

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// One read in progress.
struct Context {
    /// The variables the file refers to, looked up once before reading.
    vars: MapEnv,
    errors: Vec<ConfigError>,
    /// Dotted path of the value being read, e.g. `upstream.scopes[1]`.
    path: String,
    /// Recording mode: the structs met, each with its path and its keys.
    structs: Option<Vec<(String, &'static [&'static str])>>,
}

/// Runs `f` (which reads `root` with [`Reader`]s) and returns what it found, with every problem reported.
pub(super) fn read<T>(root: &Value, env: &dyn Env, f: impl FnOnce() -> T) -> (T, Vec<ConfigError>) {
    let context = Context {
        vars: referenced(root, env),
        errors: Vec::new(),
        path: String::new(),
        structs: None,
    };
    let (out, context) = scoped(context, f);
    (out, context.errors)
}

/// Runs `f` in recording mode: every struct it reads is listed with its path (map entries are `*`) and its
/// keys; nothing is reported.
pub(super) fn record(f: impl FnOnce()) -> Vec<(String, &'static [&'static str])> {
    let context = Context {
        vars: MapEnv::new(),
        errors: Vec::new(),
        path: String::new(),
        structs: Some(Vec::new()),
    };
    scoped(context, f).1.structs.unwrap_or_default()
}

/// Installs `context` while `f` runs, then restores whatever was there (a read inside a read, or a panic).
fn scoped<T>(context: Context, f: impl FnOnce() -> T) -> (T, Context) {
    struct Restore(Option<Context>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            CONTEXT.with(|c| *c.borrow_mut() = outer);
        }
    }
    let restore = Restore(CONTEXT.with(|c| c.replace(Some(context))));
    let out = f();
    let context = CONTEXT.with(|c| c.borrow_mut().take());
    drop(restore);
    (out, context.expect("installed above"))
}

fn with<R>(f: impl FnOnce(&mut Context) -> R) -> R {
    CONTEXT.with(|c| {
        f(c.borrow_mut()
            .as_mut()
            .expect("the raw configuration is read inside `read::read`"))
    })
}

/// Reports a problem with the value being read.
pub(super) fn report(problem: impl Into<String>, fix: impl Into<String>) {
    with(|cx| {
        if cx.structs.is_none() {
            let key = cx.path.clone();
            cx.errors.push(ConfigError::new(key, problem, fix));
        }
    });
}

/// The dotted path of the value being read.
pub(super) fn path() -> String {
    with(|cx| cx.path.clone())
}

pub(super) fn recording() -> bool {
    with(|cx| cx.structs.is_some())
}

/// The key being read, without its list index: what the user wrote before the colon.
pub(super) fn last_segment() -> String {
    let path = path();
    let last = path
        .rsplit_once('.')
        .map_or(path.as_str(), |(_, last)| last);
    last.split_once('[')
        .map_or(last, |(name, _)| name)
        .to_owned()
}

/// The path goes down into `segment` (a key, or `[i]` for a list item) until this is dropped.
#[must_use]
pub(super) struct Scope(usize);

pub(super) fn enter(segment: &str) -> Scope {
    with(|cx| {
        let len = cx.path.len();
        if !cx.path.is_empty() && !segment.starts_with('[') {
            cx.path.push('.');
        }
        cx.path.push_str(segment);
        Scope(len)
    })
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Not `with`: during a panic the context may be gone already.
        CONTEXT.with(|c| {
            if let Some(cx) = c.borrow_mut().as_mut() {
                cx.path.truncate(self.0);
            }
        });
    }
}

/// Every variable `root` refers to in a string, with its value when it is set. Looking them up before
/// reading costs a lookup for a reference in an unknown key (never reported); it keeps `Env` a plain
/// borrowed trait for its callers.
fn referenced(root: &Value, env: &dyn Env) -> MapEnv {
    struct Seen<'a> {
        env: &'a dyn Env,
        vars: RefCell<HashMap<String, String>>,
    }
    impl Env for Seen<'_> {
        fn var(&self, name: &str) -> Option<String> {
            let value = self.env.var(name)?;
            self.vars
                .borrow_mut()
                .insert(name.to_owned(), value.clone());
            Some(value)
        }
    }
    fn strings(value: &Value, seen: &Seen<'_>) {
        match value {
            Value::String(s) => {
                let _ = expand(s, seen);
            }
            Value::Sequence(items) => items.iter().for_each(|v| strings(v, seen)),
            Value::Mapping(map) => map.values().for_each(|v| strings(v, seen)),
            Value::Tagged(tagged) => strings(&tagged.value, seen),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    let seen = Seen {
        env,
        vars: RefCell::default(),
    };
    strings(root, &seen);
    MapEnv(seen.vars.into_inner())
}

/// The error of a [`Reader`]: the problem has been reported.
#[derive(Debug)]
pub(super) struct Reported;

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a configuration problem (reported)")
    }
}

impl std::error::Error for Reported {}

impl de::Error for Reported {
    /// A problem serde found (a value for a type no shape of ours reads): reported as it says.
    fn custom<T: fmt::Display>(msg: T) -> Self {
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
            Value::Null => {
                report("is empty", "write a value, or remove the key");
                Err(Reported)
            }
            other => {
                report(
                    format!("expected a single value, found {}", describe(other)),
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
    let problems = match with(|cx| expand(text, &cx.vars)) {
        Ok(text) => return Ok(text),
        Err(problems) => problems,
    };
    for problem in problems {
        match problem {
            ExpandError::Unset(name) => {
                let path = path();
                let file_key = format!("{path}_file");
                let fix = if secret && keys::is_known(&file_key) {
                    // `client_secret` -> "secret", `cookie_key` -> "key", `bind_password` -> "password".
                    let noun = path.rsplit(['.', '_']).next().unwrap_or("value");
                    format!("export {name}, or set {file_key} to a file holding the {noun}")
                } else {
                    format!(
                        "export {name} before starting freshgate, or write the value in the file"
                    )
                };
                report(format!("environment variable {name} is not set"), fix);
            }
            ExpandError::Unterminated => report(
                "has `${` without a closing `}`",
                "close the reference (`${NAME}`), or write `$${` for a literal `${`",
            ),
            ExpandError::BadName(name) => report(
                if secret {
                    "has `${` followed by something that is not a variable name".to_owned()
                } else {
                    format!("`${{{name}}}` is not a variable reference")
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

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Reported> {
        // `config::types::Secret` derives `Deserialize` as a newtype struct of that name.
        visitor.visit_newtype_struct(Reader {
            secret: name == "Secret",
            ..self
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Reported> {
        let recorded = with(|cx| {
            let path = cx.path.clone();
            cx.structs
                .as_mut()
                .map(|structs| structs.push((path, fields)))
        });
        if recorded.is_some() {
            // Every key, each given the same stand-in value, so that sections inside are recorded too.
            let every = fields.iter().map(|key| (*key, self.value)).collect();
            return visitor.visit_map(Entries::new(every));
        }
        match self.value {
            Value::Mapping(map) => {
                keys::report_unknown(map, fields);
                let known = fields
                    .iter()
                    .filter_map(|key| map.get(*key).map(|value| (*key, value)))
                    .collect();
                visitor.visit_map(Entries::new(known))
            }
            Value::Null => visitor.visit_map(Entries::new(Vec::new())),
            other => {
                report(
                    format!("expected a mapping of keys, found {}", describe(other)),
                    format!(
                        "write `{}:` followed by indented keys ({})",
                        last_segment(),
                        fields.join(", ")
                    ),
                );
                Err(Reported)
            }
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct seq
        tuple tuple_struct map enum identifier ignored_any
    }
}

/// The known keys of a mapping, handed to a derived struct's visitor, each value read under its key.
struct Entries<'v> {
    entries: std::vec::IntoIter<(&'static str, &'v Value)>,
    next: Option<(&'static str, &'v Value)>,
}

impl<'v> Entries<'v> {
    fn new(entries: Vec<(&'static str, &'v Value)>) -> Self {
        Entries {
            entries: entries.into_iter(),
            next: None,
        }
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Reported;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Reported> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.next = Some((key, value));
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Reported> {
        let (key, value) = self.next.take().expect("serde asks for a key first");
        let _at = enter(key);
        seed.deserialize(Reader::new(value))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_option(FieldVisitor(PhantomData))
    }
}

struct FieldVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldVisitor<T> {
    type Value = Field<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value, or nothing")
    }

    fn visit_none<E: de::Error>(self) -> Result<Field<T>, E> {
        Ok(Field::Absent)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field<T>, E> {
        Ok(Field::Absent)
    }

    /// Never fails: whatever went wrong below has been reported (a [`Reader`] errs only then).
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field<T>, D::Error> {
        Ok(T::deserialize(d).map_or(Field::Invalid, Field::Set))
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

#[cfg(test)]
mod tests {
    use crate::config::env::MapEnv;
    use crate::config::error::ConfigError;
    use crate::config::raw::{Field, RawConfig};
    use crate::config::types::Secret;

    fn read(yaml: &str, env: &MapEnv) -> (RawConfig, Vec<ConfigError>) {
        let value = serde_yaml::from_str(yaml).unwrap();
        let mut errors = Vec::new();
        let raw = RawConfig::from_value(&value, env, &mut errors).unwrap();
        (raw, errors)
    }

    #[test]
    fn a_wrong_value_never_fails_its_section() {
        let (raw, errors) = read(
            "upstream: { scopes: openid, client_id: [x], issuer: https://a, bogus: 1 }\nlisten: 8443\n",
            &MapEnv::new(),
        );
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            ["upstream.bogus", "upstream.client_id", "upstream.scopes"]
        );
        let upstream = raw.upstream.set().unwrap();
        assert_eq!(upstream.issuer, Field::Set("https://a".into()));
        assert_eq!(upstream.client_id, Field::Invalid);
        assert_eq!(upstream.scopes, Field::Invalid);
        assert_eq!(raw.listen, Field::Set("8443".into()));
    }

    #[test]
    fn an_unset_variable_in_a_secret_points_to_its_file_key_when_there_is_one() {
        let (raw, errors) = read(
            "directory: { bind_password: '${BIND}' }\nstore: { url: '${REDIS}', password: '${PW}' }\n",
            &MapEnv::new().with("PW", "s3cr3t"),
        );
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.key.as_str(), e.fix.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "directory.bind_password",
                    "export BIND, or set directory.bind_password_file to a file holding the password"
                ),
                (
                    "store.url",
                    "export REDIS before starting freshgate, or write the value in the file"
                ),
            ]
        );
        let store = raw.store.set().unwrap();
        assert_eq!(store.password, Field::Set(Secret::new("s3cr3t")));
    }

    #[test]
    fn the_problems_of_one_read_stay_with_it() {
        let (_, first) = read("lisen: 1\n", &MapEnv::new());
        let (inner, outer) = super::read(&serde_yaml::Value::Null, &MapEnv::new(), || {
            let _at = super::enter("outer");
            super::report("outer problem", "fix");
            let (_, inner) = read("tls: x\n", &MapEnv::new());
            super::report("still outer", "fix");
            inner
        });
        assert_eq!(first.len(), 1);
        assert_eq!(inner.len(), 1, "{inner:?}");
        assert_eq!(inner[0].key, "tls");
        let outer: Vec<(&str, &str)> = outer
            .iter()
            .map(|e| (e.key.as_str(), e.problem.as_str()))
            .collect();
        assert_eq!(
            outer,
            [("outer", "outer problem"), ("outer", "still outer")]
        );
    }
}
