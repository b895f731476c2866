//! Non-canonical spellings of the gateway's own paths.
//!
//! Routing compares the raw path byte for byte: `/sso/…` is the gateway's, everything else the provider's.
//! But the provider, its servlet container or a proxy in front of it may normalise a path before routing
//! it: decode percent-encoding (`/%73so`, even twice: `/%2573so`), fold case (`/SSO`), drop path parameters
//! (`/sso;x`), merge slashes (`//sso`), remove dot segments (`/./sso`, `/x/../sso`, RFC 3986 §5.2.4 and
//! §6.2.2), read `\` as `/`, stop at a NUL, trim a segment's whitespace (Java's `String.trim`, Spring's
//! trimmed path tokens: `/sso%20`, `/%09sso`) or its trailing dots and spaces (Windows and IIS: `/sso.`,
//! `/sso. .`), or apply Unicode compatibility normalisation (NFKC, or the "best fit" mapping of Windows code
//! pages: `/ｓso` with U+FF53 FULLWIDTH LATIN SMALL LETTER S, `/ＳＳＯ`, `/sso／jwt`). A path that such a
//! normalisation — any of them, in any order — may turn into one of ours is refused before routing
//! ([`may_reach_sso`]), so the provider is never asked to answer on the gateway's paths. Other paths are
//! passed through untouched: they are the provider's business. The `path` fuzz target (docs/fuzzing.md)
//! plays such servers against this module.

use std::borrow::Cow;

use icu_normalizer::ComposingNormalizerBorrowed;
use percent_encoding::percent_decode_str;

/// `%2573` is `%73` after one decoding and `s` after two; three rounds cover servers that decode twice.
const MAX_DECODE_ROUNDS: usize = 3;

/// True when no normalisation can change `path`: the common case, checked without allocating. A segment
/// ending in `.` (which includes `.` and `..`) is not plain: Windows drops trailing dots.
fn is_plain(path: &str) -> bool {
    let bytes = path.as_bytes();
    !bytes.iter().any(|&b| {
        matches!(b, b'%' | b'\\' | b';' | b'\0'..=b' ' | 0x7f)
            || b.is_ascii_uppercase()
            || !b.is_ascii()
    }) && !path.contains("//")
        && !path.split('/').any(|segment| segment.ends_with('.'))
}

/// Unicode compatibility composition (NFKC, UAX #15): `ｓ` (U+FF53) is `s`, `／` (U+FF0F) is `/`, `‥`
/// (U+2025) is `..`, `％` (U+FF05) is `%`.
fn nfkc(text: &str) -> Cow<'_, str> {
    ComposingNormalizerBorrowed::new_nfkc().normalize(text)
}

/// The path as the most lenient server reads it before routing: compatibility-normalised and
/// percent-decoded, in turns, until neither changes it (at most `MAX_DECODE_ROUNDS` decodings, each followed
/// by NFKC, which may make a `%` of its own), `\` read as `/` and case folded. `None` when that changes
/// nothing and nothing else can either.
fn lenient_text(path: &str) -> Option<String> {
    if is_plain(path) {
        return None;
    }
    let mut text = nfkc(path).into_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        if !text.contains('%') {
            break;
        }
        let decoded = percent_decode_str(&text).decode_utf8_lossy();
        let decoded = nfkc(&decoded).into_owned();
        if decoded == text {
            break;
        }
        text = decoded;
    }
    let folded: String = text.replace('\\', "/").chars().map(fold).collect();
    // Folding can make a sequence composable that was not (`W` with a ring above has no precomposed form,
    // `ẘ` has): compose again, so the reading is stable.
    Some(nfkc(&folded).into_owned())
}

/// What a segment can become on a server that trims it: Java's `String.trim` drops every character up to
/// U+0020 at both ends (and `strip` Unicode whitespace), Windows and IIS drop trailing dots and spaces, in
/// any order and any number of times. A segment of nothing but dots and blanks may so become a dot segment:
/// with two dots or more it is read as `..` (a server that keeps it routes it as a name, which only makes
/// this reading stricter), with one as `.`.
fn trimmed(segment: &str) -> &str {
    if segment.chars().all(|c| c == '.' || blank(c)) {
        return match segment.matches('.').count() {
            0 => "",
            1 => ".",
            _ => "..",
        };
    }
    segment
        .trim_start_matches(blank)
        .trim_end_matches(|c: char| c == '.' || blank(c))
}

/// A character as a case-insensitive comparison sees it: ASCII lower-cased, and a non-ASCII character that
/// upper-cases to an ASCII letter read as that letter — `ſ` (U+017F) is `S` to Java's `equalsIgnoreCase`
/// and to .NET's ordinal-ignore-case, so `/ſso` may be routed as `/sso`. Others lower-cased when that keeps
/// them one character.
fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut upper = c.to_uppercase();
    if let (Some(u), None) = (upper.next(), upper.next())
        && u.is_ascii()
    {
        return u.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// A segment without its path parameters or what follows a NUL.
fn cut(segment: &str) -> &str {
    segment.split([';', '\0']).next().unwrap_or("")
}

/// A character a trimming server drops at a segment's ends (see [`trimmed`]); NUL is one of them.
fn blank(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// The segments of [`lenient_text`], each without its path parameters or what follows a NUL, trimmed.
fn segments(text: &str) -> impl Iterator<Item = &str> {
    text.split('/').map(|segment| trimmed(cut(segment)))
}

/// The readings of one segment that servers can disagree on: cut at a `;` or NUL then trimmed, or trimmed
/// first (Java's `trim` drops NUL and every control character at the ends: `\0\0sso` is `sso` to a server
/// that trims and the empty segment to one that stops at the NUL) then cut and trimmed.
fn readings(segment: &str) -> [&str; 2] {
    [
        trimmed(cut(segment)),
        trimmed(cut(segment.trim_matches(blank))),
    ]
}

/// The path as a lenient server would route it: compatibility-normalised and percent-decoded (repeatedly),
/// `\` read as `/`, case folded, path parameters and anything after a NUL dropped from each segment, each
/// segment trimmed of surrounding whitespace and trailing dots, empty and `.` segments removed and `..`
/// resolved. Borrowed when nothing changes.
pub fn normalize(path: &str) -> Cow<'_, str> {
    let Some(text) = lenient_text(path) else {
        return Cow::Borrowed(path);
    };
    let mut kept: Vec<&str> = Vec::new();
    for segment in segments(&text) {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            _ => kept.push(segment),
        }
    }
    let mut normalized = String::with_capacity(text.len() + 1);
    for segment in &kept {
        normalized.push('/');
        normalized.push_str(segment);
    }
    if normalized.is_empty() || text.ends_with('/') {
        normalized.push('/');
    }
    Cow::Owned(normalized)
}

/// True when some lenient server may route `path` to `/sso` or under it.
///
/// Servers differ in which of the normalisations above they apply and in which order, and [`normalize`]'s
/// single answer is not enough: `//sso/..\x` normalises to `/x`, but nginx (slashes merged, `\` a plain
/// character on Unix) routes it as `/sso/..\x`. So the question is asked of the most lenient reading's
/// segments before dot segments are resolved: can an `sso` segment end up first? Only if it is the first
/// real segment, or if a `..` comes before it. Every server reads a subset of these separators and dot
/// segments, so a server can only pop segments with a `..` that this reading has too. Where servers can
/// read one segment two ways ([`readings`]), each way counts: it may be `sso`, it may be `..`, and it is a
/// real segment only when it is one either way.
pub fn may_reach_sso(path: &str) -> bool {
    let Some(text) = lenient_text(path) else {
        // Plain: the path is routed as written.
        return false;
    };
    let mut real_before = false;
    let mut dot_dot_before = false;
    for segment in text.split('/') {
        let readings = readings(segment);
        if readings.contains(&"sso") && (!real_before || dot_dot_before) {
            return true;
        }
        if readings.contains(&"..") {
            dot_dot_before = true;
        }
        if readings.iter().all(|r| !matches!(*r, "" | "." | "..")) {
            real_before = true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{Refused, Route};
    use http::Method;

    #[test]
    fn ordinary_provider_paths_are_left_as_they_are_without_allocating() {
        for path in [
            "/",
            "/realms/acme/protocol/openid-connect/auth",
            "/resources/x1/login/keycloak.v2/css/styles.css",
            "/sso/jwt/login",
            "/.well-known/openid-configuration",
            "/a.b/..c/d.e",
            "/x-y_z~/-._",
        ] {
            assert!(
                matches!(normalize(path), Cow::Borrowed(p) if p == path),
                "{path}"
            );
        }
    }

    #[test]
    fn every_lenient_spelling_of_sso_normalises_onto_it() {
        for path in [
            "/SSO/jwt/login",
            "//sso/jwt/login",
            "/sso;x/jwt/login",
            "/%73so/jwt/login",
            "/%2573so/jwt/login",
            "/sso%2Fjwt/login",
            "/./sso/jwt/login",
            "/realms/../sso/jwt/login",
            "/sso\\jwt/login",
            "/%5Csso/jwt/login",
            "/sso%00.css/jwt/login",
            "/x/..;/sso/jwt/login",
            "/sso./jwt/login",
            "/sso%20/jwt/login",
            "/%09sso. .%20/jwt/login",
            "/\u{ff53}so/jwt/login",
            "/%EF%BD%93so/jwt/login",
            "/\u{ff33}\u{ff33}\u{ff2f}\u{ff0f}jwt/login",
        ] {
            let normalized = normalize(path);
            assert!(
                normalized.starts_with("/sso/jwt/login"),
                "{path} -> {normalized}"
            );
        }
    }

    #[test]
    fn a_path_some_server_reads_as_sso_is_caught_whatever_it_takes_for_a_separator() {
        for path in [
            // nginx merges slashes but keeps `\` as a character: it routes this as `/sso/..\x`.
            "//sso/..\\x",
            "//sso/.%2e/x",
            "/SSO/..;/x",
            "/x/../%73so/../y",
            // A server that keeps `\` routes this as `/sso/…`, one that reads it as `/` as `/.a./…`.
            "/.a.\\j/../sso//..\\j/../z",
            "/%2e%2e/sso",
            "/%53SO",
            // U+017F LATIN SMALL LETTER LONG S upper-cases to `S`: Java's equalsIgnoreCase reads `ſso` as `sso`.
            "/%C5%BFso/jwt/login",
            "/%C5%BF%C5%BFo",
            "/\u{17f}so",
            // Windows and IIS drop trailing dots and spaces; Java's trim drops whitespace and controls at
            // both ends of a segment (Spring's trimmed path tokens, CVE-2016-5007's class).
            "/sso./jwt/login",
            "/sso%20/jwt/login",
            "/sso%2E/jwt/login",
            "/sso.%20./x",
            "/%20sso",
            "/%09sso%0A/x",
            "/sso%C2%A0/x",
            "/sso\u{3000}/x",
            // A trimmed `..` climbs like any other.
            "/x/..%20/sso",
            "/x/...\\sso",
            "/x/..%09./sso",
            // Found by the `path` fuzz target: a server that trims drops the NULs, one that stops at a NUL
            // keeps nothing of the segment.
            "/%00%00sso%0A/0A/x",
            "/\0sso",
            "/x/%00..%00/sso",
            // Unicode compatibility forms (NFKC, Windows' best-fit mappings): fullwidth letters, raw and
            // percent-encoded, fullwidth capitals and solidus, a two-dot leader, a fullwidth `%`.
            "/\u{ff53}so/jwt/login",
            "/%EF%BD%93so/jwt/login",
            "/\u{ff33}\u{ff33}\u{ff2f}/jwt/login",
            "/sso\u{ff0f}jwt",
            "/x/\u{2025}/sso",
            "/%EF%BC%85%37%33so",
            "/s\u{209b}\u{2092}",
        ] {
            assert!(may_reach_sso(path), "{path}");
            assert_eq!(
                Route::classify(&Method::GET, path),
                Err(Refused::NonCanonicalSso),
                "{path}"
            );
        }
        for path in [
            "/realms/acme/sso/x",
            "/realms/Acme/broker/sso/endpoint",
            "/realms/acme/%2e%2e/x",
            "/SSOfoo/..",
            "/x/ss%6f",
            // Other non-ASCII letters stay themselves.
            "/%C3%9Fo",
            "/s%C3%9F",
            // Leading dots are kept by every server, and `sso` is only ours as the first segment.
            "/.sso",
            "/..sso/x",
            "/ssox.",
            "/s.so",
            "/realms/acme/sso./x",
            "/realms/%EF%BD%93so",
        ] {
            assert!(!may_reach_sso(path), "{path}");
        }
    }

    #[test]
    fn dot_segments_never_climb_above_the_root_and_trailing_slashes_stay() {
        assert_eq!(normalize("/../../a/"), "/a/");
        assert_eq!(normalize("/a/b/../../.."), "/");
        assert_eq!(normalize("/A//B"), "/a/b");
        assert_eq!(normalize("/%"), "/%");
        assert_eq!(normalize("/%ff%fe"), "/\u{fffd}\u{fffd}");
        assert_eq!(normalize("/sso. /a%20/"), "/sso/a/");
        assert_eq!(normalize("/x/.. /y"), "/y");
        assert_eq!(
            normalize("/x/. ./y"),
            "/y",
            "two dots and a blank may be a `..`"
        );
        assert_eq!(normalize("/x/ . /y"), "/x/y");
        assert_eq!(normalize("/\u{ff33}so\u{ff0f}x"), "/sso/x");
        let composed = normalize("/W\u{30a}");
        assert_eq!(composed, "/\u{1e98}");
        assert_eq!(normalize(&composed), composed);
    }
}
