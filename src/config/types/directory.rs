//! The validated settings of the directory (`directory`) and its Kerberos login (`directory.kerberos`).

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::Secret;

/// The directory that `login: directory` accounts check passwords against.
#[derive(Debug, Clone, PartialEq)]
pub struct Directory {
    /// Tried in order: the first that answers serves (fail-over).
    pub urls: Vec<Url>,
    /// `ldap://` upgraded with StartTLS (RFC 4511 §4.14) before anything else is sent.
    pub start_tls: bool,
    /// Extra trust roots (PEM) for the directory's certificate; the public web roots otherwise.
    pub ca_file: Option<PathBuf>,
    /// The read-only service account that searches for users: a DN, `DOMAIN\user` or a UPN.
    pub bind_dn: String,
    pub bind_password: Secret,
    pub base_dn: String,
    pub kind: DirectoryKind,
    /// The NetBIOS domain accepted in `DOMAIN\user` (case-insensitive).
    pub netbios_domain: Option<String>,
    /// An RFC 4515 filter with `{username}` where the typed user name (escaped) goes.
    pub user_filter: String,
    /// Freshworks claim -> directory attribute, in file order.
    pub attributes: Vec<(String, String)>,
    pub nested_groups: NestedGroups,
    /// Bounds connecting, binding and each search.
    pub timeout: Duration,
    pub throttle: Throttle,
    /// Tell the browser "your account is locked" (AD answers that whatever the password, so anyone who
    /// types the name learns it exists and is locked); `false`: it looks like a wrong password.
    pub show_lockouts: bool,
    /// Silent Windows login (Kerberos over HTTP Negotiate) for the directory's users; `None`: passwords only.
    pub kerberos: Option<Kerberos>,
}

/// `directory.kerberos`: the gateway's Kerberos service (acceptor) identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kerberos {
    /// The MIT keytab with the service principal's keys (exported with `ktpass` or `kadmin ktadd`).
    pub keytab_file: PathBuf,
    /// `HTTP/<host>@<REALM>`: the name browsers ask the KDC a ticket for (RFC 4559 §4: `HTTP/` and the host
    /// name of the URL).
    pub service_principal: String,
    /// Realms besides the service principal's whose users may sign in (through a realm trust), each with
    /// how its names find a directory entry; empty: the gateway's own realm only.
    pub trusted_realms: Vec<(String, RealmMapping)>,
}

impl Kerberos {
    /// The gateway's own realm: the service principal's. Users of this realm, exactly (Kerberos realms
    /// are case-sensitive, RFC 4120 §6.1), are the directory's own.
    pub fn realm(&self) -> &str {
        self.service_principal
            .rsplit_once('@')
            .map_or("", |(_, realm)| realm)
    }
}

/// How the names of a trusted realm (`directory.kerberos.trusted_realms`) find a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealmMapping {
    /// `name@REALM` as the user principal name (`userPrincipalName`; OpenLDAP: `krb5PrincipalName`).
    Upn,
    /// `name` as the short name (`sAMAccountName`; OpenLDAP: `uid`): the realm's names are the
    /// directory's names.
    ShortName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    ActiveDirectory,
    OpenLdap,
}

/// How a user's groups inside groups are found for `allow.groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestedGroups {
    /// Active Directory's LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941): one search.
    AdMatchingRule,
    /// A bounded, cycle-safe walk of `member` searches; works on any LDAP server.
    Recursive,
    /// Direct membership only.
    Off,
}

/// Failed password logins allowed before further attempts are refused without asking the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    /// Per user (the directory entry) within `window`: keep it below the domain's lockout threshold.
    pub max_failures: u32,
    /// The sliding window failures are counted in; at least the domain's lockout observation window.
    pub window: Duration,
    /// Per client address (an IPv6 /64) within `window`; higher, as offices share one address.
    pub max_failures_per_ip: u32,
}
