//! The gateway configurations and the browser's steps the directory tests share.

use std::time::Duration;

use serde_json::Value;

use crate::support::slapd::{AGENTS_GROUP, Slapd};
use crate::support::{Browser, FRESHWORKS_REDIRECT, Gateway, PUBLIC_HOST, PUBLIC_ORIGIN, repo};

/// The directory account: only Freshservice Agents (nested membership counts) with a corp.example address.
pub const ACCOUNT: &str = "12344";
/// A second directory account without `allow` rules.
pub const OPEN_ACCOUNT: &str = "777";
pub const OPEN_REDIRECT: &str = "http://other.freshworks.test/sp/OIDC/777/implicit";

/// A gateway configuration whose `directory` section is `directory` (already indented) with the two
/// directory accounts, and `extra` appended at the top level.
pub fn yaml(directory: &str, extra: &str) -> String {
    let repo = repo();
    format!(
        "listen: 127.0.0.1:0\npublic_url: http://{PUBLIC_HOST}\nadmin_listen: 127.0.0.1:0\n\
         log: {{ format: json, level: info }}\nlimits: {{ shutdown_grace: 5s, idle_timeout: 5s }}\n\
         directory:\n{directory}\
         freshworks:\n  signing_key_file: {}\n  accounts:\n    \"{ACCOUNT}\":\n      redirect_url: {FRESHWORKS_REDIRECT}\n      login: directory\n      \
         allow: {{ groups: [\"{AGENTS_GROUP}\"], email_domains: [corp.example] }}\n    \"{OPEN_ACCOUNT}\":\n      redirect_url: {OPEN_REDIRECT}\n      login: directory\n\
         {extra}",
        repo.join("certs/freshworks-signing.key").display(),
    )
}

/// The `directory` section for the test slapd over LDAPS (or StartTLS), nested groups walked.
pub fn slapd_directory(slapd: &Slapd, start_tls: bool) -> String {
    let url = if start_tls {
        &slapd.ldap_url
    } else {
        &slapd.ldaps_url
    };
    format!(
        "  url: {url}\n  start_tls: {start_tls}\n  ca_file: {}\n  bind_dn: \"{}\"\n  bind_password: {}\n  \
         base_dn: \"{}\"\n  kind: active_directory\n  nested_groups: recursive\n  timeout: 3s\n",
        slapd.ca_file.display(),
        slapd.bind_dn,
        slapd.bind_password,
        slapd.base_dn
    )
}

pub fn slapd_gateway(start_tls: bool) -> Gateway {
    Gateway::start_yaml(&yaml(&slapd_directory(Slapd::shared(), start_tls), ""))
}

/// The Login URL as Freshworks builds it.
pub fn login_path(account: &str) -> String {
    format!(
        "/sso/jwt/login?client_id={account}&state=fw-state-1&nonce=fw-nonce-1&response_type=id_token&scope=openid"
    )
}

/// Opens the account's Login URL: the sign-in form's HTML and its anti-forgery state.
pub async fn open_form(browser: &Browser, account: &str) -> (String, String) {
    let response = browser.get(&browser.url(&login_path(account))).await;
    assert_eq!(response.status(), 200, "the Login URL shows the form");
    let html = response.text().await.unwrap();
    let state = hidden_state(&html).unwrap_or_else(|| panic!("no state in the form:\n{html}"));
    (html, state)
}

pub fn hidden_state(html: &str) -> Option<String> {
    let start = html.find(r#"name="state" value=""#)? + r#"name="state" value=""#.len();
    Some(html[start..].split('"').next()?.to_owned())
}

/// Posts the form as a browser does (same origin).
pub async fn submit(
    browser: &Browser,
    state: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    browser
        .client
        .post(browser.url("/sso/jwt/callback"))
        .header("origin", PUBLIC_ORIGIN)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("state", state),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// A whole login: the form, then the post. The response to the post.
pub async fn login(
    gateway: &Gateway,
    account: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let browser = gateway.browser();
    let (_, state) = open_form(&browser, account).await;
    submit(&browser, &state, username, password).await
}

/// The `id_token` of a redirect to Freshworks, after checking where it goes and the state it carries.
pub fn token_of(response: &reqwest::Response, redirect: &str) -> String {
    assert_eq!(response.status(), 302, "a redirect to Freshworks");
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(redirect), "{location}");
    let query = crate::support::query(location);
    assert_eq!(query["state"], "fw-state-1");
    query["id_token"].clone()
}

/// The token's payload, verified with the public key by the independent verifier.
pub fn verified_payload(token: &str) -> Value {
    let (header, payload) = crate::support::verify_jwt_independently(
        token,
        &repo().join("certs/freshworks-signing.pub.pem"),
    )
    .expect("the token verifies with the account's public key");
    assert_eq!(header["alg"], "RS256");
    payload
}

/// The page's machine-readable code (its JSON form would say the same) from the HTML status line.
pub async fn page_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, body)
}

/// A form page without what differs between any two tries: the anti-forgery state, the request id and
/// the name typed (kept in its field). Two answers that normalize the same look the same to a browser.
pub fn normalized_form(html: &str, typed: &str) -> String {
    let mut page = html.to_owned();
    if let Some(state) = hidden_state(html) {
        page = page.replace(&state, "STATE");
    }
    if let Some(start) = page.find("request id <code>") {
        let from = start + "request id <code>".len();
        if let Some(len) = page[from..].find("</code>") {
            page.replace_range(from..from + len, "ID");
        }
    }
    let escaped = typed
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    page.replace(&format!("value=\"{escaped}\""), "value=\"NAME\"")
}

/// Waits until `/readyz` says what `want` says about the directory.
pub async fn readiness(gateway: &Gateway) -> Value {
    let response = crate::support::get(gateway.admin_url("/readyz")).await;
    response.json().await.unwrap()
}

pub async fn wait_directory_ready(gateway: &Gateway) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ready = readiness(gateway).await;
        if ready["checks"]["directory"] == "ok" {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the directory never became ready: {ready}\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts a response's status and that its page says `text`.
pub async fn assert_page(response: reqwest::Response, status: u16, text: &str) {
    assert_eq!(response.status(), status);
    let body = response.text().await.unwrap();
    assert!(body.contains(text), "{body}");
}
