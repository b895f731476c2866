//! Why `/sso/webchat/token` minted nothing: a JSON body, the status, and for bearer problems the
//! `WWW-Authenticate` challenge of RFC 6750 §3.

use http::StatusCode;

use crate::metrics::LoginOutcome;

#[derive(Debug)]
pub enum WebchatError {
    /// No bearer token and no browser session (RFC 6750 §3.1: no error code in the challenge).
    NoCredentials,
    /// The access token is malformed, expired, forged, from another issuer or for another audience.
    InvalidToken {
        detail: String,
    },
    /// The request came from an origin that is not in `webchat.allowed_origins`.
    OriginNotAllowed,
    /// A browser-session request without the CSRF header or without an allowed `Origin`.
    CsrfCheckFailed,
    /// The user's claims lack the identifying claim (`email` or `unique_external_id`).
    MissingIdentity {
        claim: String,
    },
    /// Identified by an email address the provider does not say it verified (`upstream.email_verified`).
    EmailNotVerified,
    /// The email claim is not a single address (a list, a display name, several `@`).
    NotOneAddress,
    ProviderNotReady {
        detail: String,
    },
    /// Too many opaque tokens are being checked at the provider right now (`limit`).
    Busy,
    ProviderError {
        detail: String,
    },
}

impl WebchatError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebchatError::NoCredentials | WebchatError::InvalidToken { .. } => {
                StatusCode::UNAUTHORIZED
            }
            WebchatError::OriginNotAllowed
            | WebchatError::CsrfCheckFailed
            | WebchatError::MissingIdentity { .. }
            | WebchatError::EmailNotVerified
            | WebchatError::NotOneAddress => StatusCode::FORBIDDEN,
            WebchatError::ProviderNotReady { .. } | WebchatError::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            WebchatError::ProviderError { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// A refusal when the caller was identified (or is being held back) and a rule said no; a failure
    /// otherwise.
    pub fn outcome(&self) -> LoginOutcome {
        match self {
            WebchatError::MissingIdentity { .. }
            | WebchatError::EmailNotVerified
            | WebchatError::NotOneAddress
            | WebchatError::Busy => LoginOutcome::Refusal,
            _ => LoginOutcome::Failure,
        }
    }

    /// The `error` field and the metrics reason.
    pub fn code(&self) -> &'static str {
        match self {
            WebchatError::NoCredentials => "no_credentials",
            WebchatError::InvalidToken { .. } => "invalid_token",
            WebchatError::OriginNotAllowed => "origin_not_allowed",
            WebchatError::CsrfCheckFailed => "csrf_check_failed",
            WebchatError::MissingIdentity { .. } => "missing_claim",
            WebchatError::EmailNotVerified => "email_not_verified",
            WebchatError::NotOneAddress => "invalid_email",
            WebchatError::ProviderNotReady { .. } => "provider_not_ready",
            WebchatError::Busy => "busy",
            WebchatError::ProviderError { .. } => "provider_error",
        }
    }

    /// What the caller may read: no internal detail, no token.
    pub fn message(&self) -> String {
        match self {
            WebchatError::NoCredentials => {
                "Send the provider's access token as `Authorization: Bearer …`, or sign in through /sso/webchat/login first.".into()
            }
            WebchatError::InvalidToken { .. } => {
                "The access token is not valid here (expired, forged, from another issuer or for another audience).".into()
            }
            WebchatError::OriginNotAllowed => "This origin is not allowed to request Web Chat tokens.".into(),
            WebchatError::CsrfCheckFailed => format!(
                "Browser-session requests must come from an allowed origin with the `{}: 1` header.",
                super::cors::CSRF_HEADER
            ),
            WebchatError::MissingIdentity { claim } => format!(
                "Your account has no `{claim}` at the identity provider, so Freshdesk cannot identify you; ask your IT team to add it."
            ),
            WebchatError::NotOneAddress => "The email address the identity provider sent is not a single address, so Freshdesk cannot identify you by it; ask your IT team to correct it there.".into(),
            WebchatError::EmailNotVerified => "The identity provider has not confirmed that your email address is yours, so Freshdesk cannot identify you by it; verify it there (or ask your IT team to), then sign in again.".into(),
            WebchatError::ProviderNotReady { .. } => "The identity provider cannot be reached right now; try again shortly.".into(),
            WebchatError::Busy => "Too many tokens are being checked with the identity provider right now; try again in a second.".into(),
            WebchatError::ProviderError { .. } => "The identity provider did not answer correctly; try again shortly.".into(),
        }
    }

    /// For the log line.
    pub fn detail(&self) -> String {
        match self {
            WebchatError::InvalidToken { detail }
            | WebchatError::ProviderNotReady { detail }
            | WebchatError::ProviderError { detail } => detail.clone(),
            WebchatError::MissingIdentity { claim } => format!("no {claim} claim"),
            other => other.code().replace('_', " "),
        }
    }

    /// RFC 6750 §3 challenge for 401 answers.
    pub fn challenge(&self) -> Option<String> {
        match self {
            WebchatError::NoCredentials => Some(r#"Bearer realm="freshgate""#.into()),
            WebchatError::InvalidToken { .. } => Some(
                r#"Bearer realm="freshgate", error="invalid_token", error_description="the access token is not valid""#.into(),
            ),
            _ => None,
        }
    }
}
