//! What `/readyz` answers (`crate::admin`) about a running snapshot.

use super::Snapshot;

impl Snapshot {
    /// Ready when the signing key is loaded, the provider's discovery document and JWKS are fetched, the
    /// directory's service account binds and the shared store answers (each when configured; the store
    /// only with `on_error: fail_closed`), and the gateway is not shutting down.
    pub fn readiness(&self, shutting_down: bool) -> (bool, serde_json::Value) {
        let snapshot = self;
        let mut reasons = Vec::new();
        if shutting_down {
            reasons.push(
                "shutting down: finishing what is in flight, new requests belong on another replica"
                    .to_owned(),
            );
        }
        // A snapshot with a `freshworks` section always has its key: one that does not load is refused.
        let signing_key = if snapshot.signing_key.is_some() {
            "ok"
        } else {
            "not configured"
        };
        let provider = match snapshot.provider.as_ref().map(|p| p.current()) {
            None => "not configured",
            Some(Ok(_)) => "ok",
            Some(Err(reason)) => {
                reasons.push(reason.clone());
                "not ready"
            }
        };
        let directory = match snapshot.directory.as_ref().map(|d| d.health()) {
            None => "not configured",
            Some(None) => "ok",
            Some(Some(reason)) => {
                reasons.push(format!("directory: {reason}"));
                "not ready"
            }
        };
        let store = match snapshot.store.health() {
            None => "ok",
            Some(reason) => {
                if snapshot.store.blocks_readiness() {
                    reasons.push(reason);
                    "not ready"
                } else {
                    "degraded"
                }
            }
        };
        let ready = reasons.is_empty();
        let body = serde_json::json!({
            "ready": ready,
            "checks": {
                "signing_key": signing_key,
                "provider": provider,
                "directory": directory,
                "store": store,
            },
            "shutting_down": shutting_down,
            "reasons": reasons,
        });
        (ready, body)
    }
}
