//! The gateway as an OpenID Connect relying party: authorization request with PKCE, code exchange,
//! userinfo (the ID token's validation is `super::id_token`'s). Strict by design (RFC 9700, RFC 8725,
//! OIDC Core §3.1.3.7).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request};
use serde_json::{Map, Value};
use url::Url;

use super::provider::{Discovered, Provider};
use crate::config::Upstream;
use crate::metrics::ProviderCall;
use crate::request_id::RequestId;

/// Clock skew tolerated on `exp`, `nbf` and `iat` (RFC 7519 §4.1.4: "some small leeway, usually no more
/// than a few minutes, to account for clock skew").
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// RFC 7636 §4.2: `BASE64URL(SHA256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// The provider's authorization URL for an authorization-code request with PKCE S256 (RFC 7636 §4.3).
pub fn authorization_url(
    discovered: &Discovered,
    upstream: &Upstream,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    pkce_verifier: &str,
) -> Url {
    let mut url = discovered.metadata.authorization_endpoint().url().clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &upstream.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &upstream.scopes.join(" "))
        .append_pair("state", state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", &pkce_challenge(pkce_verifier))
        .append_pair("code_challenge_method", "S256");
    url
}

/// Tokens from the token endpoint, as far as the gateway uses them.
pub struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("token endpoint: {0}")]
    Token(String),
    #[error("ID token rejected: {0}")]
    IdToken(String),
    #[error("userinfo: {0}")]
    Userinfo(String),
    /// The provider refused the access token (userinfo answered 401 or 403).
    #[error("userinfo refused the access token: {0}")]
    Rejected(String),
}

/// RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5), authenticating as discovery says:
/// `client_secret_basic` when offered (the default of OIDC Discovery), else `client_secret_post`.
pub async fn exchange_code(
    provider: &Provider,
    discovered: &Discovered,
    code: &str,
    redirect_uri: &str,
    pkce_verifier: &str,
    id: RequestId,
) -> Result<Tokens, FlowError> {
    let upstream = &provider.upstream;
    let endpoint = discovered
        .metadata
        .token_endpoint()
        .ok_or_else(|| FlowError::Token("the provider has no token_endpoint".into()))?;
    let use_basic = match discovered.metadata.token_endpoint_auth_methods_supported() {
        None => true,
        Some(methods) => methods
            .iter()
            .any(|m| serde_json::to_value(m).ok() == Some(Value::from("client_secret_basic"))),
    };
    let request = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", pkce_verifier);
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(endpoint.as_str())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json");
        if use_basic {
            // RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
            let user: String =
                url::form_urlencoded::byte_serialize(upstream.client_id.as_bytes()).collect();
            let pass: String =
                url::form_urlencoded::byte_serialize(upstream.client_secret.expose().as_bytes())
                    .collect();
            request = request.header(
                AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(format!("{user}:{pass}"))),
            );
        } else {
            form.append_pair("client_id", &upstream.client_id)
                .append_pair("client_secret", upstream.client_secret.expose());
        }
        request
            .body(form.finish().into_bytes())
            .map_err(|e| FlowError::Token(e.to_string()))?
    };
    let response = provider
        .backchannel
        .send(request, ProviderCall::Token, id)
        .await
        .map_err(|e| FlowError::Token(e.to_string()))?;
    let body: Value = serde_json::from_slice(response.body()).map_err(|_| {
        FlowError::Token(format!(
            "HTTP {} with a body that is not JSON",
            response.status()
        ))
    })?;
    if !response.status().is_success() {
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        return Err(FlowError::Token(format!(
            "HTTP {} error={error}",
            response.status()
        )));
    }
    let id_token = body
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            FlowError::Token(
                "the response has no id_token (is `openid` in upstream.scopes?)".into(),
            )
        })?;
    Ok(Tokens {
        id_token: id_token.to_owned(),
        access_token: body
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// OIDC Core §5.3: the userinfo claims. With `subject` (the ID token's), its `sub` must be equal (§5.3.4),
/// or the answer is for someone else and must not be used; without, it must at least carry a `sub`.
pub async fn userinfo(
    provider: &Provider,
    discovered: &Discovered,
    access_token: &str,
    subject: Option<&str>,
    id: RequestId,
) -> Result<Map<String, Value>, FlowError> {
    let endpoint = discovered
        .metadata
        .userinfo_endpoint()
        .ok_or_else(|| FlowError::Userinfo("the provider has no userinfo_endpoint".into()))?;
    let request = Request::builder()
        .method(Method::GET)
        .uri(endpoint.as_str())
        .header(AUTHORIZATION, format!("Bearer {access_token}"))
        .header(ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| FlowError::Userinfo(e.to_string()))?;
    let response = provider
        .backchannel
        .send(request, ProviderCall::Userinfo, id)
        .await
        .map_err(|e| FlowError::Userinfo(e.to_string()))?;
    if response.status() == http::StatusCode::UNAUTHORIZED
        || response.status() == http::StatusCode::FORBIDDEN
    {
        return Err(FlowError::Rejected(format!("HTTP {}", response.status())));
    }
    if !response.status().is_success() {
        return Err(FlowError::Userinfo(format!("HTTP {}", response.status())));
    }
    let claims: Map<String, Value> = serde_json::from_slice(response.body()).map_err(|_| {
        FlowError::Userinfo(
            "the answer is not a JSON object (signed userinfo is not supported)".into(),
        )
    })?;
    match (claims.get("sub").and_then(Value::as_str), subject) {
        (Some(sub), Some(subject)) if sub == subject => Ok(claims),
        (Some(_), None) => Ok(claims),
        (Some(_), Some(_)) => Err(FlowError::Userinfo(
            "its sub differs from the ID token's".into(),
        )),
        (None, _) => Err(FlowError::Userinfo("the answer has no sub".into())),
    }
}

/// Checks that the time claim `name` (`nbf`, `iat`), when present, is a number of seconds no later than
/// `now` + `CLOCK_SKEW`: RFC 7519 §4.1.5 (a token must not be accepted before `nbf`) and §4.1.6 (`iat`
/// says when it was issued, which cannot be later than now).
pub fn not_in_the_future(claims: &Map<String, Value>, name: &str, now: u64) -> Result<(), String> {
    let Some(value) = claims.get(name) else {
        return Ok(());
    };
    let Some(seconds) = value.as_f64() else {
        return Err(format!("{name} is not a number of seconds"));
    };
    if seconds > (now + CLOCK_SKEW.as_secs()) as f64 {
        return Err(format!("{name} is in the future"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_time_claim_later_than_now_plus_the_skew_is_refused() {
        let now = 1_700_000_000u64;
        let skew = CLOCK_SKEW.as_secs();
        let cases: Vec<(Value, bool)> = vec![
            (json!(null), true), // absent: the claim is optional
            (json!(now - 3600), true),
            (json!(now), true),
            (json!(now + skew), true),
            (json!(now + skew + 1), false),
            (json!(now + 3600), false),
            (json!((now + 10) as f64 + 0.5), true),
            (json!("1700000000"), false),
            (json!(true), false),
        ];
        for (value, ok) in cases {
            let mut claims = Map::new();
            if !value.is_null() {
                claims.insert("nbf".into(), value.clone());
            }
            let result = not_in_the_future(&claims, "nbf", now);
            assert_eq!(result.is_ok(), ok, "{value}: {result:?}");
        }
    }
}
