//! The page of each sign-in failure: what happened and what to do, never internal detail.

use super::{SsoError, truncate};
use crate::pages::Page;

impl SsoError {
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
                    crate::pages::span(std::time::Duration::from_secs(minutes * 60))
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
