//! The sign-in audit trail: one structured event per login attempt, under its own `tracing` target
//! ([`TARGET`], `freshgate::audit`), so a log pipeline can route it to a SIEM apart from the
//! operational log (docs/operations.md, "Audit log").
//!
//! A login attempt is a request that ends a login: the callback from the provider, a post of the
//! directory sign-in form, a Kerberos ticket at the Login URL, a Web Chat token request, and a Login URL
//! (Freshworks' or Web Chat's) that is refused before the login could start. Starting a login (the
//! redirect to the provider, showing the form) is not an attempt: it has no outcome yet.
//!
//! Each attempt's handler fills an [`Attempt`] as it learns who the user is; [`Attempt::finish`]
//! writes the event and observes the login duration histograms, exactly once, at the end of the request.
//! A request that is an attempt whatever happens (a callback, a form post, a ticket, a token request) and
//! whose handling is dropped before the answer (an HTTP/2 client closes its connection, the shutdown
//! grace runs out; an HTTP/1.1 request is finished anyway) still writes its event, from `Drop`: a failure with
//! reason `client_closed`, so the trail has no gaps.
//! Every field is either fixed vocabulary (method, outcome, reason: the same reason codes as
//! `freshgate_logins_total` and the pages), an identifier the identity source vouched for, or the typed
//! user name; text that came with a request is cut to 200 characters with control characters escaped
//! (`logging::one_line`). Never a password, token, code,
//! cookie, query string or a provider's free text: those stay out by construction, since nothing here
//! takes them.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::{self, Clock};
use crate::metrics::{LoginMethod, LoginOutcome, Metrics};
use crate::request_id::RequestId;

/// The `tracing` target of audit events.
pub const TARGET: &str = "freshgate::audit";

/// What the login was for; the event's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Freshworks JWT SSO login (`/sso/jwt/…`).
    Freshworks,
    /// A Web Chat browser session (`/sso/webchat/login` and its callback).
    WebchatSession,
    /// A Web Chat token (`/sso/webchat/token`).
    WebchatToken,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Freshworks => "freshworks",
            Kind::WebchatSession => "webchat_session",
            Kind::WebchatToken => "webchat_token",
        }
    }
}

/// The reason of an attempt whose client went away before the answer.
pub const CLIENT_CLOSED: &str = "client_closed";

/// One login attempt, filled in while its request is handled.
pub struct Attempt {
    request_id: RequestId,
    client: IpAddr,
    /// When the request that ends the attempt arrived.
    received: Instant,
    fields: Mutex<Fields>,
    metrics: Arc<Metrics>,
    /// What the whole login's duration is measured by (its start came from another request).
    clock: Arc<dyn Clock>,
    /// The event was written (or there was none to write).
    done: bool,
}

#[derive(Default)]
struct Fields {
    kind: Option<Kind>,
    method: Option<LoginMethod>,
    account: Option<String>,
    subject: Option<String>,
    issuer: Option<String>,
    principal: Option<String>,
    username: Option<String>,
    email: Option<String>,
    /// `bearer` or `session`: what a Web Chat token was asked with.
    credential: Option<&'static str>,
    /// Unix milliseconds when the login started (the Login URL), from the pending login.
    login_started_ms: Option<u64>,
    /// The request ends a login attempt however it goes, so an event is owed even if it never finishes.
    attempting: bool,
    ended: Option<(LoginOutcome, &'static str)>,
}

impl Attempt {
    /// An attempt by `client` (the address the throttle uses: behind `trusted_proxies`, the forwarded one).
    pub fn new(
        request_id: RequestId,
        client: IpAddr,
        kind: Kind,
        metrics: Arc<Metrics>,
    ) -> Attempt {
        Attempt {
            request_id,
            client,
            received: Instant::now(),
            fields: Mutex::new(Fields {
                kind: Some(kind),
                ..Fields::default()
            }),
            metrics,
            clock: clock::system(),
            done: false,
        }
    }

    /// The same attempt, its login's duration measured by `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Attempt {
        self.clock = clock;
        self
    }

    /// This request ends a login attempt whatever happens (see the module's doc).
    pub fn attempting(&self) {
        self.with(|f| f.attempting = true);
    }

    pub fn request_id(&self) -> RequestId {
        self.request_id
    }

    fn with(&self, f: impl FnOnce(&mut Fields)) {
        f(&mut self.fields.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn kind(&self, kind: Kind) {
        self.with(|f| f.kind = Some(kind));
    }

    pub fn method(&self, method: LoginMethod) {
        self.with(|f| f.method = Some(method));
    }

    pub fn account(&self, account: &str) {
        let account = crate::logging::one_line(account);
        self.with(|f| f.account = Some(account));
    }

    /// When the login started, in Unix milliseconds (the pending login's record of its Login URL).
    pub fn login_started(&self, unix_ms: u64) {
        self.with(|f| f.login_started_ms = Some(unix_ms));
    }

    /// Who the identity source says the user is: the provider's `sub` and issuer, or a directory DN.
    pub fn subject(&self, subject: &str, issuer: Option<&str>) {
        let subject = crate::logging::one_line(subject);
        let issuer = issuer.map(crate::logging::one_line);
        self.with(|f| {
            f.subject = Some(subject);
            f.issuer = issuer;
        });
    }

    /// The user name typed into the sign-in form.
    pub fn username(&self, typed: &str) {
        let typed = crate::logging::one_line(typed);
        self.with(|f| f.username = Some(typed));
    }

    /// The Kerberos principal a ticket named.
    pub fn principal(&self, principal: &str) {
        let principal = crate::logging::one_line(principal);
        self.with(|f| f.principal = Some(principal));
    }

    /// The email address signed into the token (on success).
    pub fn email(&self, email: &str) {
        let email = crate::logging::one_line(email);
        self.with(|f| f.email = Some(email));
    }

    pub fn credential(&self, credential: &'static str) {
        self.with(|f| f.credential = Some(credential));
    }

    /// How the attempt ended; the first word is kept (a later one would be a second outcome).
    pub fn ended(&self, outcome: LoginOutcome, reason: &'static str) {
        self.with(|f| {
            f.ended.get_or_insert((outcome, reason));
        });
    }

    pub fn has_ended(&self) -> bool {
        self.fields
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ended
            .is_some()
    }

    /// Writes the event and observes the login duration histograms, if the attempt ended.
    pub fn finish(mut self) {
        self.write();
        self.done = true;
    }

    fn write(&self) {
        let fields = std::mem::take(&mut *self.fields.lock().unwrap_or_else(|p| p.into_inner()));
        let Some((outcome, reason)) = fields.ended else {
            return;
        };
        let request = self.received.elapsed();
        let whole = fields
            .login_started_ms
            .map(|started| Duration::from_millis(self.clock.unix_ms().saturating_sub(started)));
        if let Some(method) = fields.method {
            self.metrics
                .logins_timed
                .observe(method, outcome, request, whole);
        }
        let message = match outcome {
            LoginOutcome::Success => "login succeeded",
            LoginOutcome::Refusal => "login refused",
            LoginOutcome::Failure => "login failed",
        };
        tracing::info!(
            target: TARGET,
            request_id = %self.request_id,
            outcome = outcome.name(),
            reason,
            kind = fields.kind.map(Kind::name),
            method = fields.method.map(LoginMethod::name),
            account = fields.account.as_deref(),
            subject = fields.subject.as_deref(),
            issuer = fields.issuer.as_deref(),
            principal = fields.principal.as_deref(),
            username = fields.username.as_deref(),
            email = fields.email.as_deref(),
            credential = fields.credential,
            client = %self.client,
            duration_ms = millis(request),
            login_duration_ms = whole.map(millis),
            "{message}"
        );
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let owed = {
            let mut fields = self.fields.lock().unwrap_or_else(|p| p.into_inner());
            let owed = fields.attempting && fields.ended.is_none();
            if owed {
                fields.ended = Some((LoginOutcome::Failure, CLIENT_CLOSED));
            }
            owed
        };
        if owed {
            self.metrics.login("failure", CLIENT_CLOSED);
        }
        self.write();
    }
}

/// Milliseconds with one decimal.
fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e4).round() / 10.0
}

#[cfg(test)]
mod tests;
