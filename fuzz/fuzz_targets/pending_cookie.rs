//! The pending-login and logout-hint cookies: whatever a browser sends must not open, a genuine cookie must
//! open to exactly what was sealed, and only under its own name and untampered; the sealed bytes' reader
//! (`login::pending::format`) takes any bytes without a panic, reads formats 2 and 1 in one spelling only,
//! still reads the JSON of format 0, and a cookie with every field within the Login URL's limits fits in a
//! browser.
#![no_main]

use arbitrary::Arbitrary;
use freshgate::config::MAX_ACCOUNT_ID_BYTES;
use freshgate::cookies::find_cookie;
use freshgate::freshworks::logout_hint::{LogoutHint, LogoutHints};
use freshgate::login::pending::earlier::{encode_format_0, encode_format_1};
use freshgate::login::pending::format::{self, FORMAT_2};
use freshgate::login::pending::{
    MAX_PARAM_BYTES, MAX_RETURN_TO_BYTES, Method, PendingJar, PendingLogin, Target,
};
use freshgate::sealed::Sealer;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [0x5A; 32];

#[derive(Arbitrary, Debug)]
struct Input {
    secure: bool,
    /// A cookie as a browser (or an attacker) sends it.
    name: String,
    value: String,
    /// `Cookie` header values as sent, in order.
    headers: Vec<Vec<u8>>,
    /// A genuine login and logout hint, sealed by the gateway.
    state: String,
    /// `Some`: a login at the provider with this nonce and PKCE verifier; `None`: the sign-in form's.
    provider: Option<(String, String)>,
    account: String,
    fw_state: String,
    fw_nonce: String,
    started_ms: u64,
    /// `Some`: a Web Chat session's login; `None`: a Freshworks account's.
    return_to: Option<String>,
    id_token: String,
    max_age: u64,
    /// Where and how a genuine value is tampered with.
    flip: usize,
    other_state: String,
    /// Bytes sealed with the gateway's key, as if the gateway had written them.
    sealed_bytes: Vec<u8>,
}

/// Our state, nonce and PKCE verifier are 43 base64url characters.
const OUR_VALUES: usize = 43;
/// Browsers keep a cookie whose name and value together are at most 4096 bytes (RFC 6265bis §5.6).
const BROWSER_COOKIE_BYTES: usize = 4096;

fuzz_target!(|input: Input| {
    let jar = PendingJar::new(&KEY, input.secure);
    let hints = LogoutHints::new(&KEY, input.secure);

    // Nothing a client makes up opens: the values are AES-256-GCM sealed with a key it does not have.
    assert_eq!(jar.open(&input.name, &input.value), None);
    let mut sent = HeaderMap::new();
    for value in &input.headers {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            sent.append(COOKIE, value);
        }
    }
    assert_eq!(hints.read(&sent), None);

    // A genuine pending login opens to itself under its name, and nowhere else.
    let pending = PendingLogin {
        state: input.state,
        started_ms: input.started_ms,
        method: match input.provider {
            Some((nonce, pkce_verifier)) => Method::Oidc {
                nonce,
                pkce_verifier,
            },
            None => Method::Password,
        },
        target: match input.return_to {
            Some(return_to) => Target::Webchat { return_to },
            None => Target::Freshworks {
                account: input.account,
                state: input.fw_state,
                nonce: input.fw_nonce,
            },
        },
    };
    let name = jar.name(&pending.state);
    let sealed = jar.seal(&pending);
    assert_eq!(jar.open(&name, &sealed).as_ref(), Some(&pending));
    let other = jar.name(&input.other_state);
    if other != name {
        assert_eq!(jar.open(&other, &sealed), None);
    }
    assert_eq!(
        PendingJar::new(&[0xA5; 32], input.secure).open(&name, &sealed),
        None
    );
    let mut tampered = sealed.clone().into_bytes();
    let at = input.flip % tampered.len();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        jar.open(&name, std::str::from_utf8(&tampered).unwrap()),
        None
    );

    // Formats 1 and 0, as the releases before wrote them, still open to the same login (they never wrote
    // a Web Chat login by the sign-in form).
    let sealer = Sealer::new(&KEY);
    let written_before =
        !(pending.method == Method::Password && matches!(pending.target, Target::Webchat { .. }));
    if written_before {
        for earlier in [encode_format_1(&pending), encode_format_0(&pending)] {
            assert_eq!(
                jar.open(&name, &sealer.seal_bytes(&name, earlier)).as_ref(),
                Some(&pending)
            );
        }
    }

    // Any bytes the gateway could have sealed: read without a panic, and a reading of format 2 or 1 has
    // one spelling only (writing it again in its format gives the same bytes).
    let read = jar.open(&name, &sealer.seal_bytes(&name, input.sealed_bytes.clone()));
    assert_eq!(read, format::decode(&input.sealed_bytes));
    if let Some(read) = read {
        match input.sealed_bytes.first() {
            Some(&FORMAT_2) => assert_eq!(format::encode(&read), input.sealed_bytes),
            Some(1) => assert_eq!(encode_format_1(&read), input.sealed_bytes),
            _ => {}
        }
    }

    // Its Set-Cookie is a valid header whose name=value a browser sends back as is.
    let set_cookie = jar.set_cookie(&pending, input.max_age);
    assert!(HeaderValue::from_str(&set_cookie).is_ok(), "{set_cookie}");
    let pair = set_cookie.split(';').next().unwrap();
    let mut back = HeaderMap::new();
    back.append(COOKIE, HeaderValue::from_str(pair).unwrap());
    let value = find_cookie(&back, &name).expect("the cookie set is found by its name");
    assert_eq!(jar.open(&name, value).as_ref(), Some(&pending));
    let ours_within = |value: &String| value.len() <= OUR_VALUES;
    let within_limits = ours_within(&pending.state)
        && match &pending.method {
            Method::Oidc {
                nonce,
                pkce_verifier,
            } => ours_within(nonce) && ours_within(pkce_verifier),
            Method::Password => true,
        }
        && match &pending.target {
            Target::Freshworks {
                account,
                state,
                nonce,
            } => {
                account.len() <= MAX_ACCOUNT_ID_BYTES
                    && state.len() <= MAX_PARAM_BYTES
                    && nonce.len() <= MAX_PARAM_BYTES
            }
            Target::Webchat { return_to } => return_to.len() <= MAX_RETURN_TO_BYTES,
        };
    if within_limits {
        assert!(pair.len() <= BROWSER_COOKIE_BYTES, "{} bytes", pair.len());
    }

    // A genuine logout hint is found among whatever else the browser sends, unless a cookie of the same
    // name comes first (the first one counts, as in RFC 6265bis §5.7.2).
    let hint = LogoutHint {
        id_token: input.id_token,
        account: pending.account().unwrap_or_default().to_owned(),
    };
    if let Some(set_hint) = hints.set(&hint) {
        assert!(set_hint.len() <= 4000);
        let pair = set_hint.split(';').next().unwrap();
        let (hint_name, _) = pair.split_once('=').unwrap();
        let shadowed = find_cookie(&sent, hint_name).is_some();
        sent.append(
            COOKIE,
            HeaderValue::from_str(pair).expect("a valid header value"),
        );
        let found = hints.read(&sent);
        if shadowed {
            assert_eq!(found, None);
        } else {
            assert_eq!(found, Some(hint));
        }
    }
    assert!(HeaderValue::from_str(&hints.clear()).is_ok());
    assert!(HeaderValue::from_str(&jar.clear_cookie(&name)).is_ok());
});
