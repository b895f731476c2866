//! Silent Windows login: Kerberos tickets over HTTP Negotiate (RFC 4559), for directory accounts.
//!
//! A browser on a domain-joined machine answers the gateway's `WWW-Authenticate: Negotiate` challenge with
//! `Authorization: Negotiate <base64 SPNEGO token>` (RFC 4178) wrapping a Kerberos AP-REQ (RFC 4120 §3.2,
//! RFC 4121) for `HTTP/<host>@<REALM>`. The gateway accepts it with MIT krb5's GSS-API and the service
//! principal's keytab, learns the user's principal, and looks the user up in the directory
//! (`crate::directory`), which produces the same `Identity` as a password login.
//!
//! NTLM is never accepted: an NTLMSSP token (which Windows sends when it has no ticket for the name) is
//! treated as "no ticket" and the browser gets the password form (`token`).
//!
//! - `token`: the `Authorization` header, base64, and what kind of token it carries (always built);
//! - `ap_req`: the AP-REQ inside the token, read without keys: the authenticator the replay guard keys on,
//!   and the ticket's service, key version and type (always built);
//! - `error`: why a token was refused, from GSS-API major and krb5 minor status codes (always built);
//! - `principal`: a principal's display form (RFC 1964 §2.1.1) split into user and realm (always built);
//! - `keytab`: a reader of MIT keytab files for start-up, `freshgate check` and telling a stale keytab
//!   (always built);
//! - `acceptor` and `cred_store`: the GSS-API calls and the replay guard in the shared store, only with
//!   the `kerberos` cargo feature.

#[cfg(feature = "kerberos")]
mod acceptor;
pub mod ap_req;
#[cfg(feature = "kerberos")]
mod cred_store;
mod error;
pub mod keytab;
pub mod principal;
pub mod token;

#[cfg(feature = "kerberos")]
pub use acceptor::Acceptor;
pub use error::{AcceptError, Refused, TokenError};

/// What an accepted token established.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The client's principal, e.g. `jdoe@CORP.EXAMPLE`.
    pub principal: String,
    /// The acceptor's reply (an AP-REP in a SPNEGO NegTokenResp) for mutual authentication, base64, to be
    /// sent back in `WWW-Authenticate: Negotiate <token>` (RFC 4559 §5).
    pub mutual_token: Option<String>,
}
