//! The Kerberos AP-REQ inside a Negotiate token (RFC 4120 §5.5.1), read without any key: what the
//! gateway must know beside GSS-API's verdict.
//!
//! - The `authenticator` (an `EncryptedData` under the session key, new for every request: a timestamp
//!   and a random confounder) identifies one use of a ticket. The replay guard keys on a hash of its
//!   ciphertext, not on the token's bytes: the same AP-REQ can be wrapped again in another SPNEGO or
//!   GSS framing (RFC 4178, RFC 2743), which changes the token but not the authenticator, and GSS-API
//!   accepts every such wrapping.
//! - The ticket's service principal and its `enc-part`'s encryption type and key version (in the clear:
//!   only the `cipher` is encrypted) tell a stale keytab apart from a forged ticket.
//!
//! The framing, all DER (X.690; MIT, Heimdal and Windows all encode it so):
//! - RFC 2743 §3.1 InitialContextToken: `[APPLICATION 0] { thisMech OBJECT IDENTIFIER, innerContextToken }`;
//! - SPNEGO (RFC 4178 §4.2.1): `innerContextToken` is `[0] NegTokenInit ::= SEQUENCE { mechTypes [0],
//!   reqFlags [1] OPTIONAL, mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OPTIONAL }`, and the
//!   `mechToken` is again an InitialContextToken, the Kerberos one;
//! - Kerberos (RFC 4121 §4.1): `innerContextToken` is the token id `01 00` and the AP-REQ;
//! - `AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0], msg-type [1], ap-options [2], ticket [3] Ticket,
//!   authenticator [4] EncryptedData }`, `Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1],
//!   sname [2] PrincipalName, enc-part [3] EncryptedData }`, `EncryptedData ::= SEQUENCE { etype [0],
//!   kvno [1] OPTIONAL, cipher [2] OCTET STRING }` (RFC 4120 §5.2.9, §5.3).
//!
//! A token this reader cannot take apart (not DER, no Kerberos AP-REQ in it) is refused before GSS-API:
//! without its authenticator the gateway could not accept it only once. A SPNEGO offer without a
//! Kerberos token would have needed another round trip anyway (GSS-API answered it so before).

use der::asn1::IntRef;

use super::{Refused, TokenError};
use der::{AnyRef, Decode, Reader, SliceReader, Tag, TagNumber, Tagged};

/// DER contents of the SPNEGO mechanism OID 1.3.6.1.5.5.2 (RFC 4178 §3.1).
const SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// DER contents of the Kerberos V5 mechanism OID 1.2.840.113554.1.2.2 (RFC 4121 §4.1).
const KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// DER contents of Microsoft's variant of it, 1.2.840.48018.1.2.2, which Windows may name instead.
const MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// RFC 4121 §4.1: the token id of an AP-REQ.
const TOK_ID_AP_REQ: [u8; 2] = [0x01, 0x00];
/// RFC 4120 §5.10: `msg-type` of an AP-REQ, and the protocol version.
const KRB_AP_REQ: i64 = 14;
const PVNO: i64 = 5;

/// What an AP-REQ says in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApReq<'a> {
    /// The ticket's service principal, as GSS-API displays it (`HTTP/sso.corp.example@CORP.EXAMPLE`).
    pub service: String,
    /// RFC 3961 §8 encryption type of the ticket's `enc-part` (the service key's type).
    pub ticket_enctype: i32,
    /// Key version of the service key the ticket is encrypted with; AD and MIT always send it.
    pub ticket_kvno: Option<u32>,
    /// The authenticator's ciphertext.
    authenticator: &'a [u8],
}

impl<'a> ApReq<'a> {
    /// The AP-REQ of an initial Kerberos or SPNEGO token (`token::decode`'s output); why there is none
    /// otherwise: `Incomplete` for a SPNEGO offer whose optimistic token is not Kerberos's (it would take
    /// another round trip, and HTTP Negotiate has one, RFC 4559 §5), `Malformed` for the rest.
    pub fn find(token: &'a [u8]) -> Result<ApReq<'a>, Refused> {
        let malformed = |why: &str| Refused {
            error: TokenError::Malformed,
            detail: why.into(),
        };
        let (mechanism, inner) = initial_context_token(token).map_err(malformed)?;
        let inner = if mechanism == SPNEGO {
            let mech_token = spnego_mech_token(inner).map_err(malformed)?;
            let kerberos = mech_token
                .and_then(|t| initial_context_token(t).ok())
                .filter(|(mechanism, _)| *mechanism == KRB5 || *mechanism == MS_KRB5);
            let Some((_, inner)) = kerberos else {
                return Err(Refused {
                    error: TokenError::Incomplete,
                    detail: "the SPNEGO offer carries no Kerberos token (it would take another round trip)"
                        .into(),
                });
            };
            inner
        } else if mechanism == KRB5 || mechanism == MS_KRB5 {
            inner
        } else {
            return Err(Refused::from(TokenError::Unsupported));
        };
        let ap_req = inner
            .strip_prefix(&TOK_ID_AP_REQ)
            .ok_or_else(|| malformed("the Kerberos token is not an AP-REQ"))?;
        parse_ap_req(ap_req).map_err(|_| malformed("the AP-REQ is not well-formed DER"))
    }

    /// The replay guard's key: a SHA-256 of the authenticator's ciphertext (RFC 4120 §3.2.3's "same
    /// authenticator"), so the same AP-REQ in any wrapping has the same key.
    pub fn replay_key(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.authenticator);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("kerberos:authenticator:{hex}")
    }
}

/// `thisMech` and `innerContextToken` of an RFC 2743 §3.1 InitialContextToken.
fn initial_context_token(bytes: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    let outer = AnyRef::from_der(bytes).map_err(|_| "the token is not well-formed DER")?;
    if outer.tag() != application(0) {
        return Err("the token is not an initial context token");
    }
    let mut reader =
        SliceReader::new(outer.value()).map_err(|_| "the token is not well-formed DER")?;
    let oid = AnyRef::decode(&mut reader).map_err(|_| "the token has no mechanism")?;
    if oid.tag() != Tag::ObjectIdentifier {
        return Err("the token has no mechanism");
    }
    let rest = reader
        .remaining_len()
        .try_into()
        .ok()
        .and_then(|len: usize| reader.read_slice(len.try_into().ok()?).ok())
        .ok_or("the token is not well-formed DER")?;
    Ok((oid.value(), rest))
}

/// The `mechToken` of a SPNEGO NegTokenInit, if it has one.
fn spnego_mech_token(inner: &[u8]) -> Result<Option<&[u8]>, &'static str> {
    let choice = AnyRef::from_der(inner).map_err(|_| "the SPNEGO token is not well-formed DER")?;
    if choice.tag() != context(0) {
        return Err("the SPNEGO token is not a NegTokenInit");
    }
    let init =
        AnyRef::from_der(choice.value()).map_err(|_| "the SPNEGO token is not well-formed DER")?;
    let fields = fields(init).map_err(|_| "the SPNEGO token is not well-formed DER")?;
    field(&fields, 2)
        .map(octets)
        .transpose()
        .map_err(|_| "the SPNEGO token is not well-formed DER")
}

fn parse_ap_req(bytes: &[u8]) -> der::Result<ApReq<'_>> {
    let ap_req = AnyRef::from_der(bytes)?;
    ap_req.tag().assert_eq(application(14))?;
    let fields = fields(AnyRef::from_der(ap_req.value())?)?;
    let pvno = required(&fields, 0).and_then(integer)?;
    let msg_type = required(&fields, 1).and_then(integer)?;
    if pvno != PVNO || msg_type != KRB_AP_REQ {
        return Err(Tag::Integer.value_error().into());
    }
    let ticket = required(&fields, 3)?;
    ticket.tag().assert_eq(application(1))?;
    let ticket = self::fields(AnyRef::from_der(ticket.value())?)?;
    let realm = required(&ticket, 1).and_then(text)?;
    let sname = self::fields(required(&ticket, 2)?)?;
    let mut components = Vec::new();
    let mut names = SliceReader::new(required(&sname, 1)?.value())?;
    while !names.is_finished() {
        components.push(text(AnyRef::decode(&mut names)?)?);
    }
    let (ticket_enctype, ticket_kvno, _) = encrypted_data(required(&ticket, 3)?)?;
    let (_, _, authenticator) = encrypted_data(required(&fields, 4)?)?;
    Ok(ApReq {
        service: display(&components, &realm),
        ticket_enctype,
        ticket_kvno,
        authenticator,
    })
}

/// `EncryptedData`'s `etype`, `kvno` and `cipher`.
fn encrypted_data(any: AnyRef<'_>) -> der::Result<(i32, Option<u32>, &[u8])> {
    let fields = fields(any)?;
    let etype = required(&fields, 0).and_then(integer)?;
    let etype = i32::try_from(etype).map_err(|_| Tag::Integer.value_error())?;
    // UInt32; Windows has been seen to send a kvno above 2^31 (read-only domain controllers) as a
    // negative INTEGER, which MIT reads as its 32-bit pattern too.
    let kvno = match field(&fields, 1) {
        Some(kvno) => Some(match integer(kvno)? {
            n @ 0..=0xffff_ffff => n as u32,
            n @ -0x8000_0000..=-1 => n as i32 as u32,
            _ => return Err(Tag::Integer.value_error().into()),
        }),
        None => None,
    };
    let cipher = octets(required(&fields, 2)?)?;
    Ok((etype, kvno, cipher))
}

/// The explicitly tagged fields `[n] value` of a SEQUENCE, in strictly increasing tag order (DER).
fn fields(sequence: AnyRef<'_>) -> der::Result<Vec<(u32, AnyRef<'_>)>> {
    sequence.tag().assert_eq(Tag::Sequence)?;
    let mut reader = SliceReader::new(sequence.value())?;
    let mut fields: Vec<(u32, AnyRef<'_>)> = Vec::new();
    while !reader.is_finished() {
        let field = AnyRef::decode(&mut reader)?;
        let Tag::ContextSpecific {
            constructed: true,
            number,
        } = field.tag()
        else {
            return Err(field.tag().unexpected_error(None).into());
        };
        if fields
            .last()
            .is_some_and(|(last, _)| *last >= number.value())
        {
            return Err(field.tag().unexpected_error(None).into());
        }
        fields.push((number.value(), AnyRef::from_der(field.value())?));
    }
    Ok(fields)
}

fn field<'a>(fields: &[(u32, AnyRef<'a>)], number: u32) -> Option<AnyRef<'a>> {
    fields
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, value)| *value)
}

fn required<'a>(fields: &[(u32, AnyRef<'a>)], number: u32) -> der::Result<AnyRef<'a>> {
    field(fields, number).ok_or_else(|| context(number).value_error().into())
}

/// An INTEGER of at most 64 bits.
fn integer(any: AnyRef<'_>) -> der::Result<i64> {
    let int: IntRef<'_> = any.decode_as()?;
    let bytes = int.as_bytes();
    if bytes.is_empty() || bytes.len() > 8 {
        return Err(Tag::Integer.value_error().into());
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut wide = [fill; 8];
    wide[8 - bytes.len()..].copy_from_slice(bytes);
    Ok(i64::from_be_bytes(wide))
}

fn octets(any: AnyRef<'_>) -> der::Result<&[u8]> {
    any.tag().assert_eq(Tag::OctetString)?;
    Ok(any.value())
}

/// A KerberosString (GeneralString, RFC 4120 §5.2.1; UTF-8 in practice).
fn text(any: AnyRef<'_>) -> der::Result<String> {
    any.tag().assert_eq(Tag::GeneralString)?;
    Ok(String::from_utf8_lossy(any.value()).into_owned())
}

/// `components/…@realm` with `/`, `@` and `\` escaped (RFC 1964 §2.1.1), as GSS-API displays it.
fn display(components: &[String], realm: &str) -> String {
    let escape = |part: &str| {
        part.chars().fold(String::new(), |mut out, c| {
            if matches!(c, '/' | '@' | '\\') {
                out.push('\\');
            }
            out.push(c);
            out
        })
    };
    let name: Vec<String> = components.iter().map(|c| escape(c)).collect();
    format!("{}@{}", name.join("/"), escape(realm))
}

fn application(number: u32) -> Tag {
    TagNumber(number).application(true)
}

fn context(number: u32) -> Tag {
    TagNumber(number).context_specific(true)
}

#[cfg(test)]
mod tests;
