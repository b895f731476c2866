//! Accepting a Negotiate token with MIT krb5's GSS-API (`gss_accept_sec_context`, RFC 2743 §2.2.2).
//!
//! GSS-API calls block (they read the keytab and write the replay cache), so each runs on tokio's blocking
//! pool, at most `MAX_CONCURRENT_ACCEPTS` at once; further requests wait for a permit rather than tie up
//! more threads. One acceptor credential, made at start-up from the configured keytab, serves every call.
//!
//! The replay cache (RFC 4120 §3.2.3: an authenticator is accepted once) is a file in a directory of this
//! process's own, mode 0700, removed when the acceptor is dropped: not the per-user default in /var/tmp,
//! which every process of the same user (another gateway, a test) would share and could fill or clear.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use libgssapi::context::{SecurityContext, ServerCtx};
use libgssapi::credential::Cred;
use libgssapi::oid::{GSS_MECH_KRB5, Oid};
use tokio::sync::Semaphore;

use super::{Accepted, Refused, TokenError, keytab};
use crate::config::Kerberos;

/// GSS-API calls in flight at once (each holds a blocking-pool thread for a millisecond or so).
const MAX_CONCURRENT_ACCEPTS: usize = 8;

pub struct Acceptor {
    cred: Cred,
    service_principal: String,
    permits: Arc<Semaphore>,
    rcache: PrivateDir,
}

impl Acceptor {
    /// The acceptor for `settings`: the keytab must hold a key for the service principal (checked here, so
    /// a wrong keytab stops the start, not the first login).
    pub fn new(settings: &Kerberos) -> Result<Self, String> {
        let entries = keytab::read(&settings.keytab_file)
            .map_err(|problem| format!("directory.kerberos.keytab_file: {problem}"))?;
        if !entries.iter().any(|entry| {
            entry
                .principal
                .eq_ignore_ascii_case(&settings.service_principal)
        }) {
            return Err(format!(
                "directory.kerberos.keytab_file: {} holds no key for {} (it has: {}); export the keytab for that principal, or set directory.kerberos.service_principal",
                settings.keytab_file.display(),
                settings.service_principal,
                principals(&entries)
            ));
        }
        let rcache = PrivateDir::new()?;
        let name = format!("file2:{}", rcache.0.join("acceptor.rcache2").display());
        let cred =
            super::cred_store::acceptor(&settings.keytab_file, &name).map_err(|problem| {
                format!(
                    "directory.kerberos.keytab_file: GSS-API cannot use {}: {problem}",
                    settings.keytab_file.display()
                )
            })?;
        Ok(Acceptor {
            cred,
            service_principal: settings.service_principal.clone(),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_ACCEPTS)),
            rcache,
        })
    }

    /// The replay cache's directory (for tests and logs).
    pub fn rcache_dir(&self) -> &Path {
        &self.rcache.0
    }

    /// Accepts a decoded initial token (`super::token::decode`): the client's principal and the mutual
    /// authentication token, or why not.
    pub async fn accept(&self, token: Vec<u8>) -> Result<Accepted, Refused> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Refused::from(TokenError::Failed))?;
        let cred = self.cred.clone();
        let service = self.service_principal.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            accept_blocking(cred, &token, &service)
        })
        .await;
        joined.unwrap_or_else(|_| {
            Err(Refused {
                error: TokenError::Failed,
                detail: "the GSS-API call panicked".into(),
            })
        })
    }
}

fn accept_blocking(cred: Cred, token: &[u8], service: &str) -> Result<Accepted, Refused> {
    let refused = |e: libgssapi::error::Error| {
        let message = e.to_string();
        Refused {
            error: TokenError::from_status(e.major.bits(), e.minor, &message),
            detail: crate::logging::one_line(&format!(
                "{message} (major {:#x}, minor {})",
                e.major.bits(),
                e.minor as i32
            )),
        }
    };
    let mut context = ServerCtx::new(Some(cred));
    let reply = context.step(token, None).map_err(refused)?;
    if !context.is_complete() {
        return Err(Refused {
            error: TokenError::Incomplete,
            detail: "the mechanism asked for another round trip".into(),
        });
    }
    let mechanism = context.mechanism().map_err(refused)?;
    if mechanism != GSS_MECH_KRB5 && mechanism != MS_KRB5 {
        return Err(Refused {
            error: TokenError::Unsupported,
            detail: format!("negotiated mechanism {mechanism}"),
        });
    }
    let target = display(&context.target_name().map_err(refused)?);
    if !target.eq_ignore_ascii_case(service) {
        return Err(Refused {
            error: TokenError::WrongPrincipal,
            detail: format!("the ticket is for {target}, not {service}"),
        });
    }
    let principal = display(&context.source_name().map_err(refused)?);
    let mutual_token = reply
        .filter(|reply| !reply.is_empty())
        .map(|reply| base64::engine::general_purpose::STANDARD.encode(&*reply));
    Ok(Accepted {
        principal,
        mutual_token,
    })
}

/// Microsoft's Kerberos OID (1.2.840.48018.1.2.2), which MIT reports when the client offered it.
static MS_KRB5: Oid<'static> = Oid::from_slice(b"\x2a\x86\x48\x82\xf7\x12\x01\x02\x02");

fn display(name: &libgssapi::name::Name) -> String {
    name.display_name()
        .map(|buf| String::from_utf8_lossy(&buf).into_owned())
        .unwrap_or_default()
}

fn principals(entries: &[keytab::KeytabEntry]) -> String {
    let mut names: Vec<&str> = entries.iter().map(|e| e.principal.as_str()).collect();
    names.dedup();
    if names.is_empty() {
        "no keys".into()
    } else {
        names.join(", ")
    }
}

/// A directory only this process uses (mode 0700 on Unix), removed with everything in it on drop.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn new() -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!(
            "freshgate-krb5-{}-{}",
            std::process::id(),
            crate::oidc::flow::random_token()
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path).map_err(|e| {
            format!(
                "directory.kerberos: cannot make the replay cache's directory {}: {e} (set TMPDIR to a writable directory)",
                path.display()
            )
        })?;
        Ok(PrivateDir(path))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
