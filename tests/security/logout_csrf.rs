//! Logout CSRF: any site can navigate a browser to the Logout URL. The provider's ID token (`id_token_hint`)
//! makes the provider sign the user out without asking, so it goes only with a logout the user or Freshworks
//! started; otherwise the provider asks.

use crate::support::{Browser, Gateway, Idp, Setup, query};

/// Logs alice in with a new browser, then opens the Logout URL with the given request headers; returns the
/// browser and where the gateway sent it.
async fn logout_after_login(gateway: &Gateway, headers: &[(&str, &str)]) -> (Browser, String) {
    let browser = gateway.browser();
    browser
        .login("client_id=12344&state=s&nonce=n", "alice", "alice-password")
        .await;
    let mut request = browser.client.get(browser.url("/sso/jwt/logout"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    (browser, location)
}

#[tokio::test]
async fn a_logout_forged_by_another_site_makes_the_provider_ask_instead_of_signing_out_silently() {
    let gateway = Gateway::start(&Setup::new(Idp::shared().port));
    gateway.wait_ready().await;
    let (browser, location) = logout_after_login(
        &gateway,
        &[
            ("sec-fetch-site", "cross-site"),
            ("referer", "http://evil.test/news"),
        ],
    )
    .await;
    assert!(
        !query(&location).contains_key("id_token_hint"),
        "{location}"
    );
    let (_, page) = browser.follow(&location).await;
    let html = page.text().await.unwrap();
    assert!(
        html.contains("logout-confirm") && !html.contains(".submit()"),
        "the provider asks and does not auto-submit: {html}"
    );
    assert!(
        gateway.has_logged("\"hint_withheld\":true"),
        "{}",
        gateway.logs()
    );
}

#[tokio::test]
async fn only_direct_same_origin_or_freshworks_logouts_carry_the_hint() {
    let gateway = Gateway::start(&Setup::new(Idp::shared().port));
    gateway.wait_ready().await;
    let cases: &[(&[(&str, &str)], bool)] = &[
        (&[("sec-fetch-site", "none")], true),
        (&[("sec-fetch-site", "same-origin")], true),
        (
            &[
                ("sec-fetch-site", "cross-site"),
                ("referer", "http://acme.freshworks.test/a/dashboard"),
            ],
            true,
        ),
        (&[("sec-fetch-site", "cross-site")], false),
        (
            &[
                ("sec-fetch-site", "same-site"),
                ("referer", "http://blog.freshgate.test/"),
            ],
            false,
        ),
        (
            &[("referer", "http://acme.freshworks.test.evil.test/")],
            false,
        ),
        (&[], false),
    ];
    for (headers, hinted) in cases {
        let (browser, location) = logout_after_login(&gateway, headers).await;
        assert_eq!(
            query(&location).contains_key("id_token_hint"),
            *hinted,
            "{headers:?}: {location}"
        );
        if *hinted {
            let (_, page) = browser.follow(&location).await;
            let html = page.text().await.unwrap();
            assert!(
                html.contains(".submit()"),
                "the provider signs out at once: {html}"
            );
        }
    }
}
