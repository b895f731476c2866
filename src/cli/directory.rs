//! `freshgate check`'s look at the directory: the service account binds, the lockout policies (the
//! domain's and each password settings object's) and what the gateway does about them, and with
//! `--test-user NAME` the entry the filter finds, with the claims, groups, account state and lockout a
//! login would get (no password needed); with `directory.kerberos`, the keytab (`keytab`).

use std::sync::Arc;

use super::report::Report;
use crate::config::{Directory as Settings, DirectoryKind};
use crate::directory::lockout::{Applies, Policy, describe};
use crate::directory::{Directory, LoginError};
use crate::metrics::Metrics;
use crate::pages::span;

/// What to run so the service account may read password settings objects (docs/directory.md).
const PSO_READ_FIX: &str = "give the service account read access to password settings objects: on a domain controller, \
     dsacls \"CN=Password Settings Container,CN=System,<domain DN>\" /I:S /G \"<DOMAIN>\\<account>:RP;;msDS-PasswordSettings\" \
     (Samba: samba-tool dsacl set --objectdn=\"CN=Password Settings Container,CN=System,<domain DN>\" \
     --sddl=\"(OA;CIIO;RP;;3bcd9db8-f84b-451c-952f-6c52b81f9ec6;<account SID>)\"); docs/directory.md#setting-up-active-directory";

pub async fn check_directory(settings: &Settings, test_user: Option<&str>, report: &mut Report) {
    let mut settings = settings.clone();
    if let Some(kerberos) = &settings.kerberos
        && !super::keytab::check_keytab(kerberos, report)
    {
        // Reported; the rest of the directory is still worth checking.
        settings.kerberos = None;
    }
    let settings = &settings;
    let metrics = Arc::new(Metrics::new());
    let store = Arc::new(crate::store::Shared::memory(metrics.clone()));
    let directory = match Directory::new(settings.clone(), metrics, store) {
        Ok(directory) => directory,
        Err(problem) => {
            report.problems.push(problem);
            return;
        }
    };
    let urls: Vec<&str> = settings.urls.iter().map(|u| u.as_str()).collect();
    if let Err(e) = directory.check_service().await {
        report.problems.push(format!(
            "directory {}: {e}\n    fix: {}",
            urls.join(", "),
            e.fix()
        ));
        return;
    }
    report.ok.push(format!(
        "directory {}: the service account {} binds",
        urls.join(", "),
        settings.bind_dn
    ));
    report.ok.push(throttle_line(settings));
    match settings.kind {
        DirectoryKind::ActiveDirectory => {
            lockout_policies(&directory, settings, report).await;
            if urls.len() > 1 {
                report.warnings.push(format!(
                    "directory.url lists {} servers: Active Directory keeps badPwdCount per domain controller, and the \
                     gateway reads it on the one it binds to (the first that answers). Failures at other DCs reach \
                     only the PDC emulator, which locks the account: list the PDC emulator first \
                     (`netdom query fsmo`), docs/directory.md#failed-passwords-the-throttle-and-the-domains-lockout",
                    urls.len()
                ));
            }
        }
        DirectoryKind::OpenLdap => report.warnings.push(
            "directory.kind is openldap: the gateway does not read the server's password policy (ppolicy) or its \
             failure counters, so directory.throttle alone keeps accounts from being locked: keep max_failures \
             below pwdMaxFailure and window at least pwdFailureCountInterval"
                .into(),
        ),
    }
    if let Some(name) = test_user {
        test_lookup(&directory, name, report).await;
    }
}

/// What the gateway's own limits are (the browser-visible ones and the entry's).
fn throttle_line(settings: &Settings) -> String {
    let t = &settings.throttle;
    format!(
        "directory throttle: {} per typed name and {} per client address within {} (then 429); \
         each directory entry (every spelling of its name together) at most {} per lockout observation window",
        count(t.max_failures, "failed sign-in"),
        t.max_failures_per_ip,
        span(t.window),
        count(t.max_failures, "failure")
    )
}

/// "1 failure", "3 failures".
fn count(n: u32, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The guarantee for one policy, in words.
fn guarantee(policy: &Policy) -> String {
    if policy.threshold == 0 {
        return String::new();
    }
    format!(
        "; before each bind the gateway reads the user's count on the DC it binds to and never sends the wrong \
         password that would be the {}{} (at most {} per {} for one user, fewer when others fail too)",
        policy.threshold,
        ordinal(policy.threshold),
        policy.threshold - 1,
        span(policy.window)
    )
}

fn ordinal(n: u32) -> &'static str {
    match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// The domain's policy and each password settings object's, and whether the gateway can read them.
async fn lockout_policies(directory: &Directory, settings: &Settings, report: &mut Report) {
    let lockout = match directory.lockout_policies().await {
        Ok(lockout) => lockout,
        Err(e) => {
            report.warnings.push(format!(
                "directory: the lockout policy could not be read ({e}); directory.throttle alone keeps accounts from being locked"
            ));
            return;
        }
    };
    match &lockout.policy {
        Some(policy) => report.ok.push(format!(
            "directory lockout, the domain policy ({}): {}{}",
            lockout.domain,
            describe(policy),
            guarantee(policy)
        )),
        None => report.warnings.push(format!(
            "directory: the service account cannot read the domain's lockout policy (lockoutThreshold on {}), so the \
             gateway does not know when the domain locks an account: directory.throttle alone ({} per {}) \
             must stay below it",
            lockout.domain,
            count(settings.throttle.max_failures, "failure"),
            span(settings.throttle.window)
        )),
    }
    match &lockout.psos {
        None => report.warnings.push(
            "directory: the password settings objects (fine-grained password policies) cannot be listed; a user under \
             one whose settings the gateway cannot read gets no password sent"
                .into(),
        ),
        Some(psos) if psos.is_empty() => report.ok.push(
            "directory: no password settings objects (fine-grained password policies) are visible to the service account"
                .into(),
        ),
        Some(psos) => {
            for (dn, policy) in psos {
                match policy {
                    Some(policy) => report.ok.push(format!(
                        "directory lockout, the password settings object {dn}: {}{}",
                        describe(policy),
                        guarantee(policy)
                    )),
                    None => report.problems.push(format!(
                        "directory: the service account cannot read the lockout settings of the password settings object \
                         {dn}, so the gateway sends no password for the users it applies to (it never assumes a higher \
                         threshold than it can see)\n    fix: {PSO_READ_FIX}"
                    )),
                }
            }
        }
    }
}

async fn test_lookup(directory: &Directory, name: &str, report: &mut Report) {
    match directory.lookup(name).await {
        Ok(Some(found)) => {
            let mut lines = format!("--test-user {name}: {}", found.dn);
            for (claim, value) in &found.claims {
                lines.push_str(&format!(
                    "\n           {claim}: {}",
                    value.as_str().unwrap_or_default()
                ));
            }
            lines.push_str(&format!("\n           account: {}", found.state.wording()));
            if found.groups.is_empty() {
                lines.push_str("\n           groups: none");
            }
            for group in &found.groups {
                lines.push_str(&format!("\n           group: {group}"));
            }
            report.ok.push(lines);
            if directory.settings().kind == DirectoryKind::ActiveDirectory {
                user_lockout(directory, name, &found.dn, report).await;
            }
            if !found.claims.contains_key("email") {
                report.warnings.push(format!(
                    "--test-user {name}: the entry has no email address; Freshworks needs one, so this user's login would fail (fill the attribute mapped to email)"
                ));
            }
        }
        Ok(None) => report.problems.push(format!(
            "--test-user {name}: no directory entry matches directory.user_filter\n    fix: check the name, directory.base_dn and directory.user_filter"
        )),
        Err(LoginError::UnusableName(why)) => report.problems.push(format!(
            "--test-user {name}: not a user name the gateway would look up ({})",
            why.reason().replace('_', " ")
        )),
        Err(e) => report
            .problems
            .push(format!("--test-user {name}: {}", e.detail())),
    }
}

/// The user's lockout as the gateway sees it before a bind: the policy that applies (named), the DC's count,
/// and how many wrong passwords the gateway may still send.
async fn user_lockout(directory: &Directory, name: &str, dn: &str, report: &mut Report) {
    let view = match directory.lockout_view(dn).await {
        Ok(view) => view,
        Err(e) => {
            report.warnings.push(format!(
                "--test-user {name}: its lockout could not be read ({e})"
            ));
            return;
        }
    };
    let count = match (view.counters.bad_pwd_count, view.effective_count) {
        (Some(raw), Some(now)) if raw != now => {
            format!("badPwdCount {raw} (0 at the next failure: the observation window has passed)")
        }
        (Some(raw), _) => format!("badPwdCount {raw}"),
        (None, _) => "badPwdCount not readable".into(),
    };
    match &view.applies {
        Applies::Policy(policy) => {
            let margin = match (policy.threshold, view.effective_count) {
                (0, _) => "the domain never locks it".to_owned(),
                (threshold, Some(count)) => {
                    let left = threshold.saturating_sub(count + 1);
                    format!(
                        "the gateway may send {left} more wrong password{} before the DC would lock it",
                        if left == 1 { "" } else { "s" }
                    )
                }
                (_, None) => "the gateway counts only its own failures for it".to_owned(),
            };
            report.ok.push(format!(
                "--test-user {name}: lockout by {}: {}; {count}; {margin}{}",
                policy.source.describe(),
                describe(policy),
                if view.counters.locked {
                    "; locked out now"
                } else {
                    ""
                }
            ));
            if view.counters.bad_pwd_count.is_none() {
                report.warnings.push(format!(
                    "--test-user {name}: the service account cannot read its badPwdCount, so the gateway cannot see \
                     failures made elsewhere (workstations): give it read access to the users' lockout attributes \
                     (docs/directory.md#setting-up-active-directory)"
                ));
            }
        }
        Applies::UnreadablePso(pso) => report.problems.push(format!(
            "--test-user {name}: the password settings object {pso} applies, and the service account cannot read its \
             lockout settings: the gateway sends no password for this user ({count})\n    fix: {PSO_READ_FIX}"
        )),
        Applies::Unknown => report.warnings.push(format!(
            "--test-user {name}: no lockout policy the service account can read applies; directory.throttle alone \
             protects this user ({count})"
        )),
    }
}
