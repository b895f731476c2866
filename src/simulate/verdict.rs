//! The checks Freshworks documents for a JWT SSO response, one by one, each with a reason.
//!
//! From Freshworks' articles: RS256 only; `sub` and `email` required strings; `iat` seconds since the epoch
//! with at most 300 s drift; `nonce` the one Freshworks sent, valid 10 minutes; `given_name` and
//! `family_name` required; `phone_number` and `picture` optional strings; the redirect carries `state` and
//! `id_token`. The classic hand-written mistakes (iat in milliseconds, `&token=`, HS256, a hard-coded state)
//! each fail a named check here.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Freshworks' allowed clock drift on `iat`.
pub const IAT_DRIFT_SECS: i64 = 300;
/// How long Freshworks' nonce is valid.
pub const NONCE_LIFETIME_SECS: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub checks: Vec<Check>,
    pub claims: Map<String, Value>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// "Alice Anderson <alice@example.com>", as far as the claims say.
    pub fn who(&self) -> String {
        let text = |k: &str| {
            self.claims
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let name = format!("{} {}", text("given_name"), text("family_name"))
            .trim()
            .to_owned();
        format!("{name} <{}>", text("email"))
    }
}

/// What the simulator sent in the login request it is now checking.
pub struct Sent<'a> {
    pub nonce: &'a str,
    /// Unix seconds when the login request was sent.
    pub sent_at: i64,
}

struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, name: &'static str, result: Result<String, String>) {
        let (passed, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.0.push(Check {
            name,
            passed,
            detail,
        });
    }
}

/// Checks the redirect's query parameters. `sent` is `None` when `state` matches nothing we sent.
pub fn check(
    params: &HashMap<String, String>,
    sent: Option<Sent<'_>>,
    public_key_pem: &str,
    now: i64,
) -> Verdict {
    check_with_keys(params, sent, &[("", public_key_pem)], now)
}

/// `check` accepting a signature by any of `keys` (label, PEM): during a signing-key rollover both the key
/// in use and the staged one are valid, and the verdict names the one that verified.
pub fn check_with_keys(
    params: &HashMap<String, String>,
    sent: Option<Sent<'_>>,
    keys: &[(&str, &str)],
    now: i64,
) -> Verdict {
    let mut checks = Checks(Vec::new());
    let mut claims = Map::new();
    checks.add(
        "state is the one sent",
        match (params.get("state"), &sent) {
            (None, _) => Err("no `state` parameter".into()),
            (Some(_), None) => Err(
                "`state` matches no login this portal started (hard-coded or replayed state?)"
                    .into(),
            ),
            (Some(state), Some(_)) => Ok(format!("`{state}`")),
        },
    );
    let token = match (params.get("id_token"), params.get("token")) {
        (Some(token), _) => {
            checks.add("id_token parameter present", Ok("`id_token` is set".into()));
            token.clone()
        }
        (None, Some(_)) => {
            checks.add(
                "id_token parameter present",
                Err("the token came as `token=`; Freshworks reads `id_token=`".into()),
            );
            return Verdict {
                checks: checks.0,
                claims,
            };
        }
        (None, None) => {
            checks.add(
                "id_token parameter present",
                Err("no `id_token` parameter".into()),
            );
            return Verdict {
                checks: checks.0,
                claims,
            };
        }
    };

    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        checks.add(
            "token is a compact JWS",
            Err(format!("{} dot-separated parts instead of 3", parts.len())),
        );
        return Verdict {
            checks: checks.0,
            claims,
        };
    }
    let header: Option<Value> = URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    checks.add(
        "header says RS256",
        match header
            .as_ref()
            .and_then(|h| h.get("alg"))
            .and_then(Value::as_str)
        {
            Some("RS256") => Ok("alg RS256".into()),
            Some(other) => Err(format!("alg {other}; Freshworks accepts only RS256")),
            None => Err("no readable header".into()),
        },
    );
    checks.add(
        "RS256 signature verifies with the public key",
        verify_any(&parts, keys),
    );

    match URL_SAFE_NO_PAD
        .decode(parts[1])
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    {
        Some(Value::Object(map)) => claims = map,
        _ => {
            checks.add(
                "payload is a JSON object",
                Err("the payload does not decode".into()),
            );
            return Verdict {
                checks: checks.0,
                claims,
            };
        }
    }
    checks.add("sub is a non-empty string", required_string(&claims, "sub"));
    checks.add(
        "email is a string",
        required_string(&claims, "email").and_then(|email| {
            if email.contains('@') {
                Ok(email)
            } else {
                Err(format!("{email} is not an email address"))
            }
        }),
    );
    checks.add(
        "iat is seconds within 300 s of now",
        check_iat(claims.get("iat"), now),
    );
    checks.add(
        "nonce is the one sent",
        match (claims.get("nonce"), &sent) {
            (None, _) => Err("no nonce".into()),
            (Some(Value::String(nonce)), Some(sent)) if nonce == sent.nonce => {
                Ok(format!("`{nonce}`"))
            }
            (Some(Value::String(nonce)), Some(_)) => {
                Err(format!("`{nonce}` is not the nonce sent"))
            }
            (Some(Value::String(_)), None) => {
                Err("cannot compare: the state matched no login".into())
            }
            (Some(other), _) => Err(format!("{other} is not a string")),
        },
    );
    checks.add(
        "nonce is younger than 10 minutes",
        match &sent {
            Some(sent) if now - sent.sent_at <= NONCE_LIFETIME_SECS => {
                Ok(format!("{} s old", now - sent.sent_at))
            }
            Some(sent) => Err(format!("{} s old", now - sent.sent_at)),
            None => Err("no login to compare with".into()),
        },
    );
    checks.add(
        "given_name is present",
        required_string(&claims, "given_name"),
    );
    checks.add(
        "family_name is present",
        required_string(&claims, "family_name"),
    );
    for name in ["phone_number", "picture"] {
        let label = if name == "phone_number" {
            "phone_number is a string when present"
        } else {
            "picture is a string when present"
        };
        checks.add(
            label,
            match claims.get(name) {
                None => Ok("absent".into()),
                Some(Value::String(text)) => Ok(format!("`{text}`")),
                Some(other) => Err(format!(
                    "{other} is not a string (absent claims must be left out, not null)"
                )),
            },
        );
    }
    Verdict {
        checks: checks.0,
        claims,
    }
}

fn required_string(claims: &Map<String, Value>, name: &str) -> Result<String, String> {
    match claims.get(name) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
        Some(Value::String(_)) => Err("empty".into()),
        Some(other) => Err(format!("{other} is not a string")),
        None => Err("missing".into()),
    }
}

fn check_iat(iat: Option<&Value>, now: i64) -> Result<String, String> {
    let Some(iat) = iat else {
        return Err("missing".into());
    };
    let Some(seconds) = iat.as_i64() else {
        return Err(format!("{iat} is not an integer"));
    };
    if seconds > 100_000_000_000 {
        return Err(format!(
            "{seconds} looks like milliseconds; Freshworks wants seconds since the epoch"
        ));
    }
    let drift = seconds - now;
    if drift.abs() > IAT_DRIFT_SECS {
        Err(format!("{drift:+} s from now"))
    } else {
        Ok(format!("{drift:+} s from now"))
    }
}

fn verify_any(parts: &[&str], keys: &[(&str, &str)]) -> Result<String, String> {
    let mut last = Err("no public key".to_owned());
    for (label, pem) in keys {
        match verify_signature(parts, pem) {
            Ok(valid) if label.is_empty() => return Ok(valid),
            Ok(valid) => return Ok(format!("{valid} ({label})")),
            Err(e) => last = Err(e),
        }
    }
    if keys.len() > 1 {
        return Err(
            "the signature matches none of the public keys (the key in use and the staged one)"
                .into(),
        );
    }
    last
}

fn verify_signature(parts: &[&str], public_key_pem: &str) -> Result<String, String> {
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
        .map_err(|e| format!("public key: {e}"))?;
    let message = format!("{}.{}", parts[0], parts[1]);
    match jsonwebtoken::crypto::verify(
        parts[2],
        message.as_bytes(),
        &key,
        jsonwebtoken::Algorithm::RS256,
    ) {
        Ok(true) => Ok("valid".into()),
        Ok(false) => Err("the signature does not match the public key".into()),
        Err(e) => Err(format!("cannot verify: {e}")),
    }
}

#[cfg(test)]
mod tests;
