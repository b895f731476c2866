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
pub mod clock;
pub mod config;
pub mod cookies;
pub mod directory;
pub mod freshworks;
pub mod host;
pub mod identity;
pub mod kerberos;
pub mod keys;
pub mod logging;
pub mod login_form;
pub mod notify;
pub mod oidc;
pub mod pages;
pub mod proxy;
pub mod reload;
pub mod request_id;
pub mod route;
pub mod sealed;
pub mod serve;
pub mod server;
pub mod simulate;
pub mod store;
pub mod webchat;
