//! The pending-login and logout-hint cookies: whatever a browser sends must not open, a genuine cookie must
//! open to exactly what was sealed, and only under its own name and untampered; the sealed bytes' reader
//! (`pending_format`) takes any bytes without a panic, reads format 1 in one spelling only, still reads the
//! JSON of format 0, and a cookie with every field within the Login URL's limits fits in a browser.
#![no_main]

use arbitrary::Arbitrary;
use freshgate::config::MAX_ACCOUNT_ID_BYTES;
use freshgate::freshworks::login::{MAX_PARAM_BYTES, MAX_RETURN_TO_BYTES};
use freshgate::cookies::find_cookie;
use freshgate::freshworks::pending::{CookieJar, LogoutHint, PendingLogin};
use freshgate::freshworks::pending_format;
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
    nonce: String,
    pkce_verifier: String,
    account: String,
    fw_state: String,
    fw_nonce: String,
    started: u64,
    return_to: Option<String>,
    directory: bool,
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
    let jar = CookieJar::new(&KEY, input.secure);

    // Nothing a client makes up opens: the values are AES-256-GCM sealed with a key it does not have.
    assert_eq!(jar.open(&input.name, &input.value), None);
    let mut sent = HeaderMap::new();
    for value in &input.headers {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            sent.append(COOKIE, value);
        }
    }
    assert_eq!(jar.logout_hint(&sent), None);

    // A genuine pending login opens to itself under its name, and nowhere else.
    let pending = PendingLogin {
        state: input.state,
        nonce: input.nonce,
        pkce_verifier: input.pkce_verifier,
        account: input.account,
        fw_state: input.fw_state,
        fw_nonce: input.fw_nonce,
        started: input.started,
        started_ms: input.started.wrapping_mul(1000),
        return_to: input.return_to,
        directory: input.directory,
    };
    let name = jar.name(&pending.state);
    let sealed = jar.seal(&pending);
    assert_eq!(jar.open(&name, &sealed).as_ref(), Some(&pending));
    let other = jar.name(&input.other_state);
    if other != name {
        assert_eq!(jar.open(&other, &sealed), None);
    }
    assert_eq!(
        CookieJar::new(&[0xA5; 32], input.secure).open(&name, &sealed),
        None
    );
    let mut tampered = sealed.clone().into_bytes();
    let at = input.flip % tampered.len();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        jar.open(&name, std::str::from_utf8(&tampered).unwrap()),
        None
    );

    // Format 0, the JSON the release before wrote, still opens to the same login.
    let sealer = Sealer::new(&KEY);
    assert_eq!(
        jar.open(&name, &sealer.seal(&name, &pending)).as_ref(),
        Some(&pending)
    );

    // Any bytes the gateway could have sealed: read without a panic, and a format-1 reading has one
    // spelling only (encoding it again gives the same bytes).
    let read = jar.open(&name, &sealer.seal_bytes(&name, input.sealed_bytes.clone()));
    assert_eq!(read, pending_format::decode(&input.sealed_bytes));
    if let Some(read) = read
        && input.sealed_bytes.first() == Some(&1)
    {
        assert_eq!(pending_format::encode(&read), input.sealed_bytes);
    }

    // Its Set-Cookie is a valid header whose name=value a browser sends back as is.
    let set_cookie = jar.set_cookie(&pending, input.max_age);
    assert!(HeaderValue::from_str(&set_cookie).is_ok(), "{set_cookie}");
    let pair = set_cookie.split(';').next().unwrap();
    let mut back = HeaderMap::new();
    back.append(COOKIE, HeaderValue::from_str(pair).unwrap());
    let value = find_cookie(&back, &name).expect("the cookie set is found by its name");
    assert_eq!(jar.open(&name, value).as_ref(), Some(&pending));
    let within_limits = [&pending.state, &pending.nonce, &pending.pkce_verifier]
        .iter()
        .all(|ours| ours.len() <= OUR_VALUES)
        && pending.account.len() <= MAX_ACCOUNT_ID_BYTES
        && pending.fw_state.len() <= MAX_PARAM_BYTES
        && pending.fw_nonce.len() <= MAX_PARAM_BYTES
        // A Web Chat login carries `return_to` and no Freshworks account, state or nonce.
        && pending.return_to.as_ref().is_none_or(|r| {
            r.len() <= MAX_RETURN_TO_BYTES
                && pending.account.is_empty()
                && pending.fw_state.is_empty()
                && pending.fw_nonce.is_empty()
        });
    if within_limits {
        assert!(pair.len() <= BROWSER_COOKIE_BYTES, "{} bytes", pair.len());
    }

    // A genuine logout hint is found among whatever else the browser sends, unless a cookie of the same
    // name comes first (the first one counts, as in RFC 6265bis §5.7.2).
    let hint = LogoutHint {
        id_token: input.id_token,
        account: pending.account.clone(),
    };
    if let Some(set_hint) = jar.set_logout_hint(&hint) {
        assert!(set_hint.len() <= 4000);
        let pair = set_hint.split(';').next().unwrap();
        let (hint_name, _) = pair.split_once('=').unwrap();
        let shadowed = find_cookie(&sent, hint_name).is_some();
        sent.append(
            COOKIE,
            HeaderValue::from_str(pair).expect("a valid header value"),
        );
        let found = jar.logout_hint(&sent);
        if shadowed {
            assert_eq!(found, None);
        } else {
            assert_eq!(found, Some(hint));
        }
    }
    assert!(HeaderValue::from_str(&jar.clear_logout_hint()).is_ok());
    assert!(HeaderValue::from_str(&jar.clear_cookie(&name)).is_ok());
});
