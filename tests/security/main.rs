//! The security suite: one test per attack class, against the built gateway and real peers (the OpenID
//! provider test server, a plain origin, a lenient upstream and a malicious provider under
//! `tests/support/`). docs/security.md maps each test to the advisory class it guards against.

#[path = "../support/mod.rs"]
mod support;

mod connections;
mod fanout;
mod forwarding;
mod host;
mod paths;
mod raw;
mod websocket;
