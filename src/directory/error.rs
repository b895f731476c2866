//! How a password login can fail. `DirectoryError` is the directory failing (unreachable, slow, refusing
//! the service account); `LoginError` is everything the login page must answer, each with a fixed reason
//! for logs and metrics. Neither carries a password; `detail` text from the directory goes only to logs.

use std::time::Duration;

use http::StatusCode;

use crate::metrics::LoginOutcome;
use crate::pages::Page;

use super::bind::BindRefusal;
use super::entry::AccountState;
use super::throttle::{Held, Hold, Refused};
use super::username::Unusable;
use crate::store::Unavailable;

/// `strongAuthRequired` (RFC 4511 §4.1.9): AD's answer to a simple bind without TLS when LDAP signing is
/// required (Samba's default).
pub const STRONG_AUTH_REQUIRED: u32 = 8;

#[derive(Debug, Clone, thiserror::Error)]
pub enum DirectoryError {
    #[error("the directory cannot be reached: {detail}")]
    Unreachable { detail: String },
    #[error("the directory did not answer the {operation} within {} ms", .timeout.as_millis())]
    Timeout {
        operation: &'static str,
        timeout: Duration,
    },
    #[error(
        "the directory refused the service account's bind ({detail}); check directory.bind_dn and its password"
    )]
    ServiceBindRefused { detail: String },
    #[error("the directory's TLS certificate is refused: {detail}")]
    Certificate { detail: String, fix: &'static str },
    #[error(
        "the directory accepts this bind only over TLS (strongAuthRequired, {detail}); use an ldaps:// URL in directory.url, or keep ldap:// and set directory.start_tls: true"
    )]
    TlsRequired { detail: String },
    #[error("the directory refused the {operation}: {detail}")]
    Refused {
        operation: &'static str,
        detail: String,
    },
    #[error(
        "more than one directory entry matches the user name; make directory.user_filter match one user"
    )]
    Ambiguous,
}

impl DirectoryError {
    pub fn from_ldap(operation: &'static str, error: ldap3::LdapError, timeout: Duration) -> Self {
        match error {
            ldap3::LdapError::Timeout { .. } => DirectoryError::Timeout { operation, timeout },
            other => {
                let text = other.to_string();
                match certificate_problem(&text) {
                    Some((detail, fix)) => DirectoryError::Certificate { detail, fix },
                    None => DirectoryError::Unreachable {
                        detail: format!("{operation}: {text}"),
                    },
                }
            }
        }
    }

    /// What to change, for `freshgate check` (each cause its own: the certificate is not the service
    /// account's fault).
    pub fn fix(&self) -> String {
        match self {
            DirectoryError::Unreachable { .. } => {
                "check directory.url (host and port) and that the domain controller answers from here".into()
            }
            DirectoryError::Timeout { .. } => {
                "check that the domain controller answers from here, or raise directory.timeout".into()
            }
            DirectoryError::ServiceBindRefused { .. } => {
                "check directory.bind_dn and its password, and that the account is enabled and not locked out"
                    .into()
            }
            DirectoryError::Certificate { fix, .. } => (*fix).into(),
            DirectoryError::TlsRequired { .. } => {
                "use ldaps://host:636 in directory.url, or ldap://host:389 with directory.start_tls: true".into()
            }
            DirectoryError::Refused { .. } => {
                "check the service account's rights to read directory.base_dn".into()
            }
            DirectoryError::Ambiguous => "make directory.user_filter match one entry".into(),
        }
    }

    /// A bind the directory answered with neither success nor `invalidCredentials`.
    pub fn refused_bind(rc: u32, text: &str) -> Self {
        let detail = format!("rc={rc} {}", super::one_line(text));
        if rc == STRONG_AUTH_REQUIRED {
            DirectoryError::TlsRequired { detail }
        } else {
            DirectoryError::Refused {
                operation: "bind",
                detail,
            }
        }
    }

    /// The `kind` label of `freshgate_directory_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            DirectoryError::Unreachable { .. } => "unreachable",
            DirectoryError::Timeout { .. } => "timeout",
            DirectoryError::ServiceBindRefused { .. } => "service_bind_refused",
            DirectoryError::TlsRequired { .. } => "tls_required",
            DirectoryError::Certificate { .. } => "certificate",
            DirectoryError::Refused { .. } => "refused",
            DirectoryError::Ambiguous => "ambiguous_user",
        }
    }
}

/// A refused TLS certificate in a connection error's text (rustls says "invalid peer certificate: …"):
/// what is wrong, and what to do about it.
fn certificate_problem(text: &str) -> Option<(String, &'static str)> {
    let at = text.find("invalid peer certificate")?;
    let detail = super::one_line(&text[at..]);
    let fix = if detail.contains("not valid for name") || detail.contains("NotValidForName") {
        "use a host name in directory.url that the certificate lists in its subjectAltName, or give the \
         domain controller a certificate that lists the name you use (AD CS \"Domain Controller\" or \
         \"Kerberos Authentication\" template). A certificate without subjectAltName (such as Samba's \
         self-made one) is refused whatever the name; this is not about directory.bind_dn or its password"
    } else if detail.contains("UnknownIssuer") {
        "set directory.ca_file to the PEM of the CA that issued the domain controllers' certificates \
         (see them with `openssl s_client -showcerts -connect host:636`)"
    } else if detail.contains("expired") || detail.contains("not valid yet") {
        "renew the domain controller's certificate, or check this machine's clock"
    } else {
        "check the domain controller's certificate (a server certificate for its name, issued by the CA in \
         directory.ca_file)"
    };
    Some((detail, fix))
}

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

/// A duration as people say it: "1 second", "45 seconds", "2 minutes", "3 hours" (rounded up, so a wait
/// is never under-stated).
pub fn span(duration: Duration) -> String {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    let (n, unit) = if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else if seconds >= 60 && seconds.is_multiple_of(60) && seconds < 90 * 60 {
        (seconds / 60, "minute")
    } else if seconds < 90 {
        (seconds, "second")
    } else if seconds < 90 * 60 {
        (seconds.div_ceil(60), "minute")
    } else {
        (seconds.div_ceil(3600), "hour")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

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
                "The gateway cannot check sign-in attempts at the moment, so it does not accept passwords.",
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
    fn durations_are_said_with_the_right_plural_and_never_shorter_than_they_are() {
        let cases = [
            (Duration::from_secs(1), "1 second"),
            (Duration::from_millis(1_200), "2 seconds"),
            (Duration::from_secs(45), "45 seconds"),
            (Duration::from_secs(60), "1 minute"),
            (Duration::from_secs(61), "61 seconds"),
            (Duration::from_secs(91), "2 minutes"),
            (Duration::from_secs(1800), "30 minutes"),
            (Duration::from_secs(3600), "1 hour"),
            (Duration::from_secs(7300), "3 hours"),
        ];
        for (duration, said) in cases {
            assert_eq!(span(duration), said, "{duration:?}");
        }
    }

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
