//! Configuration: `gateway.yaml -> raw::RawConfig -> validate -> types::Config`.
//!
//! 1. The file is read and parsed as YAML, then read by serde into the `raw` structs, which are the
//!    schema (one field per key; [`known_keys`] lists them). Every key not in it is reported with its
//!    dotted path (and a suggestion when it looks like a typo), every value of the wrong shape with its key.
//! 2. String values of known keys have their `${VAR}` references replaced from the environment (`env.rs`)
//!    as they are read, so an unset variable is reported with the key that uses it.
//! 3. `validate` turns the raw structs into the immutable `types::Config`, applying defaults, parsing
//!    durations (`duration.rs`), URLs, addresses and CIDRs, and reading `*_file` secrets. It never stops at
//!    the first problem: every problem is collected with the key, what is wrong and how to fix it.
//!
//! Relative paths in the file are resolved against the directory that holds the file. Settings nothing
//! legitimate needs are refused there too; `warnings` lists the ones that only weaken the gateway.

pub mod duration;
pub mod env;
pub mod error;
pub mod known;
pub mod raw;
pub mod types;
pub mod validate;
pub mod warnings;

pub use env::{Env, MapEnv, ProcessEnv};
pub use error::{ConfigError, ConfigErrors};
pub use known::known_keys;
pub use types::*;
pub use warnings::{log_warnings, warnings};
