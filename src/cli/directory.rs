//! `freshgate check`'s look at the directory: the service account binds, the domain's lockout policy
//! against `directory.throttle`, and with `--test-user NAME` the entry the filter finds, with the claims,
//! groups and account state a login would get (no password needed); with `directory.kerberos`, the keytab
//! (`keytab`).

use std::sync::Arc;
use std::time::Duration;

use ldap3::Scope;

use super::check::Report;
use crate::admin::directory::Operation;
use crate::admin::metrics::Metrics;
use crate::config::{Directory as Settings, DirectoryKind};
use crate::directory::{AccountState, Directory, LoginError};

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
            "directory: {e}\n    fix: check directory.url ({}), the CA (directory.ca_file), directory.bind_dn and its password",
            urls.join(", ")
        ));
        return;
    }
    report.ok.push(format!(
        "directory {}: the service account {} binds",
        urls.join(", "),
        settings.bind_dn
    ));
    if settings.kind == DirectoryKind::ActiveDirectory {
        lockout_policy(&directory, settings, report).await;
    }
    if let Some(name) = test_user {
        test_lookup(&directory, name, report).await;
    }
}

/// The domain's "account lockout threshold" and "reset account lockout counter after" (attributes of the
/// domain object), against the throttle: the gateway alone must never lock an account.
async fn lockout_policy(directory: &Directory, settings: &Settings, report: &mut Report) {
    let Ok(entries) = directory
        .search(
            &settings.base_dn,
            Scope::Base,
            "(objectClass=*)",
            vec!["lockoutThreshold", "lockOutObservationWindow"],
            1,
            Operation::Search,
        )
        .await
    else {
        return;
    };
    let Some(domain) = entries.first() else {
        return;
    };
    let number = |name: &str| -> Option<i64> {
        domain
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .and_then(|v| v.trim().parse().ok())
    };
    let Some(threshold) = number("lockoutThreshold") else {
        return;
    };
    let throttle = &settings.throttle;
    if threshold == 0 {
        report
            .ok
            .push("directory: the domain never locks accounts (lockoutThreshold 0)".into());
        return;
    }
    // A negative number of 100 ns intervals.
    let window = number("lockOutObservationWindow")
        .map(|n| Duration::from_secs(n.unsigned_abs() / 10_000_000));
    let mut fine = true;
    if i64::from(throttle.max_failures) >= threshold {
        fine = false;
        report.warnings.push(format!(
            "directory.throttle.max_failures is {}, but the domain locks accounts after {threshold} wrong passwords: \
             set it to {} or less so the gateway can never lock anyone out",
            throttle.max_failures,
            (threshold - 1).max(1)
        ));
    }
    if let Some(window) = window
        && throttle.window < window
    {
        fine = false;
        report.warnings.push(format!(
            "directory.throttle.window is {} s, shorter than the domain's lockout observation window ({} s): \
             set it to at least {} s",
            throttle.window.as_secs(),
            window.as_secs(),
            window.as_secs()
        ));
    }
    if fine {
        report.ok.push(format!(
            "directory: throttle ({} failures per {} s) stays below the domain's lockout ({threshold} failures{})",
            throttle.max_failures,
            throttle.window.as_secs(),
            window.map(|w| format!(" per {} s", w.as_secs())).unwrap_or_default()
        ));
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
            let state = match found.state {
                AccountState::Usable => "usable",
                AccountState::Disabled => "disabled",
                AccountState::LockedOut => "locked out",
                AccountState::Expired => "expired",
                AccountState::PasswordExpired => "password expired",
            };
            lines.push_str(&format!("\n           account: {state}"));
            if found.groups.is_empty() {
                lines.push_str("\n           groups: none");
            }
            for group in &found.groups {
                lines.push_str(&format!("\n           group: {group}"));
            }
            report.ok.push(lines);
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
