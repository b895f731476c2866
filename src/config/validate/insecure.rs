//! Settings that would expose users and that nothing legitimate needs: refused, each with the fix.
//! (Settings that weaken the gateway but have legitimate uses are warnings: `config::warnings`.)

use ipnet::IpNet;
use url::Url;

use super::Validator;
use super::values::is_local_host;

impl Validator {
    /// `public_url` is the address browsers use. Over plain http on a real host name, the provider's login
    /// form (the password), the signed Freshworks token and the gateway's cookies would cross the network
    /// in clear text (RFC 9700 §4.13 assumes TLS up to the terminating proxy). A TLS-terminating proxy in
    /// front does not need it either: browsers then use https, so `public_url` is https. Local trials keep
    /// working on localhost, loopback addresses and `.test` names.
    pub(super) fn refuse_plain_http_public_url(&mut self, url: &Url) {
        if url.scheme() == "http" && !is_local_host(url) {
            let mut https = url.clone();
            let _ = https.set_scheme("https");
            let https = https.as_str().trim_end_matches('/').to_owned();
            self.push(
                "public_url",
                format!(
                    "`{}` is plain http on a host that is not local: browsers would send passwords, tokens and \
                     cookies to it unencrypted",
                    url.as_str().trim_end_matches('/')
                ),
                format!(
                    "serve https (add a `tls:` section, or terminate TLS in a proxy in front) and write \
                     `public_url: {https}`; plain http is only for localhost, 127.0.0.1, [::1] and .test names"
                ),
            );
        }
    }

    /// `trusted_proxies` that together cover every address of a family make every client a trusted proxy:
    /// anyone could then forge `X-Forwarded-For/-Proto/-Host` (oauth2-proxy's CVE-2026-40575 came from a
    /// trusted-proxy default of `0.0.0.0/0` and `::/0`). No proxy fleet needs it.
    pub(super) fn refuse_trusting_everyone(&mut self, nets: &[IpNet]) {
        let everything = IpNet::aggregate(&nets.to_vec())
            .into_iter()
            .find(|net| net.prefix_len() == 0);
        if let Some(net) = everything {
            self.push(
                "trusted_proxies",
                format!(
                    "covers every {} address (`{net}`): every client could forge X-Forwarded-For, -Proto and -Host",
                    if net.addr().is_ipv4() { "IPv4" } else { "IPv6" }
                ),
                "list only the addresses or ranges of your own proxies or load balancers, e.g. `[10.0.0.0/8]`, \
                 or remove the key if nothing sits in front of the gateway",
            );
        }
    }
}
