//! Why a Negotiate token was refused. Every refusal is answered the same way — the password form again
//! (RFC 4559 §5: a 401 with a fresh challenge) — but logs and metrics say which: a forged ticket, a stale
//! keytab and a replay call for different people's attention.
//!
//! GSS-API reports a routine error in its major status (RFC 2744 §3.9.1) and the mechanism's own code in
//! the minor status; for Kerberos that is a krb5 error code (RFC 4120 §7.5.9 numbers plus MIT's
//! `ERROR_TABLE_BASE_krb5`), which tells apart what the major status lumps together. Through SPNEGO, which
//! every browser uses, MIT's mechanism glue replaces the krb5 code by a number of its own (assigned per
//! process, `gssint_mecherrmap_map`), so the krb5 code is then recognised by its message, as
//! `gss_display_status` renders it: MIT's com_err text, in English because freshgate never calls
//! `setlocale`. A message not recognised still gives a reason from the major status.
//!
//! Some refusals are not GSS-API's word at all: a stale keytab is recognised by comparing the ticket's key
//! version and type (in the clear, `ap_req`) with the keytab (`keytab::Mismatch`), since MIT's message
//! for it varies; a replay is the shared store's verdict (`acceptor`); a foreign realm or an enterprise
//! name is the directory's mapping (`crate::directory::kerberos`).

/// The kind of refusal; `reason()` is the label of logs and `freshgate_directory_logins_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not base64, not an initial context token, or a token GSS-API finds defective.
    Malformed,
    /// NTLM (NTLMSSP, or SPNEGO offering only NTLM): never accepted; the browser had no ticket.
    Ntlm,
    /// A checksum or integrity check failed: altered or forged (RFC 4120 §3.2.3).
    Forged,
    /// The ticket has expired or is not valid yet.
    Expired,
    /// The authenticator's time is outside the allowed clock skew (RFC 4120 §3.2.3, 5 minutes by default).
    ClockSkew,
    /// The authenticator was seen before (RFC 4120 §3.2.3's replay cache).
    Replayed,
    /// The ticket is for another service principal.
    WrongPrincipal,
    /// The keytab has no key for the ticket's key version or encryption type (a password change or
    /// `ktpass` since the keytab was exported).
    StaleKey,
    /// The ticket is encrypted with a key version older than the keytab's: the client got it before the
    /// service account's key changed, and needs a new one.
    StaleTicket,
    /// A principal of a realm that is not the gateway's own and has no `directory.kerberos.trusted_realms`
    /// rule.
    ForeignRealm,
    /// A principal that is not a plain user name: several components, or an escaped `@` or `/` (an
    /// enterprise name, RFC 6806 §5).
    UnusablePrincipal,
    /// The mechanism wants another round trip; HTTP Negotiate here is one round (RFC 4559 §5).
    Incomplete,
    /// A mechanism other than Kerberos.
    Unsupported,
    /// Anything else GSS-API refused.
    Failed,
}

impl TokenError {
    pub fn reason(self) -> &'static str {
        match self {
            TokenError::Malformed => "kerberos_malformed",
            TokenError::Ntlm => "kerberos_ntlm",
            TokenError::Forged => "kerberos_forged",
            TokenError::Expired => "kerberos_expired",
            TokenError::ClockSkew => "kerberos_clock_skew",
            TokenError::Replayed => "kerberos_replayed",
            TokenError::WrongPrincipal => "kerberos_wrong_principal",
            TokenError::StaleKey => "kerberos_stale_key",
            TokenError::StaleTicket => "kerberos_stale_ticket",
            TokenError::ForeignRealm => "kerberos_foreign_realm",
            TokenError::UnusablePrincipal => "kerberos_unusable_principal",
            TokenError::Incomplete => "kerberos_incomplete",
            TokenError::Unsupported => "kerberos_unsupported_mechanism",
            TokenError::Failed => "kerberos_failed",
        }
    }

    /// What IT can do about it, for the log line (`None` when there is nothing to fix at the gateway: a
    /// replay, a forged or expired ticket, NTLM, …). `service_principal` is the gateway's.
    pub fn fix(self, service_principal: &str) -> Option<String> {
        match self {
            TokenError::StaleKey => Some(export_keytab_again(service_principal)),
            TokenError::StaleTicket => Some(
                "nothing at the gateway: the client needs a new service ticket (`klist purge` on Windows or sign out and in; `kdestroy` and `kinit` elsewhere)".into(),
            ),
            TokenError::ForeignRealm => Some(
                "to let that realm's users sign in, add it to directory.kerberos.trusted_realms with `upn` or `short_name` (docs/directory.md)".into(),
            ),
            _ => None,
        }
    }

    /// The refusal GSS-API's `major` and `minor` status codes mean; `message` is what
    /// `gss_display_status` said about them.
    pub fn from_status(major: u32, minor: u32, message: &str) -> TokenError {
        // The krb5 mechanism's minor codes are signed 32-bit krb5_error_code values.
        let mut code = i64::from(minor as i32);
        if let Some((_, krb5_code)) = KRB5_MESSAGES
            .iter()
            .find(|(text, _)| message.contains(text))
        {
            code = *krb5_code;
        }
        match code {
            KRB5KRB_AP_ERR_BAD_INTEGRITY | KRB5KRB_AP_ERR_MODIFIED | KRB5KRB_AP_ERR_INAPP_CKSUM => {
                return TokenError::Forged;
            }
            KRB5KRB_AP_ERR_TKT_EXPIRED | KRB5KRB_AP_ERR_TKT_NYV => return TokenError::Expired,
            KRB5KRB_AP_ERR_SKEW => return TokenError::ClockSkew,
            KRB5KRB_AP_ERR_REPEAT => return TokenError::Replayed,
            KRB5KRB_AP_ERR_NOT_US | KRB5KRB_AP_WRONG_PRINC | KRB5KRB_AP_ERR_BADMATCH => {
                return TokenError::WrongPrincipal;
            }
            KRB5KRB_AP_ERR_BADKEYVER
            | KRB5KRB_AP_ERR_NOKEY
            | KRB5_KT_NOTFOUND
            | KRB5_KT_KVNONOTFOUND => return TokenError::StaleKey,
            _ => {}
        }
        if major & GSS_S_DUPLICATE_TOKEN != 0 || major & GSS_S_OLD_TOKEN != 0 {
            return TokenError::Replayed;
        }
        match (major >> 16) & 0xff {
            GSS_S_BAD_MECH => TokenError::Unsupported,
            GSS_S_BAD_SIG => TokenError::Forged,
            GSS_S_DEFECTIVE_TOKEN => TokenError::Malformed,
            GSS_S_CREDENTIALS_EXPIRED | GSS_S_CONTEXT_EXPIRED => TokenError::Expired,
            _ => TokenError::Failed,
        }
    }
}

/// A refusal and what GSS-API said about it, for the log (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub error: TokenError,
    pub detail: String,
}

impl From<TokenError> for Refused {
    fn from(error: TokenError) -> Self {
        Refused {
            error,
            detail: error.reason().replace('_', " "),
        }
    }
}

/// The fix of a stale keytab, as docs/directory.md words it for Active Directory, Samba and MIT.
pub fn export_keytab_again(service_principal: &str) -> String {
    let (name, realm) = service_principal
        .rsplit_once('@')
        .unwrap_or((service_principal, ""));
    format!(
        "export the keytab again and point directory.kerberos.keytab_file at it: Active Directory \
         `ktpass -princ {service_principal} -mapuser <DOMAIN>\\<service account> -crypto AES256-SHA1 -ptype KRB5_NT_PRINCIPAL -pass * -out freshgate.keytab`, \
         Samba `samba-tool domain exportkeytab freshgate.keytab --principal={name}`, \
         MIT `kadmin -r {realm} -q \"ktadd -k freshgate.keytab {name}\"` (docs/directory.md)"
    )
}

/// Why an acceptor did not accept a token: the token's fault, or the shared store that remembers used
/// authenticators could not be asked (`store.on_error: fail_closed`).
#[derive(Debug, Clone)]
pub enum AcceptError {
    Refused(Refused),
    Store(crate::store::Unavailable),
}

impl From<Refused> for AcceptError {
    fn from(refused: Refused) -> Self {
        AcceptError::Refused(refused)
    }
}

/// MIT krb5's messages (lib/krb5/error_tables/krb5_err.et) for the codes `from_status` tells apart.
const KRB5_MESSAGES: &[(&str, i64)] = &[
    (
        "Decrypt integrity check failed",
        KRB5KRB_AP_ERR_BAD_INTEGRITY,
    ),
    // krb5_rd_req's own wording of BAD_INTEGRITY when the keytab has the key version: the ticket was
    // altered, or encrypted with a key the keytab does not hold (the account's password changed without
    // a new key version).
    ("but cannot decrypt ticket", KRB5KRB_AP_ERR_BAD_INTEGRITY),
    ("Ticket expired", KRB5KRB_AP_ERR_TKT_EXPIRED),
    ("Ticket not yet valid", KRB5KRB_AP_ERR_TKT_NYV),
    ("Request is a replay", KRB5KRB_AP_ERR_REPEAT),
    ("The ticket isn't for us", KRB5KRB_AP_ERR_NOT_US),
    ("Ticket/authenticator don't match", KRB5KRB_AP_ERR_BADMATCH),
    ("Clock skew too great", KRB5KRB_AP_ERR_SKEW),
    ("Message stream modified", KRB5KRB_AP_ERR_MODIFIED),
    (
        "Specified version of key is not available",
        KRB5KRB_AP_ERR_BADKEYVER,
    ),
    ("Service key not available", KRB5KRB_AP_ERR_NOKEY),
    (
        "Inappropriate type of checksum in message",
        KRB5KRB_AP_ERR_INAPP_CKSUM,
    ),
    ("Wrong principal in request", KRB5KRB_AP_WRONG_PRINC),
    ("Key table entry not found", KRB5_KT_NOTFOUND),
    (
        "Key version number for principal in key table is incorrect",
        KRB5_KT_KVNONOTFOUND,
    ),
];

// Routine errors (RFC 2744 §3.9.1), shifted down by 16 bits, and supplementary bits.
const GSS_S_BAD_MECH: u32 = 1;
const GSS_S_BAD_SIG: u32 = 6;
const GSS_S_DEFECTIVE_TOKEN: u32 = 9;
const GSS_S_CREDENTIALS_EXPIRED: u32 = 11;
const GSS_S_CONTEXT_EXPIRED: u32 = 12;
const GSS_S_DUPLICATE_TOKEN: u32 = 1 << 1;
const GSS_S_OLD_TOKEN: u32 = 1 << 2;

// MIT krb5 error codes (krb5.h, `ERROR_TABLE_BASE_krb5` = -1765328384 plus the RFC 4120 error number).
const KRB5KRB_AP_ERR_BAD_INTEGRITY: i64 = -1_765_328_353;
const KRB5KRB_AP_ERR_TKT_EXPIRED: i64 = -1_765_328_352;
const KRB5KRB_AP_ERR_TKT_NYV: i64 = -1_765_328_351;
const KRB5KRB_AP_ERR_REPEAT: i64 = -1_765_328_350;
const KRB5KRB_AP_ERR_NOT_US: i64 = -1_765_328_349;
const KRB5KRB_AP_ERR_BADMATCH: i64 = -1_765_328_348;
const KRB5KRB_AP_ERR_SKEW: i64 = -1_765_328_347;
const KRB5KRB_AP_ERR_MODIFIED: i64 = -1_765_328_343;
const KRB5KRB_AP_ERR_BADKEYVER: i64 = -1_765_328_340;
const KRB5KRB_AP_ERR_NOKEY: i64 = -1_765_328_339;
const KRB5KRB_AP_ERR_INAPP_CKSUM: i64 = -1_765_328_334;
const KRB5KRB_AP_WRONG_PRINC: i64 = -1_765_328_240;
const KRB5_KT_NOTFOUND: i64 = -1_765_328_203;
const KRB5_KT_KVNONOTFOUND: i64 = -1_765_328_154;

#[cfg(test)]
mod tests {
    use super::*;

    /// GSS_S_FAILURE: the krb5 mechanism's usual major status, with the detail in the minor one.
    const FAILURE: u32 = 13 << 16;

    #[test]
    fn krb5_minor_codes_tell_what_the_major_status_lumps_together() {
        let cases = [
            (KRB5KRB_AP_ERR_MODIFIED, TokenError::Forged),
            (KRB5KRB_AP_ERR_BAD_INTEGRITY, TokenError::Forged),
            (KRB5KRB_AP_ERR_TKT_EXPIRED, TokenError::Expired),
            (KRB5KRB_AP_ERR_SKEW, TokenError::ClockSkew),
            (KRB5KRB_AP_ERR_REPEAT, TokenError::Replayed),
            (KRB5KRB_AP_WRONG_PRINC, TokenError::WrongPrincipal),
            (KRB5KRB_AP_ERR_BADKEYVER, TokenError::StaleKey),
            (KRB5_KT_KVNONOTFOUND, TokenError::StaleKey),
            (0, TokenError::Failed),
        ];
        for (minor, expected) in cases {
            assert_eq!(
                TokenError::from_status(FAILURE, minor as i32 as u32, ""),
                expected,
                "{minor}"
            );
        }
    }

    #[test]
    fn through_spnego_the_krb5_code_is_recognised_by_its_message() {
        // What MIT says for a replayed SPNEGO token: the minor code is mechglue's own number.
        let said = "Unspecified GSS failure.  Minor code may provide more information (Request is a replay)";
        assert_eq!(
            TokenError::from_status(FAILURE, 100_005, said),
            TokenError::Replayed
        );
        for (message, expected) in [
            ("Clock skew too great", TokenError::ClockSkew),
            ("Ticket expired", TokenError::Expired),
            ("Decrypt integrity check failed", TokenError::Forged),
            (
                "Request ticket server HTTP/sso@CORP kvno 2 enctype aes256-cts found in keytab but cannot decrypt ticket",
                TokenError::Forged,
            ),
            ("Wrong principal in request", TokenError::WrongPrincipal),
            (
                "Key version number for principal in key table is incorrect",
                TokenError::StaleKey,
            ),
            ("something else", TokenError::Failed),
        ] {
            let text = format!("Unspecified GSS failure. ({message})");
            assert_eq!(
                TokenError::from_status(FAILURE, 100_001, &text),
                expected,
                "{message}"
            );
        }
    }

    #[test]
    fn major_status_alone_still_gives_a_reason() {
        assert_eq!(
            TokenError::from_status(9 << 16, 0, ""),
            TokenError::Malformed
        );
        assert_eq!(TokenError::from_status(6 << 16, 0, ""), TokenError::Forged);
        assert_eq!(
            TokenError::from_status(1 << 16, 0, ""),
            TokenError::Unsupported
        );
        assert_eq!(
            TokenError::from_status(FAILURE | 2, 0, ""),
            TokenError::Replayed
        );
        assert_eq!(
            TokenError::from_status(11 << 16, 0, ""),
            TokenError::Expired
        );
    }

    #[test]
    fn every_reason_is_a_distinct_kerberos_label() {
        let all = [
            TokenError::Malformed,
            TokenError::Ntlm,
            TokenError::Forged,
            TokenError::Expired,
            TokenError::ClockSkew,
            TokenError::Replayed,
            TokenError::WrongPrincipal,
            TokenError::StaleKey,
            TokenError::StaleTicket,
            TokenError::ForeignRealm,
            TokenError::UnusablePrincipal,
            TokenError::Incomplete,
            TokenError::Unsupported,
            TokenError::Failed,
        ];
        let reasons: std::collections::HashSet<_> = all.iter().map(|e| e.reason()).collect();
        assert_eq!(reasons.len(), all.len());
        assert!(reasons.iter().all(|r| r.starts_with("kerberos_")));
    }
}
