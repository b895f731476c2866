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

use super::family::{Buckets, Desc, Family, Show, Timer, label_values};
use super::histogram::EXCHANGE_SECONDS;

/// Whole logins: seconds to the ten minutes `freshworks.login_timeout` allows.
pub struct LoginBuckets;
impl Buckets for LoginBuckets {
    const BOUNDS: &'static [f64] = &[
        0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    ];
}

/// The ending request: milliseconds (a directory bind, a code exchange) to the back channel's timeouts.
pub struct RequestBuckets;
impl Buckets for RequestBuckets {
    const BOUNDS: &'static [f64] = EXCHANGE_SECONDS;
}

label_values! {
    /// How the user was identified; the `method` label (and the audit event's `method`).
    pub enum Method {
        /// At the OpenID provider (Freshworks and Web Chat browser-session logins).
        Oidc => "oidc",
        /// The gateway's sign-in form, checked against the directory.
        Directory => "directory",
        /// A Kerberos ticket over HTTP Negotiate.
        Kerberos => "kerberos",
        /// A Web Chat token for a provider access token or a browser session (`/sso/webchat/token`).
        WebchatToken => "webchat_token",
    }
}

label_values! {
    /// How a login attempt ended; the `outcome` label (and the audit event's `outcome`).
    pub enum Outcome {
        /// Signed in: a token for Freshworks, a Web Chat session or token.
        Success => "success",
        /// Who the user is was established (or claimed, for the throttle) and a rule said no: `allow`, an
        /// account state, an unverified or missing email address, the throttle.
        Refusal => "refusal",
        /// Not signed in for any other reason: a wrong password, an invalid or replayed answer, a peer that
        /// failed, a request Freshworks would never send.
        Failure => "failure",
    }
}

const WHOLE: Desc = Desc {
    name: "freshgate_login_duration_seconds",
    help: "Whole logins, from the Login URL to the answer that ended them (the user's time at the provider's or the gateway's form included), by method and outcome.",
    labels: &["method", "outcome"],
};
const REQUEST: Desc = Desc {
    name: "freshgate_login_request_duration_seconds",
    help: "The gateway's own time for the request that ended a login (back-channel, directory and store calls included), by method and outcome.",
    labels: &["method", "outcome"],
};

#[derive(Default)]
pub struct LoginMetrics {
    whole: Family<(Method, Outcome), Timer<LoginBuckets>>,
    request: Family<(Method, Outcome), Timer<RequestBuckets>>,
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
        self.request.get((method, outcome)).observe(request);
        if let Some(whole) = whole {
            self.whole.get((method, outcome)).observe(whole);
        }
    }

    /// Series with at least one observation.
    pub fn render(&self, out: &mut String) {
        self.whole.render(out, &WHOLE, Show::Observed);
        self.request.render(out, &REQUEST, Show::Observed);
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
