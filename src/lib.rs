//! freshgate: an authentication gateway that logs Freshworks agents in through an existing OpenID Connect
//! provider. The modules follow a request's path: `server` accepts it, `route` picks the handler, `proxy`
//! passes it through to the provider, `freshworks` answers the JWT SSO endpoints, `oidc` talks to the
//! provider, `admin` serves health and metrics; `config` and `keys` are read at start-up and again on every
//! reload (`reload`).
// Two modules make one foreign call each that has no safe wrapper, and `deny` lets just those two allow it:
// `server::reclaim` (glibc's malloc_trim) and, with the `kerberos` feature, `kerberos::cred_store`.
#![deny(unsafe_code)]

pub mod admin;
pub mod app;
pub mod audit;
pub mod body;
pub mod claims;
pub mod cli;
pub mod config;
pub mod directory;
pub mod forwarding;
pub mod freshworks;
pub mod host;
pub mod http_client;
pub mod identity;
pub mod jws;
pub mod kerberos;
pub mod keys;
pub mod logging;
pub mod login_form;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod pages;
pub mod proxy;
pub mod reload;
pub mod request_id;
pub mod route;
pub mod sealed;
pub mod security_headers;
pub mod serve;
pub mod server;
pub mod simulate;
pub mod store;
pub mod webchat;
