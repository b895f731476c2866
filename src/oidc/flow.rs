//! The gateway as an OpenID Connect relying party: authorization request with PKCE, code exchange, ID token
//! validation, userinfo. Strict by design (RFC 9700, RFC 8725, OIDC Core §3.1.3.7).

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request};
use openidconnect::core::{CoreIdToken, CoreJwsSigningAlgorithm};
use openidconnect::{
    ClaimsVerificationError, ClientId, IdTokenVerifier, IssuerUrl, Nonce,
    SignatureVerificationError,
};
use serde_json::{Map, Value};
use url::Url;

use super::provider::{ACCEPTED_ID_TOKEN_ALGS, Discovered, Provider};
use crate::admin::metrics::ProviderCall;
use crate::config::Upstream;
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

/// What a validated ID token says.
pub struct IdClaims {
    pub subject: String,
    pub claims: Map<String, Value>,
}

/// Validates the ID token (OIDC Core §3.1.3.7): signature with a key from the provider's JWKS and an
/// asymmetric algorithm the provider advertises (never `none`, never HMAC — RFC 8725 §2.1, §3.1), `iss`
/// exactly ours, `aud` containing our client id and no untrusted other audience, `azp` when several
/// audiences, `exp`, `iat` and `nbf` within `CLOCK_SKEW`, and our `nonce`. `max_age` bounds how old `iat` may be.
///
/// The profile claims (OIDC Core §5.1) are the gateway's to read, not the library's: the library types them
/// strictly and would refuse a whole token for one it dislikes (`email_verified: "true"`), where the gateway
/// reads them from the verified payload and applies its own rules the same way to every source
/// (`claims::email`: not a JSON `true`, not verified). So the library is handed the token with the profile
/// claims taken out of the payload (`handed_to_library`), and its signature check is pointed at the bytes the
/// provider signed (`jwk::verifying_signed`): the signature still covers every claim, and every check the
/// library makes reads the same values the provider signed.
pub fn validate_id_token(
    discovered: &Discovered,
    upstream: &Upstream,
    id_token: &str,
    nonce: &str,
    max_age: Duration,
) -> Result<IdClaims, IdTokenError> {
    let claims = payload_claims(id_token)?;
    let (handed, handed_input, signed_input) = handed_to_library(id_token, &claims)?;
    let token = CoreIdToken::from_str(&handed)
        .map_err(|e| IdTokenError::Invalid(format!("malformed: {e}")))?;
    let issuer = IssuerUrl::new(upstream.issuer.clone())
        .map_err(|e| IdTokenError::Invalid(e.to_string()))?;
    let advertised: Vec<String> = discovered
        .metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok()?.as_str().map(str::to_owned))
        .collect();
    let algs: Vec<CoreJwsSigningAlgorithm> = ACCEPTED_ID_TOKEN_ALGS
        .iter()
        .filter(|alg| advertised.iter().any(|a| a == *alg))
        .filter_map(|alg| serde_json::from_value(Value::from(*alg)).ok())
        .collect();
    let now = SystemTime::now();
    let verifier = IdTokenVerifier::new_public_client(
        ClientId::new(upstream.client_id.clone()),
        issuer,
        super::jwk::verifying_signed(&discovered.jwks, &handed_input, signed_input),
    )
    .set_allowed_algs(algs)
    .set_time_fn(move || DateTime::<Utc>::from(now - CLOCK_SKEW))
    .set_issue_time_verifier_fn(move |iat| {
        let iat = SystemTime::from(iat);
        if iat > now + CLOCK_SKEW {
            Err("iat is in the future".into())
        } else if now.duration_since(iat).unwrap_or_default() > max_age + CLOCK_SKEW {
            Err("iat is older than the login".into())
        } else {
            Ok(())
        }
    });
    let expected = Nonce::new(nonce.to_owned());
    let payload = claims;
    match token.claims(&verifier, &expected) {
        Ok(claims) => {
            // OIDC Core §3.1.3.7 steps 4-5, which the library leaves to the client: with several audiences
            // `azp` must be present, and when present it must be our client id.
            match claims.authorized_party() {
                Some(azp) if azp.as_str() != upstream.client_id => {
                    return Err(IdTokenError::Invalid(format!(
                        "azp `{}` is not our client id",
                        azp.as_str()
                    )));
                }
                None if claims.audiences().len() > 1 => {
                    return Err(IdTokenError::Invalid("several audiences but no azp".into()));
                }
                _ => {}
            }
            let subject = claims.subject().as_str().to_owned();
            let claims = payload;
            // The library leaves `nbf` alone (OIDC Core does not define it for ID tokens), but a token
            // that says it is not valid yet is not valid (RFC 7519 §4.1.5).
            not_in_the_future(&claims, "nbf", crate::clock::unix_now())
                .map_err(IdTokenError::Invalid)?;
            Ok(IdClaims { subject, claims })
        }
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => Err(IdTokenError::UnknownKey),
        Err(e) => Err(IdTokenError::Invalid(e.to_string())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error("no key in the provider's JWKS matches the token's key id")]
    UnknownKey,
    #[error("{0}")]
    Invalid(String),
}

/// The profile claims of OIDC Core §5.1 besides `sub` (and `birthday`, an older spelling the library also
/// reads), with or without a language tag (`name#de`).
const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "birthday",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

fn is_profile_claim(name: &str) -> bool {
    let base = name.split_once('#').map_or(name, |(base, _)| base);
    PROFILE_CLAIMS.contains(&base)
}

/// The ID token as the library is given it (see `validate_id_token`): the provider's header and signature
/// around its payload without the profile claims. Returns that token, its signing input, and the signing
/// input the provider signed.
fn handed_to_library<'a>(
    id_token: &'a str,
    claims: &Map<String, Value>,
) -> Result<(String, String, &'a str), IdTokenError> {
    let not_jws = || IdTokenError::Invalid("not a compact JWS".into());
    if id_token.split('.').count() != 3 {
        return Err(not_jws());
    }
    let (signed_input, signature) = id_token.rsplit_once('.').ok_or_else(not_jws)?;
    let (header, _) = signed_input.split_once('.').ok_or_else(not_jws)?;
    let registered: Map<String, Value> = claims
        .iter()
        .filter(|(name, _)| !is_profile_claim(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let payload = serde_json::to_vec(&registered).expect("a JSON object serializes");
    let handed_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    Ok((
        format!("{handed_input}.{signature}"),
        handed_input,
        signed_input,
    ))
}

/// The JSON claims of a compact JWS (not verified by this function).
fn payload_claims(token: &str) -> Result<Map<String, Value>, IdTokenError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| IdTokenError::Invalid("not a compact JWS".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| IdTokenError::Invalid("payload is not base64url".into()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(IdTokenError::Invalid("payload is not a JSON object".into())),
    }
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
