//! The pending-login formats of the releases before, still read so that logins started before a rollout
//! finish after it. Both carried one flat record, whatever the login method and target: our state, nonce
//! and PKCE verifier, the Freshworks account, state and nonce, `return_to`, and a `directory` flag. A sign-in
//! form's login left the nonce and verifier empty, a Web Chat login the Freshworks fields; a record that
//! says otherwise was never written by the gateway and is refused.
//!
//! - Format 1, binary: `0x01`, flags (bit 0 the sign-in form, bit 1 `return_to` present, the other bits
//!   zero), the start in Unix milliseconds (8 bytes, big-endian), then state, nonce, PKCE verifier,
//!   account, Freshworks state, Freshworks nonce and, when flagged, `return_to` (`wire` strings).
//! - Format 0, JSON: the same fields as an object (its first byte is always `{`), the start in seconds
//!   (`started`) and, from a later release on, in milliseconds (`started_ms`, absent or 0 before).
//!
//! Their writers are kept too, so that tests and the fuzz target seal cookies exactly as those releases did.

use serde::{Deserialize, Serialize};

use super::wire::{Reader, put_string};
use super::{Method, PendingLogin, Target};

/// The first byte of format 1.
pub const FORMAT_1: u8 = 1;
/// The first byte of the JSON object of format 0.
pub const FORMAT_0_JSON: u8 = b'{';

const FLAG_DIRECTORY: u8 = 1;
const FLAG_RETURN_TO: u8 = 2;

/// The flat record both formats carried (its field names are format 0's JSON keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Flat {
    state: String,
    nonce: String,
    pkce_verifier: String,
    account: String,
    fw_state: String,
    fw_nonce: String,
    /// Unix seconds.
    started: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    started_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    return_to: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    directory: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Flat {
    fn of(pending: &PendingLogin) -> Flat {
        let mut flat = Flat {
            state: pending.state.clone(),
            started: pending.started_secs(),
            started_ms: pending.started_ms,
            ..Flat::default()
        };
        match &pending.method {
            Method::Oidc {
                nonce,
                pkce_verifier,
            } => {
                flat.nonce = nonce.clone();
                flat.pkce_verifier = pkce_verifier.clone();
            }
            Method::Password => flat.directory = true,
        }
        match &pending.target {
            Target::Freshworks {
                account,
                state,
                nonce,
            } => {
                flat.account = account.clone();
                flat.fw_state = state.clone();
                flat.fw_nonce = nonce.clone();
            }
            Target::Webchat { return_to } => flat.return_to = Some(return_to.clone()),
        }
        flat
    }

    /// Today's shape; `None` for a record no release wrote (see the module's doc).
    fn into_pending(self) -> Option<PendingLogin> {
        let method = if self.directory {
            (self.nonce.is_empty() && self.pkce_verifier.is_empty()).then_some(Method::Password)?
        } else {
            Method::Oidc {
                nonce: self.nonce,
                pkce_verifier: self.pkce_verifier,
            }
        };
        let target = match self.return_to {
            Some(return_to) => {
                let freshworks_empty =
                    self.account.is_empty() && self.fw_state.is_empty() && self.fw_nonce.is_empty();
                (freshworks_empty && !self.directory).then_some(Target::Webchat { return_to })?
            }
            None => Target::Freshworks {
                account: self.account,
                state: self.fw_state,
                nonce: self.fw_nonce,
            },
        };
        let started_ms = if self.started_ms > 0 {
            self.started_ms
        } else {
            self.started.saturating_mul(1000)
        };
        Some(PendingLogin {
            state: self.state,
            started_ms,
            method,
            target,
        })
    }
}

/// Reads format 1 (`bytes` after its first byte).
pub fn decode_format_1(bytes: &[u8]) -> Option<PendingLogin> {
    let mut reader = Reader(bytes);
    let flags = reader.byte()?;
    if flags & !(FLAG_DIRECTORY | FLAG_RETURN_TO) != 0 {
        return None;
    }
    let started_ms = reader.u64()?;
    let flat = Flat {
        state: reader.string()?,
        nonce: reader.string()?,
        pkce_verifier: reader.string()?,
        account: reader.string()?,
        fw_state: reader.string()?,
        fw_nonce: reader.string()?,
        started: started_ms / 1000,
        started_ms,
        return_to: if flags & FLAG_RETURN_TO != 0 {
            Some(reader.string()?)
        } else {
            None
        },
        directory: flags & FLAG_DIRECTORY != 0,
    };
    if !reader.is_done() {
        return None;
    }
    flat.into_pending()
}

/// Reads format 0, the JSON object.
pub fn decode_format_0(bytes: &[u8]) -> Option<PendingLogin> {
    serde_json::from_slice::<Flat>(bytes).ok()?.into_pending()
}

/// `pending` as the release before this one wrote it (format 1).
pub fn encode_format_1(pending: &PendingLogin) -> Vec<u8> {
    let flat = Flat::of(pending);
    let mut flags = 0;
    if flat.directory {
        flags |= FLAG_DIRECTORY;
    }
    if flat.return_to.is_some() {
        flags |= FLAG_RETURN_TO;
    }
    let mut out = vec![FORMAT_1, flags];
    out.extend_from_slice(&flat.started_ms.to_be_bytes());
    for field in [
        &flat.state,
        &flat.nonce,
        &flat.pkce_verifier,
        &flat.account,
        &flat.fw_state,
        &flat.fw_nonce,
    ] {
        put_string(&mut out, field);
    }
    if let Some(return_to) = &flat.return_to {
        put_string(&mut out, return_to);
    }
    out
}

/// `pending` as the release before format 1 wrote it (format 0, JSON).
pub fn encode_format_0(pending: &PendingLogin) -> Vec<u8> {
    serde_json::to_vec(&Flat::of(pending)).expect("a flat record serialises")
}
