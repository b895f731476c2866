//! Path confusion: spellings of the gateway's own paths that a lenient provider (or its servlet
//! container) would normalise onto them, and request targets that are no page at all.

use crate::raw::{exchange, passthrough, status};
use crate::support::origin;
use crate::support::{Gateway, PUBLIC_HOST};

#[tokio::test]
async fn non_canonical_spellings_of_sso_are_refused_and_never_reach_the_provider() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough(&origin));
    let spellings = [
        "/SSO/jwt/login",
        "//sso/jwt/login",
        "/sso;x/jwt/login",
        "/%73so/jwt/login",
        "/%2573so/jwt/login",
        "/sso%2Fjwt%2Flogin",
        "/./sso/jwt/login",
        "/realms/../sso/jwt/login",
        "/sso\\jwt/login",
        "/Sso/webchat/token",
        // The second review: trailing dots and spaces (Windows, IIS, Java's trim) and Unicode
        // compatibility forms (NFKC, best-fit mappings) of `sso`.
        "/sso%20/jwt/login",
        "/sso./jwt/login",
        "/\u{ff53}so/jwt/login",
        "/%EF%BD%93so/jwt/login",
        "/%09sso/jwt/login",
        "/sso.%20./jwt/login",
        "/\u{ff33}\u{ff33}\u{ff2f}/jwt/login",
        "/sso%EF%BC%8Fjwt/login",
        "/x/%E2%80%A5/sso/jwt/login",
    ];
    for path in spellings {
        let response = exchange(
            gateway.addr,
            &format!("GET {path}?client_id=12344&state=s&nonce=n HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status(&response), 400, "{path}: {response}");
        assert!(
            response.contains("non_canonical_path"),
            "{path}: {response}"
        );
    }
    assert_eq!(
        origin.gates.requests(),
        0,
        "{:?}",
        origin.gates.seen.lock().unwrap()
    );
    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(&format!(
            "freshgate_requests_refused_total{{reason=\"non_canonical_path\"}} {}",
            spellings.len()
        )),
        "{metrics}"
    );
    // The provider's own oddly spelled paths are its business and still pass.
    let provider = exchange(
        gateway.addr,
        &format!(
            "GET /realms/Acme/%2e%2e/x HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status(&provider), 404, "the origin's own 404: {provider}");
    assert!(origin.gates.saw_path("/realms/Acme/%2e%2e/x"));
}

#[tokio::test]
async fn connect_and_asterisk_targets_are_answered_by_the_gateway_and_never_forwarded() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough(&origin));
    let connect = exchange(
        gateway.addr,
        &format!("CONNECT {PUBLIC_HOST}:443 HTTP/1.1\r\nHost: {PUBLIC_HOST}:443\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status(&connect), 405, "{connect}");
    assert!(
        connect.to_ascii_lowercase().contains("\r\nallow: "),
        "{connect}"
    );
    for method in ["OPTIONS", "GET"] {
        let response = exchange(
            gateway.addr,
            &format!("{method} * HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status(&response), 400, "{method} *: {response}");
    }
    assert_eq!(
        origin.gates.requests(),
        0,
        "{:?}",
        origin.gates.seen.lock().unwrap()
    );
}

#[tokio::test]
async fn routing_looks_at_the_path_alone_never_at_the_query() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough(&origin));
    let provider = exchange(
        gateway.addr,
        &format!("GET /headers?next=/sso/jwt/login HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status(&provider), 200, "{provider}");
    let ours = exchange(
        gateway.addr,
        &format!("GET /sso/unknown?next=/realms/acme HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status(&ours), 404, "{ours}");
    assert!(!origin.gates.saw_path("/sso/unknown"));
}
