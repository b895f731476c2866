//! What an on-call engineer reads, against real peers: request ids from the edge through the gateway to
//! the provider (`request_ids`), the sign-in audit trail (`audit`; the directory and Kerberos logins'
//! events are in `tests/directory/audit.rs`), the metrics (`metrics`), and Debian's `prometheus`
//! scraping a running gateway with the shipped alerting rules and Grafana dashboard (`prometheus`).

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod audit_delivery;
mod audit_webchat;
mod metrics;
mod prometheus;
mod request_ids;

use support::{FRESHWORKS_REDIRECT, Gateway, Idp, Setup, faulty::FaultyProvider};

/// The Login URL query Freshworks sends (its current shape).
pub fn login_query(state: &str, nonce: &str) -> String {
    format!(
        "client_id=12344&state={state}&nonce={nonce}&response_type=id_token&scope=openid%20email%20profile&redirect_uri={}",
        url::form_urlencoded::byte_serialize(FRESHWORKS_REDIRECT.as_bytes()).collect::<String>()
    )
}

/// A provider of its own (tests here change its modes) behind the recording, fault-injecting proxy, and
/// a gateway whose back channel and passthrough both go through that proxy; `extra` is added at the
/// top level of the configuration, `upstream_extra` under `upstream`.
pub struct Stack {
    pub idp: Idp,
    pub provider: FaultyProvider,
    pub gateway: Gateway,
}

impl Stack {
    pub async fn start(extra: &str) -> Stack {
        Stack::start_with(extra, "", None).await
    }

    pub async fn start_with(extra: &str, upstream_extra: &str, webchat: Option<String>) -> Stack {
        let idp = Idp::start(0);
        let provider = FaultyProvider::start(idp.addr().parse().unwrap()).await;
        let mut setup = Setup::new(provider.addr.port());
        setup.proxy_to = Some(format!("http://{}", provider.addr));
        setup.extra_top = extra.to_owned();
        setup.upstream_extra = upstream_extra.to_owned();
        setup.webchat = webchat;
        let gateway = Gateway::start(&setup);
        gateway.wait_ready().await;
        Stack {
            idp,
            provider,
            gateway,
        }
    }
}
