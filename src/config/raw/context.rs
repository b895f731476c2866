//! The context of one read: the problems found so far, the dotted path of the value being read, and the
//! variables the file refers to.
//!
//! It is a thread-local because serde's derived code passes nothing but the deserializer from a struct to its
//! fields: the reader and the shapes report to it and move its path down and up with [`enter`]. The variables
//! are looked up before reading, so that the context owns them instead of borrowing the caller's `Env`. In
//! recording mode nothing is reported; the structs met are listed instead (`super::known_keys`).

use std::cell::RefCell;

use serde_yaml::Value;

use crate::config::env::{self, Env, ExpandError, MapEnv};
use crate::config::error::ConfigError;

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

#[derive(Default)]
struct Context {
    /// The variables the file refers to, looked up once before reading.
    vars: MapEnv,
    errors: Vec<ConfigError>,
    /// Dotted path of the value being read, e.g. `upstream.scopes[1]`.
    path: String,
    /// Recording mode: each struct met, with its path and its keys.
    structs: Option<Vec<(String, &'static [&'static str])>>,
}

/// Runs `f`, which reads `root` with `Reader`s, and returns what it found with every problem reported.
pub(super) fn read<T>(root: &Value, env: &dyn Env, f: impl FnOnce() -> T) -> (T, Vec<ConfigError>) {
    let vars = referenced(root, env);
    let (out, context) = scoped(
        Context {
            vars,
            ..Context::default()
        },
        f,
    );
    (out, context.errors)
}

/// Runs `f` in recording mode: every struct it reads is listed with its path (a mapping's entries are
/// `*`) and its keys; nothing is reported.
pub(super) fn record(f: impl FnOnce()) -> Vec<(String, &'static [&'static str])> {
    let recording = Context {
        structs: Some(Vec::new()),
        ..Context::default()
    };
    scoped(recording, f).1.structs.unwrap_or_default()
}

/// Installs `context` while `f` runs, then puts back what was there (a read inside a read; a panic).
fn scoped<T>(context: Context, f: impl FnOnce() -> T) -> (T, Context) {
    struct Restore(Option<Context>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CONTEXT.with(|c| *c.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(CONTEXT.with(|c| c.replace(Some(context))));
    let out = f();
    (out, CONTEXT.with(|c| c.take()).expect("installed above"))
}

fn with<R>(f: impl FnOnce(&mut Context) -> R) -> R {
    CONTEXT.with(|c| {
        f(c.borrow_mut()
            .as_mut()
            .expect("the raw configuration is read inside `context::read`"))
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

/// In recording mode: notes a struct at the current path with its keys, and says so.
pub(super) fn recorded(keys: &'static [&'static str]) -> bool {
    with(|cx| {
        let path = cx.path.clone();
        cx.structs
            .as_mut()
            .map(|structs| structs.push((path, keys)))
            .is_some()
    })
}

pub(super) fn recording() -> bool {
    with(|cx| cx.structs.is_some())
}

/// `text` with its `${VAR}` references replaced from the variables the file refers to.
pub(super) fn expand(text: &str) -> Result<String, Vec<ExpandError>> {
    with(|cx| env::expand(text, &cx.vars))
}

/// The key being read, without a list index: what the file has before the colon.
pub(super) fn last_segment() -> String {
    let path = path();
    let last = path.rsplit('.').next().unwrap_or_default();
    last.split('[').next().unwrap_or_default().to_owned()
}

/// The path goes down into a key (or a list item, [`enter_item`]) until this is dropped.
#[must_use]
pub(super) struct Scope(usize);

pub(super) fn enter(key: &str) -> Scope {
    with(|cx| {
        let len = cx.path.len();
        if len > 0 {
            cx.path.push('.');
        }
        cx.path.push_str(key);
        Scope(len)
    })
}

/// The path goes down into item `i` of a list (`key[i]`).
pub(super) fn enter_item(i: usize) -> Scope {
    with(|cx| {
        let len = cx.path.len();
        cx.path.push_str(&format!("[{i}]"));
        Scope(len)
    })
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Not `with`: after a panic the context may be gone already.
        CONTEXT.with(|c| c.borrow_mut().as_mut().map(|cx| cx.path.truncate(self.0)));
    }
}

/// Every variable a string of `root` refers to, with its value when it is set.
fn referenced(root: &Value, env: &dyn Env) -> MapEnv {
    fn strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
        match value {
            Value::String(s) => out.push(s),
            Value::Sequence(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Mapping(map) => map.values().for_each(|v| strings(v, out)),
            Value::Tagged(tagged) => strings(&tagged.value, out),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    let seen = RefCell::new(MapEnv::new());
    let looked_up = |name: &str| {
        let value = env.var(name)?;
        seen.borrow_mut().0.insert(name.to_owned(), value.clone());
        Some(value)
    };
    let mut texts = Vec::new();
    strings(root, &mut texts);
    for text in texts {
        let _ = env::expand(text, &looked_up);
    }
    seen.into_inner()
}
