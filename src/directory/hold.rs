//! Why a password try goes no further, as values: the throttle's answers (`throttle`), the directory's
//! lockout guard (`lockout`) and the login errors (`error`) all speak of them.

use std::time::Duration;

use crate::store::Unavailable;

/// Why a try is refused with 429 before anything reaches the directory, and when it may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Too many recent failures for this typed name (or its backoff).
    User { retry_after: Duration },
    /// Too many recent failures from this address.
    Address { retry_after: Duration },
}

impl Held {
    pub fn retry_after(self) -> Duration {
        match self {
            Held::User { retry_after } | Held::Address { retry_after } => retry_after,
        }
    }
}

/// Why a bind for an existing entry was not sent: answered like a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The entry's own count (`max_failures` within the observation window, every spelling together).
    Entry,
    /// The bind could be the failure that reaches the directory's lockout threshold.
    Lockout,
    /// The directory says the account is locked out.
    LockedOut,
    /// A password settings object applies whose lockout settings the service account cannot read.
    UnreadablePolicy,
}

impl Hold {
    pub fn reason(self) -> &'static str {
        match self {
            Hold::Entry => "held_user",
            Hold::Lockout => "held_lockout_guard",
            Hold::LockedOut => "account_locked_out",
            Hold::UnreadablePolicy => "held_unreadable_policy",
        }
    }
}

/// A try that may not go on: held by the throttle, or the store that keeps the counts is unavailable.
#[derive(Debug, Clone)]
pub enum Refused {
    Held(Held),
    Store(Unavailable),
}

impl From<Unavailable> for Refused {
    fn from(e: Unavailable) -> Self {
        Refused::Store(e)
    }
}
