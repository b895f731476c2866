//! What Active Directory says about a user's failed passwords and about the policy that locks the
//! account, read right before the user's bind, on the bind's own connection: `badPwdCount` is kept by each
//! domain controller and not replicated, so only the DC the bind goes to counts it.
//!
//! - The user: `badPwdCount` and `badPasswordTime` (the DC starts the count again at a failure that comes
//!   more than the observation window after the last one: "Reset account lockout counter after"), the
//!   lockout bit of `msDS-User-Account-Control-Computed` (which takes `lockoutTime` and the lockout
//!   duration into account), and `msDS-ResultantPSO`, the password settings object that applies (MS-ADTS 3.1.1.4.5.36).
//! - The policy: the PSO's `msDS-LockoutThreshold`, `msDS-LockoutObservationWindow` and
//!   `msDS-LockoutDuration`, or without one the domain object's `lockoutThreshold`,
//!   `lockOutObservationWindow` and `lockoutDuration`. Intervals are negative counts of 100 ns.
//! - The DC's clock: the root DSE's `currentTime`, so that gateway and DC clocks need not agree.
//!
//! Password settings objects are readable only by Domain Admins unless the service account is given read
//! access (docs/directory.md): a PSO that applies but cannot be read leaves the threshold unknown, and the
//! gateway never assumes a higher one than it can see, so it sends no bind for that user at all.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ldap3::SearchEntry;

use super::hold::Hold;

/// The user's attributes read before the bind.
pub const USER_ATTRIBUTES: [&str; 4] = [
    "badPwdCount",
    "badPasswordTime",
    "msDS-User-Account-Control-Computed",
    "msDS-ResultantPSO",
];
/// The root DSE's: the DC's clock and the domain's DN.
pub const ROOT_ATTRIBUTES: [&str; 2] = ["currentTime", "defaultNamingContext"];
pub const DOMAIN_ATTRIBUTES: [&str; 3] = [
    "lockoutThreshold",
    "lockOutObservationWindow",
    "lockoutDuration",
];
pub const PSO_ATTRIBUTES: [&str; 3] = [
    "msDS-LockoutThreshold",
    "msDS-LockoutObservationWindow",
    "msDS-LockoutDuration",
];

/// userAccountControl's LOCKOUT bit (MS-ADTS 2.2.16), set in msDS-User-Account-Control-Computed while the
/// account is locked out.
const LOCKOUT: i64 = 0x10;
/// 100 ns intervals between 1601-01-01 and 1970-01-01 (FILETIME's epoch and Unix's).
const UNIX_EPOCH_AS_FILETIME: i64 = 116_444_736_000_000_000;
/// Without the DC's clock, a count is trusted to have reset only this much later than the window says.
const CLOCK_MARGIN: Duration = Duration::from_secs(300);

/// A lockout policy: `threshold` failures (0: never) within `window` lock the account for `duration`
/// (`None`: until an administrator unlocks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub threshold: u32,
    pub window: Duration,
    pub duration: Option<Duration>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The domain object (its DN).
    Domain(String),
    /// A password settings object (its DN).
    Pso(String),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Domain(dn) => format!("the domain policy ({dn})"),
            Source::Pso(dn) => format!("the password settings object {dn}"),
        }
    }
}

/// The policy that applies to one user, as far as the service account can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applies {
    Policy(Policy),
    /// A password settings object applies, and its lockout settings cannot be read.
    UnreadablePso(String),
    /// The domain object has no lockout policy the service account can read (or this is not AD):
    /// `directory.throttle` stands in for it.
    Unknown,
}

/// The user's counters as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// `None`: not readable by the service account.
    pub bad_pwd_count: Option<u32>,
    /// FILETIME of the last failure; 0: never.
    pub bad_password_time: i64,
    pub locked: bool,
    pub resultant_pso: Option<String>,
}

impl Counters {
    pub fn from_entry(entry: &SearchEntry) -> Counters {
        Counters {
            bad_pwd_count: number(entry, "badPwdCount").and_then(|n| u32::try_from(n).ok()),
            bad_password_time: number(entry, "badPasswordTime").unwrap_or(0),
            locked: number(entry, "msDS-User-Account-Control-Computed")
                .is_some_and(|flags| flags & LOCKOUT != 0),
            resultant_pso: text(entry, "msDS-ResultantPSO"),
        }
    }

    /// The DC's count as it will stand when the bind arrives: 0 once the observation window passed since
    /// the last failure (the DC restarts its count at the next one). `now`: FILETIME, from the DC's clock
    /// when known (`exact`), else the gateway's, with a margin.
    pub fn effective_count(&self, window: Duration, now: i64, exact: bool) -> Option<u32> {
        let count = self.bad_pwd_count?;
        if count == 0 || self.bad_password_time <= 0 {
            return Some(count);
        }
        let mut window = to_filetime(window);
        if !exact {
            window = window.saturating_add(to_filetime(CLOCK_MARGIN));
        }
        Some(if now.saturating_sub(self.bad_password_time) > window {
            0
        } else {
            count
        })
    }
}

/// What the throttle needs of one entry's lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPolicy {
    /// The directory's own count; `None`: unreadable (the gateway's own count stands in).
    pub count: Option<u32>,
    /// The lockout threshold; `None`: the directory never locks, or its policy is unknown.
    pub threshold: Option<u32>,
    /// The observation window; `None`: unknown (`directory.throttle.window` stands in).
    pub window: Option<Duration>,
}

impl EntryPolicy {
    /// Nothing known (not Active Directory): only the gateway's own count.
    pub const NONE: EntryPolicy = EntryPolicy {
        count: None,
        threshold: None,
        window: None,
    };

    /// The entry's policy, or why no bind may be sent for it at all. `dc_now`: the DC's clock (FILETIME).
    pub fn new(applies: &Applies, counters: &Counters, dc_now: Option<i64>) -> Result<Self, Hold> {
        if counters.locked {
            return Err(Hold::LockedOut);
        }
        let (now, exact) = match dc_now {
            Some(now) => (now, true),
            None => (filetime(SystemTime::now()), false),
        };
        match applies {
            Applies::UnreadablePso(_) => Err(Hold::UnreadablePolicy),
            Applies::Unknown => Ok(EntryPolicy::NONE),
            // A domain that never locks: its observation window means nothing, and the entry's own count
            // goes by directory.throttle.window.
            Applies::Policy(policy) if policy.threshold == 0 => Ok(EntryPolicy::NONE),
            Applies::Policy(policy) => Ok(EntryPolicy {
                count: counters.effective_count(policy.window, now, exact),
                threshold: Some(policy.threshold),
                window: Some(policy.window),
            }),
        }
    }
}

/// The domain object's policy; `None` when it has no readable `lockoutThreshold`.
pub fn domain_policy(entry: &SearchEntry) -> Option<Policy> {
    policy(
        entry,
        [
            "lockoutThreshold",
            "lockOutObservationWindow",
            "lockoutDuration",
        ],
        Source::Domain(entry.dn.clone()),
    )
}

/// A password settings object's policy; `None` when its lockout settings cannot be read.
pub fn pso_policy(entry: &SearchEntry) -> Option<Policy> {
    policy(entry, PSO_ATTRIBUTES, Source::Pso(entry.dn.clone()))
}

fn policy(entry: &SearchEntry, names: [&str; 3], source: Source) -> Option<Policy> {
    let threshold = u32::try_from(number(entry, names[0])?).ok()?;
    let window = number(entry, names[1]).and_then(interval)?;
    let duration = number(entry, names[2]).and_then(interval);
    Some(Policy {
        threshold,
        window,
        duration,
        source,
    })
}

/// An AD interval (a negative count of 100 ns); `None` for "never" (the most negative value).
pub fn interval(value: i64) -> Option<Duration> {
    if value == i64::MIN {
        return None;
    }
    Some(Duration::from_nanos(
        value.unsigned_abs().saturating_mul(100),
    ))
}

/// The root DSE's `currentTime` (GeneralizedTime, `20261207213120.0Z`) as FILETIME.
pub fn current_time(root: &SearchEntry) -> Option<i64> {
    let value = text(root, "currentTime")?;
    let parsed = chrono::NaiveDateTime::parse_from_str(&value, "%Y%m%d%H%M%S%.fZ")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&value, "%Y%m%d%H%M%SZ"))
        .ok()?;
    let micros = parsed.and_utc().timestamp_micros();
    Some(
        micros
            .saturating_mul(10)
            .saturating_add(UNIX_EPOCH_AS_FILETIME),
    )
}

pub fn filetime(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    to_filetime(since).saturating_add(UNIX_EPOCH_AS_FILETIME)
}

fn to_filetime(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos() / 100).unwrap_or(i64::MAX)
}

pub fn text(entry: &SearchEntry, name: &str) -> Option<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .cloned()
}

fn number(entry: &SearchEntry, name: &str) -> Option<i64> {
    text(entry, name)?.trim().parse().ok()
}

/// "5 wrong passwords within 30 min lock the account for 30 min", for logs and `freshgate check`.
pub fn describe(policy: &Policy) -> String {
    if policy.threshold == 0 {
        return "never locks accounts (lockout threshold 0)".into();
    }
    let duration = match policy.duration {
        Some(d) => format!("for {}", crate::pages::span(d)),
        None => "until an administrator unlocks it".into(),
    };
    format!(
        "{} wrong password{} within {} lock{} the account {duration}",
        policy.threshold,
        if policy.threshold == 1 { "" } else { "s" },
        crate::pages::span(policy.window),
        if policy.threshold == 1 { "s" } else { "" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn entry(dn: &str, attrs: &[(&str, &str)]) -> SearchEntry {
        SearchEntry {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect::<HashMap<_, _>>(),
            bin_attrs: HashMap::new(),
        }
    }

    const MINUTE_FT: i64 = 600_000_000;

    #[test]
    fn ads_intervals_and_clock_are_read_as_durations_and_filetimes() {
        assert_eq!(interval(-18_000_000_000), Some(Duration::from_secs(1800)));
        assert_eq!(interval(i64::MIN), None);
        let root = entry("", &[("currentTime", "20261207213120.0Z")]);
        let expected = filetime(UNIX_EPOCH + Duration::from_secs(1_796_679_080));
        assert_eq!(current_time(&root), Some(expected));
    }

    #[test]
    fn a_pso_wins_and_an_unreadable_one_holds_every_bind() {
        let pso = entry(
            "CN=strict,CN=Password Settings Container,CN=System,DC=corp,DC=example",
            &[
                ("msDS-LockoutThreshold", "2"),
                ("msDS-LockoutObservationWindow", "-50000000"),
                ("msDS-LockoutDuration", "-100000000"),
            ],
        );
        let policy = pso_policy(&pso).unwrap();
        assert_eq!(policy.threshold, 2);
        assert_eq!(policy.window, Duration::from_secs(5));
        assert!(matches!(policy.source, Source::Pso(_)));
        // The service account sees the PSO's name but not its settings.
        assert_eq!(pso_policy(&entry(&pso.dn, &[])), None);
        let counters = Counters {
            bad_pwd_count: Some(0),
            ..Counters::default()
        };
        assert_eq!(
            EntryPolicy::new(&Applies::UnreadablePso(pso.dn.clone()), &counters, None),
            Err(Hold::UnreadablePolicy)
        );
    }

    #[test]
    fn the_count_restarts_only_after_a_whole_window_on_the_dcs_clock() {
        let now = 1_000 * MINUTE_FT;
        let counters = |count, minutes_ago: i64| Counters {
            bad_pwd_count: Some(count),
            bad_password_time: now - minutes_ago * MINUTE_FT,
            locked: false,
            resultant_pso: None,
        };
        let window = Duration::from_secs(120);
        assert_eq!(counters(4, 1).effective_count(window, now, true), Some(4));
        assert_eq!(counters(4, 3).effective_count(window, now, true), Some(0));
        // On the gateway's clock, five more minutes before it is trusted to have reset.
        assert_eq!(counters(4, 3).effective_count(window, now, false), Some(4));
        assert_eq!(counters(4, 8).effective_count(window, now, false), Some(0));
        let unreadable = Counters::default();
        assert_eq!(unreadable.effective_count(window, now, true), None);
    }

    #[test]
    fn a_locked_account_gets_no_bind_and_a_domain_without_lockout_no_guard() {
        let locked = Counters {
            bad_pwd_count: Some(5),
            locked: true,
            ..Counters::default()
        };
        assert_eq!(
            EntryPolicy::new(&Applies::Unknown, &locked, None),
            Err(Hold::LockedOut)
        );
        let domain = entry(
            "DC=corp,DC=example",
            &[
                ("lockoutThreshold", "0"),
                ("lockOutObservationWindow", "-18000000000"),
                ("lockoutDuration", "-18000000000"),
            ],
        );
        let policy = domain_policy(&domain).unwrap();
        let entry_policy =
            EntryPolicy::new(&Applies::Policy(policy), &Counters::default(), None).unwrap();
        assert_eq!(entry_policy, EntryPolicy::NONE);
    }
}
