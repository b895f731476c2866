//! Forwarding fields: what the provider is told about the original client, and by whom.
//!
//! Only peers in `trusted_proxies` may say who the client was (RFC 7239 §8.1: these fields are trivially
//! spoofed). From anyone else the whole family is removed, not just the three the gateway sets, because
//! providers and their frameworks read many spellings: Keycloak (Quarkus) honours `X-Forwarded-Port` and
//! `-Prefix`, servlet containers `X-Forwarded-Ssl`/`-Scheme`/`-Server`, IIS and rewrite modules
//! `X-Original-URL`/`X-Rewrite-URL`, and CDNs' client-address fields (`CF-Connecting-IP`, `Fastly-Client-IP`)
//! and the ones copied into "real client IP" code (`Client-IP`, `X-Originating-IP`, `X-Remote-Addr`,
//! `Proxy-Client-IP`) are read by many. Underscore spellings
//! (`X_Forwarded_Host`) go too: CGI-style servers and frameworks read `_` as `-` (the bypass of
//! CVE-2025-64484). Then the gateway sets
//! `X-Forwarded-For`, `-Proto` and `-Host` itself, the last from the host it checked (see `host.rs`).

use std::net::IpAddr;

use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};
use ipnet::IpNet;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Every field an untrusted client could use to claim a client address, scheme, host, port or path
/// prefix, removed from requests of untrusted peers. Documented in docs/security.md.
pub const FORWARDING_FIELDS: [&str; 42] = [
    // RFC 7239 and the de facto `X-Forwarded-*` family (frameworks' trusted-proxy readers).
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-ssl",
    "x-forwarded-scheme",
    "x-forwarded-protocol",
    "x-forwarded-server",
    "x-forwarded-by",
    "x-forwarded-uri",
    "x-forwarded-path",
    "x-forwarded",
    "forwarded-for",
    "x-original-forwarded-for",
    // Scheme claims read by IIS/Exchange (`Front-End-Https: on`) and WSGI/Rack middlewares.
    "front-end-https",
    "x-url-scheme",
    // Host and path rewrites (IIS URL Rewrite, nginx, Symfony).
    "x-original-host",
    "x-original-url",
    "x-original-uri",
    "x-rewrite-url",
    "x-host",
    // Client-address fields: reverse proxies' and CDNs' own, and the ones "real client IP" code reads
    // (PHP's `HTTP_CLIENT_IP`, Java's `Proxy-Client-IP`/`WL-Proxy-Client-IP`, Rails' `Client-IP`).
    "x-real-ip",
    "client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-originating-ip",
    "x-remote-addr",
    "x-remote-ip",
    "x-proxyuser-ip",
    "proxy-client-ip",
    "wl-proxy-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "cf-connecting-ipv6",
    "fastly-client-ip",
    "akamai-client-ip",
    "x-azure-clientip",
    "x-azure-socketip",
    "x-envoy-external-address",
    "x-appengine-user-ip",
];

/// For each first letter `a` to `z`, the lengths of the [`FORWARDING_FIELDS`] that start with it, one bit
/// per length. A field whose first letter and length match none (`host`, `accept`, `cookie`, `user-agent`:
/// nearly every field a browser sends) is told apart in two instructions instead of 42 comparisons; `_`
/// for `-` changes neither. Names are at most 63 characters long (checked by a unit test).
const CANDIDATES: [u64; 26] = {
    let mut table = [0u64; 26];
    let mut i = 0;
    while i < FORWARDING_FIELDS.len() {
        let name = FORWARDING_FIELDS[i].as_bytes();
        table[(name[0] - b'a') as usize] |= 1 << name.len();
        i += 1;
    }
    table
};

/// True for a field of the family, in either spelling: `x-forwarded-host` or `x_forwarded_host`.
/// Field names reach here lower-cased (`HeaderName`).
fn is_forwarding_field(name: &HeaderName) -> bool {
    let name = name.as_str();
    let bytes = name.as_bytes();
    let may_be = match bytes.first() {
        Some(first @ b'a'..=b'z') if bytes.len() < 64 => {
            CANDIDATES[usize::from(first - b'a')] & (1 << bytes.len()) != 0
        }
        _ => false,
    };
    if !may_be {
        return false;
    }
    if bytes.contains(&b'_') {
        let dashed = name.replace('_', "-");
        FORWARDING_FIELDS.contains(&dashed.as_str())
    } else {
        FORWARDING_FIELDS.contains(&name)
    }
}

/// An address as a field value. IPv4 without `fmt` (this runs on every passed-through request); the few
/// IPv6 peers through `Display`.
fn address_value(ip: IpAddr) -> Option<HeaderValue> {
    match ip {
        IpAddr::V4(v4) => {
            let mut text = [0u8; 15];
            let mut len = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text[len] = b'.';
                    len += 1;
                }
                if octet >= 100 {
                    text[len] = b'0' + octet / 100;
                    len += 1;
                }
                if octet >= 10 {
                    text[len] = b'0' + octet / 10 % 10;
                    len += 1;
                }
                text[len] = b'0' + octet % 10;
                len += 1;
            }
            HeaderValue::from_bytes(&text[..len]).ok()
        }
        IpAddr::V6(_) => HeaderValue::from_str(&ip.to_string()).ok(),
    }
}

#[derive(Debug, Clone)]
pub struct Forwarding {
    trusted: Vec<IpNet>,
    /// The scheme browsers used to reach this listener.
    proto: HeaderValue,
}

impl Forwarding {
    pub fn new(trusted: Vec<IpNet>, tls: bool) -> Self {
        Forwarding {
            trusted,
            proto: HeaderValue::from_static(if tls { "https" } else { "http" }),
        }
    }

    pub fn trusts(&self, peer: IpAddr) -> bool {
        if self.trusted.is_empty() {
            return false;
        }
        let peer = peer.to_canonical();
        self.trusted.iter().any(|net| net.contains(&peer))
    }

    /// The client's address: the peer, or behind trusted proxies the rightmost `X-Forwarded-For` entry
    /// that is not itself a trusted proxy (entries left of it could have been written by the client).
    /// An unparseable entry ends the walk at the last trusted hop, which is then taken as the client.
    pub fn client_ip(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !self.trusts(client) {
                        return client;
                    }
                }
                Err(_) => return client,
            }
        }
        client
    }

    /// Sets `X-Forwarded-For`, `-Proto` and `-Host` for the upstream; `host` is the checked host of the
    /// request. From an untrusted peer every forwarding field is removed first; from a trusted one its
    /// values are kept (its forwarded host was checked before routing) and the peer is appended to
    /// `X-Forwarded-For`.
    pub fn apply(&self, headers: &mut HeaderMap, peer: IpAddr, host: Option<HeaderValue>) {
        let peer = peer.to_canonical();
        if self.trusts(peer) {
            let prior: Vec<&str> = headers
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect();
            let chain = if prior.is_empty() {
                peer.to_string()
            } else {
                format!("{}, {peer}", prior.join(", "))
            };
            if let Ok(value) = HeaderValue::from_str(&chain) {
                headers.insert(&X_FORWARDED_FOR, value);
            }
            if !headers.contains_key(&X_FORWARDED_PROTO) {
                headers.insert(&X_FORWARDED_PROTO, self.proto.clone());
            }
            if !headers.contains_key(&X_FORWARDED_HOST)
                && let Some(host) = host
            {
                headers.insert(&X_FORWARDED_HOST, host);
            }
            return;
        }
        // One pass to see whether there is anything to remove: most requests carry none of these.
        if headers.keys().any(is_forwarding_field) {
            let found: Vec<HeaderName> = headers
                .keys()
                .filter(|name| is_forwarding_field(name))
                .cloned()
                .collect();
            for name in found {
                headers.remove(name);
            }
        }
        if let Some(value) = address_value(peer) {
            headers.insert(&X_FORWARDED_FOR, value);
        }
        headers.insert(&X_FORWARDED_PROTO, self.proto.clone());
        if let Some(host) = host {
            headers.insert(&X_FORWARDED_HOST, host);
        }
    }
}

/// The original hosts a proxy claims: each entry of `X-Forwarded-Host` and each `host=` of `Forwarded`
/// (RFC 7239 §5.3, possibly quoted). Unparseable fields yield an empty name, which no check accepts.
pub fn claimed_hosts(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let forwarded_hosts = headers
        .get_all(&X_FORWARDED_HOST)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .map(str::trim);
    let forwarded = headers
        .get_all(header::FORWARDED)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("host=").split([',', ';']))
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("host")
                .then(|| value.trim().trim_matches('"'))
        });
    forwarded_hosts.chain(forwarded)
}

#[cfg(test)]
mod tests;
