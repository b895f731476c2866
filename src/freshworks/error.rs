//! Everything that can stop a Freshworks login, with the page the person sees, the status, and the metric
//! reason. Internal detail (provider messages, library errors) is in `detail` and goes only to the log.

use http::StatusCode;

use crate::metrics::LoginOutcome;
use crate::pages::Page;

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

    pub fn page(&self) -> Page {
        if let SsoError::AtCallback {
            error,
            restart,
            switch,
        } = self
        {
            let mut page = error.page().forget_query();
            if let Some(restart) = restart
                && page.link.is_none()
            {
                page = page.link("Start the login again", restart);
            }
            if let Some(switch) = switch {
                page = page.other_link("Sign out and use another account", &switch.href);
            }
            return page;
        }
        let status = self.status();
        let code = self.reason();
        let ask_it = "If it keeps happening, tell your IT team and quote the request id below.";
        let page = match self {
            SsoError::BadLoginRequest { message, .. } => Page::new(status, code, "This sign-in link is not valid", message.clone())
                .advice("Open your Freshworks portal and log in from there; the portal builds this link itself."),
            SsoError::UnknownAccount { id } => Page::new(
                status,
                code,
                "This Freshworks account is not set up on the sign-in gateway",
                format!("The gateway has no account with the id `{}`.", truncate(id)),
            )
            .advice("An administrator must add the account under freshworks.accounts in the gateway configuration."),
            SsoError::RedirectUriMismatch { .. } => Page::new(
                status,
                code,
                "This sign-in link is not valid",
                "The link asks to send you somewhere other than the Freshworks address configured for this account, so the gateway refused it.",
            )
            .advice("Log in from your Freshworks portal. If you did, an administrator must check the account's redirect_url."),
            SsoError::ProviderNotReady { .. } => Page::new(
                status,
                code,
                "The sign-in service is not available right now",
                "The gateway cannot reach the identity provider at the moment.",
            )
            .advice(format!("Try again in a minute. {ask_it}")),
            SsoError::NoPendingLogin { .. } => Page::new(
                status,
                code,
                "This sign-in cannot be finished",
                "The gateway has no record of this sign-in in your browser. It may have been started in another browser, or cookies may be blocked for this site.",
            )
            .advice("Start the login again from your Freshworks portal, in this browser."),
            SsoError::TamperedLogin { .. } => Page::new(
                status,
                code,
                "This sign-in cannot be finished",
                "The sign-in record in your browser is not valid.",
            )
            .advice("Start the login again from your Freshworks portal."),
            SsoError::ExpiredLogin { minutes, .. } => Page::new(
                status,
                code,
                "This sign-in took too long",
                format!(
                    "Sign-ins must be finished within {} of starting them.",
                    crate::directory::error::span(std::time::Duration::from_secs(minutes * 60))
                ),
            )
            .advice("Start the login again from your Freshworks portal."),
            SsoError::ReplayedCallback { .. } => Page::new(
                status,
                code,
                "This sign-in was already used",
                "Each sign-in link works once; this one has been used.",
            )
            .advice("Start the login again from your Freshworks portal."),
            SsoError::ProviderError { code: provider_code, .. } if provider_code == "access_denied" => Page::new(
                status,
                code,
                "Sign-in cancelled",
                "The sign-in was cancelled or refused at the identity provider.",
            )
            .advice("Start the login again if you want to sign in."),
            SsoError::ProviderError { code: provider_code, .. } => Page::new(
                status,
                code,
                "The identity provider refused the sign-in",
                format!("The identity provider answered with the error `{}`.", truncate(provider_code)),
            )
            .advice(format!("Start the login again. {ask_it}")),
            SsoError::IssuerMismatch => Page::new(
                status,
                code,
                "This sign-in cannot be finished",
                "The answer did not come from the identity provider the gateway trusts.",
            )
            .advice("Start the login again from your Freshworks portal."),
            SsoError::MissingCode => Page::new(
                status,
                code,
                "This sign-in cannot be finished",
                "The identity provider's answer is incomplete.",
            )
            .advice("Start the login again from your Freshworks portal."),
            SsoError::TokenExchange { .. } | SsoError::InvalidIdToken { .. } | SsoError::UserinfoFailed { .. } => Page::new(
                status,
                code,
                "The sign-in could not be verified",
                "The gateway could not verify your identity with the identity provider.",
            )
            .advice(format!("Start the login again. {ask_it}")),
            SsoError::EmailNotVerified => Page::new(
                status,
                code,
                "Your email address is not verified",
                "Freshworks finds you by your email address, and the identity provider has not confirmed that this address is yours.",
            )
            .advice("Verify your email address at your organisation's sign-in service (or ask your IT team to mark it verified), then sign in again."),
            SsoError::NotOneAddress => Page::new(
                status,
                code,
                "Your email address cannot be used",
                "Freshworks finds you by your email address, and the identity provider sent something that is not a single address.",
            )
            .advice("Ask your IT team to correct the email address of your account at your organisation's sign-in service, then sign in again."),
            SsoError::MissingClaim { claim, sources } => Page::new(
                status,
                code,
                "Your account is missing information Freshworks needs",
                format!(
                    "Freshworks needs your {} (`{claim}`), but the identity provider did not send it (the gateway looked at: {sources}).",
                    human(claim)
                ),
            )
            .advice(format!(
                "Ask your IT team to fill in your {} at the identity provider and release it to the gateway's client, or to map `{claim}` to another attribute in freshworks.claims.",
                human(claim)
            )),
            SsoError::Signing { .. } => Page::new(
                status,
                code,
                "The sign-in could not be completed",
                "The gateway could not sign the token for Freshworks.",
            )
            .advice(ask_it),
            SsoError::NotConfigured { feature } => Page::new(
                status,
                code,
                format!("{feature} is not set up here"),
                format!("This gateway's configuration does not enable {feature}."),
            )
            .advice("Ask your IT team to configure it on the gateway."),
            SsoError::BadReturnTo => Page::new(
                status,
                code,
                "This sign-in link is not valid",
                "The link asks to return to a page that is not allowed to use the chat sign-in.",
            )
            .advice("Open the chat from your application's page again."),
            SsoError::NotAllowed(rule) => Page::new(
                status,
                code,
                "You may not sign in to this Freshworks account",
                match rule {
                    crate::identity::NotAllowed::Group => "Your account is not in a group that may use this Freshworks account.",
                    crate::identity::NotAllowed::EmailDomain => "Your email address is not in a domain that may use this Freshworks account.",
                },
            )
            .advice("If you should have access, ask your IT team to add you to the right group; if you signed in as someone else, sign out and use your own account."),
            SsoError::Directory(error) => error.page(),
            SsoError::MissingAttribute { claim, attributes } => Page::new(
                status,
                code,
                format!("Your directory account has no {}", human(claim)),
                format!("Freshworks needs your {} (`{claim}`), and your directory account has none (the gateway looked at: {attributes}).", human(claim)),
            )
            .advice(format!("Ask your IT team to fill the {attributes} attribute of your account, then sign in again.")),
            SsoError::ForgedForm { .. } => Page::new(
                status,
                code,
                "This sign-in form was not sent from the sign-in page",
                "The gateway accepts passwords only from its own sign-in page, opened in this browser.",
            )
            .advice("Start the login again from your Freshworks portal."),
            SsoError::FormTooLarge => Page::new(
                status,
                code,
                "This sign-in form is too large",
                "It carries more data than the sign-in page ever sends.",
            )
            .advice("Start the login again from your Freshworks portal."),
            SsoError::StoreUnavailable { .. } => Page::new(
                status,
                code,
                "The sign-in service is not available right now",
                "The gateway cannot record sign-ins at the moment, so it does not finish any.",
            )
            .advice(format!("Start the login again in a minute. {ask_it}")),
            SsoError::AtCallback { error, .. } => error.page(),
        };
        match self.restart() {
            Some(Some(url)) => page.link("Start the login again", url).forget_query(),
            Some(None) => page.forget_query(),
            None => page,
        }
    }

    /// For the failures that only happen at the callback: where to start again, if known.
    fn restart(&self) -> Option<Option<&str>> {
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

fn human(claim: &str) -> &'static str {
    match claim {
        "sub" => "user id",
        "email" => "email address",
        "given_name" => "first name",
        "family_name" => "last name",
        "phone_number" => "phone number",
        "picture" => "picture",
        _ => "details",
    }
}

/// Ids and provider codes shown on a page are cut short: they come from the request.
fn truncate(text: &str) -> String {
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
