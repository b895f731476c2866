//! Each format reads back exactly what was written, in one spelling, and refuses anything else.

use super::*;
use crate::login::pending::earlier::{encode_format_0, encode_format_1};

fn login() -> PendingLogin {
    PendingLogin {
        state: "S".repeat(43),
        started_ms: 1_767_225_600_250,
        method: Method::Oidc {
            nonce: "N".repeat(43),
            pkce_verifier: "V".repeat(43),
        },
        target: Target::Freshworks {
            account: "12344".into(),
            state: "st/&=+%~\"\\<>ä".into(),
            nonce: "x".repeat(200),
        },
    }
}

fn directory() -> PendingLogin {
    PendingLogin {
        method: Method::Password,
        ..login()
    }
}

fn webchat(return_to: &str) -> PendingLogin {
    PendingLogin {
        target: Target::Webchat {
            return_to: return_to.into(),
        },
        ..login()
    }
}

fn with_freshworks_state(state: String, nonce: String) -> PendingLogin {
    PendingLogin {
        target: Target::Freshworks {
            account: "12344".into(),
            state,
            nonce,
        },
        ..login()
    }
}

#[test]
fn every_kind_of_login_reads_back_exactly() {
    let mut long = with_freshworks_state("\"".repeat(70_000), "n".into());
    long.started_ms = u64::MAX;
    for pending in [
        login(),
        directory(),
        webchat("https://app.example.com/chat?x=1"),
        webchat(""),
        long,
    ] {
        let bytes = encode(&pending);
        assert_eq!(bytes[0], FORMAT_2);
        assert_eq!(decode(&bytes), Some(pending.clone()));
        let format_1 = encode_format_1(&pending);
        assert_eq!(format_1[0], FORMAT_1);
        assert_eq!(decode(&format_1), Some(pending));
    }
}

#[test]
fn each_string_costs_its_bytes_and_one_or_two_more() {
    let pending = with_freshworks_state("\"".repeat(1024), "\\".repeat(1024));
    let fields = 43 * 3 + 5 + 1024 * 2;
    assert_eq!(encode(&pending).len(), 11 + fields + 4 + 2 * 2);
    // Format 1 had one flags byte where format 2 has a method and a target byte.
    assert_eq!(encode_format_1(&pending).len(), 10 + fields + 4 + 2 * 2);
    // The sign-in form's login carries no nonce or verifier any more.
    let form = PendingLogin {
        method: Method::Password,
        ..pending
    };
    assert_eq!(encode(&form).len(), 11 + 43 + 5 + 1024 * 2 + 2 + 2 * 2);
}

#[test]
fn the_json_of_the_release_before_is_still_read() {
    for pending in [login(), directory(), webchat("https://app.example.com/")] {
        let json = encode_format_0(&pending);
        assert_eq!(json[0], FORMAT_0_JSON);
        assert_eq!(decode(&json), Some(pending));
    }
    // That release kept the start in seconds only.
    let seconds = br#"{"state":"s","nonce":"n","pkce_verifier":"v","account":"1","fw_state":"fs","fw_nonce":"fn","started":1767225600}"#;
    assert_eq!(
        decode(seconds).map(|p| p.started_ms),
        Some(1_767_225_600_000)
    );
}

/// `good` cut short at every length, with a byte more, with each of `changes` (a byte set at a place),
/// with the state's length (43, at `state_at`) spelt in two bytes (0xAB 0x00) instead of one, and with
/// the state's first byte not UTF-8.
fn spoiled(good: &[u8], state_at: usize, changes: &[(usize, u8)]) -> Vec<Vec<u8>> {
    let mut cases: Vec<Vec<u8>> = (1..good.len()).map(|cut| good[..cut].to_vec()).collect();
    cases.push([good, &[0]].concat());
    for &(at, byte) in changes {
        let mut changed = good.to_vec();
        changed[at] = byte;
        cases.push(changed);
    }
    cases.push([&good[..state_at], &[43 | 0x80, 0], &good[state_at + 1..]].concat());
    let mut not_utf8 = good.to_vec();
    not_utf8[state_at + 1] = 0xff;
    cases.push(not_utf8);
    cases
}

#[test]
fn unknown_formats_flags_truncations_trailing_bytes_and_odd_lengths_are_refused() {
    let good = encode_format_1(&login());
    // Format 3, an unknown flag, `return_to` flagged but absent.
    let mut cases = spoiled(&good, 10, &[(0, 3), (1, 4), (1, 2)]);
    cases.extend([vec![], vec![0], vec![2], vec![FORMAT_1]]);
    cases.push(b"{\"state\":1}".to_vec());
    for case in cases {
        assert_eq!(decode(&case), None, "{case:?}");
    }
}

#[test]
fn unknown_methods_targets_truncations_and_trailing_bytes_of_format_2_are_refused() {
    for good in [
        encode(&login()),
        encode(&directory()),
        encode(&webchat("r")),
    ] {
        // An unknown method, an unknown target.
        for case in spoiled(&good, 11, &[(1, 2), (2, 2)]) {
            assert_eq!(decode(&case), None, "{case:?}");
        }
    }
}

/// The releases before wrote one flat record; one that no release wrote (a sign-in form's login with a
/// nonce, a Web Chat login naming a Freshworks account) does not open.
#[test]
fn earlier_records_no_release_wrote_are_refused() {
    let good = encode_format_1(&directory());
    let mut nonce = good[..10].to_vec();
    nonce.extend_from_slice(&[43]);
    nonce.extend_from_slice(&good[11..11 + 43]);
    nonce.extend_from_slice(&[1, b'n']);
    nonce.extend_from_slice(&good[11 + 43 + 1..]);
    assert_eq!(decode(&good).map(|p| p.method), Some(Method::Password));
    assert_eq!(decode(&nonce), None);
    let mut json: serde_json::Value =
        serde_json::from_slice(&encode_format_0(&webchat("https://app.example.com/"))).unwrap();
    assert!(decode(&serde_json::to_vec(&json).unwrap()).is_some());
    json["account"] = "12344".into();
    assert_eq!(decode(&serde_json::to_vec(&json).unwrap()), None);
    json["account"] = "".into();
    json["directory"] = true.into();
    json["nonce"] = "".into();
    json["pkce_verifier"] = "".into();
    assert_eq!(decode(&serde_json::to_vec(&json).unwrap()), None);
}
