//! freshgate: an authentication gateway that logs Freshworks agents in through an existing OpenID Connect
//! provider. The modules follow a request's path: `server` accepts it, `route` picks the handler, `proxy`
//! passes it through to the provider, `freshworks` answers the JWT SSO endpoints, `oidc` talks to the
//! provider, `admin` serves health and metrics; `config` and `keys` are read once at start-up.
// Without Kerberos nothing is unsafe; with it, one call in `kerberos::cred_store` is (libgssapi has no safe
// wrapper for it), and `deny` lets that one module allow it.
#![cfg_attr(not(feature = "kerberos"), forbid(unsafe_code))]
#![cfg_attr(feature = "kerberos", deny(unsafe_code))]

pub mod admin;
pub mod app;
pub mod body;
pub mod claims;
pub mod cli;
pub mod config;
pub mod directory;
pub mod freshworks;
pub mod host;
pub mod identity;
pub mod kerberos;
pub mod keys;
pub mod logging;
pub mod login_form;
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
