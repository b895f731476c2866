//! Loading: read the file, parse it, read it into `raw` structs, and turn those into a `Config`.
//!
//! Every problem is collected (key, what is wrong, how to fix it) and returned together; a `Config` is only
//! returned when there is none. Secret values are never quoted in a message.
//!
//! This file holds the two entry points and the driver that visits the sections in the order of the file.
//! Each section is checked in its own file (`listen`, `upstream`, `session`, `freshworks`, `webchat`); the
//! checks they share are in `values` (scalars and URLs) and `files` (files and secrets).

mod directory;
mod files;
mod freshworks;
mod insecure;
mod kerberos;
mod listen;
mod session;
mod store;
#[cfg(test)]
mod tests;
mod upstream;
pub(crate) mod values;
mod webchat;

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::env::Env;
use super::error::{ConfigError, ConfigErrors};
use super::raw::{Field, RawConfig, RawLimits, RawLog, RawReload, RawSession, top_keys};
use super::types::{Config, LoginMethod, SecretFile};
use files::{ReadError, absolute, read_limited};

pub use directory::{
    AD_USER_FILTER, OPENLDAP_USER_FILTER, USERNAME_PLACEHOLDER, default_attributes,
};
pub use freshworks::{FRESHWORKS_CLAIMS, default_mapping};
pub use webchat::DEFAULT_CONTACT_PROPERTIES;

/// The configuration file is refused past this size (a file that large is not a gateway configuration).
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path, env: &dyn Env) -> Result<Config, ConfigErrors> {
    load_str(&read_text(path)?, path, env)
}

/// The raw settings of the file at `path`, read as `load` reads them, whatever problems they have (a value
/// with one is `Field::Invalid`); `None` when the file cannot be read or is not YAML. `freshgate check`
/// uses it to look at the provider of a configuration that does not validate.
pub fn load_raw(path: &Path, env: &dyn Env) -> Option<RawConfig> {
    parse(&read_text(path).ok()?, env, &mut Vec::new())
}

/// The file's text, refused when it cannot be read, is too large or is not UTF-8.
fn read_text(path: &Path) -> Result<String, ConfigErrors> {
    match read_limited(path, MAX_CONFIG_BYTES) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            ConfigErrors::new(
                path,
                vec![ConfigError::new(
                    "",
                    format!(
                        "cannot read {}: it is not UTF-8 text",
                        absolute(path).display()
                    ),
                    "save the configuration as UTF-8 YAML",
                )],
            )
        }),
        Err(e) => {
            let shown = absolute(path);
            let problem = match e {
                ReadError::TooLarge => format!(
                    "cannot read {}: it is larger than {} KiB, which no gateway configuration is",
                    shown.display(),
                    MAX_CONFIG_BYTES / 1024
                ),
                e => format!("cannot read {}: {}", shown.display(), e.describe()),
            };
            Err(ConfigErrors::new(
                path,
                vec![ConfigError::new(
                    "",
                    problem,
                    "check the path of the configuration file and that freshgate's user may read it",
                )],
            ))
        }
    }
}

/// Only the admin listener's address (`None` for `admin_listen: off`), for the commands that talk to a
/// running gateway (`freshgate health`, `freshgate reload`): they need nothing else from the file, so a
/// problem elsewhere in it (a secret file being rotated, say) is not theirs to report.
pub fn admin_listen(
    path: &Path,
    env: &dyn Env,
) -> Result<Option<std::net::SocketAddr>, ConfigErrors> {
    let fail = |errors: Vec<ConfigError>| Err(ConfigErrors::new(path, errors));
    let text = match read_limited(path, MAX_CONFIG_BYTES).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            return fail(vec![ConfigError::new(
                "",
                format!(
                    "cannot read {}: it is not UTF-8 text",
                    absolute(path).display()
                ),
                "save the configuration as UTF-8 YAML",
            )]);
        }
        Err(e) => {
            return fail(vec![ConfigError::new(
                "",
                format!("cannot read {}: {}", absolute(path).display(), e.describe()),
                "name the gateway's configuration file with -c, or its admin address with --url",
            )]);
        }
    };
    let mut errors = Vec::new();
    let Some(raw) = parse(&text, env, &mut errors) else {
        return fail(errors);
    };
    let mut v = Validator {
        base: absolute(path.parent().unwrap_or(Path::new(""))),
        errors: errors
            .into_iter()
            .filter(|e| e.key == "admin_listen")
            .collect(),
        secret_files: Vec::new(),
    };
    let addr = v.admin_listen(&raw.admin_listen, None);
    match addr {
        Some(addr) if v.errors.is_empty() => Ok(addr),
        _ => fail(v.errors),
    }
}

/// Parses the YAML and reads it into raw settings; `None` when there is nothing to read (reported).
fn parse(text: &str, env: &dyn Env, errors: &mut Vec<ConfigError>) -> Option<RawConfig> {
    let mut value: Value = match serde_yaml::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            errors.push(super::raw::yaml_error(text, &e));
            return None;
        }
    };
    if let Err(e) = value.apply_merge() {
        errors.push(ConfigError::new(
            "",
            format!("a YAML merge key (`<<`) cannot be applied: {e}"),
            "merge only mappings: `<<: *anchor` where the anchor names a mapping",
        ));
        return None;
    }
    RawConfig::from_value(&value, env, errors)
}

/// Validates configuration text. `source` is the file it came from: it names the file in messages and
/// relative paths in the configuration are resolved against its directory.
pub fn load_str(text: &str, source: &Path, env: &dyn Env) -> Result<Config, ConfigErrors> {
    let fail = |errors: Vec<ConfigError>| Err(ConfigErrors::new(source, errors));
    let mut errors = Vec::new();
    let Some(raw) = parse(text, env, &mut errors) else {
        return fail(errors);
    };
    let mut v = Validator {
        base: absolute(source.parent().unwrap_or(Path::new(""))),
        errors,
        secret_files: Vec::new(),
    };
    let config = v.config(&raw, source);
    match config {
        Some(config) if v.errors.is_empty() => Ok(config),
        _ => {
            if v.errors.is_empty() {
                // Every path that yields no value reports why; this only guards against a missed one.
                v.errors.push(ConfigError::new(
                    "",
                    "the configuration is incomplete",
                    "compare it with the example configuration",
                ));
            }
            let mut errors = v.errors;
            // Group by top-level section, in the order the example file has them (stable: within a
            // section, problems keep the order they were found in).
            errors.sort_by_key(|e| section_rank(&e.key));
            fail(errors)
        }
    }
}

/// Where a key's problems are listed: whole-file problems, unknown top-level keys, then by section.
fn section_rank(key: &str) -> usize {
    if key.is_empty() {
        return 0;
    }
    let top = key.split(['.', '[']).next().unwrap_or(key);
    top_keys()
        .iter()
        .position(|k| *k == top)
        .map_or(1, |i| i + 2)
}

struct Validator {
    /// Absolute directory of the configuration file, for relative paths.
    base: PathBuf,
    errors: Vec<ConfigError>,
    /// Every secret file read so far, for `Config::secret_files`.
    secret_files: Vec<SecretFile>,
}

impl Validator {
    /// Every login method in use has its section: `upstream` for OIDC accounts and Web Chat (and a gateway
    /// with neither Freshworks nor Web Chat, which only passes through), `directory` for directory accounts.
    fn login_methods(
        &mut self,
        raw: &RawConfig,
        freshworks: Option<&Option<super::types::Freshworks>>,
        webchat: Option<&Option<super::types::Webchat>>,
    ) {
        let accounts = freshworks
            .and_then(Option::as_ref)
            .map(|f| f.accounts.values().collect::<Vec<_>>())
            .unwrap_or_default();
        let oidc_accounts: Vec<&str> = accounts
            .iter()
            .filter(|a| a.login == LoginMethod::Oidc)
            .map(|a| a.id.as_str())
            .collect();
        let directory_accounts: Vec<&str> = accounts
            .iter()
            .filter(|a| a.login == LoginMethod::Directory)
            .map(|a| a.id.as_str())
            .collect();
        let webchat_on = matches!(webchat, Some(Some(_))) || raw.webchat.is_present();
        let freshworks_written = raw.freshworks.is_present();
        if !raw.upstream.is_present() {
            if !oidc_accounts.is_empty() {
                for id in &oidc_accounts {
                    self.push(
                        &format!("freshworks.accounts.{id}.login"),
                        "logs in at the OpenID provider (`oidc`, the default), but there is no `upstream` section",
                        "add an `upstream:` section with issuer, client_id and client_secret, or set `login: directory` for this account",
                    );
                }
            } else if webchat_on {
                self.push(
                    "upstream",
                    "is required by `webchat` (its users sign in at the OpenID provider) but not set",
                    "add an `upstream:` section with issuer, client_id and client_secret (the OpenID provider)",
                );
            } else if !freshworks_written {
                self.push(
                    "upstream",
                    "is required but not set",
                    "add an `upstream:` section with issuer, client_id and client_secret (the OpenID provider), or a `freshworks` section whose accounts use `login: directory`",
                );
            }
        }
        if !raw.directory.is_present() {
            for id in &directory_accounts {
                self.push(
                    &format!("freshworks.accounts.{id}.login"),
                    "is `directory`, but there is no `directory` section",
                    "add a `directory:` section (url, bind_dn, bind_password_file, base_dn), or remove `login: directory` to log in at the OpenID provider",
                );
            }
        }
    }

    fn push(&mut self, key: &str, problem: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(ConfigError::new(key, problem, fix));
    }

    /// The value of a required key; reports it when absent.
    fn required<'f, T>(&mut self, key: &str, field: &'f Field<T>, fix: &str) -> Option<&'f T> {
        match field {
            Field::Set(v) => Some(v),
            Field::Invalid => None,
            Field::Absent => {
                self.push(key, "is required but not set", fix);
                None
            }
        }
    }

    fn config(&mut self, raw: &RawConfig, source: &Path) -> Option<Config> {
        let listen = self
            .required(
                "listen",
                &raw.listen,
                "add `listen: 0.0.0.0:8443` (the address and port to serve on)",
            )
            .and_then(|s| self.socket_addr("listen", s));
        let public_url = self
            .required(
                "public_url",
                &raw.public_url,
                "add `public_url: https://sso.example.com` (how browsers reach the gateway)",
            )
            .and_then(|s| self.public_url(s));
        let tls = match &raw.tls {
            Field::Set(tls) => self.tls(tls).map(Some),
            Field::Absent => Some(None),
            Field::Invalid => None,
        };
        if let Some(url) = &public_url {
            self.refuse_plain_http_public_url(url);
        }
        let admin_listen = self.admin_listen(&raw.admin_listen, listen);
        let trusted_proxies = self.trusted_proxies(&raw.trusted_proxies);
        if let Some(nets) = &trusted_proxies {
            self.refuse_trusting_everyone(nets);
        }
        let allowed_hosts = self.allowed_hosts(&raw.allowed_hosts);
        let log = self.log(raw.log.set().unwrap_or(&RawLog::default()));
        let limits = self.limits(raw.limits.set().unwrap_or(&RawLimits::default()));
        let upstream = match &raw.upstream {
            Field::Set(u) => self.upstream(u).map(Some),
            Field::Absent => Some(None),
            Field::Invalid => None,
        };
        let directory = match &raw.directory {
            Field::Set(d) => self.directory(d, public_url.as_ref()).map(Some),
            Field::Absent => Some(None),
            Field::Invalid => None,
        };
        let session = self.session(raw.session.set().unwrap_or(&RawSession::default()));
        let store = match &raw.store {
            Field::Set(store) => self.store(store),
            Field::Absent => Some(super::types::StoreSettings::Memory),
            Field::Invalid => None,
        };
        let reload_poll = self.reload(raw.reload.set().unwrap_or(&RawReload::default()));
        let freshworks = match &raw.freshworks {
            Field::Set(f) => self.freshworks(f).map(Some),
            Field::Absent => Some(None),
            Field::Invalid => None,
        };
        let webchat = match &raw.webchat {
            Field::Set(w) => self.webchat(w).map(Some),
            Field::Absent => Some(None),
            Field::Invalid => None,
        };
        self.login_methods(raw, freshworks.as_ref(), webchat.as_ref());
        let mut secret_files = Vec::new();
        if let Some(Some(files)) = &tls {
            secret_files.push(SecretFile {
                key: "tls.key_file".into(),
                path: files.key_file.clone(),
            });
        }
        secret_files.append(&mut self.secret_files);
        Some(Config {
            source: source.to_path_buf(),
            listen: listen?,
            public_url: public_url?,
            tls: tls?,
            admin_listen: admin_listen?,
            trusted_proxies: trusted_proxies?,
            allowed_hosts: allowed_hosts?,
            log: log?,
            limits: limits?,
            upstream: upstream?,
            directory: directory?,
            session: session?,
            store: store?,
            reload_poll: reload_poll?,
            freshworks: freshworks?,
            webchat: webchat?,
            secret_files,
        })
    }
}
