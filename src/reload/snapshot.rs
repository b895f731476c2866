//! One immutable snapshot of the running configuration: the validated `Config` and everything built from
//! it (signing keys, the TLS certificate, the provider, the directory, the store, the pages' routes).
//!
//! A request takes the snapshot current when it starts and keeps it to the end, so a reload never changes
//! anything under a request, a stream or a WebSocket tunnel in flight. Building a snapshot loads every file
//! it needs; any problem refuses the whole snapshot, and the previous one keeps serving.
//!
//! Parts whose settings did not change are carried over from the previous snapshot instead of being made
//! again, so a reload does not forget what they learned: the provider's discovery document and keys, the
//! directory's service connection, and the memory store's replay guard and throttle counts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use tracing::{info, warn};

use crate::config::{Config, Directory as DirectorySettings, StoreSettings, Upstream};
use crate::directory::Directory;
use crate::forwarding::Forwarding;
use crate::host::Hosts;
use crate::http_client::client_tls_config;
use crate::keys::{SigningKey, permission_warning};
use crate::metrics::Metrics;
use crate::oidc::{Backchannel, Provider};
use crate::proxy::{Passthrough, UpstreamLimits};
use crate::server::tls;
use crate::sso::{Parts, Sso};
use crate::store::Shared;
use crate::webchat::limit::Bucket;

pub struct Snapshot {
    pub config: Arc<Config>,
    pub hosts: Hosts,
    /// `None` without `upstream`.
    pub proxy: Option<Passthrough>,
    pub forwarding: Forwarding,
    pub sso: Option<Sso>,
    pub access_log: bool,
    pub provider: Option<Arc<Provider>>,
    pub directory: Option<Arc<Directory>>,
    pub store: Arc<Shared>,
    /// Whether a Freshworks signing key is configured (and so loaded: a snapshot without it is refused).
    pub signing_key: Option<SigningKey>,
    /// The staged key of a rollover, loaded and checked like the current one.
    pub next_signing_key: Option<SigningKey>,
    /// The certificate to serve, with `tls`.
    pub certificate: Option<Arc<CertifiedKey>>,
    /// Contents of the CA files the provider and the directory were built with, to tell a renewed CA.
    upstream_ca: Option<Vec<u8>>,
    /// The directory's CA file and Kerberos keytab, as read.
    directory_files: (Option<Vec<u8>>, Option<Vec<u8>>),
}

/// What lives for the whole process and every snapshot shares. Whatever bounds work in flight lives here,
/// not in a snapshot: requests in flight on the snapshot a reload replaced still hold their places, so a
/// reload never lets as many again through.
pub struct Process {
    pub metrics: Arc<Metrics>,
    /// The cookie key used when the configuration has none: made once, so a reload keeps logins in
    /// flight working.
    pub random_cookie_key: [u8; 32],
    /// `limits.max_upstream_requests` and `limits.max_upstream_connections` (the per-connection limit
    /// and the connection caps belong to the listener, which reloads do not touch).
    pub upstream_limits: UpstreamLimits,
    /// The Web Chat userinfo budget for opaque tokens (`webchat::limit`).
    pub opaque_lookups: Arc<Bucket>,
}

impl Process {
    pub fn new(metrics: Arc<Metrics>, limits: &crate::config::Limits) -> Process {
        let mut random_cookie_key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut random_cookie_key)
            .expect("the system random number generator works");
        Process {
            metrics,
            random_cookie_key,
            upstream_limits: UpstreamLimits::new(limits),
            opaque_lookups: Arc::new(Bucket::new(
                crate::webchat::limit::OPAQUE_LOOKUP_BURST,
                crate::webchat::limit::OPAQUE_LOOKUPS_PER_SECOND,
            )),
        }
    }
}

impl Snapshot {
    /// Builds a snapshot from `config`, carrying over what `previous` built from the same settings.
    pub fn build(
        config: Config,
        previous: Option<&Snapshot>,
        process: &Process,
    ) -> Result<Snapshot, Vec<String>> {
        let config = Arc::new(config);
        let mut problems = Vec::new();
        let metrics = process.metrics.clone();

        let certificate = match &config.tls {
            None => None,
            Some(files) => match tls::certified_key(files) {
                Ok(key) => Some(key),
                Err(problem) => {
                    problems.push(problem);
                    None
                }
            },
        };
        let (signing_key, next_signing_key) = match &config.freshworks {
            None => (None, None),
            Some(freshworks) => (
                load_key(
                    "freshworks.signing_key_file",
                    &freshworks.signing_key_file,
                    &config.public_url,
                    &mut problems,
                ),
                freshworks
                    .next_signing_key_file
                    .as_deref()
                    .and_then(|path| {
                        load_key(
                            "freshworks.next_signing_key_file",
                            path,
                            &config.public_url,
                            &mut problems,
                        )
                    }),
            ),
        };
        let upstream_ca = read_file(
            "upstream.ca_file",
            config.upstream.as_ref().and_then(|u| u.ca_file.as_deref()),
            &mut problems,
        );
        let directory_ca = read_file(
            "directory.ca_file",
            config.directory.as_ref().and_then(|d| d.ca_file.as_deref()),
            &mut problems,
        );
        // A renewed keytab (new key version after a password change) makes the directory again.
        let directory_keytab = read_file(
            "directory.kerberos.keytab_file",
            config
                .directory
                .as_ref()
                .and_then(|d| d.kerberos.as_ref())
                .map(|k| k.keytab_file.as_path()),
            &mut problems,
        );
        let directory_files = (directory_ca, directory_keytab);
        let client_tls =
            match client_tls_config(config.upstream.as_ref().and_then(|u| u.ca_file.as_deref())) {
                Ok(client_tls) => Some(client_tls),
                Err(problem) => {
                    problems.push(format!("upstream.ca_file: {problem}"));
                    None
                }
            };
        let store = match previous.filter(|p| p.config.store == config.store) {
            Some(previous) => previous.store.clone(),
            None => match Shared::new(&config.store, metrics.clone()) {
                Ok(store) => {
                    let store = Arc::new(store);
                    if let StoreSettings::Redis(_) = config.store {
                        tokio::spawn(
                            store
                                .clone()
                                .keep_checked(std::time::Duration::from_secs(5)),
                        );
                    }
                    store
                }
                Err(problem) => {
                    problems.push(problem);
                    Arc::new(Shared::memory(metrics.clone()))
                }
            },
        };
        let (Some(client_tls), true) = (client_tls, problems.is_empty()) else {
            return Err(problems);
        };

        let provider = config.upstream.as_ref().map(|upstream| {
            match previous.and_then(|p| p.reusable_provider(upstream, &upstream_ca)) {
                Some(provider) => provider,
                None => {
                    let backchannel =
                        Backchannel::new(upstream, client_tls.clone(), metrics.clone());
                    let provider = Arc::new(Provider::new(
                        upstream.clone(),
                        backchannel,
                        metrics.clone(),
                    ));
                    tokio::spawn(provider.clone().keep_fresh());
                    provider
                }
            }
        });
        // The directory is contacted in the background: a gateway that starts before its domain
        // controller (or while it is down) serves, and readiness says why logins cannot work yet.
        let directory = match &config.directory {
            None => None,
            Some(settings) => match previous
                .and_then(|p| p.reusable_directory(settings, &directory_files, &store))
            {
                Some(directory) => Some(directory),
                None => match Directory::new(settings.clone(), metrics.clone(), store.clone()) {
                    Ok(directory) => {
                        let directory = Arc::new(directory);
                        tokio::spawn(directory.clone().keep_checked());
                        Some(directory)
                    }
                    Err(problem) => return Err(vec![problem]),
                },
            },
        };
        let forwarding = Forwarding::new(config.trusted_proxies.clone(), config.tls.is_some());
        let proxy = config.upstream.as_ref().map(|upstream| {
            Passthrough::new(
                upstream,
                config.limits.idle_timeout,
                process.upstream_limits.clone(),
                config.limits.max_upstream_connections,
                forwarding.clone(),
                client_tls,
                metrics.clone(),
            )
        });
        let cookie_key = config
            .session
            .cookie_key
            .unwrap_or(process.random_cookie_key);
        let sso = (config.freshworks.is_some() || config.webchat.is_some()).then(|| {
            Sso::new(Parts {
                config: config.clone(),
                key: signing_key.clone(),
                cookie_key,
                provider: provider.clone(),
                directory: directory.clone(),
                forwarding: forwarding.clone(),
                store: store.clone(),
                metrics: metrics.clone(),
                opaque_lookups: process.opaque_lookups.clone(),
            })
        });
        Ok(Snapshot {
            hosts: Hosts::new(
                &config.public_url,
                config.allowed_hosts.as_deref().unwrap_or_default(),
                config.allowed_hosts.is_none(),
            ),
            proxy,
            forwarding,
            sso,
            access_log: config.log.access_log,
            provider,
            directory,
            store,
            signing_key,
            next_signing_key,
            certificate,
            upstream_ca,
            directory_files,
            config,
        })
    }

    fn reusable_provider(
        &self,
        upstream: &Upstream,
        ca: &Option<Vec<u8>>,
    ) -> Option<Arc<Provider>> {
        let same = self.config.upstream.as_ref() == Some(upstream) && self.upstream_ca == *ca;
        same.then(|| self.provider.clone()).flatten()
    }

    fn reusable_directory(
        &self,
        settings: &DirectorySettings,
        files: &(Option<Vec<u8>>, Option<Vec<u8>>),
        store: &Arc<Shared>,
    ) -> Option<Arc<Directory>> {
        let same = self.config.directory.as_ref() == Some(settings)
            && self.directory_files == *files
            && Arc::ptr_eq(&self.store, store);
        same.then(|| self.directory.clone()).flatten()
    }

    /// Files this snapshot was built from, for change detection: the configuration and every file it names.
    pub fn files(&self) -> Vec<PathBuf> {
        let config = &self.config;
        let mut files = vec![config.source.clone()];
        if let Some(tls) = &config.tls {
            files.push(tls.cert_file.clone());
            files.push(tls.key_file.clone());
        }
        if let Some(freshworks) = &config.freshworks {
            files.push(freshworks.signing_key_file.clone());
            files.extend(freshworks.next_signing_key_file.clone());
        }
        files.extend(config.upstream.as_ref().and_then(|u| u.ca_file.clone()));
        files.extend(config.directory.as_ref().and_then(|d| d.ca_file.clone()));
        if let StoreSettings::Redis(redis) = &config.store {
            files.extend(redis.ca_file.clone());
        }
        files.extend(config.secret_files.iter().map(|f| f.path.clone()));
        files.sort();
        files.dedup();
        files
    }
}

/// Loads the signing key set by `key`; a key committed to freshgate's repository is refused unless
/// `public_url` is local (`keys::committed`).
fn load_key(
    key: &str,
    path: &Path,
    public_url: &url::Url,
    problems: &mut Vec<String>,
) -> Option<SigningKey> {
    if let Some(warning) = permission_warning(path) {
        warn!("{warning}");
    }
    match SigningKey::load(path) {
        Ok(signing_key) => {
            if let Some(problem) = crate::keys::committed::refusal(key, &signing_key, public_url) {
                problems.push(problem);
                return None;
            }
            info!(key, bits = signing_key.bits(), key_id = %signing_key.key_id(), "signing key loaded; probe signature verified");
            Some(signing_key)
        }
        Err(e) => {
            problems.push(format!("{key}: {e}"));
            None
        }
    }
}

/// A file a part is built from (a CA file, the keytab), read to tell a renewed one on reload.
fn read_file(key: &str, path: Option<&Path>, problems: &mut Vec<String>) -> Option<Vec<u8>> {
    let path = path?;
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            problems.push(format!("{key}: {}: cannot read: {e}", path.display()));
            None
        }
    }
}
