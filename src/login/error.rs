//! Everything that can stop a sign-in (a Freshworks login or a Web Chat session), with the page the person
//! sees (`page`), the status, and the metric reason. Internal detail (provider messages, library errors) is
//! in `detail` and goes only to the log.

mod page;

use http::StatusCode;

use crate::metrics::LoginOutcome;

#[derive(Debug)]
pub enum SsoError {
    /// The route's feature (Freshworks SSO or Web Chat) has no section in the configuration.
    NotConfigured {
        feature: &'static str,
    },
    /// `/sso/webchat/login?return_to=` names no page of an allowed origin.
    BadReturnTo,
    /// The Login URL was called with something Freshworks would never send.
    BadLoginRequest {
        reason: &'static str,
        message: String,
    },
    UnknownAccount {
        id: String,
    },
    RedirectUriMismatch {
        account: String,
    },
    ProviderNotReady {
        detail: String,
    },
    /// The callback carries no state, or no pending-login cookie matches it.
    NoPendingLogin {
        restart: Option<String>,
    },
    /// The cookie exists but does not decrypt or does not match the state.
    TamperedLogin {
        restart: Option<String>,
    },
    ExpiredLogin {
        restart: Option<String>,
        minutes: u64,
    },
    ReplayedCallback {
        restart: Option<String>,
    },
    ProviderError {
        code: String,
        restart: Option<String>,
    },
    IssuerMismatch,
    MissingCode,
    TokenExchange {
        detail: String,
    },
    InvalidIdToken {
        detail: String,
    },
    UserinfoFailed {
        detail: String,
    },
    MissingClaim {
        claim: &'static str,
        sources: String,
    },
    /// The email address comes from the provider's `email` claim, which the provider does not say it verified
    /// (`upstream.email_verified`).
    EmailNotVerified,
    /// The email address to sign is not a single address (a list, a display name, several `@`).
    NotOneAddress,
    Signing {
        detail: String,
    },
    /// The user is who they say, but the account's `allow` rules leave them out.
    NotAllowed(crate::identity::NotAllowed),
    /// A directory (password) login that cannot go on: an account state, or the directory unavailable.
    Directory(crate::directory::LoginError),
    /// The directory entry lacks an attribute a required claim is mapped from (the seed's "no mail").
    MissingAttribute {
        claim: &'static str,
        attributes: String,
    },
    /// The shared store (replay guard) cannot be reached and `store.on_error` is `fail_closed`.
    StoreUnavailable {
        detail: String,
    },
    /// The login form was posted from another site, or not as a form.
    ForgedForm {
        reason: &'static str,
    },
    /// The login form's body, of no declared length, ran past `route::SSO_MAX_BODY_BYTES`.
    FormTooLarge,
    /// A failure at the callback after the pending login was read. Its cookie is cleared with this page, so
    /// the page carries the way back (`restart`); a refusal of who the user is also offers `switch`.
    AtCallback {
        error: Box<SsoError>,
        restart: Option<String>,
        switch: Option<SwitchAccount>,
    },
}

/// "Sign out and use another account": the provider remembers the user, so logging in again would meet the
/// same refusal. The link leads to the gateway's Logout URL (RP-initiated logout at the provider, then the
/// account's `logout_redirect_url`, from where a fresh login starts); `hint_cookie` keeps the provider's ID
/// token for `id_token_hint` so the provider signs the user out without asking.
#[derive(Debug)]
pub struct SwitchAccount {
    pub href: String,
    pub hint_cookie: Option<String>,
}

impl SsoError {
    /// The `reason` label of `freshgate_logins_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            SsoError::AtCallback { error, .. } => error.reason(),
            SsoError::BadLoginRequest { reason, .. } => reason,
            SsoError::UnknownAccount { .. } => "unknown_account",
            SsoError::RedirectUriMismatch { .. } => "redirect_uri_mismatch",
            SsoError::ProviderNotReady { .. } => "provider_not_ready",
            SsoError::NoPendingLogin { .. } => "no_pending_login",
            SsoError::TamperedLogin { .. } => "tampered_login",
            SsoError::ExpiredLogin { .. } => "expired_login",
            SsoError::ReplayedCallback { .. } => "replayed_callback",
            SsoError::ProviderError { .. } => "provider_error",
            SsoError::IssuerMismatch => "issuer_mismatch",
            SsoError::MissingCode => "missing_code",
            SsoError::TokenExchange { .. } => "token_exchange_failed",
            SsoError::InvalidIdToken { .. } => "invalid_id_token",
            SsoError::UserinfoFailed { .. } => "userinfo_failed",
            SsoError::MissingClaim { .. } => "missing_claim",
            SsoError::EmailNotVerified => "email_not_verified",
            SsoError::NotOneAddress => "invalid_email",
            SsoError::Signing { .. } => "signing_failed",
            SsoError::NotConfigured { .. } => "not_configured",
            SsoError::BadReturnTo => "bad_return_to",
            SsoError::NotAllowed(rule) => rule.reason(),
            SsoError::Directory(error) => error.reason(),
            SsoError::MissingAttribute { .. } => "missing_attribute",
            SsoError::ForgedForm { reason } => reason,
            SsoError::FormTooLarge => "form_too_large",
            SsoError::StoreUnavailable { .. } => "store_unavailable",
        }
    }

    /// How the login attempt ended, for the audit event and `freshgate_login_duration_seconds`: a
    /// refusal when a rule turned away a user who was identified, a failure otherwise.
    pub fn outcome(&self) -> LoginOutcome {
        match self {
            SsoError::AtCallback { error, .. } => error.outcome(),
            SsoError::Directory(error) => error.outcome(),
            SsoError::NotAllowed(_)
            | SsoError::MissingClaim { .. }
            | SsoError::MissingAttribute { .. }
            | SsoError::EmailNotVerified
            | SsoError::NotOneAddress => LoginOutcome::Refusal,
            _ => LoginOutcome::Failure,
        }
    }

    /// What goes to the log line (never a token, code or secret).
    pub fn detail(&self) -> String {
        match self {
            SsoError::AtCallback { error, .. } => error.detail(),
            SsoError::BadLoginRequest { message, .. } => message.clone(),
            SsoError::UnknownAccount { id } => {
                format!("no account `{}` in freshworks.accounts", truncate(id))
            }
            SsoError::RedirectUriMismatch { account } => {
                format!("redirect_uri differs from freshworks.accounts.{account}.redirect_url")
            }
            SsoError::ProviderNotReady { detail }
            | SsoError::TokenExchange { detail }
            | SsoError::InvalidIdToken { detail }
            | SsoError::UserinfoFailed { detail }
            | SsoError::Signing { detail }
            | SsoError::StoreUnavailable { detail } => detail.clone(),
            SsoError::ProviderError { code, .. } => format!("provider answered error={code}"),
            SsoError::MissingClaim { claim, sources } => {
                format!("claim {claim} missing (looked at {sources})")
            }
            SsoError::MissingAttribute { claim, attributes } => {
                format!("claim {claim} missing: the directory entry has no {attributes}")
            }
            SsoError::Directory(error) => error.detail(),
            other => other.reason().replace('_', " "),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            SsoError::AtCallback { error, .. } => error.status(),
            SsoError::BadLoginRequest { .. }
            | SsoError::UnknownAccount { .. }
            | SsoError::RedirectUriMismatch { .. }
            | SsoError::NoPendingLogin { .. }
            | SsoError::TamperedLogin { .. }
            | SsoError::ExpiredLogin { .. }
            | SsoError::ReplayedCallback { .. }
            | SsoError::IssuerMismatch
            | SsoError::MissingCode
            | SsoError::BadReturnTo => StatusCode::BAD_REQUEST,
            SsoError::NotConfigured { .. } => StatusCode::NOT_FOUND,
            SsoError::ProviderError { code, .. } if code == "access_denied" => {
                StatusCode::FORBIDDEN
            }
            SsoError::ProviderError { .. } => StatusCode::BAD_GATEWAY,
            SsoError::ProviderNotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            SsoError::TokenExchange { .. }
            | SsoError::InvalidIdToken { .. }
            | SsoError::UserinfoFailed { .. } => StatusCode::BAD_GATEWAY,
            SsoError::MissingClaim { .. }
            | SsoError::EmailNotVerified
            | SsoError::NotOneAddress => StatusCode::FORBIDDEN,
            SsoError::Signing { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            SsoError::NotAllowed(_) | SsoError::MissingAttribute { .. } => StatusCode::FORBIDDEN,
            SsoError::Directory(error) => error.status(),
            SsoError::ForgedForm { .. } => StatusCode::FORBIDDEN,
            SsoError::FormTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            SsoError::StoreUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The same failure, known to have happened at the callback once its pending login was read.
    pub fn at_callback(self, restart: Option<String>) -> SsoError {
        match self {
            SsoError::ProviderError { code, .. } => SsoError::ProviderError { code, restart },
            SsoError::AtCallback { error, switch, .. } => SsoError::AtCallback {
                error,
                restart,
                switch,
            },
            error => SsoError::AtCallback {
                error: Box::new(error),
                restart,
                switch: None,
            },
        }
    }

    /// The `Set-Cookie` a page must carry besides the pending-login one (the logout hint of `switch`).
    pub fn extra_cookie(&self) -> Option<&str> {
        match self {
            SsoError::AtCallback {
                switch: Some(switch),
                ..
            } => switch.hint_cookie.as_deref(),
            _ => None,
        }
    }

    /// For the failures that only happen at the callback: where to start again, if known.
    pub(super) fn restart(&self) -> Option<Option<&str>> {
        match self {
            SsoError::NoPendingLogin { restart }
            | SsoError::TamperedLogin { restart }
            | SsoError::ExpiredLogin { restart, .. }
            | SsoError::ReplayedCallback { restart }
            | SsoError::ProviderError { restart, .. } => Some(restart.as_deref()),
            _ => None,
        }
    }
}

/// Ids and provider codes shown on a page are cut short: they come from the request.
pub(super) fn truncate(text: &str) -> String {
    let cut: String = text.chars().take(64).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a login can fail once the callback has read (and cleared) its pending login.
    fn callback_failures() -> Vec<SsoError> {
        let detail = || "detail".to_owned();
        vec![
            SsoError::ProviderNotReady { detail: detail() },
            SsoError::ProviderError {
                code: "server_error".into(),
                restart: None,
            },
            SsoError::IssuerMismatch,
            SsoError::MissingCode,
            SsoError::TokenExchange { detail: detail() },
            SsoError::InvalidIdToken { detail: detail() },
            SsoError::UserinfoFailed { detail: detail() },
            SsoError::MissingClaim {
                claim: "email",
                sources: "email".into(),
            },
            SsoError::EmailNotVerified,
            SsoError::Signing { detail: detail() },
            SsoError::UnknownAccount { id: "1".into() },
        ]
    }

    #[test]
    fn every_failure_at_the_callback_links_back_and_keeps_its_status_and_reason() {
        for error in callback_failures() {
            let (status, reason) = (error.status(), error.reason());
            let error = error.at_callback(Some("https://acme.example/".into()));
            assert_eq!((error.status(), error.reason()), (status, reason));
            let page = error.page();
            assert_eq!(
                page.link,
                Some((
                    "Start the login again".to_owned(),
                    "https://acme.example/".to_owned()
                )),
                "{reason}"
            );
            assert!(page.forget_query, "{reason}");
        }
    }

    #[test]
    fn only_a_refusal_offers_to_sign_out_and_use_another_account() {
        let refusal = SsoError::AtCallback {
            error: Box::new(SsoError::EmailNotVerified),
            restart: None,
            switch: Some(SwitchAccount {
                href: "/sso/jwt/logout?client_id=1".into(),
                hint_cookie: Some("freshgate-logout=sealed".into()),
            }),
        }
        .at_callback(Some("https://acme.example/".into()));
        assert_eq!(refusal.extra_cookie(), Some("freshgate-logout=sealed"));
        let page = refusal.page();
        assert_eq!(
            page.other_link.map(|(label, _)| label),
            Some("Sign out and use another account".to_owned())
        );
        assert!(page.link.is_some());
        let other = SsoError::TokenExchange {
            detail: String::new(),
        }
        .at_callback(None);
        assert!(other.page().other_link.is_none() && other.extra_cookie().is_none());
    }
}
