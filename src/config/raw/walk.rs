//! The walk itself: sections with their dotted paths, single values (with `${VAR}` expanded), secrets,
//! lists and accounts, each reported with its key when it has the wrong shape.

use serde_yaml::{Mapping, Value};

use super::schema::{ACCOUNT_KEYS, ALLOW_KEYS};
use super::{Field, RawAccount, RawAllow};
use crate::config::env::{Env, ExpandError, expand};
use crate::config::error::ConfigError;
use crate::config::types::Secret;

/// A mapping being walked, with its dotted path. `map` is `None` for a section written empty.
pub(super) struct Section<'v> {
    path: String,
    map: Option<&'v Mapping>,
}

impl<'v> Section<'v> {
    pub(super) fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.and_then(|m| m.get(key))
    }

    pub(super) fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

pub(super) struct Walk<'a> {
    pub(super) env: &'a dyn Env,
    pub(super) errors: &'a mut Vec<ConfigError>,
}

impl Walk<'_> {
    pub(super) fn push(&mut self, key: &str, problem: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(ConfigError::new(key, problem, fix));
    }

    /// A mapping section: reports unknown keys, then builds the raw struct from the known ones.
    pub(super) fn section<T>(
        &mut self,
        path: &str,
        value: Option<&Value>,
        known: &[&str],
        build: impl FnOnce(&mut Self, &Section<'_>) -> T,
    ) -> Field<T> {
        match value {
            None | Some(Value::Null) => Field::Absent,
            Some(Value::Mapping(map)) => {
                self.unknown_keys(path, map, known);
                let section = Section {
                    path: path.to_owned(),
                    map: Some(map),
                };
                Field::Set(build(self, &section))
            }
            Some(other) => {
                self.push(
                    path,
                    format!("expected a mapping of keys, found {}", describe(other)),
                    format!(
                        "write `{}:` followed by indented keys ({})",
                        last_segment(path),
                        known.join(", ")
                    ),
                );
                Field::Invalid
            }
        }
    }

    /// A single value, expanded; numbers and booleans become their text.
    pub(super) fn scalar(&mut self, path: &str, value: Option<&Value>) -> Field<String> {
        self.scalar_inner(path, value, false)
    }

    /// Like `scalar`, for a secret: its value never appears in a message.
    pub(super) fn secret(&mut self, path: &str, value: Option<&Value>) -> Field<Secret> {
        match self.scalar_inner(path, value, true) {
            Field::Set(s) => Field::Set(Secret::new(s)),
            Field::Invalid => Field::Invalid,
            Field::Absent => Field::Absent,
        }
    }

    fn scalar_inner(&mut self, path: &str, value: Option<&Value>, secret: bool) -> Field<String> {
        match value {
            None | Some(Value::Null) => Field::Absent,
            Some(Value::String(s)) => match expand(s, self.env) {
                Ok(s) => Field::Set(s),
                Err(problems) => {
                    for p in problems {
                        self.expand_error(path, p, secret);
                    }
                    Field::Invalid
                }
            },
            Some(Value::Number(n)) => Field::Set(n.to_string()),
            Some(Value::Bool(b)) => Field::Set(b.to_string()),
            Some(other) => {
                self.push(
                    path,
                    format!("expected a single value, found {}", describe(other)),
                    format!(
                        "write one value on the same line: `{}: ...`",
                        last_segment(path)
                    ),
                );
                Field::Invalid
            }
        }
    }

    fn expand_error(&mut self, path: &str, problem: ExpandError, secret: bool) {
        match problem {
            ExpandError::Unset(name) => {
                let fix = match path {
                    "upstream.client_secret" => format!(
                        "export {name}, or set upstream.client_secret_file to a file holding the secret"
                    ),
                    "session.cookie_key" => format!(
                        "export {name}, or set session.cookie_key_file to a file holding the key"
                    ),
                    "webchat.secret" => format!(
                        "export {name}, or set webchat.secret_file to a file holding the secret"
                    ),
                    _ => format!(
                        "export {name} before starting freshgate, or write the value in the file"
                    ),
                };
                self.push(path, format!("environment variable {name} is not set"), fix);
            }
            ExpandError::Unterminated => self.push(
                path,
                "has `${` without a closing `}`",
                "close the reference (`${NAME}`), or write `$${` for a literal `${`",
            ),
            ExpandError::BadName(name) => {
                let problem = if secret {
                    "has `${` followed by something that is not a variable name".to_owned()
                } else {
                    format!("`${{{name}}}` is not a variable reference")
                };
                self.push(
                    path,
                    problem,
                    "variable names are letters, digits and `_` (`${NAME}`, no defaults); write `$${` for a literal `${`",
                );
            }
        }
    }

    /// A list of single values. Any bad item makes the whole list `Invalid` (each bad item is reported).
    pub(super) fn list(&mut self, path: &str, value: Option<&Value>) -> Field<Vec<String>> {
        match value {
            None | Some(Value::Null) => Field::Absent,
            Some(Value::Sequence(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    match self.scalar(&item_path, Some(item)) {
                        Field::Set(s) => out.push(s),
                        Field::Invalid => ok = false,
                        Field::Absent => {
                            self.push(
                                &item_path,
                                "is empty",
                                "remove the empty item from the list",
                            );
                            ok = false;
                        }
                    }
                }
                if ok { Field::Set(out) } else { Field::Invalid }
            }
            Some(other) => {
                let example = match other {
                    Value::String(s) if !s.contains('$') => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => "a, b".to_owned(),
                };
                self.push(
                    path,
                    format!("expected a list, found {}", describe(other)),
                    format!(
                        "write it as a list, e.g. `{}: [{example}]` or one `- item` per line",
                        last_segment(path)
                    ),
                );
                Field::Invalid
            }
        }
    }

    /// One value or a list of them (`url: ldaps://a` or `url: [ldaps://a, ldaps://b]`).
    pub(super) fn one_or_list(&mut self, path: &str, value: Option<&Value>) -> Field<Vec<String>> {
        match value {
            Some(Value::Sequence(_)) => self.list(path, value),
            other => match self.scalar(path, other) {
                Field::Set(s) => Field::Set(vec![s]),
                Field::Absent => Field::Absent,
                Field::Invalid => Field::Invalid,
            },
        }
    }

    /// A mapping of names to single values, in file order.
    pub(super) fn string_map(
        &mut self,
        path: &str,
        value: Option<&Value>,
        fix: &str,
    ) -> Field<Vec<(String, String)>> {
        let map = match value {
            None | Some(Value::Null) => return Field::Absent,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.push(
                    path,
                    format!("expected a mapping, found {}", describe(other)),
                    fix,
                );
                return Field::Invalid;
            }
        };
        let mut out = Vec::with_capacity(map.len());
        let mut ok = true;
        for (key, value) in map {
            let name = key_text(key);
            match self.scalar(&join(path, &name), Some(value)) {
                Field::Set(v) => out.push((name, v)),
                Field::Absent => {
                    self.push(&join(path, &name), "is empty", fix);
                    ok = false;
                }
                Field::Invalid => ok = false,
            }
        }
        if ok { Field::Set(out) } else { Field::Invalid }
    }

    pub(super) fn accounts(&mut self, path: &str, value: Option<&Value>) -> Field<Vec<RawAccount>> {
        let map = match value {
            None | Some(Value::Null) => return Field::Absent,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.push(
                    path,
                    format!("expected a mapping from account id to its settings, found {}", describe(other)),
                    "write each account under its id, e.g. `accounts: { \"12344\": { redirect_url: https://acme.myfreshworks.com/sp/OIDC/12344/implicit } }`",
                );
                return Field::Invalid;
            }
        };
        let mut out = Vec::with_capacity(map.len());
        for (key, value) in map {
            let id = match key {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    self.push(
                        path,
                        format!("an account id is {}, not an id", describe(other)),
                        "use the account id Freshworks shows in its SSO settings, e.g. `\"12344\":`",
                    );
                    continue;
                }
            };
            let account_path = join(path, &id);
            let account = match self.section(&account_path, Some(value), ACCOUNT_KEYS, |w, s| {
                RawAccount {
                    id: id.clone(),
                    redirect_url: w.scalar(&s.path("redirect_url"), s.get("redirect_url")),
                    logout_redirect_url: w
                        .scalar(&s.path("logout_redirect_url"), s.get("logout_redirect_url")),
                    login: w.scalar(&s.path("login"), s.get("login")),
                    allow: w.section(&s.path("allow"), s.get("allow"), ALLOW_KEYS, |w, s| {
                        RawAllow {
                            groups: w.list(&s.path("groups"), s.get("groups")),
                            email_domains: w.list(&s.path("email_domains"), s.get("email_domains")),
                        }
                    }),
                }
            }) {
                Field::Set(account) => account,
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
            };
            out.push(account);
        }
        Field::Set(out)
    }
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn last_segment(path: &str) -> &str {
    let path = path.rsplit_once('.').map_or(path, |(_, last)| last);
    path.split_once('[').map_or(path, |(name, _)| name)
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

pub(super) fn describe_cap(value: &Value) -> String {
    let d = describe(value);
    let mut chars = d.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
