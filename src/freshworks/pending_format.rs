//! The bytes sealed in a pending-login cookie, and their format versions.
//!
//! Format 1 (written since Freshworks' `state` and `nonce` may be 1 KiB each again) is a compact binary
//! layout, so that the cookie carrying both at their largest stays under the 4096 bytes browsers keep per
//! cookie (RFC 6265bis §5.6). JSON, the format before it, escapes `"` and `\` to two bytes each: two 1 KiB
//! values of such characters alone made 4 KiB. Here every string is its bytes behind its length:
//!
//! ```text
//! 0x01                       format version
//! flags                      1 byte: bit 0 directory login, bit 1 return_to present; other bits zero
//! started                    8 bytes, Unix milliseconds, big-endian
//! state, nonce, pkce_verifier, account, fw_state, fw_nonce[, return_to]
//!                            each: length (unsigned LEB128, at most 4 bytes) then that many UTF-8 bytes
//! ```
//!
//! Nothing may follow the last field. The first byte says the format, so a later format can be added beside
//! this one without breaking logins in flight: cookies sealed by the release before are still read while
//! replicas are rolled over. Format 0 is that release's JSON object, whose first byte is always `{`. The
//! sealed bytes are authenticated (AES-256-GCM), so only the gateway can have written them; the reader is
//! strict all the same.

use super::pending::PendingLogin;

/// The format written.
const FORMAT_1: u8 = 1;
/// The first byte of the JSON object the release before wrote (format 0).
const FORMAT_0_JSON: u8 = b'{';

const FLAG_DIRECTORY: u8 = 1;
const FLAG_RETURN_TO: u8 = 2;

/// A length needs at most 4 LEB128 bytes (up to 2^28 - 1 bytes): far more than any cookie holds.
const MAX_LENGTH_BYTES: usize = 4;

/// The bytes to seal for `pending`, in the current format.
pub fn encode(pending: &PendingLogin) -> Vec<u8> {
    let mut flags = 0;
    if pending.directory {
        flags |= FLAG_DIRECTORY;
    }
    if pending.return_to.is_some() {
        flags |= FLAG_RETURN_TO;
    }
    let mut out = Vec::with_capacity(
        10 + [
            &pending.state,
            &pending.nonce,
            &pending.pkce_verifier,
            &pending.account,
            &pending.fw_state,
            &pending.fw_nonce,
        ]
        .iter()
        .map(|field| field.len() + 2)
        .sum::<usize>()
            + pending.return_to.as_ref().map_or(0, |r| r.len() + 2),
    );
    out.push(FORMAT_1);
    out.push(flags);
    out.extend_from_slice(&pending.started_unix_ms().to_be_bytes());
    for field in [
        &pending.state,
        &pending.nonce,
        &pending.pkce_verifier,
        &pending.account,
        &pending.fw_state,
        &pending.fw_nonce,
    ] {
        put_string(&mut out, field);
    }
    if let Some(return_to) = &pending.return_to {
        put_string(&mut out, return_to);
    }
    out
}

/// The pending login in `bytes`, in any format this release reads. `None` for anything else.
pub fn decode(bytes: &[u8]) -> Option<PendingLogin> {
    match *bytes.first()? {
        FORMAT_1 => decode_format_1(&bytes[1..]),
        FORMAT_0_JSON => serde_json::from_slice(bytes).ok(),
        _ => None,
    }
}

fn decode_format_1(bytes: &[u8]) -> Option<PendingLogin> {
    let mut reader = Reader(bytes);
    let flags = reader.byte()?;
    if flags & !(FLAG_DIRECTORY | FLAG_RETURN_TO) != 0 {
        return None;
    }
    let started_ms = u64::from_be_bytes(reader.take(8)?.try_into().ok()?);
    let pending = PendingLogin {
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
    reader.0.is_empty().then_some(pending)
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    let mut length = text.len();
    loop {
        let low = (length & 0x7f) as u8;
        length >>= 7;
        if length == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(taken)
    }

    /// A length in unsigned LEB128: shortest form only, at most `MAX_LENGTH_BYTES` bytes.
    fn length(&mut self) -> Option<usize> {
        let mut length = 0usize;
        for i in 0..MAX_LENGTH_BYTES {
            let byte = self.byte()?;
            length |= usize::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                // A zero last byte after the first would be a second spelling of a shorter length.
                return (i == 0 || byte != 0).then_some(length);
            }
        }
        None
    }

    fn string(&mut self) -> Option<String> {
        let length = self.length()?;
        let bytes = self.take(length)?;
        String::from_utf8(bytes.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> PendingLogin {
        PendingLogin {
            state: "S".repeat(43),
            nonce: "N".repeat(43),
            pkce_verifier: "V".repeat(43),
            account: "12344".into(),
            fw_state: "st/&=+%~\"\\<>ä".into(),
            fw_nonce: "x".repeat(200),
            started: 1_767_225_600,
            started_ms: 1_767_225_600_250,
            return_to: None,
            directory: false,
        }
    }

    #[test]
    fn every_kind_of_login_reads_back_exactly() {
        let mut directory = login();
        directory.directory = true;
        directory.nonce.clear();
        directory.pkce_verifier.clear();
        let mut webchat = login();
        webchat.account.clear();
        webchat.fw_state.clear();
        webchat.fw_nonce.clear();
        webchat.return_to = Some("https://app.example.com/chat?x=1".into());
        let mut empty_return_to = webchat.clone();
        empty_return_to.return_to = Some(String::new());
        let mut long = login();
        long.fw_state = "\"".repeat(70_000);
        long.started_ms = u64::MAX;
        long.started = u64::MAX / 1000;
        for pending in [login(), directory, webchat, empty_return_to, long] {
            let bytes = encode(&pending);
            assert_eq!(bytes[0], FORMAT_1);
            assert_eq!(decode(&bytes), Some(pending));
        }
    }

    #[test]
    fn each_string_costs_its_bytes_and_one_or_two_more() {
        let mut pending = login();
        pending.fw_state = "\"".repeat(1024);
        pending.fw_nonce = "\\".repeat(1024);
        let fields = 43 * 3 + 5 + 1024 * 2;
        assert_eq!(encode(&pending).len(), 10 + fields + 4 + 2 * 2);
    }

    #[test]
    fn the_json_of_the_release_before_is_still_read() {
        let pending = login();
        let json = serde_json::to_vec(&pending).unwrap();
        assert_eq!(json[0], FORMAT_0_JSON);
        assert_eq!(decode(&json), Some(pending));
    }

    #[test]
    fn unknown_formats_flags_truncations_trailing_bytes_and_odd_lengths_are_refused() {
        let good = encode(&login());
        let mut cases: Vec<Vec<u8>> = vec![vec![], vec![0], vec![2], vec![FORMAT_1]];
        let mut unknown_format = good.clone();
        unknown_format[0] = 2;
        cases.push(unknown_format);
        let mut unknown_flag = good.clone();
        unknown_flag[1] = 4;
        cases.push(unknown_flag);
        let mut return_to_missing = good.clone();
        return_to_missing[1] = FLAG_RETURN_TO;
        cases.push(return_to_missing);
        for cut in 1..good.len() {
            cases.push(good[..cut].to_vec());
        }
        let mut trailing = good.clone();
        trailing.push(0);
        cases.push(trailing);
        // The state's length (43) spelt in two bytes, 0xAB 0x00, instead of one.
        let mut long_spelling = good[..10].to_vec();
        long_spelling.extend_from_slice(&[43 | 0x80, 0]);
        long_spelling.extend_from_slice(&good[11..]);
        cases.push(long_spelling);
        let mut not_utf8 = good.clone();
        not_utf8[11] = 0xff;
        cases.push(not_utf8);
        cases.push(b"{\"state\":1}".to_vec());
        for case in cases {
            assert_eq!(decode(&case), None, "{case:?}");
        }
    }
}
