//! The path normaliser in front of routing (`route::canonical`, `Route::classify`).
//!
//! Its promise: a path passed through to the provider is one that no lenient server turns into one of the
//! gateway's own paths by percent-decoding (up to three times), folding ASCII case, reading `\` as `/`,
//! dropping path parameters, stopping at a NUL, trimming a segment's whitespace (Java's `trim`) or its
//! trailing dots and spaces (Windows), applying Unicode compatibility normalisation (NFKC, here with the
//! `unicode-normalization` crate, not the gateway's ICU), merging slashes and removing dot segments (RFC
//! 3986 §5.2.4, §6.2.2). This target plays such a server with its own, independent code: the input chooses
//! which of those steps it applies and in which order, and the server cleans the path (merges slashes,
//! removes dot segments) last, before it routes. Whatever it ends up with must not be `/sso` or under
//! `/sso/` when the gateway let the path through.
//!
//! Input: one byte `n`, then `n % 8` bytes naming the steps, then the path (UTF-8, as hyper hands it over).
#![no_main]

use freshgate::route::canonical::normalize;
use freshgate::route::{Refused, Route};
use http::Method;
use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;

/// The gateway's normaliser promises to cover servers that decode up to this many times.
const MAX_DECODES: usize = 3;

#[derive(Debug, Clone, Copy)]
enum Step {
    Decode,
    FoldCase,
    Backslashes,
    DropParameters,
    StopAtNul,
    TrimWhitespace,
    TrimTrailingDots,
    Nfkc,
    Clean,
}

impl Step {
    fn from_byte(b: u8) -> Step {
        match b % 9 {
            0 => Step::Decode,
            1 => Step::FoldCase,
            2 => Step::Backslashes,
            3 => Step::DropParameters,
            4 => Step::StopAtNul,
            5 => Step::TrimWhitespace,
            6 => Step::TrimTrailingDots,
            7 => Step::Nfkc,
            _ => Step::Clean,
        }
    }

    fn apply(self, path: &str) -> String {
        match self {
            Step::Decode => decode_once(path),
            Step::FoldCase => path.to_ascii_lowercase(),
            Step::Backslashes => path.replace('\\', "/"),
            Step::DropParameters => path
                .split('/')
                .map(|segment| segment.split(';').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("/"),
            Step::StopAtNul => path.split('\0').next().unwrap_or("").to_owned(),
            // Java's `String.trim` (every character up to U+0020) and `strip` (Unicode whitespace).
            Step::TrimWhitespace => each_segment(path, |segment| {
                segment.trim_matches(|c: char| c <= ' ' || c.is_whitespace())
            }),
            // Win32 path normalisation: trailing dots and spaces go.
            Step::TrimTrailingDots => {
                each_segment(path, |segment| segment.trim_end_matches(['.', ' ']))
            }
            Step::Nfkc => path.nfkc().collect(),
            Step::Clean => clean(path),
        }
    }
}

fn each_segment(path: &str, change: impl Fn(&str) -> &str) -> String {
    path.split('/').map(change).collect::<Vec<_>>().join("/")
}

/// One round of percent-decoding (RFC 3986 §2.1); a `%` not followed by two hex digits stays as it is, and
/// bytes that are not UTF-8 become U+FFFD, as a lenient server would have it.
fn decode_once(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Merges slashes and removes dot segments (RFC 3986 §5.2.4), keeping a trailing slash.
fn clean(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for segment in &segments {
        match *segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut out = String::from("/");
    out.push_str(&kept.join("/"));
    if !kept.is_empty() && matches!(segments.last(), Some(&"" | &"." | &"..")) {
        out.push('/');
    }
    out
}

fn is_ours(path: &str) -> bool {
    path == "/sso" || path.starts_with("/sso/")
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 8).min(rest.len());
    let (steps, path) = rest.split_at(n);
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };

    // The normal form itself: rooted, no empty, `.` or `..` segments, no `\`, `;`, NUL or ASCII capitals,
    // and stable once no `%` is left.
    let normal = normalize(path);
    if path.starts_with('/') {
        assert!(normal.starts_with('/'), "{path:?} -> {normal:?}");
    }
    if normal != path {
        assert!(!normal.contains("//"), "{path:?} -> {normal:?}");
        assert!(
            !normal.split('/').any(|s| s == "." || s == ".."),
            "{path:?} -> {normal:?}"
        );
        assert!(
            !normal.contains(['\\', ';', '\0']) && !normal.bytes().any(|b| b.is_ascii_uppercase()),
            "{path:?} -> {normal:?}"
        );
        assert!(
            !normal.split('/').any(|s| s.ends_with('.')
                || s.starts_with(char::is_whitespace)
                || s.ends_with(char::is_whitespace)),
            "{path:?} -> {normal:?}: a segment keeps what a server trims"
        );
        if !normal.contains('%') {
            assert_eq!(normalize(&normal), normal, "{path:?}");
        }
    }

    let route = Route::classify(&Method::GET, path);
    match route {
        Ok(Route::Passthrough) => {
            assert!(!is_ours(path), "{path:?} passed through as written");
            let mut server = path.to_owned();
            let mut decodes = 0;
            for step in steps.iter().map(|&b| Step::from_byte(b)) {
                if matches!(step, Step::Decode) {
                    decodes += 1;
                    if decodes > MAX_DECODES {
                        continue;
                    }
                }
                server = step.apply(&server);
            }
            let server = clean(&server);
            assert!(
                !is_ours(&server),
                "{path:?} was passed through, but a server applying {:?} routes it as {server:?}",
                steps
                    .iter()
                    .map(|&b| Step::from_byte(b))
                    .collect::<Vec<_>>()
            );
        }
        // One of the gateway's routes only for a path that is ours as written.
        Ok(route) => assert!(is_ours(path), "{path:?} routed to {route:?}"),
        Err(Refused::NotAPath) => assert!(!path.starts_with('/')),
        // Refused as a spelling of `/sso` only when it is not `/sso` as written.
        Err(Refused::NonCanonicalSso) => assert!(!is_ours(path), "{path:?}"),
        Err(Refused::Connect) => panic!("GET refused as CONNECT"),
    }
});
