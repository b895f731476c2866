//! Accepting a Negotiate token with MIT krb5's GSS-API (`gss_accept_sec_context`, RFC 2743 §2.2.2).
//!
//! GSS-API calls block (they read the keytab), so each runs on tokio's blocking pool, at most
//! `MAX_CONCURRENT_ACCEPTS` at once; further requests wait for a permit rather than tie up more threads.
//! One acceptor credential, made at start-up from the configured keytab, serves every call.
//!
//! Replays (RFC 4120 §3.2.3: an authenticator is accepted once) are the shared store's business, not
//! MIT's: once GSS-API has accepted a token, its authenticator (`ap_req::ApReq::replay_key`, whatever
//! the wrapping) is marked used with `Store::first_use`, atomic in memory and in Redis/Valkey (`SET NX`),
//! for as long as Kerberos could accept it (`REPLAY_TTL`). The store outlives a reload that rebuilds the
//! directory, and with Redis/Valkey a restart, and replicas share it. MIT's own replay cache is off
//! (`none:`): it was a file per acceptor, forgotten by every reload and restart, private to each replica,
//! and it needs a writable directory, which a read-only root file system does not give.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use libgssapi::context::{SecurityContext, ServerCtx};
use libgssapi::credential::Cred;
use libgssapi::oid::{GSS_MECH_KRB5, Oid};
use tokio::sync::Semaphore;

use super::ap_req::ApReq;
use super::keytab::{self, Mismatch};
use super::{AcceptError, Accepted, Refused, TokenError};
use crate::config::Kerberos;
use crate::store::Shared;

/// GSS-API calls in flight at once (each holds a blocking-pool thread for a millisecond or so).
const MAX_CONCURRENT_ACCEPTS: usize = 8;
/// Kerberos' default clock skew (`clockskew` in krb5.conf, MIT's and Active Directory's default): an
/// authenticator is accepted while its time is within this of the gateway's (RFC 4120 §3.2.3).
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);
/// How long a used authenticator is remembered: the skew on both sides of its time, the whole span in
/// which GSS-API would accept it.
pub const REPLAY_TTL: Duration = Duration::from_secs(2 * CLOCK_SKEW.as_secs());
/// MIT's replay cache type that keeps nothing (krb5 1.18+): the store keeps replays instead.
const NO_RCACHE: &str = "none:";

pub struct Acceptor {
    cred: Cred,
    service_principal: String,
    keytab_file: PathBuf,
    permits: Arc<Semaphore>,
    store: Arc<Shared>,
}

impl Acceptor {
    /// The acceptor for `settings`: the keytab must hold a key for the service principal (checked here, so
    /// a wrong keytab stops the start, not the first login). Used authenticators go to `store`.
    pub fn new(settings: &Kerberos, store: Arc<Shared>) -> Result<Self, String> {
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
        let cred =
            super::cred_store::acceptor(&settings.keytab_file, NO_RCACHE).map_err(|problem| {
                format!(
                    "directory.kerberos.keytab_file: GSS-API cannot use {}: {problem}",
                    settings.keytab_file.display()
                )
            })?;
        Ok(Acceptor {
            cred,
            service_principal: settings.service_principal.clone(),
            keytab_file: settings.keytab_file.clone(),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_ACCEPTS)),
            store,
        })
    }

    /// Accepts a decoded initial token (`super::token::decode`) once: the client's principal and the
    /// mutual authentication token, or why not.
    pub async fn accept(&self, token: Vec<u8>) -> Result<Accepted, AcceptError> {
        let request = ApReq::find(&token)?;
        let replay_key = request.replay_key();
        let ticket = Ticket {
            service: request.service.clone(),
            enctype: request.ticket_enctype,
            kvno: request.ticket_kvno,
        };
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Refused::from(TokenError::Failed))?;
        let cred = self.cred.clone();
        let service = self.service_principal.clone();
        let keytab_file = self.keytab_file.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            accept_blocking(cred, &token, &service)
                .map_err(|refused| refine(refused, &ticket, &keytab_file, &service))
        })
        .await;
        let accepted = joined.unwrap_or_else(|_| {
            Err(Refused {
                error: TokenError::Failed,
                detail: "the GSS-API call panicked".into(),
            })
        })?;
        // After GSS-API, so that only authenticators it found genuine are remembered; `first_use` is one
        // atomic step, so of concurrent copies of one token exactly one gets through.
        match self.store.first_use(&replay_key, REPLAY_TTL).await {
            Ok(true) => Ok(accepted),
            Ok(false) => Err(Refused {
                error: TokenError::Replayed,
                detail: format!(
                    "this authenticator was accepted before (within the last {} s)",
                    REPLAY_TTL.as_secs()
                ),
            }
            .into()),
            Err(unavailable) => Err(AcceptError::Store(unavailable)),
        }
    }
}

/// What the token's ticket says in the clear, for `refine`.
struct Ticket {
    service: String,
    enctype: i32,
    kvno: Option<u32>,
}

/// A refusal of GSS-API's that the keytab explains better: a ticket for a key version or encryption
/// type the keytab does not have is a stale keytab (or a ticket older than it), whatever GSS-API's
/// message (MIT's mechanism glue remaps the krb5 code, and the message varies with the keytab's
/// contents). Only refusals that could be a key problem are looked at: GSS-API checks the clock and
/// replays only after decrypting, and a ticket for another service is the target check's.
fn refine(
    refused: Refused,
    ticket: &Ticket,
    keytab_file: &std::path::Path,
    service: &str,
) -> Refused {
    if !matches!(
        refused.error,
        TokenError::Failed | TokenError::Forged | TokenError::StaleKey
    ) {
        return refused;
    }
    // Read now, not at start-up: MIT reads the file on every call, so a keytab replaced in place is
    // the one that just failed.
    let Ok(entries) = keytab::read(keytab_file) else {
        return refused;
    };
    let Some(mismatch) = Mismatch::find(&entries, &ticket.service, ticket.enctype, ticket.kvno)
    else {
        return refused;
    };
    let kvno = ticket.kvno.map_or_else(
        || "no key version".to_owned(),
        |k| format!("key version {k}"),
    );
    let enctype = keytab::enctype_name(ticket.enctype);
    let (error, detail) = match mismatch {
        Mismatch::NoPrincipal => (
            TokenError::WrongPrincipal,
            format!(
                "the ticket is for {}, not {service}, and the keytab holds no key for it",
                ticket.service
            ),
        ),
        Mismatch::KeytabOlder { newest } => (
            TokenError::StaleKey,
            format!(
                "the ticket for {} is encrypted with {kvno} ({enctype}), newer than the keytab's ({newest}): \
                 the service account's key changed after the keytab was exported",
                ticket.service
            ),
        ),
        Mismatch::TicketOlder { newest } => (
            TokenError::StaleTicket,
            format!(
                "the ticket for {} is encrypted with {kvno} ({enctype}), older than the keytab's ({newest}): \
                 the client got it before the service account's key changed",
                ticket.service
            ),
        ),
        Mismatch::NoEnctype { have, .. } => (
            TokenError::StaleKey,
            format!(
                "the ticket for {} is encrypted with {kvno} as {enctype}, and the keytab has {} for that version",
                ticket.service,
                if have.is_empty() {
                    "no key".to_owned()
                } else {
                    have.iter()
                        .map(|e| keytab::enctype_name(*e))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        ),
    };
    Refused {
        error,
        detail: format!("{detail} (GSS-API: {})", refused.detail),
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
