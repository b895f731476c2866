//! Directory metrics: password logins by outcome and reason, the time each directory operation took, and
//! whether the service account can bind. Reason codes are `DirectoryError`'s and the login side's, an
//! open set, so the logins are a [`Dynamic`] family; everything else is a typed table.

use std::time::Duration;

use super::family::{
    Buckets, Counter, Desc, Dynamic, Family, Gauge, Show, Timer, label_values, render_one,
};

/// Upper bounds, in seconds, of the directory latency histogram's buckets.
pub struct DirectoryBuckets;
impl Buckets for DirectoryBuckets {
    const BOUNDS: &'static [f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];
}

label_values! {
    /// A directory operation, the `operation` label of `freshgate_directory_duration_seconds`.
    pub enum Operation {
        /// TCP, TLS (or StartTLS) to the first server that answers.
        Connect => "connect",
        /// The service account's bind.
        ServiceBind => "service_bind",
        /// The user search.
        Search => "search",
        /// The user's own bind (the password check).
        UserBind => "user_bind",
        /// Group membership searches.
        Groups => "groups",
        /// The periodic check that the service connection answers.
        Ping => "ping",
    }
}

label_values! {
    /// How a directory operation ended; the `result` label of `freshgate_directory_duration_seconds`.
    pub enum OperationResult {
        Ok => "ok",
        Error => "error",
    }
}

label_values! {
    /// The `kind` label of `freshgate_directory_errors_total`: `DirectoryError::kind()`'s and
    /// `search_refused`.
    pub enum ErrorKind {
        Unreachable => "unreachable",
        Timeout => "timeout",
        ServiceBindRefused => "service_bind_refused",
        TlsRequired => "tls_required",
        Certificate => "certificate",
        Refused => "refused",
        AmbiguousUser => "ambiguous_user",
        SearchRefused => "search_refused",
    }
}

const LOGINS: Desc = Desc {
    name: "freshgate_directory_logins_total",
    help: "Directory (password) logins, by outcome and reason.",
    labels: &["outcome", "reason"],
};
const DURATION: Desc = Desc {
    name: "freshgate_directory_duration_seconds",
    help: "Time a directory operation took, by operation and result.",
    labels: &["operation", "result"],
};
const ERRORS: Desc = Desc {
    name: "freshgate_directory_errors_total",
    help: "Directory operations that failed, by kind.",
    labels: &["kind"],
};
const UP: Desc = Desc {
    name: "freshgate_directory_up",
    help: "1 when the directory's service account binds.",
    labels: &[],
};

pub struct DirectoryMetrics {
    logins: Dynamic<2>,
    durations: Family<(Operation, OperationResult), Timer<DirectoryBuckets>>,
    errors: Family<ErrorKind, Counter>,
    /// -1: no directory configured; 0: the service bind fails; 1: it works.
    up: Gauge,
}

impl Default for DirectoryMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl DirectoryMetrics {
    pub fn new() -> Self {
        DirectoryMetrics {
            logins: Dynamic::default(),
            durations: Family::default(),
            errors: Family::default(),
            up: Gauge::new(-1),
        }
    }

    /// A password login's end: `outcome` is `success` or `failure`, `reason` a fixed code.
    pub fn login(&self, outcome: &'static str, reason: &'static str) {
        self.logins.inc([outcome, reason]);
    }

    /// One operation; `result` is `ok` or `error`.
    pub fn observe(&self, operation: Operation, result: &'static str, elapsed: Duration) {
        let result = if result == "ok" {
            OperationResult::Ok
        } else {
            OperationResult::Error
        };
        self.durations.get((operation, result)).observe(elapsed);
    }

    /// The directory could not be used (unreachable, timeout, refused the service account, ...): one of
    /// [`ErrorKind`]'s names.
    pub fn error(&self, kind: &'static str) {
        if let Some(kind) = ErrorKind::ALL.iter().find(|k| k.name() == kind) {
            self.errors.get(*kind).inc();
        }
    }

    pub fn up(&self, up: bool) {
        self.up.set(i64::from(up));
    }

    pub fn render(&self, out: &mut String) {
        if self.up.get() < 0 {
            return;
        }
        self.logins.render(out, &LOGINS);
        self.durations.render(out, &DURATION, Show::Observed);
        self.errors.render(out, &ERRORS, Show::Every);
        render_one(out, &UP, &self.up);
    }
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
