//! freshgate: an authentication gateway that logs Freshworks agents in through an existing OpenID Connect
//! provider or an Active Directory / LDAP directory, and gives Freshdesk Web Chat its identity tokens.
//!
//! The modules follow a request's path: `server` accepts it, `app` gives it an id and `route` picks the
//! handler; `proxy` passes it through to the provider, or `sso` hands a `/sso/` route to its part:
//! `freshworks` (the Login URL, the signed token, logout), `webchat` (tokens, the browser session, the
//! widget script), and `login` (how a user signs in: the callback, one module per login method, the
//! pending-login cookie). The methods talk to `oidc` (the provider), `directory` (search and bind,
//! account state, groups, the failed-password throttle) and `kerberos` (Negotiate tickets), and yield one
//! `identity::Identity`. `admin` serves health, readiness and the metrics `metrics` declares; `audit` writes
//! one event per login attempt. `config` and `keys` are read at start-up (`serve`) and again on every reload
//! (`reload`); `store` is the state replicas share; `cli` is the command line and `simulate` the Freshworks
//! simulator. Shared by them: `metrics` (every metric family), `clock` (time, random tokens), `cookies`,
//! `http_client` (trust roots for the provider and the directory), `forwarding` (the client behind trusted
//! proxies), `jws` (the compact-JWS writer), `security_headers`, `claims`, `pages`, `body`, `sealed`, `host`,
//! `request_id`, `logging`, `notify`.
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
pub mod forwarding;
pub mod freshworks;
pub mod host;
pub mod http_client;
pub mod identity;
pub mod jws;
pub mod kerberos;
pub mod keys;
pub mod logging;
pub mod login;
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
pub mod sso;
pub mod store;
pub mod webchat;
