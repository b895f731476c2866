//! Attacks on the gateway, one module per class, each test proving one defence against the built binary
//! with real peers: the project's OpenID provider test server, a malicious provider that signs crafted
//! tokens, and browsers with cookie jars. `docs/security.md` maps every test to the advisory class it
//! guards against.

#[path = "../support/mod.rs"]
mod support;

mod config;
mod email;
mod login_cookies;
mod logout_csrf;
mod tokens;
