//! How long logins take, by method and outcome: what "is login slow?" asks.
//!
//! A login is several requests, and most of its time is the person at a form, so there are two
//! histograms, observed once per login attempt (with its audit event, `crate::audit`):
//!
//! - `freshgate_login_duration_seconds`: the whole login as the user lives it, from the Login URL
//!   (`/sso/jwt/login`, `/sso/webchat/login`) to the answer that ends it: the redirect to Freshworks or
//!   the page that refuses. For a provider login that includes the time at the provider's form; for a
//!   directory login, from the form's first showing to the post that ended it. The start travels in the
//!   pending-login cookie, so the replica that finishes measures a login another one started. A Kerberos
//!   login and a Web Chat token are one request. Attempts without a readable pending login (no cookie,
//!   a forged one) are not observed here.
//! - `freshgate_login_request_duration_seconds`: the gateway's own time for the request that ended the
//!   login, back-channel, directory and store calls included: the part the gateway can make faster.

use std::time::Duration;

use super::histogram::{Histogram, header};

/// Whole logins: seconds to the ten minutes `freshworks.login_timeout` allows.
const LOGIN_BUCKETS: [f64; 12] = [
    0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// The ending request: milliseconds (a directory bind, a code exchange) to the back channel's timeouts.
const REQUEST_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How the user was identified; the `method` label (and the audit event's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// At the OpenID provider (Freshworks and Web Chat browser-session logins).
    Oidc,
    /// The gateway's sign-in form, checked against the directory.
    Directory,
    /// A Kerberos ticket over HTTP Negotiate.
    Kerberos,
    /// A Web Chat token for a provider access token or a browser session (`/sso/webchat/token`).
    WebchatToken,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Oidc,
        Method::Directory,
        Method::Kerberos,
        Method::WebchatToken,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Oidc => "oidc",
            Method::Directory => "directory",
            Method::Kerberos => "kerberos",
            Method::WebchatToken => "webchat_token",
        }
    }
}

/// How a login attempt ended; the `outcome` label (and the audit event's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Signed in: a token for Freshworks, a Web Chat session or token.
    Success,
    /// Who the user is was established (or claimed, for the throttle) and a rule said no: `allow`, an
    /// account state, an unverified or missing email address, the throttle.
    Refusal,
    /// Not signed in for any other reason: a wrong password, an invalid or replayed answer, a peer that
    /// failed, a request Freshworks would never send.
    Failure,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Success, Outcome::Refusal, Outcome::Failure];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Refusal => "refusal",
            Outcome::Failure => "failure",
        }
    }
}

pub struct LoginMetrics {
    whole: Vec<Histogram>,
    request: Vec<Histogram>,
}

impl Default for LoginMetrics {
    fn default() -> Self {
        let n = Method::ALL.len() * Outcome::ALL.len();
        LoginMetrics {
            whole: (0..n).map(|_| Histogram::new(&LOGIN_BUCKETS)).collect(),
            request: (0..n).map(|_| Histogram::new(&REQUEST_BUCKETS)).collect(),
        }
    }
}

impl LoginMetrics {
    /// One login attempt's end: the request's own time, and the whole login's when its start is known.
    pub fn observe(
        &self,
        method: Method,
        outcome: Outcome,
        request: Duration,
        whole: Option<Duration>,
    ) {
        let i = method as usize * Outcome::ALL.len() + outcome as usize;
        self.request[i].observe(request);
        if let Some(whole) = whole {
            self.whole[i].observe(whole);
        }
    }

    /// Series with at least one observation.
    pub fn render(&self, out: &mut String) {
        for (name, help, table) in [
            (
                "freshgate_login_duration_seconds",
                "Whole logins, from the Login URL to the answer that ended them (the user's time at the provider's or the gateway's form included), by method and outcome.",
                &self.whole,
            ),
            (
                "freshgate_login_request_duration_seconds",
                "The gateway's own time for the request that ended a login (back-channel, directory and store calls included), by method and outcome.",
                &self.request,
            ),
        ] {
            header(out, name, "histogram", help);
            for method in Method::ALL {
                for outcome in Outcome::ALL {
                    let histogram = &table[method as usize * Outcome::ALL.len() + outcome as usize];
                    if histogram.count() > 0 {
                        let labels = format!(
                            "method=\"{}\",outcome=\"{}\"",
                            method.name(),
                            outcome.name()
                        );
                        histogram.render(out, name, &labels);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_observed_in_both_histograms_when_its_start_is_known() {
        let logins = LoginMetrics::default();
        logins.observe(
            Method::Oidc,
            Outcome::Success,
            Duration::from_millis(40),
            Some(Duration::from_secs(7)),
        );
        logins.observe(
            Method::Directory,
            Outcome::Failure,
            Duration::from_millis(4),
            None,
        );
        let mut out = String::new();
        logins.render(&mut out);
        assert!(out.contains("freshgate_login_duration_seconds_bucket{method=\"oidc\",outcome=\"success\",le=\"5\"} 0\n"));
        assert!(out.contains("freshgate_login_duration_seconds_bucket{method=\"oidc\",outcome=\"success\",le=\"10\"} 1\n"));
        assert!(out.contains("freshgate_login_request_duration_seconds_count{method=\"oidc\",outcome=\"success\"} 1\n"));
        assert!(out.contains("freshgate_login_request_duration_seconds_count{method=\"directory\",outcome=\"failure\"} 1\n"));
        assert!(!out.contains("freshgate_login_duration_seconds_count{method=\"directory\""));
        assert!(!out.contains("kerberos"));
    }
}
