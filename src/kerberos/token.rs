//! The `Authorization: Negotiate <token>` header (RFC 4559 §4.2) and a first look at the token, before any
//! GSS-API call: the base64 must decode, the token must be an RFC 2743 §3.1 initial context token (tag
//! `0x60`, then a mechanism OID), and NTLM — a raw NTLMSSP message or a SPNEGO token (RFC 4178) that offers
//! only NTLM — is refused here, so NTLM never reaches the acceptor.

use base64::Engine;
use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::TokenError;

/// The auth-scheme of RFC 4559 (case-insensitive, RFC 9110 §11.1).
pub const SCHEME: &str = "Negotiate";

/// Longest token accepted, in base64 characters. Windows caps a Kerberos token at 48,000 bytes
/// (`MaxTokenSize`, for users in many groups), which is 64,000 characters of base64.
pub const MAX_TOKEN_CHARS: usize = 64_000;

/// The signature every NTLM message starts with (MS-NLMP §2.2.1).
const NTLMSSP: &[u8] = b"NTLMSSP\0";
/// DER of the SPNEGO mechanism OID 1.3.6.1.5.5.2 (RFC 4178 §3.1).
const SPNEGO_OID: &[u8] = &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// DER of the Kerberos V5 mechanism OID 1.2.840.113554.1.2.2 (RFC 4121 §4.1).
const KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
/// DER of Microsoft's variant of the Kerberos OID, 1.2.840.48018.1.2.2, which Windows offers first.
const MS_KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
/// DER of the NTLM mechanism OID 1.3.6.1.4.1.311.2.2.10.
const NTLM_OID: &[u8] = &[
    0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
];

/// What the request's `Authorization` says for Negotiate.
#[derive(Debug, PartialEq, Eq)]
pub enum Offered<'a> {
    /// No `Authorization: Negotiate`: the browser has not tried (or has no ticket); another scheme counts
    /// as none, since the gateway never asked for it.
    Nothing,
    /// The base64 token of `Authorization: Negotiate <token>`.
    Token(&'a str),
    /// `Authorization` sent twice, or `Negotiate` without a token.
    Malformed,
}

/// Reads `Authorization: Negotiate <token>` from the request.
pub fn offered(headers: &HeaderMap) -> Offered<'_> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Offered::Nothing;
    };
    let Ok(text) = value.to_str() else {
        return Offered::Malformed;
    };
    let (scheme, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Offered::Nothing;
    }
    if values.next().is_some() {
        return Offered::Malformed;
    }
    match rest.trim() {
        "" => Offered::Malformed,
        token => Offered::Token(token),
    }
}

/// The token's bytes, when it may be a Kerberos or SPNEGO initial token; `Err` for anything else.
pub fn decode(token: &str) -> Result<Vec<u8>, TokenError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(TokenError::Malformed);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| TokenError::Malformed)?;
    if bytes.starts_with(NTLMSSP) {
        return Err(TokenError::Ntlm);
    }
    let mechanism = initial_token_oid(&bytes).ok_or(TokenError::Malformed)?;
    if mechanism == SPNEGO_OID {
        let kerberos = contains(&bytes, KRB5_OID) || contains(&bytes, MS_KRB5_OID);
        let ntlm = contains(&bytes, NTLM_OID) || contains(&bytes, NTLMSSP);
        if ntlm && !kerberos {
            return Err(TokenError::Ntlm);
        }
    } else if mechanism != KRB5_OID && mechanism != MS_KRB5_OID {
        return Err(TokenError::Unsupported);
    }
    Ok(bytes)
}

/// The DER-encoded mechanism OID (tag and length included) of an RFC 2743 §3.1 InitialContextToken:
/// `[APPLICATION 0] IMPLICIT SEQUENCE { thisMech MechType, innerContextToken ANY }`, whose length must
/// be the rest of the token.
fn initial_token_oid(bytes: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = bytes.split_first()?;
    if tag != 0x60 {
        return None;
    }
    let (length, rest) = der_length(rest)?;
    if length != rest.len() {
        return None;
    }
    let (&oid_tag, after_tag) = rest.split_first()?;
    let (&oid_length, _) = after_tag.split_first()?;
    let oid_length = usize::from(oid_length);
    if oid_tag != 0x06 || oid_length == 0 || oid_length > 0x7f || rest.len() < 2 + oid_length {
        return None;
    }
    Some(&rest[..2 + oid_length])
}

/// A DER length (X.690 §8.1.3): short form, or long form in at most four bytes.
fn der_length(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    if first < 0x80 {
        return Some((usize::from(first), rest));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 || rest.len() < count {
        return None;
    }
    let length = rest[..count]
        .iter()
        .fold(0usize, |n, byte| (n << 8) | usize::from(*byte));
    Some((length, &rest[count..]))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// An initial context token for `oid` with `inner` as its inner token.
    fn initial(oid: &[u8], inner: &[u8]) -> Vec<u8> {
        let body = [oid, inner].concat();
        let mut token = vec![0x60];
        if body.len() < 0x80 {
            token.push(body.len() as u8);
        } else {
            token.extend([0x82, (body.len() >> 8) as u8, body.len() as u8]);
        }
        token.extend(body);
        token
    }

    #[test]
    fn only_one_authorization_negotiate_with_a_token_is_an_offer() {
        let mut headers = HeaderMap::new();
        assert_eq!(offered(&headers), Offered::Nothing);
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic amRvZTpwdw=="),
        );
        assert_eq!(offered(&headers), Offered::Nothing);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("negotiate  YII= "));
        assert_eq!(offered(&headers), Offered::Token("YII="));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Negotiate"));
        assert_eq!(offered(&headers), Offered::Malformed);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Negotiate YII="));
        headers.append(AUTHORIZATION, HeaderValue::from_static("Negotiate YIJ="));
        assert_eq!(offered(&headers), Offered::Malformed);
    }

    #[test]
    fn ntlm_in_any_wrapping_is_refused_before_gss_api() {
        let ntlm_negotiate = [NTLMSSP, &[1, 0, 0, 0, 0x97, 0x82, 0x08, 0xe2]].concat();
        assert_eq!(decode(&b64(&ntlm_negotiate)), Err(TokenError::Ntlm));
        // SPNEGO NegTokenInit offering NTLM only, with an NTLMSSP mechToken (what Windows sends without a
        // ticket for the name).
        let neg_token_init = [
            &[0xa0, 0x30, 0x30, 0x2e, 0xa0, 0x0e, 0x30, 0x0c][..],
            NTLM_OID,
            &[0xa2, 0x10, 0x04, 0x0e],
            &ntlm_negotiate,
        ]
        .concat();
        assert_eq!(
            decode(&b64(&initial(SPNEGO_OID, &neg_token_init))),
            Err(TokenError::Ntlm)
        );
        // Offering Kerberos besides NTLM goes on to the acceptor.
        let both = [&[0xa0, 0x30][..], MS_KRB5_OID, KRB5_OID, NTLM_OID].concat();
        assert!(decode(&b64(&initial(SPNEGO_OID, &both))).is_ok());
    }

    #[test]
    fn garbage_and_foreign_mechanisms_never_reach_gss_api() {
        for bad in ["not base64!", "", "AAAA", &b64(&[0x60, 0x05, 0x06, 0x01])] {
            assert_eq!(decode(bad), Err(TokenError::Malformed), "{bad}");
        }
        // A length that disagrees with the token.
        let mut short = initial(KRB5_OID, &[1, 2, 3]);
        short.push(0);
        assert_eq!(decode(&b64(&short)), Err(TokenError::Malformed));
        // SPNEGO's reply token as a first message is not an initial token.
        assert_eq!(
            decode(&b64(&[0xa1, 0x03, 0x30, 0x01, 0x00])),
            Err(TokenError::Malformed)
        );
        let other_mech = initial(&[0x06, 0x03, 0x2b, 0x06, 0x01], &[1]);
        assert_eq!(decode(&b64(&other_mech)), Err(TokenError::Unsupported));
        let long = "A".repeat(MAX_TOKEN_CHARS + 4);
        assert_eq!(decode(&long), Err(TokenError::Malformed));
    }

    #[test]
    fn kerberos_and_spnego_initial_tokens_pass_the_first_look() {
        let ap_req = vec![0x01, 0x00, 0x6e, 0x82, 0x01, 0x00];
        assert!(decode(&b64(&initial(KRB5_OID, &ap_req))).is_ok());
        let big = vec![0u8; 300];
        let spnego = initial(SPNEGO_OID, &[&[0xa0, 0x30][..], KRB5_OID, &big].concat());
        assert_eq!(decode(&b64(&spnego)).unwrap(), spnego);
    }
}
