//! Attacks on the gateway, one module per class, each test proving one defence against the built binary
//! with real peers: the project's OpenID provider test server, a plain origin, a lenient upstream that
//! accepts upgrades it should not, a malicious provider that signs crafted tokens, and browsers with cookie
//! jars (all under `tests/support/`). `docs/security.md` maps every test to the advisory class it guards
//! against.

#[path = "../support/mod.rs"]
mod support;

mod bodies;
mod config;
mod connections;
mod email;
mod fanout;
mod forwarding;
mod host;
mod login_cookies;
mod logout_csrf;
mod paths;
mod raw;
mod tokens;
mod websocket;
