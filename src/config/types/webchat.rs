//! The validated settings of Freshdesk Web Chat (`webchat`).

use std::fmt;
use std::time::Duration;

use url::Url;

use super::{ClaimMapping, Secret};

/// Freshdesk web chat (help widget) identity tokens: `/sso/webchat/*`.
#[derive(Debug, Clone)]
pub struct Webchat {
    /// The widget's JWT secret (HS256 key) from Freshdesk.
    pub secret: Secret,
    pub identify_by: IdentifyBy,
    /// Where the identifier named by `identify_by` comes from (`webchat.email` or `webchat.unique_external_id`).
    pub identity: ClaimMapping,
    /// Lifetime of a minted token: `exp = now + ttl`.
    pub ttl: Duration,
    /// Accepted `aud` values of provider access tokens. Empty: `aud` is not checked.
    pub audience: Vec<String>,
    /// Normalised origins (`https://app.example.com`, `http://localhost:3000`): no trailing slash, default
    /// port left out, host lower-cased and in ASCII. Never empty.
    pub allowed_origins: Vec<String>,
    /// Freshdesk contact property -> source, in file order.
    pub contact_properties: Vec<(String, ClaimMapping)>,
    /// Freshdesk ticket property -> source, in file order.
    pub ticket_properties: Vec<(String, ClaimMapping)>,
    /// For `/sso/webchat/widget.js`; `None` when the section is absent.
    pub widget: Option<Widget>,
    /// Lifetime of the browser-session cookie set by `/sso/webchat/login`.
    pub session_ttl: Duration,
}

/// Which identifier the web chat token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifyBy {
    Email,
    UniqueExternalId,
}

impl IdentifyBy {
    /// The name as written in the configuration, which is also the token's claim name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifyBy::Email => "email",
            IdentifyBy::UniqueExternalId => "unique_external_id",
        }
    }
}

/// The Freshdesk widget loader settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Widget {
    pub host: Url,
    /// The widget token from Freshdesk: not a secret, but left out of `Debug` so it is not logged needlessly.
    pub token: String,
    pub widget_id: String,
}

impl fmt::Debug for Widget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Widget")
            .field("host", &self.host.as_str())
            .field("token", &"[not shown]")
            .field("widget_id", &self.widget_id)
            .finish()
    }
}
