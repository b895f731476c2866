//! Directory metrics: password logins by outcome and reason, the time each directory operation took, and
//! whether the service account can bind. Rare events (a login is a handful of operations), so a small
//! locked map is fine.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the directory latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// The `kind` label values of `freshgate_directory_errors_total`: `DirectoryError::kind()`'s and
/// `search_refused`.
const ERROR_KINDS: [&str; 6] = [
    "unreachable",
    "timeout",
    "service_bind_refused",
    "refused",
    "ambiguous_user",
    "search_refused",
];

/// A directory operation, the `operation` label of `freshgate_directory_duration_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// TCP, TLS (or StartTLS) to the first server that answers.
    Connect,
    /// The service account's bind.
    ServiceBind,
    /// The user search.
    Search,
    /// The user's own bind (the password check).
    UserBind,
    /// Group membership searches.
    Groups,
    /// The periodic check that the service connection answers.
    Ping,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Connect => "connect",
            Operation::ServiceBind => "service_bind",
            Operation::Search => "search",
            Operation::UserBind => "user_bind",
            Operation::Groups => "groups",
            Operation::Ping => "ping",
        }
    }
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct DirectoryMetrics {
    logins: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    durations: Mutex<BTreeMap<(Operation, &'static str), Histogram>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// -1: no directory configured; 0: the service bind fails; 1: it works.
    up: AtomicI64,
}

impl DirectoryMetrics {
    pub fn new() -> Self {
        DirectoryMetrics {
            up: AtomicI64::new(-1),
            ..Default::default()
        }
    }

    /// A password login's end: `outcome` is `success` or `failure`, `reason` a fixed code.
    pub fn login(&self, outcome: &'static str, reason: &'static str) {
        *lock(&self.logins).entry((outcome, reason)).or_insert(0) += 1;
    }

    /// One operation; `result` is `ok` or `error`.
    pub fn observe(&self, operation: Operation, result: &'static str, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut durations = lock(&self.durations);
        let histogram = durations.entry((operation, result)).or_default();
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            histogram.buckets[i] += 1;
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// The directory could not be used (unreachable, timeout, refused the service account, ...).
    pub fn error(&self, kind: &'static str) {
        *lock(&self.errors).entry(kind).or_insert(0) += 1;
    }

    pub fn up(&self, up: bool) {
        self.up.store(i64::from(up), Ordering::Relaxed);
    }

    pub fn render(&self, out: &mut String) {
        let up = self.up.load(Ordering::Relaxed);
        if up < 0 {
            return;
        }
        out.push_str("# HELP freshgate_directory_logins_total Directory (password) logins, by outcome and reason.\n");
        out.push_str("# TYPE freshgate_directory_logins_total counter\n");
        for ((outcome, reason), n) in lock(&self.logins).iter() {
            let _ = writeln!(
                out,
                "freshgate_directory_logins_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str("# HELP freshgate_directory_duration_seconds Time a directory operation took, by operation and result.\n");
        out.push_str("# TYPE freshgate_directory_duration_seconds histogram\n");
        for ((operation, result), h) in lock(&self.durations).iter() {
            let labels = format!("operation=\"{}\",result=\"{result}\"", operation.name());
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "freshgate_directory_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "freshgate_directory_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "freshgate_directory_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "freshgate_directory_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str(
            "# HELP freshgate_directory_errors_total Directory operations that failed, by kind.\n",
        );
        out.push_str("# TYPE freshgate_directory_errors_total counter\n");
        // Every kind from zero, so that rate() and increase() see the first error.
        let errors = lock(&self.errors);
        for kind in ERROR_KINDS {
            let n = errors.get(kind).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "freshgate_directory_errors_total{{kind=\"{kind}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP freshgate_directory_up 1 when the directory's service account binds.\n",
        );
        out.push_str("# TYPE freshgate_directory_up gauge\n");
        let _ = writeln!(out, "freshgate_directory_up {up}");
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_rendered_without_a_directory_and_buckets_are_cumulative_with_one() {
        let metrics = DirectoryMetrics::new();
        let mut out = String::new();
        metrics.render(&mut out);
        assert!(out.is_empty());
        metrics.up(true);
        metrics.login("failure", "wrong_password");
        metrics.observe(Operation::UserBind, "ok", Duration::from_millis(3));
        metrics.observe(Operation::UserBind, "ok", Duration::from_millis(30));
        metrics.render(&mut out);
        assert!(out.contains(
            "freshgate_directory_logins_total{outcome=\"failure\",reason=\"wrong_password\"} 1"
        ));
        assert!(out.contains("freshgate_directory_duration_seconds_bucket{operation=\"user_bind\",result=\"ok\",le=\"0.005\"} 1"));
        assert!(out.contains("freshgate_directory_duration_seconds_bucket{operation=\"user_bind\",result=\"ok\",le=\"0.05\"} 2"));
        assert!(out.contains("freshgate_directory_up 1"));
    }
}
