//! The AP-REQ reader against a real token of MIT's and against re-wrapped, re-encoded and broken ones.

use super::*;
use base64::Engine;

/// A real token: `curl --negotiate` (MIT krb5 1.20) for jdoe@CORP.EXAMPLE to
/// HTTP/sso.freshgate.test@CORP.EXAMPLE, from a throwaway realm of `tests/krb5/kdc.sh` (its keys
/// are long gone).
const CURL_TOKEN: &str = include_str!("curl-negotiate.b64");

fn real() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(CURL_TOKEN.split_whitespace().collect::<String>())
        .unwrap()
}

/// DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend(content);
    out
}

/// The parts of the real token: (the Kerberos initial token inside SPNEGO, the bare AP-REQ).
fn parts(token: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, inner) = initial_context_token(token).unwrap();
    let krb5 = spnego_mech_token(inner).unwrap().unwrap().to_vec();
    let (_, inner) = initial_context_token(&krb5).unwrap();
    let ap_req = inner[2..].to_vec();
    (krb5, ap_req)
}

fn krb5_token(oid: &[u8], ap_req: &[u8]) -> Vec<u8> {
    tlv(
        0x60,
        &[tlv(0x06, oid), TOK_ID_AP_REQ.to_vec(), ap_req.to_vec()].concat(),
    )
}

/// The DER of a value read with `AnyRef` (a single-byte tag).
fn reencode(any: AnyRef<'_>) -> Vec<u8> {
    let tag = any.tag();
    let class = (tag.class() as u8) & 0xc0;
    let constructed = if tag.is_constructed() { 0x20 } else { 0 };
    tlv(class | constructed | tag.number().0 as u8, any.value())
}

fn spnego(mech_types: &[&[u8]], krb5: &[u8], mic: bool) -> Vec<u8> {
    let types: Vec<u8> = mech_types.iter().flat_map(|oid| tlv(0x06, oid)).collect();
    let mut init = [tlv(0xa0, &tlv(0x30, &types)), tlv(0xa2, &tlv(0x04, krb5))].concat();
    if mic {
        init.extend(tlv(0xa3, &tlv(0x04, b"mic")));
    }
    tlv(
        0x60,
        &[tlv(0x06, SPNEGO), tlv(0xa0, &tlv(0x30, &init))].concat(),
    )
}

#[test]
fn a_real_spnego_token_gives_its_tickets_service_key_version_and_authenticator() {
    let token = real();
    let ap_req = ApReq::find(&token).unwrap();
    assert_eq!(ap_req.service, "HTTP/sso.freshgate.test@CORP.EXAMPLE");
    assert_eq!(ap_req.ticket_enctype, 18);
    assert_eq!(ap_req.ticket_kvno, Some(2));
    assert!(ap_req.authenticator.len() > 100);
    assert!(ap_req.replay_key().starts_with("kerberos:authenticator:"));
    assert_eq!(
        ap_req.replay_key().len(),
        "kerberos:authenticator:".len() + 64
    );
}

#[test]
fn the_same_authenticator_in_another_wrapping_has_the_same_replay_key() {
    let token = real();
    let key = ApReq::find(&token).unwrap().replay_key();
    let (krb5, ap_req) = parts(&token);
    let wrappings = [
        // The bare Kerberos token, without SPNEGO.
        krb5.clone(),
        // Microsoft's OID, in the Kerberos token and in SPNEGO's list.
        krb5_token(MS_KRB5, &ap_req),
        spnego(&[MS_KRB5, KRB5], &krb5_token(MS_KRB5, &ap_req), true),
        // Another list of mechanisms, and a mechListMIC.
        spnego(&[KRB5, SPNEGO], &krb5, false),
        spnego(&[KRB5], &krb5, true),
    ];
    for wrapped in wrappings {
        assert_ne!(wrapped, token);
        assert_eq!(ApReq::find(&wrapped).unwrap().replay_key(), key);
    }
    // Another authenticator (one byte of its ciphertext differs) is another key.
    let mut other = token.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    assert_ne!(ApReq::find(&other).unwrap().replay_key(), key);
}

#[test]
fn tokens_without_a_readable_ap_req_are_refused() {
    let token = real();
    let (krb5, ap_req) = parts(&token);
    let mut long_length = krb5.clone();
    // A non-minimal length (0x82 0x02 0xc1 rewritten as 0x83 0x00 0x02 0xc1): BER, not DER.
    long_length.splice(1..2, [0x83, 0x00]);
    let mut trailing = token.clone();
    trailing.push(0);
    let mut ap_rep = krb5.clone();
    let tok_id = 2 + 2 + 11;
    ap_rep[tok_id] = 0x02;
    let no_mech_token = tlv(
        0x60,
        &[
            tlv(0x06, SPNEGO),
            tlv(0xa0, &tlv(0x30, &tlv(0xa0, &tlv(0x30, &tlv(0x06, KRB5))))),
        ]
        .concat(),
    );
    let ntlm_first = spnego(
        &[&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a]],
        b"NTLMSSP\0",
        false,
    );
    // The AP-REQ's fields out of order: authenticator before ticket.
    let swapped = {
        let outer = AnyRef::from_der(&ap_req).unwrap();
        let fields = fields(AnyRef::from_der(outer.value()).unwrap()).unwrap();
        let encode = |n: u32| {
            let (_, any) = fields.iter().find(|(k, _)| *k == n).unwrap();
            tlv(0xa0 | n as u8, &reencode(*any))
        };
        let body = [encode(0), encode(1), encode(2), encode(4), encode(3)].concat();
        krb5_token(KRB5, &tlv(0x6e, &tlv(0x30, &body)))
    };
    for (what, bad, error) in [
        ("not DER", long_length, TokenError::Malformed),
        ("trailing bytes", trailing, TokenError::Malformed),
        ("an AP-REP", ap_rep, TokenError::Malformed),
        ("no mechToken", no_mech_token, TokenError::Incomplete),
        ("NTLM first", ntlm_first, TokenError::Incomplete),
        ("fields out of order", swapped, TokenError::Malformed),
        ("empty", Vec::new(), TokenError::Malformed),
        (
            "truncated",
            token[..token.len() - 10].to_vec(),
            TokenError::Malformed,
        ),
    ] {
        assert_eq!(
            ApReq::find(&bad).map(|_| ()).unwrap_err().error,
            error,
            "{what}"
        );
    }
}

#[test]
fn key_versions_above_two_to_the_31_read_as_the_same_32_bits_either_way() {
    let token = real();
    let (_, ap_req) = parts(&token);
    // Rebuild the AP-REQ with the ticket's kvno replaced.
    let with_kvno = |kvno: &[u8]| {
        let outer = AnyRef::from_der(&ap_req).unwrap();
        let fields = fields(AnyRef::from_der(outer.value()).unwrap()).unwrap();
        let mut body = Vec::new();
        for (n, any) in &fields {
            let value = if *n == 3 {
                let ticket = AnyRef::from_der(any.value()).unwrap();
                let ticket_fields = self::fields(ticket).unwrap();
                let mut ticket_body = Vec::new();
                for (m, part) in &ticket_fields {
                    let part = if *m == 3 {
                        let enc = self::fields(*part).unwrap();
                        let enc_body = [
                            tlv(0xa0, &reencode(enc[0].1)),
                            tlv(0xa1, &tlv(0x02, kvno)),
                            tlv(0xa2, &reencode(enc[2].1)),
                        ]
                        .concat();
                        tlv(0x30, &enc_body)
                    } else {
                        reencode(*part)
                    };
                    ticket_body.extend(tlv(0xa0 | *m as u8, &part));
                }
                tlv(0x61, &tlv(0x30, &ticket_body))
            } else {
                reencode(*any)
            };
            body.extend(tlv(0xa0 | *n as u8, &value));
        }
        krb5_token(KRB5, &tlv(0x6e, &tlv(0x30, &body)))
    };
    let positive = with_kvno(&[0x00, 0x80, 0x00, 0x00, 0x05]);
    let negative = with_kvno(&[0x80, 0x00, 0x00, 0x05]);
    assert_eq!(
        ApReq::find(&positive).unwrap().ticket_kvno,
        Some(0x8000_0005)
    );
    assert_eq!(
        ApReq::find(&negative).unwrap().ticket_kvno,
        Some(0x8000_0005)
    );
    assert!(ApReq::find(&with_kvno(&[0x01, 0x00, 0x00, 0x00, 0x00])).is_err());
}

#[test]
fn service_names_are_displayed_with_rfc_1964_escapes() {
    assert_eq!(
        display(&["HTTP".into(), "sso".into()], "CORP"),
        "HTTP/sso@CORP"
    );
    assert_eq!(display(&["a/b@c\\".into()], "R"), "a\\/b\\@c\\\\@R");
}
