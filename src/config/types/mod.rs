//! The validated, immutable configuration every other module reads.
//!
//! Nothing here is parsed from text: `raw` holds what the YAML said and `validate` turns it into these
//! types, so a `Config` value is always complete and consistent (defaults applied, URLs parsed, secrets read).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use crate::host::HostName;

mod directory;
mod webchat;
pub use directory::{Directory, DirectoryKind, Kerberos, NestedGroups, RealmMapping, Throttle};
pub use webchat::{IdentifyBy, Webchat, Widget};

/// Path of the gateway's own routes; everything else is passed through to the provider.
pub const SSO_PREFIX: &str = "/sso/";

/// The whole gateway configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this configuration was read from, for messages.
    pub source: PathBuf,
    pub listen: SocketAddr,
    /// How browsers reach the gateway: scheme, host and optional port, no path, no trailing slash.
    pub public_url: Url,
    pub tls: Option<TlsFiles>,
    /// `None` when `admin_listen: off`.
    pub admin_listen: Option<SocketAddr>,
    /// Peers whose `X-Forwarded-*` headers are believed. Empty: nobody's.
    pub trusted_proxies: Vec<IpNet>,
    /// Names besides `public_url`'s host that requests may carry in `Host`; `None`: any (`["*"]`).
    pub allowed_hosts: Option<Vec<HostName>>,
    pub log: LogConfig,
    pub limits: Limits,
    /// The OpenID provider; `None` when every account logs in against the directory and Web Chat is off.
    pub upstream: Option<Upstream>,
    /// The Active Directory / LDAP server of `login: directory` accounts.
    pub directory: Option<Directory>,
    pub session: Session,
    /// Where the replay guard and the throttle's counters live.
    pub store: StoreSettings,
    /// How often the configuration and the files it names are checked for changes; `None`: only on SIGHUP.
    pub reload_poll: Option<Duration>,
    pub freshworks: Option<Freshworks>,
    pub webchat: Option<Webchat>,
    /// Files holding secrets (TLS key, cookie key, client and widget secrets), with the key that named each,
    /// for the start-up check of who may read them. The signing key has its own check (`keys`).
    pub secret_files: Vec<SecretFile>,
}

/// A file the configuration reads a secret from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// The configuration key that names it, e.g. `upstream.client_secret_file`.
    pub key: String,
    pub path: PathBuf,
}

impl Config {
    /// `public_url` + `path`, where `path` starts with `/`.
    pub fn public(&self, path: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// True when browsers reach the gateway over https (decides `Secure` / `__Host-` cookies).
    pub fn public_is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive, default `info`.
    pub level: String,
    /// One line per request (method, route, path without query, status, duration, request id).
    pub access_log: bool,
}

/// Bounds on what clients and the upstream may cost us (STYLE: "bound everything").
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub tls_handshake_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold at once; 0: no cap. Peers in `trusted_proxies`
    /// are exempt: behind a load balancer every connection comes from its few addresses.
    pub max_connections_per_ip: usize,
    /// A connection older than this is asked to close (HTTP/2 GOAWAY; HTTP/1.1 after its current response),
    /// and dropped `shutdown_grace` later: no client holds a slot forever, however busy it keeps it.
    pub max_connection_age: Duration,
    /// HTTP/2 streams one connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS, RFC 9113 §6.5.2).
    pub max_concurrent_streams: u32,
    /// Requests to the provider in flight at once, all connections together; past it, a 503 page.
    pub max_upstream_requests: usize,
    /// Requests to the provider in flight at once from one client connection; past it, a 503 page.
    pub max_upstream_requests_per_connection: usize,
    /// Connections to the provider for passthrough, busy or idle; a request that finds them all busy waits
    /// its turn (first come, first served), at most `upstream.response_timeout`, then gets a 503 page.
    pub max_upstream_connections: usize,
    /// After SIGTERM/SIGINT, how long the gateway keeps accepting and serving while `/readyz` answers 503,
    /// so that load balancers stop sending before the listener closes (connections are told to close
    /// meanwhile: HTTP/1.1 `Connection: close`, HTTP/2 GOAWAY).
    pub shutdown_delay: Duration,
    /// How long in-flight requests may run once the listener has closed.
    pub shutdown_grace: Duration,
    /// Threads that serve connections (tokio's multi-thread scheduler; with 1, its current-thread one);
    /// default: the number of cores this process may use.
    pub worker_threads: usize,
}

/// `limits.shutdown_delay` by default: about what kube-proxy and ingress controllers take to drop a
/// terminating pod's endpoint, the same order as the `preStop` sleeps other proxies recommend; a load
/// balancer that only notices through health checks needs its interval times its failure threshold.
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(5);

/// The cores this process may run on (its CPU affinity and cgroup quota count), at least one.
pub fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            // Off: a helpdesk behind one NAT address opens thousands (README, Behaviour worth knowing).
            max_connections_per_ip: 0,
            max_connection_age: Duration::from_secs(3600),
            max_concurrent_streams: 100,
            max_upstream_requests: 1024,
            max_upstream_requests_per_connection: 32,
            max_upstream_connections: 128,
            shutdown_delay: DEFAULT_SHUTDOWN_DELAY,
            shutdown_grace: Duration::from_secs(30),
            worker_threads: default_worker_threads(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Upstream {
    /// Exactly as configured; compared byte for byte with discovery and ID tokens (OIDC Discovery §4.3).
    pub issuer: String,
    pub issuer_url: Url,
    /// Origin used for server-to-server calls instead of the issuer's (discovery, JWKS, token, userinfo).
    pub backchannel_url: Option<Url>,
    /// Passthrough target: `proxy_to`, else `backchannel_url`, else the issuer's origin.
    pub proxy_to: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    pub ca_file: Option<PathBuf>,
    /// Forward the browser's `Host` unchanged (default) so a provider that knows its public name keeps working.
    pub preserve_host: bool,
    /// Whether an email address taken from the provider's `email` claim must be verified there.
    pub email_verified: EmailVerified,
    pub connect_timeout: Duration,
    /// Time to the upstream's response head; past it the client gets a 504 page.
    pub response_timeout: Duration,
    /// How often JWKS is re-fetched even without an unknown `kid`.
    pub jwks_refresh: Duration,
    /// The claim that lists the user's groups, for `allow.groups` (default `groups`).
    pub groups_claim: String,
}

/// How the users of a Freshworks account authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// At the OpenID provider (`upstream`).
    Oidc,
    /// With a user name and password on the gateway's own page, checked against `directory`.
    Directory,
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Oidc => "oidc",
            LoginMethod::Directory => "directory",
        }
    }
}

/// Who may log in to an account; every rule that is set must pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allow {
    /// Group names (directory DNs, or the provider's group names); one is enough. Empty: any group.
    pub groups: Vec<String>,
    /// Lower-case domains the email address must be in (exactly, not subdomains). Empty: any.
    pub email_domains: Vec<String>,
}

/// When the provider's `email` claim may be believed (OIDC Core §5.1: `email_verified` says whether the
/// provider checked that the user controls the address). Freshworks and Freshdesk find people by email, so
/// an address a user could type in unverified at the provider would let them sign in as someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerified {
    /// `email_verified` must be `true` (the default).
    Required,
    /// Refused only when the provider says `email_verified: false`; an absent claim passes.
    IfPresent,
    /// Not checked.
    Ignore,
}

#[derive(Clone)]
pub struct Session {
    /// 32 bytes shared by replicas. `None`: a random key per process (logins in flight break on restart).
    pub cookie_key: Option<[u8; 32]>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("cookie_key", &self.cookie_key.map(|_| "[redacted]"))
            .finish()
    }
}

/// `store`: this process's memory (the default), or Redis / Valkey shared by replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    Memory,
    Redis(RedisSettings),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `redis://` or `rediss://` (TLS); may carry a password, hence a secret.
    pub url: Secret,
    pub password: Option<Secret>,
    /// The extra CA's PEM, read at load time, and its file (watched for changes).
    pub ca_pem: Option<Vec<u8>>,
    pub ca_file: Option<PathBuf>,
    pub key_prefix: String,
    pub timeout: Duration,
    pub on_error: OnStoreError,
}

/// What logins do while the shared store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStoreError {
    /// Refused with a clear page (the default): no replica can then be used to bypass the others.
    FailClosed,
    /// Go on with this replica's memory, with a warning in the log.
    FailOpen,
}

#[derive(Debug, Clone)]
pub struct Freshworks {
    pub signing_key_file: PathBuf,
    /// The key staged for the next rollover: its public key is shown by `freshgate check` and accepted by
    /// `freshgate simulate`, but nothing is signed with it.
    pub next_signing_key_file: Option<PathBuf>,
    pub login_timeout: Duration,
    /// Keyed by the id Freshworks sends as `module_id` or `client_id`.
    pub accounts: BTreeMap<String, Account>,
    pub claims: ClaimMap,
}

/// Longest account id accepted. Freshworks' ids are numbers (`12344`); the id rides in every pending-login
/// cookie, which must stay under browsers' 4 KiB per cookie with everything else at its largest.
pub const MAX_ACCOUNT_ID_BYTES: usize = 256;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub redirect_url: Url,
    pub logout_redirect_url: Option<Url>,
    pub login: LoginMethod,
    pub allow: Allow,
}

/// Freshworks claim name -> where its value comes from. Always has `sub`, `email`, `given_name`, `family_name`.
#[derive(Debug, Clone)]
pub struct ClaimMap {
    pub entries: Vec<(String, ClaimMapping)>,
}

/// A list of sources tried in order; the first present and non-empty wins.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimMapping {
    pub sources: Vec<ClaimSource>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimSource {
    /// A claim name, or a dotted path into nested claims (`address.locality`), already split.
    Path(Vec<String>),
    /// `{ value: "-" }`.
    Literal(String),
}

/// A secret string that never shows itself in `Debug` or `Display` (no secrets in logs). The raw
/// configuration reader knows it by its name, and never quotes it in a message either.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
