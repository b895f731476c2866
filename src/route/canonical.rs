//! Non-canonical spellings of the gateway's own paths.
//!
//! Routing compares the raw path byte for byte: `/sso/…` is the gateway's, everything else the provider's.
//! But the provider, its servlet container or a proxy in front of it may normalise a path before routing
//! it: decode percent-encoding (`/%73so`, even twice: `/%2573so`), fold case (`/SSO`), drop path parameters
//! (`/sso;x`), merge slashes (`//sso`), remove dot segments (`/./sso`, `/x/../sso`, RFC 3986 §5.2.4 and
//! §6.2.2), read `\` as `/`, or stop at a NUL. A path that only such a normalisation turns into one of ours
//! is refused before routing, so the provider is never asked to answer on the gateway's paths. Paths that
//! stay outside `/sso` after normalising are passed through untouched: they are the provider's business.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// `%2573` is `%73` after one decoding and `s` after two; three rounds cover servers that decode twice.
const MAX_DECODE_ROUNDS: usize = 3;

/// True when no normalisation can change `path`: the common case, checked without allocating.
fn is_plain(path: &str) -> bool {
    let bytes = path.as_bytes();
    !bytes
        .iter()
        .any(|&b| matches!(b, b'%' | b'\\' | b';' | b'\0') || b.is_ascii_uppercase())
        && !path.contains("//")
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// The path as a lenient server would route it: percent-decoded (repeatedly), `\` read as `/`, lower-cased,
/// path parameters and anything after a NUL dropped from each segment, empty and `.` segments removed and
/// `..` resolved, except out of a leading `sso`. Borrowed when nothing changes.
pub fn normalize(path: &str) -> Cow<'_, str> {
    if is_plain(path) {
        return Cow::Borrowed(path);
    }
    let mut text = path.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        if !text.contains('%') {
            break;
        }
        let decoded = percent_decode_str(&text).decode_utf8_lossy().into_owned();
        if decoded == text {
            break;
        }
        text = decoded;
    }
    let text = text.replace('\\', "/").to_ascii_lowercase();
    let mut segments: Vec<&str> = Vec::new();
    for segment in text.split('/') {
        let segment = segment.split([';', '\0']).next().unwrap_or("");
        match segment {
            "" | "." => {}
            // Not out of a leading `sso`: a server that does not read this `..` as a dot segment (it does
            // not decode `%2e`, take `\` for `/` or drop `;…`) stays under `/sso`.
            ".." if segments.as_slice() != ["sso"] => {
                segments.pop();
            }
            ".." => {}
            _ => segments.push(segment),
        }
    }
    let mut normalized = String::with_capacity(text.len() + 1);
    for segment in &segments {
        normalized.push('/');
        normalized.push_str(segment);
    }
    if normalized.is_empty() || text.ends_with('/') {
        normalized.push('/');
    }
    Cow::Owned(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_provider_paths_are_left_as_they_are_without_allocating() {
        for path in [
            "/",
            "/realms/acme/protocol/openid-connect/auth",
            "/resources/x1/login/keycloak.v2/css/styles.css",
            "/sso/jwt/login",
            "/.well-known/openid-configuration",
            "/a.b/..c/d..",
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
        ] {
            let normalized = normalize(path);
            assert!(
                normalized.starts_with("/sso/jwt/login"),
                "{path} -> {normalized}"
            );
        }
    }

    #[test]
    fn a_dot_segment_only_some_servers_read_never_leads_out_of_sso() {
        // nginx merges slashes but keeps `\` as a character: it routes the first one as `/sso/..\\x`.
        for path in [
            "//sso/..\\x",
            "//sso/.%2e/x",
            "/SSO/..;/x",
            "/x/../%73so/../y",
        ] {
            let normalized = normalize(path);
            assert!(normalized.starts_with("/sso/"), "{path} -> {normalized}");
        }
        assert_eq!(normalize("/realms/sso/../x/"), "/realms/x/");
    }

    #[test]
    fn dot_segments_never_climb_above_the_root_and_trailing_slashes_stay() {
        assert_eq!(normalize("/../../a/"), "/a/");
        assert_eq!(normalize("/a/b/../../.."), "/");
        assert_eq!(normalize("/A//B"), "/a/b");
        assert_eq!(normalize("/%"), "/%");
        assert_eq!(normalize("/%ff%fe"), "/\u{fffd}\u{fffd}");
    }
}
