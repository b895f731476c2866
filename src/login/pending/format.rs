//! The bytes sealed in a pending-login cookie, and their format versions.
//!
//! Format 2, written since a pending login is one variant per login method and per target, is a compact
//! binary layout, so that the cookie carrying Freshworks' `state` and `nonce` at their largest (1 KiB each)
//! stays under the 4096 bytes browsers keep per cookie (RFC 6265bis §5.6); JSON would escape `"` and `\` to
//! two bytes each. Every string is its bytes behind its length (`wire`):
//!
//! ```text
//! 0x02                       format version
//! method                     1 byte: 0 the OpenID provider, 1 the sign-in form (a password)
//! target                     1 byte: 0 a Freshworks account, 1 a Web Chat session
//! started                    8 bytes, Unix milliseconds, big-endian
//! state                      our state
//! [nonce, pkce_verifier]     with the provider only
//! account, state, nonce      for a Freshworks account: its id, Freshworks' state and nonce
//!   | return_to              for a Web Chat session
//! ```
//!
//! Nothing may follow the last field. The first byte says the format, so a later one (a new login method,
//! a second factor) can be added beside this one without breaking logins in flight: the formats of the
//! releases before (`earlier`: format 1, binary; format 0, JSON, whose first byte is always `{`) are
//! still read while replicas are rolled over. The sealed bytes are authenticated (AES-256-GCM), so only the
//! gateway can have written them; the reader is strict all the same.

use super::earlier::{self, FORMAT_0_JSON, FORMAT_1};
use super::wire::{Reader, put_string, string_cost};
use super::{Method, PendingLogin, Target};

/// The format written.
pub const FORMAT_2: u8 = 2;

const METHOD_OIDC: u8 = 0;
const METHOD_PASSWORD: u8 = 1;
const TARGET_FRESHWORKS: u8 = 0;
const TARGET_WEBCHAT: u8 = 1;

/// The bytes to seal for `pending`, in the current format.
pub fn encode(pending: &PendingLogin) -> Vec<u8> {
    let method_fields: Vec<&String> = match &pending.method {
        Method::Oidc {
            nonce,
            pkce_verifier,
        } => vec![nonce, pkce_verifier],
        Method::Password => vec![],
    };
    let target_fields: Vec<&String> = match &pending.target {
        Target::Freshworks {
            account,
            state,
            nonce,
        } => vec![account, state, nonce],
        Target::Webchat { return_to } => vec![return_to],
    };
    let fields: Vec<&String> = std::iter::once(&pending.state)
        .chain(method_fields)
        .chain(target_fields)
        .collect();
    let mut out =
        Vec::with_capacity(11 + fields.iter().map(|field| string_cost(field)).sum::<usize>());
    out.push(FORMAT_2);
    out.push(match pending.method {
        Method::Oidc { .. } => METHOD_OIDC,
        Method::Password => METHOD_PASSWORD,
    });
    out.push(match pending.target {
        Target::Freshworks { .. } => TARGET_FRESHWORKS,
        Target::Webchat { .. } => TARGET_WEBCHAT,
    });
    out.extend_from_slice(&pending.started_ms.to_be_bytes());
    for field in fields {
        put_string(&mut out, field);
    }
    out
}

/// The pending login in `bytes`, in any format this release reads. `None` for anything else.
pub fn decode(bytes: &[u8]) -> Option<PendingLogin> {
    match *bytes.first()? {
        FORMAT_2 => decode_format_2(&bytes[1..]),
        FORMAT_1 => earlier::decode_format_1(&bytes[1..]),
        FORMAT_0_JSON => earlier::decode_format_0(bytes),
        _ => None,
    }
}

fn decode_format_2(bytes: &[u8]) -> Option<PendingLogin> {
    let mut reader = Reader(bytes);
    let method = reader.byte()?;
    let target = reader.byte()?;
    let started_ms = reader.u64()?;
    let state = reader.string()?;
    let method = match method {
        METHOD_OIDC => Method::Oidc {
            nonce: reader.string()?,
            pkce_verifier: reader.string()?,
        },
        METHOD_PASSWORD => Method::Password,
        _ => return None,
    };
    let target = match target {
        TARGET_FRESHWORKS => Target::Freshworks {
            account: reader.string()?,
            state: reader.string()?,
            nonce: reader.string()?,
        },
        TARGET_WEBCHAT => Target::Webchat {
            return_to: reader.string()?,
        },
        _ => return None,
    };
    reader.is_done().then_some(PendingLogin {
        state,
        started_ms,
        method,
        target,
    })
}

#[cfg(test)]
mod tests;
