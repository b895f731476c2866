//! How a password or ticket login can fail: everything the login page must answer, as values, each with a
//! fixed reason for logs and metrics. Wrong passwords, unknown names, held tries and account states are
//! told apart here and nowhere else; what the browser learns of them is `form_message` (one message for
//! every credential failure) or `page` (only for whoever proved the password).

use std::time::Duration;

use http::StatusCode;

use crate::metrics::LoginOutcome;
use crate::pages::{Page, span};

use super::bind::BindRefusal;
use super::entry::AccountState;
use super::error::DirectoryError;
use super::hold::{Held, Hold, Refused};
use super::username::Unusable;
use crate::store::Unavailable;

#[derive(Debug, Clone)]
pub enum LoginError {
    EmptyPassword,
    UnusableName(Unusable),
    UnknownUser,
    WrongPassword,
    Throttled(Held),
    /// No bind was sent for an existing entry (its count, the directory's lockout guard, a locked
    /// account, an unreadable policy): answered exactly like a wrong password.
    Held(Hold),
    Disabled,
    /// Locked out (AD's `data 775`, which comes whatever the password). `shown`: tell the browser so
    /// (`directory.show_lockouts`, or the password was proven right); otherwise it looks like a wrong
    /// password, since anyone typing the name would learn that the account exists and is locked.
    LockedOut {
        shown: bool,
    },
    AccountExpired,
    PasswordExpired,
    MustChangePassword,
    LogonHours,
    Workstation,
    /// A Negotiate token the acceptor refused (NTLM, malformed, forged, expired, replayed, …): the
    /// browser gets the password form again.
    Ticket(crate::kerberos::Refused),
    /// A valid ticket whose principal (kept for the log) matches no directory entry.
    UnknownPrincipal(String),
    Directory(DirectoryError),
    /// The shared store that keeps the throttle's counts cannot be reached (`store.on_error: fail_closed`).
    Store(Unavailable),
}

impl From<Refused> for LoginError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Held(held) => LoginError::Throttled(held),
            Refused::Store(e) => LoginError::Store(e),
        }
    }
}

impl From<Unavailable> for LoginError {
    fn from(e: Unavailable) -> Self {
        LoginError::Store(e)
    }
}

impl From<DirectoryError> for LoginError {
    fn from(error: DirectoryError) -> Self {
        LoginError::Directory(error)
    }
}

/// The one message for every credential failure. The hint helps the real user of a locked or protected
/// account without telling anyone else anything: it is shown for every failure.
pub const NOT_RIGHT: &str = "The user name or password is not right. Check them and try again. \
     If you are sure of your password, your account may be locked, or held for a few minutes after failed sign-ins to protect it: \
     wait a few minutes, or ask your IT team.";

impl LoginError {
    pub(super) fn from_bind(refusal: BindRefusal) -> Self {
        match refusal {
            BindRefusal::WrongPassword => LoginError::WrongPassword,
            BindRefusal::NoSuchUser => LoginError::UnknownUser,
            BindRefusal::LogonHours => LoginError::LogonHours,
            BindRefusal::Workstation => LoginError::Workstation,
            BindRefusal::PasswordExpired => LoginError::PasswordExpired,
            BindRefusal::Disabled => LoginError::Disabled,
            BindRefusal::AccountExpired => LoginError::AccountExpired,
            BindRefusal::MustChangePassword => LoginError::MustChangePassword,
            BindRefusal::LockedOut => LoginError::LockedOut { shown: false },
        }
    }

    pub(super) fn from_state(state: AccountState) -> Self {
        match state {
            AccountState::Usable => unreachable!("a usable account is no error"),
            AccountState::Disabled => LoginError::Disabled,
            AccountState::LockedOut => LoginError::LockedOut { shown: true },
            AccountState::Expired => LoginError::AccountExpired,
            AccountState::PasswordExpired => LoginError::PasswordExpired,
        }
    }

    /// The `reason` of logs and `freshgate_directory_logins_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            LoginError::EmptyPassword => "empty_password",
            LoginError::UnusableName(why) => why.reason(),
            LoginError::UnknownUser => "unknown_user",
            LoginError::WrongPassword => "wrong_password",
            LoginError::Throttled(Held::User { .. }) => "throttled_user",
            LoginError::Throttled(Held::Address { .. }) => "throttled_address",
            LoginError::Held(hold) => hold.reason(),
            LoginError::Disabled => "account_disabled",
            LoginError::LockedOut { .. } => "account_locked_out",
            LoginError::AccountExpired => "account_expired",
            LoginError::PasswordExpired => "password_expired",
            LoginError::MustChangePassword => "password_must_change",
            LoginError::LogonHours => "logon_hours",
            LoginError::Workstation => "workstation_not_allowed",
            LoginError::Ticket(refused) => refused.error.reason(),
            LoginError::UnknownPrincipal(_) => "kerberos_unknown_principal",
            LoginError::Directory(DirectoryError::Ambiguous) => "ambiguous_user",
            LoginError::Directory(_) => "directory_unavailable",
            LoginError::Store(_) => "store_unavailable",
        }
    }

    /// A refusal when the user is known and a rule (an account state, the throttle) turns them away; a
    /// failure when the password, the name or the ticket did not check out, or a peer failed.
    pub fn outcome(&self) -> LoginOutcome {
        match self {
            LoginError::Throttled(_)
            | LoginError::Held(_)
            | LoginError::Disabled
            | LoginError::LockedOut { .. }
            | LoginError::AccountExpired
            | LoginError::PasswordExpired
            | LoginError::MustChangePassword
            | LoginError::LogonHours
            | LoginError::Workstation
            | LoginError::UnknownPrincipal(_) => LoginOutcome::Refusal,
            LoginError::EmptyPassword
            | LoginError::UnusableName(_)
            | LoginError::UnknownUser
            | LoginError::WrongPassword
            | LoginError::Ticket(_)
            | LoginError::Directory(_)
            | LoginError::Store(_) => LoginOutcome::Failure,
        }
    }

    /// Failures answered with the login form again and one message that never says whether the user
    /// exists or what state the account is in: a wrong password, an unknown or unusable name, a try held
    /// to protect the account, a lockout not to be shown, an empty password, too many tries.
    pub fn form_message(&self) -> Option<String> {
        match self {
            LoginError::EmptyPassword => Some("Enter your password.".into()),
            LoginError::UnusableName(Unusable::Empty) => Some("Enter your user name.".into()),
            LoginError::UnusableName(_)
            | LoginError::UnknownUser
            | LoginError::WrongPassword
            | LoginError::Held(_)
            | LoginError::LockedOut { shown: false } => Some(NOT_RIGHT.into()),
            LoginError::Throttled(held) => Some(format!(
                "Too many failed sign-ins. Wait {}, then try again. This keeps your directory account from being locked.",
                span(held.retry_after().max(Duration::from_secs(1)))
            )),
            _ => None,
        }
    }

    /// A refused Negotiate token: answered with the form (and a new challenge), never with a page.
    pub fn is_ticket_refusal(&self) -> bool {
        matches!(self, LoginError::Ticket(_))
    }

    /// The detail for the log line (no password, no user input beyond what the reason says).
    pub fn detail(&self) -> String {
        match self {
            LoginError::Directory(e) => e.to_string(),
            LoginError::Store(e) => e.to_string(),
            LoginError::Ticket(refused) => refused.detail.clone(),
            LoginError::UnknownPrincipal(principal) => {
                format!("no directory entry for the Kerberos principal {principal}")
            }
            LoginError::Throttled(held) => {
                format!("retry after {} s", held.retry_after().as_secs())
            }
            other => other.reason().replace('_', " "),
        }
    }
}

impl LoginError {
    pub fn status(&self) -> StatusCode {
        match self {
            LoginError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            LoginError::Directory(DirectoryError::Ambiguous) => StatusCode::INTERNAL_SERVER_ERROR,
            LoginError::Directory(_) | LoginError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            LoginError::EmptyPassword
            | LoginError::UnusableName(_)
            | LoginError::UnknownUser
            | LoginError::WrongPassword
            | LoginError::Held(_)
            | LoginError::LockedOut { shown: false }
            | LoginError::Ticket(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// The page for a failure that ends this sign-in (the ones without a `form_message`). It tells the
    /// user what state their account is in (they proved they know the password) and what to do.
    pub fn page(&self) -> Page {
        let (status, code) = (self.status(), self.reason());
        let ask_it = "If it keeps happening, tell your IT team and quote the request id below.";
        let (title, message, advice) = match self {
            LoginError::Disabled => (
                "Your account is disabled",
                "Your directory (Windows) account is disabled, so it cannot sign in to Freshworks.",
                "Ask your IT team to enable the account if you should have access.".to_owned(),
            ),
            LoginError::LockedOut { .. } => (
                "Your account is locked",
                "Your directory (Windows) account is locked, usually after too many wrong passwords.",
                "Wait until it unlocks (your domain decides how long, often 15 to 30 minutes), or ask your IT team to unlock it.".to_owned(),
            ),
            LoginError::AccountExpired => (
                "Your account has expired",
                "Your directory (Windows) account has passed its expiry date.",
                "Ask your IT team to extend the account if you should still have access.".to_owned(),
            ),
            LoginError::PasswordExpired | LoginError::MustChangePassword => (
                "Your password must be changed",
                "Your directory (Windows) password has expired or must be changed before you can sign in.",
                "Change it first: on a Windows computer of your organisation press Ctrl+Alt+Del and choose \"Change a password\", or use your organisation's password page. Then sign in here with the new password.".to_owned(),
            ),
            LoginError::LogonHours => (
                "You cannot sign in at this time",
                "Your directory (Windows) account may only sign in at certain hours.",
                "Try again within your allowed hours, or ask your IT team to change them.".to_owned(),
            ),
            LoginError::Workstation => (
                "You cannot sign in from here",
                "Your directory (Windows) account may only sign in from certain computers.",
                "Ask your IT team to allow sign-in to Freshworks for your account.".to_owned(),
            ),
            LoginError::UnknownPrincipal(_) => (
                "Your Windows account is not known here",
                "You are signed in to Windows with an account that has no entry in the directory this Freshworks account signs in with.",
                format!("Ask your IT team to check your account in the directory. To use another account, sign in to Windows as that user. {ask_it}"),
            ),
            LoginError::Directory(DirectoryError::Ambiguous) => (
                "Your account could not be identified",
                "More than one directory account matches the user name you entered.",
                format!("Sign in with your full user name (name@domain). {ask_it}"),
            ),
            LoginError::Directory(_) => (
                "The sign-in service is not available right now",
                "The gateway cannot reach your organisation's directory at the moment.",
                format!("Try again in a minute. {ask_it}"),
            ),
            LoginError::Store(_) => (
                "The sign-in service is not available right now",
                "The gateway cannot check sign-in attempts at the moment, so it signs no one in until it can.",
                format!("Try again in a minute. {ask_it}"),
            ),
            // Answered with the form; a page only if a caller asks anyway.
            _ => (
                "Sign-in failed",
                "The user name or password is not right.",
                "Go back and try again.".to_owned(),
            ),
        };
        Page::new(status, code, title, message).advice(advice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_second_wait_is_one_second() {
        let message = LoginError::Throttled(Held::User {
            retry_after: Duration::from_millis(400),
        })
        .form_message()
        .unwrap();
        assert!(message.contains("Wait 1 second, then"), "{message}");
    }
}
