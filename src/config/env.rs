//! Where `${VAR}` references in the configuration get their values, and the expansion itself.
//!
//! The environment is behind a trait so tests inject a map instead of touching the process environment.
//! Expansion runs on each YAML string scalar after parsing (so a problem can name the key it is in):
//! `${NAME}` is replaced by the variable's value, `$${` stands for a literal `${`, and any other `$` is kept.
//! Values substituted in are not expanded again.

use std::collections::HashMap;

/// A source of environment variables.
pub trait Env {
    /// The variable's value, or `None` when it is not set (or is not valid UTF-8).
    fn var(&self, name: &str) -> Option<String>;
}

/// A lookup function is an environment.
impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The process environment (`std::env::var`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed set of variables, for tests and embedding.
#[derive(Clone, Default)]
pub struct MapEnv(pub HashMap<String, String>);

impl MapEnv {
    pub fn new() -> Self {
        MapEnv(HashMap::new())
    }

    /// Adds a variable, builder style.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }
}

/// Names only: the values may be secrets.
impl std::fmt::Debug for MapEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        f.debug_tuple("MapEnv").field(&names).finish()
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// Why a string could not be expanded. Never carries the string itself (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// `${NAME}` where `NAME` is not set.
    Unset(String),
    /// `${` without a closing `}`.
    Unterminated,
    /// `${...}` whose content is not a variable name (letters, digits, `_`, not starting with a digit).
    BadName(String),
}

/// Replaces every `${NAME}` in `text`; reports every problem in it, not just the first.
pub(crate) fn expand(text: &str, env: &dyn Env) -> Result<String, Vec<ExpandError>> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                errors.push(ExpandError::Unterminated);
                rest = "";
                break;
            };
            let name = &after[..end];
            if !is_var_name(name) {
                errors.push(ExpandError::BadName(name.to_owned()));
            } else {
                match env.var(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        let unset = ExpandError::Unset(name.to_owned());
                        if !errors.contains(&unset) {
                            errors.push(unset);
                        }
                    }
                }
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> MapEnv {
        MapEnv::new()
            .with("HOST", "sso.example.com")
            .with("PORT", "8443")
            .with("EMPTY", "")
    }

    #[test]
    fn a_reference_is_replaced_by_the_variable() {
        assert_eq!(
            expand("https://${HOST}:${PORT}/realms", &env()).unwrap(),
            "https://sso.example.com:8443/realms"
        );
    }

    #[test]
    fn a_variable_set_to_the_empty_string_counts_as_set() {
        assert_eq!(expand("a${EMPTY}b", &env()).unwrap(), "ab");
    }

    #[test]
    fn text_without_references_is_unchanged() {
        assert_eq!(
            expand("plain $ text $5 $$ {x}", &env()).unwrap(),
            "plain $ text $5 $$ {x}"
        );
    }

    #[test]
    fn a_doubled_dollar_before_a_brace_is_a_literal_reference() {
        assert_eq!(
            expand("$${HOST} and ${HOST}", &env()).unwrap(),
            "${HOST} and sso.example.com"
        );
        // Read left to right: a lone `$`, then the escape.
        assert_eq!(expand("$$${HOST}", &env()).unwrap(), "$${HOST}");
    }

    #[test]
    fn substituted_values_are_not_expanded_again() {
        let env = MapEnv::new().with("A", "${B}").with("B", "no");
        assert_eq!(expand("${A}", &env).unwrap(), "${B}");
    }

    #[test]
    fn every_unset_variable_is_reported_once() {
        assert_eq!(
            expand("${NOPE}:${HOST}:${ALSO_NOPE}:${NOPE}", &env()).unwrap_err(),
            vec![
                ExpandError::Unset("NOPE".into()),
                ExpandError::Unset("ALSO_NOPE".into())
            ]
        );
    }

    #[test]
    fn a_malformed_reference_is_reported() {
        assert_eq!(
            expand("${HOST", &env()).unwrap_err(),
            vec![ExpandError::Unterminated]
        );
        assert_eq!(
            expand("${X:-default}", &env()).unwrap_err(),
            vec![ExpandError::BadName("X:-default".into())]
        );
        assert_eq!(
            expand("${}", &env()).unwrap_err(),
            vec![ExpandError::BadName(String::new())]
        );
        assert_eq!(
            expand("${1A}", &env()).unwrap_err(),
            vec![ExpandError::BadName("1A".into())]
        );
    }

    #[test]
    fn map_env_debug_shows_names_but_not_values() {
        let shown = format!("{:?}", MapEnv::new().with("SECRET", "hunter2"));
        assert!(shown.contains("SECRET"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn process_env_reads_the_process_environment() {
        // PATH is set in any environment the tests run in; nothing is written to the environment.
        assert!(ProcessEnv.var("PATH").is_some());
        assert_eq!(ProcessEnv.var("FRESHGATE_SURELY_NOT_SET_0d9f1c"), None);
    }
}
