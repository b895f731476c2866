//! `freshgate check`: everything `serve` would load, plus a live look at the provider, and the values an
//! admin pastes into Freshworks. Every problem is listed; the exit status is 1 when there is any.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::report::{Report, render};
use crate::config::{Config, ConfigErrors, Env, ProcessEnv, Secret, Upstream, validate};
use crate::http_client::client_tls_config;
use crate::keys::{SigningKey, committed, permission_warning};
use crate::metrics::Metrics;
use crate::oidc::{Backchannel, Provider, compatibility};
use crate::server::tls;

/// How long `check` waits for the provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

pub fn main(path: &Path, test_user: Option<&str>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("freshgate check: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(check_with(path, test_user));
    super::print_out(&render(path, &report));
    if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub async fn check(path: &Path) -> Report {
    check_with(path, None).await
}

/// `check`, plus a directory lookup of `test_user` when given.
pub async fn check_with(path: &Path, test_user: Option<&str>) -> Report {
    let mut report = Report::default();
    match validate::load(path, &ProcessEnv) {
        Ok(config) => {
            report
                .ok
                .push(format!("configuration {}", config.source.display()));
            check_config(&config, &mut report).await;
            match &config.directory {
                Some(settings) => {
                    super::directory::check_directory(settings, test_user, &mut report).await
                }
                None if test_user.is_some() => report.problems.push(
                    "--test-user: the configuration has no `directory` section to look the user up in"
                        .into(),
                ),
                None => {}
            }
        }
        Err(errors) => {
            add_config_errors(&errors, &mut report);
            if let Some(env) = StandInSecrets::for_errors(&errors)
                && let Ok(config) = validate::load(path, &env)
            {
                // Only secrets are missing: everything else is still checked and the paste block shown.
                check_config(&config, &mut report).await;
            } else if let Some(upstream) = upstream_from_raw(path) {
                // The provider is still worth a look: an unreachable provider is one more thing to fix.
                check_provider(&upstream, &mut report).await;
            }
        }
    }
    report
}

/// Keys whose value is a secret: an unset variable there stops `serve`, but not the rest of `check`.
const SECRET_KEYS: [&str; 3] = [
    "upstream.client_secret",
    "session.cookie_key",
    "webchat.secret",
];

/// The process environment plus a stand-in for each variable that is unset in a secret key (and only
/// there), so that `check` can go on with everything else. The stand-in is 32 zero bytes in base64: valid
/// as a cookie key and as a Web Chat secret, and never used for anything but this check.
struct StandInSecrets(Vec<String>);

impl StandInSecrets {
    const VALUE: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    /// `None` unless every problem is an unset variable in a secret key.
    fn for_errors(errors: &ConfigErrors) -> Option<StandInSecrets> {
        let mut names = Vec::new();
        for error in &errors.errors {
            let name = error
                .problem
                .strip_prefix("environment variable ")?
                .strip_suffix(" is not set")?;
            if !SECRET_KEYS.contains(&error.key.as_str()) {
                return None;
            }
            names.push(name.to_owned());
        }
        Some(StandInSecrets(names))
    }
}

impl Env for StandInSecrets {
    fn var(&self, name: &str) -> Option<String> {
        ProcessEnv.var(name).or_else(|| {
            self.0
                .iter()
                .any(|unset| unset == name)
                .then(|| Self::VALUE.to_owned())
        })
    }
}

fn add_config_errors(errors: &ConfigErrors, report: &mut Report) {
    for error in &errors.errors {
        let key = if error.key.is_empty() {
            errors.file.display().to_string()
        } else {
            error.key.clone()
        };
        report
            .problems
            .push(format!("{key}: {}\n    fix: {}", error.problem, error.fix));
    }
}

async fn check_config(config: &Config, report: &mut Report) {
    if let Some(files) = &config.tls {
        match tls::acceptor(files) {
            Ok(_) => report.ok.push(format!(
                "TLS certificate {} and key {}",
                files.cert_file.display(),
                files.key_file.display()
            )),
            Err(problem) => report.problems.push(problem),
        }
    }
    let mut public_key = None;
    let mut next_public_key = None;
    if let Some(freshworks) = &config.freshworks
        && let Some(path) = &freshworks.next_signing_key_file
    {
        let key = SigningKey::load(path);
        let committed = key.as_ref().ok().and_then(|key| {
            committed::refusal("freshworks.next_signing_key_file", key, &config.public_url)
        });
        match key {
            Ok(_) if committed.is_some() => report.problems.extend(committed),
            Ok(key) => {
                report.ok.push(format!(
                    "next signing key {} (RSA {} bits; staged for a rollover, nothing is signed with it yet)",
                    path.display(),
                    key.bits()
                ));
                next_public_key = Some(key.public_key_body());
            }
            Err(e) => report
                .problems
                .push(format!("freshworks.next_signing_key_file: {e}")),
        }
    }
    if let Some(freshworks) = &config.freshworks {
        if let Some(warning) = permission_warning(&freshworks.signing_key_file) {
            report.warnings.push(warning);
        }
        let key = SigningKey::load(&freshworks.signing_key_file);
        let committed = key.as_ref().ok().and_then(|key| {
            committed::refusal("freshworks.signing_key_file", key, &config.public_url)
        });
        match key {
            Ok(_) if committed.is_some() => report.problems.extend(committed),
            Ok(key) => {
                report.ok.push(format!(
                    "signing key {} (RSA {} bits; probe signature verified)",
                    freshworks.signing_key_file.display(),
                    key.bits()
                ));
                public_key = Some(key.public_key_body());
            }
            Err(e) => report
                .problems
                .push(format!("freshworks.signing_key_file: {e}")),
        }
    }
    if config.session.cookie_key.is_none() {
        report.warnings.push(
            "session.cookie_key_file is not set: each process makes a random cookie key, so logins in flight break \
             on restart and replicas cannot finish each other's logins"
                .into(),
        );
    }
    if let Some(webchat) = &config.webchat {
        report
            .warnings
            .extend(crate::webchat::start_up_warnings(webchat));
    }
    report.warnings.extend(
        crate::config::warnings(config)
            .iter()
            .map(ToString::to_string),
    );
    if let Some(upstream) = &config.upstream {
        check_provider(upstream, report).await;
    }
    check_store(&config.store, report).await;
    if let Some(freshworks) = &config.freshworks {
        let mut paste = String::new();
        let _ = writeln!(
            paste,
            "Paste into Freshworks (Organization dashboard > Security > Single sign-on > JWT SSO):"
        );
        let _ = writeln!(paste, "  Login URL   {}", config.public("/sso/jwt/login"));
        let _ = writeln!(paste, "  Logout URL  {}", config.public("/sso/jwt/logout"));
        let _ = writeln!(
            paste,
            "  Public key  {}",
            public_key
                .as_deref()
                .unwrap_or("(unavailable until the signing key problem is fixed)")
        );
        if let Some(next) = &next_public_key {
            let _ = writeln!(
                paste,
                "\nKey rollover: the gateway signs with the public key above (in use). Staged next public key\n\
                 (paste it into Freshworks when you swap, docs/operations.md#signing-key-rollover):\n  Next public key  {next}"
            );
        }
        if let Some(upstream) = &config.upstream {
            let _ = writeln!(paste);
            let _ = writeln!(
                paste,
                "Register at the provider, for client `{}`:",
                upstream.client_id
            );
            let _ = writeln!(
                paste,
                "  Redirect URI  {}",
                config.public("/sso/jwt/callback")
            );
        }
        for account in freshworks.accounts.values() {
            if let Some(url) = &account.logout_redirect_url {
                let _ = writeln!(
                    paste,
                    "  Post-logout redirect URI  {url}   (account {})",
                    account.id
                );
            }
        }
        report.paste = Some(paste);
    }
}

/// A Redis / Valkey store must answer: with `on_error: fail_closed` no login works without it.
async fn check_store(settings: &crate::config::StoreSettings, report: &mut Report) {
    use crate::store::Store;
    let crate::config::StoreSettings::Redis(redis) = settings else {
        return;
    };
    let store = match crate::store::redis::RedisStore::new(redis) {
        Ok(store) => store,
        Err(problem) => {
            report.problems.push(problem);
            return;
        }
    };
    match store.ping().await {
        Ok(()) => report.ok.push(format!(
            "shared store keeps what it is told: a value written was read back (keys prefixed `{}`)",
            redis.key_prefix
        )),
        Err(e) => report.problems.push(format!(
            "store: {e}\n    fix: check store.url (the host, the port, redis:// or rediss://), the password and store.ca_file; \
             until it answers, logins are refused (store.on_error: fail_closed) or each replica uses its own memory (fail_open)"
        )),
    }
}

async fn check_provider(upstream: &Upstream, report: &mut Report) {
    let client_tls = match client_tls_config(upstream.ca_file.as_deref()) {
        Ok(client_tls) => client_tls,
        Err(problem) => {
            report.problems.push(format!("upstream.ca_file: {problem}"));
            return;
        }
    };
    let metrics = Arc::new(Metrics::new());
    let provider = Provider::new(
        upstream.clone(),
        Backchannel::new(upstream, client_tls, metrics.clone()),
        metrics,
    );
    // With upstream.backchannel_url the requests go there: problems name what was contacted.
    let (key, contacted, fix) = match &upstream.backchannel_url {
        Some(backchannel) => (
            "upstream.backchannel_url",
            format!(
                "{}{}/.well-known/openid-configuration (upstream.backchannel_url, for {})",
                backchannel.origin().ascii_serialization(),
                upstream.issuer_url.path().trim_end_matches('/'),
                provider.discovery_url()
            ),
            "check that the provider is up and listening at upstream.backchannel_url",
        ),
        None => (
            "upstream.issuer",
            provider.discovery_url(),
            "check that the provider is up and upstream.issuer points at it",
        ),
    };
    match tokio::time::timeout(PROVIDER_TIMEOUT, provider.discover(provider.ids.next())).await {
        Err(_) => report.problems.push(format!(
            "{key}: {contacted} did not answer within {} s\n    fix: {fix}",
            PROVIDER_TIMEOUT.as_secs()
        )),
        Ok(Err(reason)) if reason.contains("(upstream.backchannel_url, for ") => report
            .problems
            .push(format!("{key}: {reason}\n    fix: {fix}")),
        Ok(Err(reason)) => report.problems.push(format!(
            "upstream.issuer: {reason}\n    fix: check that the provider is up and upstream.issuer (and upstream.backchannel_url, if set) point at it"
        )),
        Ok(Ok(discovered)) => {
            let problems = compatibility(&discovered.metadata);
            if problems.is_empty() {
                report.ok.push(format!(
                    "provider {}: issuer matches, {} key(s) in its JWKS",
                    provider.discovery_url(),
                    discovered.jwks.keys().len()
                ));
            }
            for problem in problems {
                report.problems.push(format!("upstream: {problem}"));
            }
        }
    }
}

/// Best effort, for a configuration that did not validate: the upstream keys alone, so `check` can still
/// tell whether the provider answers.
fn upstream_from_raw(path: &Path) -> Option<Upstream> {
    let raw = validate::load_raw(path, &ProcessEnv)?;
    let upstream = raw.upstream.set()?;
    let issuer = upstream.issuer.set()?.clone();
    let issuer_url = url::Url::parse(&issuer).ok()?;
    let backchannel_url = (upstream.backchannel_url.set()).and_then(|s| url::Url::parse(s).ok());
    let base = path.parent().unwrap_or(Path::new("."));
    let ca_file = (upstream.ca_file.set())
        .map(|s| base.join(s))
        .filter(|p| p.exists());
    Some(Upstream {
        issuer,
        proxy_to: backchannel_url
            .clone()
            .unwrap_or_else(|| issuer_url.clone()),
        issuer_url,
        backchannel_url,
        client_id: String::new(),
        client_secret: Secret::new(""),
        scopes: vec!["openid".into()],
        ca_file,
        preserve_host: true,
        email_verified: crate::config::EmailVerified::Required,
        connect_timeout: Duration::from_secs(5),
        response_timeout: PROVIDER_TIMEOUT,
        jwks_refresh: Duration::from_secs(3600),
        groups_claim: "groups".into(),
    })
}
