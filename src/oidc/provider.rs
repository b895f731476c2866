//! What the gateway knows about the provider, fetched at start-up and kept fresh.
//!
//! A sidecar often starts before its provider, so nothing here is fatal: discovery is retried in the
//! background with exponential backoff, and until it succeeds readiness reports why (STYLE habit 5).
//! Once loaded, the discovery document and JWKS are re-fetched every `upstream.jwks_refresh`, and the JWKS
//! also on demand (rate-limited) when an ID token names a key id we do not know (OIDC Core §10.1.1).

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, DiscoveryError, IssuerUrl, JsonWebKeySet, ProviderMetadata,
};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::backchannel::{Backchannel, BackchannelError, Tagged};
use super::jwk::{VerifyingKeySet, verifying_set};
use crate::config::Upstream;
use crate::http_client::error_chain;
use crate::metrics::{JwksFetch, Metrics};
use crate::request_id::{RequestId, RequestIds};

/// Discovery fields beyond OIDC Discovery 1.0 that the gateway uses.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct ExtraMetadata {
    /// OpenID Connect RP-Initiated Logout 1.0 §2.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// RFC 9207 §3: the provider sends `iss` in authorization responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// RFC 8414 §2 / RFC 7636: PKCE methods; absent means the provider does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Start and cap of the retry backoff while the provider is not reachable.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);
/// At most one JWKS re-fetch for unknown key ids in this interval, so forged `kid`s cannot make the gateway
/// hammer the provider.
const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// A loaded discovery document and key set.
#[derive(Debug)]
pub struct Discovered {
    pub metadata: Metadata,
    /// The metadata's key set, as the ID-token check uses it (`jwk.rs`).
    pub jwks: VerifyingKeySet,
    pub fetched_at: Instant,
}

impl Discovered {
    pub fn new(metadata: Metadata) -> Self {
        Discovered {
            jwks: verifying_set(metadata.jwks()),
            metadata,
            fetched_at: Instant::now(),
        }
    }
}

enum State {
    Pending { reason: String },
    Ready(Arc<Discovered>),
}

pub struct Provider {
    pub upstream: Upstream,
    pub backchannel: Backchannel,
    state: RwLock<State>,
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
    metrics: Arc<Metrics>,
    /// Ids of the fetches no request asked for (the start-up discovery and the periodic refresh).
    pub ids: RequestIds,
}

impl Provider {
    pub fn new(upstream: Upstream, backchannel: Backchannel, metrics: Arc<Metrics>) -> Self {
        Provider {
            upstream,
            backchannel,
            state: RwLock::new(State::Pending {
                reason: "the provider's discovery document has not been fetched yet".into(),
            }),
            last_unknown_kid_fetch: Mutex::new(None),
            metrics,
            ids: RequestIds::new(),
        }
    }

    /// The loaded discovery document and keys, or why there are none yet.
    pub fn current(&self) -> Result<Arc<Discovered>, String> {
        match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
            State::Ready(discovered) => Ok(discovered.clone()),
            State::Pending { reason } => Err(reason.clone()),
        }
    }

    /// The discovery URL (OIDC Discovery §4): issuer + `/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.upstream.issuer.trim_end_matches('/')
        )
    }

    /// Fetches the discovery document (its `issuer` must equal ours exactly, OIDC Discovery §4.3) and the
    /// JWKS it names, with the request id `id`.
    pub async fn discover(&self, id: RequestId) -> Result<Discovered, String> {
        let issuer = IssuerUrl::new(self.upstream.issuer.clone())
            .map_err(|e| format!("upstream.issuer: {e}"))?;
        let client = Tagged {
            backchannel: &self.backchannel,
            id,
        };
        let metadata = Metadata::discover_async(issuer, &client)
            .await
            .map_err(|e| {
                self.metrics.jwks_fetch(JwksFetch::Error);
                describe_discovery_error(&self.discovery_url(), &e)
            })?;
        self.metrics.jwks_fetch(JwksFetch::Ok);
        Ok(Discovered::new(metadata))
    }

    fn set_ready(&self, discovered: Discovered) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = State::Ready(Arc::new(discovered));
        self.metrics.provider_ready(true);
    }

    fn set_pending(&self, reason: String) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if let State::Pending { .. } = &*state {
            *state = State::Pending { reason };
        }
    }

    /// Runs while the provider is in use: discovers with backoff until it works, then keeps it fresh. It
    /// holds the provider only while it works on it, and ends once a reload has replaced the provider and
    /// the last request using it is done.
    pub async fn keep_fresh(self: Arc<Self>) {
        let weak = Arc::downgrade(&self);
        drop(self);
        let mut delay = FIRST_RETRY;
        let mut attempt = 1u32;
        loop {
            let Some(this) = weak.upgrade() else { return };
            let id = this.ids.next();
            match this.discover(id).await {
                Ok(discovered) => {
                    info!(
                        request_id = %id,
                        issuer = %this.upstream.issuer,
                        keys = discovered.jwks.keys().len(),
                        attempt,
                        "provider discovery and JWKS loaded"
                    );
                    this.set_ready(discovered);
                    break;
                }
                Err(reason) => {
                    warn!(request_id = %id, attempt, retry_in = ?delay, reason = %reason, "provider not available yet");
                    this.set_pending(format!(
                        "{reason} (attempt {attempt}; retrying in {delay:?})"
                    ));
                    drop(this);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY);
                    attempt += 1;
                }
            }
        }
        loop {
            let Some(refresh) = weak.upgrade().map(|this| this.upstream.jwks_refresh) else {
                return;
            };
            tokio::time::sleep(refresh).await;
            let Some(this) = weak.upgrade() else { return };
            let id = this.ids.next();
            match this.discover(id).await {
                Ok(discovered) => this.set_ready(discovered),
                Err(reason) => {
                    warn!(request_id = %id, reason = %reason, "periodic refresh of the provider's keys failed; keeping the old ones")
                }
            }
        }
    }

    /// Re-fetches the JWKS because an ID token named a key id we do not have (the provider rotated its
    /// keys), for the request `id`. Returns true when a fetch happened and the key set changed.
    pub async fn refresh_for_unknown_kid(&self, id: RequestId) -> bool {
        {
            let mut last = self
                .last_unknown_kid_fetch
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(at) = *last
                && at.elapsed() < UNKNOWN_KID_REFETCH_INTERVAL
            {
                return false;
            }
            *last = Some(Instant::now());
        }
        let Ok(current) = self.current() else {
            return false;
        };
        let client = Tagged {
            backchannel: &self.backchannel,
            id,
        };
        match JsonWebKeySet::fetch_async(current.metadata.jwks_uri(), &client).await {
            Ok(jwks) => {
                self.metrics.jwks_fetch(JwksFetch::Ok);
                let changed = jwks.keys().len() != current.jwks.keys().len()
                    || jwks.keys().iter().zip(current.jwks.keys()).any(|(a, b)| {
                        serde_json::to_string(a).ok() != serde_json::to_string(b).ok()
                    });
                let mut metadata = current.metadata.clone();
                metadata = metadata.set_jwks(jwks);
                self.set_ready(Discovered::new(metadata));
                info!(changed, "JWKS re-fetched for an unknown key id");
                changed
            }
            Err(e) => {
                self.metrics.jwks_fetch(JwksFetch::Error);
                warn!(error = %error_chain(&e), "JWKS re-fetch for an unknown key id failed");
                false
            }
        }
    }
}

fn describe_discovery_error(url: &str, error: &DiscoveryError<BackchannelError>) -> String {
    match error {
        DiscoveryError::Request(e) => format!("cannot fetch {e}"),
        DiscoveryError::Response(status, _, message) => {
            format!("{url} answered {status}: {message}")
        }
        DiscoveryError::Parse(e) => format!("{url} is not a valid discovery document: {e}"),
        DiscoveryError::Validation(message) => {
            format!("{url}: {message}; set upstream.issuer to exactly the provider's issuer")
        }
        other => format!("{url}: {}", error_chain(other)),
    }
}

/// Signature algorithms the gateway accepts on ID tokens: asymmetric only. `none` and the HMAC family are
/// never accepted, whatever the provider advertises (RFC 8725 §3.1, §3.2).
pub const ACCEPTED_ID_TOKEN_ALGS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// What the gateway needs from the provider's discovery document, as a list of problems (empty: all good).
pub fn compatibility(metadata: &Metadata) -> Vec<String> {
    let mut problems = Vec::new();
    let supports_code = metadata.response_types_supported().iter().any(|types| {
        types.len() == 1 && serde_json::to_value(&types[0]).ok() == Some(serde_json::json!("code"))
    });
    if !supports_code {
        problems.push("the provider does not offer the authorization-code flow (response_types_supported lacks `code`); enable the standard flow for the client".to_owned());
    }
    if metadata.token_endpoint().is_none() {
        problems.push("the provider's discovery document has no token_endpoint".to_owned());
    }
    if let Some(methods) = &metadata
        .additional_metadata()
        .code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        problems.push("the provider does not support PKCE with S256 (code_challenge_methods_supported); enable PKCE S256 for the client".to_owned());
    }
    let auth_methods: Vec<String> = match metadata.token_endpoint_auth_methods_supported() {
        Some(methods) => methods
            .iter()
            .filter_map(|m| serde_json::to_value(m).ok()?.as_str().map(str::to_owned))
            .collect(),
        None => vec!["client_secret_basic".to_owned()],
    };
    if !auth_methods
        .iter()
        .any(|m| m == "client_secret_basic" || m == "client_secret_post")
    {
        problems.push(format!(
            "the provider's token endpoint accepts none of client_secret_basic / client_secret_post (it offers {}); configure the client with a client secret",
            auth_methods.join(", ")
        ));
    }
    let algs: Vec<String> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok()?.as_str().map(str::to_owned))
        .collect();
    if !algs
        .iter()
        .any(|a| ACCEPTED_ID_TOKEN_ALGS.contains(&a.as_str()))
    {
        problems.push(format!(
            "the provider signs ID tokens only with {} ; freshgate accepts asymmetric algorithms only (RS256 and friends); switch the client's ID token signature algorithm to RS256",
            algs.join(", ")
        ));
    }
    problems
}
