//! How many logins one browser has pending, and which to drop when it starts one more.
//!
//! Every Login URL visit (Freshworks' or Web Chat's) sets a pending-login cookie of its own, so logins in
//! several tabs work. Unbounded, that lets any page send a browser to the Login URL until its cookies exceed
//! the header limits of the gateway or a proxy in front (a "cookie bomb"). The pending-login cookies are sent
//! to the callback only, so the login routes cannot count them; instead a small index cookie, sent to
//! `/sso/` only, lists the pending logins of this browser (each cookie's id and start time). A new login
//! admits itself to the list and, past `MAX_PENDING_LOGINS`, deletes the oldest login's cookie; that
//! login's callback then gets the "no record of this sign-in, start again" page.
//!
//! The index holds no secret and steers nothing but which of this browser's own cookies are deleted, so it is
//! not sealed; it is parsed defensively and bounded. When two logins start at the same instant both read the
//! same list and the later write wins: the other login's cookie is merely not counted (it still finishes,
//! and expires after `login_timeout` like every pending login).

use http::HeaderMap;

use super::PendingLogin;
use super::jar::{NAME_STATE_CHARS, PendingJar, login_id};
use crate::cookies::{GATEWAY_COOKIE_PREFIX, find_cookie};

/// Most logins one browser may have pending at once (tabs opened on the portal, a Web Chat login); starting
/// another drops the oldest. With the largest pending-login cookie (about 3.3 KiB with 1 KiB of Freshworks
/// state and nonce each, see the tests) the callback then carries at most about 13.5 KiB of them, well within
/// `limits.max_header_bytes` (64 KiB by default).
pub const MAX_PENDING_LOGINS: usize = 4;

/// The index is sent to the login routes (`/sso/jwt/login`, `/sso/webchat/login`) and the callback.
const INDEX_PATH: &str = "/sso/";

/// Entries read from an index cookie at most: the browser sends it, so it is bounded whatever it says.
const MAX_ENTRIES_READ: usize = 2 * MAX_PENDING_LOGINS;

/// One pending login: the id in its cookie's name and when it started (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub started: u64,
}

/// Reads an index value (`id.started~id.started…`); malformed entries are skipped.
pub fn parse(value: &str) -> Vec<Entry> {
    value
        .split('~')
        .take(MAX_ENTRIES_READ)
        .filter_map(|item| {
            let (id, started) = item.split_once('.')?;
            let valid_id = !id.is_empty()
                && id.len() <= NAME_STATE_CHARS
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let started = started.parse().ok()?;
            valid_id.then(|| Entry {
                id: id.to_owned(),
                started,
            })
        })
        .collect()
}

pub fn format(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|entry| format!("{}.{}", entry.id, entry.started))
        .collect::<Vec<_>>()
        .join("~")
}

/// Admits `new`: entries older than `ttl` seconds leave (their cookies have expired in the browser too),
/// then the oldest leave until `new` fits within `MAX_PENDING_LOGINS`. Returns the new list (oldest first)
/// and the ids whose cookies must be deleted.
pub fn admit(entries: Vec<Entry>, new: Entry, now: u64, ttl: u64) -> (Vec<Entry>, Vec<String>) {
    let mut kept: Vec<Entry> = entries
        .into_iter()
        .filter(|entry| entry.id != new.id && now.saturating_sub(entry.started) <= ttl)
        .collect();
    kept.sort_by_key(|entry| entry.started);
    let excess = (kept.len() + 1).saturating_sub(MAX_PENDING_LOGINS);
    let dropped = kept.drain(..excess).map(|entry| entry.id).collect();
    kept.push(new);
    (kept, dropped)
}

impl PendingJar {
    fn index_name(&self) -> String {
        format!("{}{GATEWAY_COOKIE_PREFIX}-logins", self.prefix())
    }

    fn index(&self, headers: &HeaderMap) -> Vec<Entry> {
        find_cookie(headers, &self.index_name())
            .map(parse)
            .unwrap_or_default()
    }

    fn set_index(&self, entries: &[Entry], max_age_secs: u64) -> String {
        let (value, max_age) = if entries.is_empty() {
            (String::new(), 0)
        } else {
            (format(entries), max_age_secs)
        };
        format!(
            "{}={value}; Path={INDEX_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
            self.index_name(),
            self.secure_attribute()
        )
    }

    /// The `Set-Cookie`s that start `pending` in the browser that sent `headers`: deletions of the oldest
    /// pending logins past the limit, the new pending-login cookie, and the updated index.
    pub fn start_login_cookies(
        &self,
        headers: &HeaderMap,
        pending: &PendingLogin,
        max_age_secs: u64,
    ) -> Vec<String> {
        let started = pending.started_secs();
        let new = Entry {
            id: login_id(&pending.state),
            started,
        };
        let (kept, dropped) = admit(self.index(headers), new, started, max_age_secs);
        let mut cookies: Vec<String> = dropped
            .iter()
            .map(|id| self.clear_cookie(&self.name_for_id(id)))
            .collect();
        cookies.push(self.set_cookie(pending, max_age_secs));
        cookies.push(self.set_index(&kept, max_age_secs));
        cookies
    }

    /// The `Set-Cookie`s that end the login with our `state`: its cookie deleted, its index entry removed.
    pub fn finish_login_cookies(
        &self,
        headers: &HeaderMap,
        state: &str,
        max_age_secs: u64,
    ) -> Vec<String> {
        let id = login_id(state);
        let rest: Vec<Entry> = self
            .index(headers)
            .into_iter()
            .filter(|entry| entry.id != id)
            .collect();
        vec![
            self.clear_cookie(&self.name(state)),
            self.set_index(&rest, max_age_secs),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::pending::{Method, Target, provider_login};
    use http::header::COOKIE;

    fn entry(id: &str, started: u64) -> Entry {
        Entry {
            id: id.into(),
            started,
        }
    }

    #[test]
    fn an_index_reads_back_and_malformed_or_excess_entries_are_skipped() {
        let list = vec![entry("AbC-_9", 1_700_000_000), entry("x", 5)];
        assert_eq!(parse(&format(&list)), list);
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("a.1", 1),
            ("a.1~b", 1),
            ("a.x~b.2", 1),
            ("a b.1~c.2", 1),
            ("a;b.1", 0),
            (".1", 0),
            ("AAAAAAAAAAAAAAAAA.1", 0), // 17 characters: longer than any id
            ("a.1~a.2~a.3~a.4~a.5~a.6~a.7~a.8~a.9~a.10", MAX_ENTRIES_READ),
        ];
        for (value, count) in cases {
            assert_eq!(parse(value).len(), *count, "{value:?}");
        }
    }

    #[test]
    fn admitting_a_login_drops_expired_entries_then_the_oldest_past_the_limit() {
        let now = 10_000;
        let ttl = 600;
        let cases: Vec<(Vec<Entry>, Vec<&str>, Vec<&str>)> = vec![
            // (before, kept ids after admitting "new", dropped ids)
            (vec![], vec!["new"], vec![]),
            (
                vec![
                    entry("a", now - 30),
                    entry("b", now - 20),
                    entry("c", now - 10),
                ],
                vec!["a", "b", "c", "new"],
                vec![],
            ),
            (
                vec![
                    entry("b", now - 20),
                    entry("a", now - 30),
                    entry("c", now - 10),
                    entry("d", now - 5),
                ],
                vec!["b", "c", "d", "new"],
                vec!["a"],
            ),
            (
                vec![entry("old", now - ttl - 1), entry("a", now - 1)],
                vec!["a", "new"],
                vec![],
            ),
            (
                vec![
                    entry("a", now - 9),
                    entry("b", now - 8),
                    entry("c", now - 7),
                    entry("d", now - 6),
                    entry("e", now - 5),
                    entry("f", now - 4),
                ],
                vec!["d", "e", "f", "new"],
                vec!["a", "b", "c"],
            ),
            // The same id again (a forged index, or a retry) is not counted twice.
            (vec![entry("new", now - 1)], vec!["new"], vec![]),
        ];
        for (before, kept, dropped) in cases {
            let (after, gone) = admit(before.clone(), entry("new", now), now, ttl);
            let ids: Vec<&str> = after.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids, kept, "{before:?}");
            assert_eq!(gone, dropped, "{before:?}");
            assert!(after.len() <= MAX_PENDING_LOGINS);
        }
    }

    fn pending(state: &str, started: u64) -> PendingLogin {
        provider_login(state, started.saturating_mul(1000))
    }

    /// The `Cookie` header a browser would send to `/sso/` after receiving `set_cookies`.
    fn browser_sends(set_cookies: &[String]) -> HeaderMap {
        let pairs: Vec<&str> = set_cookies
            .iter()
            .filter(|c| c.contains("; Path=/sso/;") && !c.contains("Max-Age=0"))
            .filter_map(|c| c.split(';').next())
            .collect();
        let mut headers = HeaderMap::new();
        if !pairs.is_empty() {
            headers.insert(COOKIE, pairs.join("; ").parse().unwrap());
        }
        headers
    }

    #[test]
    fn a_fifth_login_deletes_the_first_logins_cookie_and_a_finished_login_leaves_the_index() {
        let jar = PendingJar::new(&[1; 32], true);
        let mut headers = HeaderMap::new();
        let states = [
            "AAAAAAAAAAAAAAAAxx",
            "BBBBBBBBBBBBBBBByy",
            "CCCC",
            "DDDD",
            "EEEE",
        ];
        let mut last = Vec::new();
        for (i, state) in states.iter().enumerate() {
            last = jar.start_login_cookies(&headers, &pending(state, 100 + i as u64), 600);
            headers = browser_sends(&last);
        }
        assert_eq!(
            last[0],
            "__Secure-freshgate-login-AAAAAAAAAAAAAAAA=; Path=/sso/jwt/callback; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(last[1].starts_with("__Secure-freshgate-login-EEEE="));
        assert_eq!(
            last[2],
            "__Secure-freshgate-logins=BBBBBBBBBBBBBBBB.101~CCCC.102~DDDD.103~EEEE.104; Path=/sso/; Max-Age=600; HttpOnly; SameSite=Lax; Secure"
        );
        let finished = jar.finish_login_cookies(&headers, "CCCC", 600);
        assert!(
            finished[0]
                .starts_with("__Secure-freshgate-login-CCCC=; Path=/sso/jwt/callback; Max-Age=0")
        );
        assert!(finished[1].starts_with(
            "__Secure-freshgate-logins=BBBBBBBBBBBBBBBB.101~DDDD.103~EEEE.104; Path=/sso/;"
        ));
        let only = jar.finish_login_cookies(
            &browser_sends(&[jar.set_index(&[entry("EEEE", 1)], 600)]),
            "EEEE",
            600,
        );
        assert!(
            only[1].starts_with("__Secure-freshgate-logins=; Path=/sso/; Max-Age=0;"),
            "{}",
            only[1]
        );
    }

    /// Browsers keep a cookie whose name and value together are at most 4096 bytes (RFC 6265bis §5.6;
    /// Chromium, Firefox and Safari alike) and drop a bigger one without a word.
    #[test]
    fn the_largest_pending_login_cookie_stays_under_the_browsers_4_kib() {
        use crate::config::MAX_ACCOUNT_ID_BYTES;
        use crate::login::pending::{MAX_PARAM_BYTES, MAX_RETURN_TO_BYTES};
        let jar = PendingJar::new(&[1; 32], true);
        // Our state, nonce and PKCE verifier are 43 base64url characters; Freshworks' state and nonce at
        // their largest, of the characters JSON (format 0) would have escaped to two bytes each.
        let mut freshworks = pending(&"S".repeat(43), u64::MAX / 1000);
        freshworks.started_ms = u64::MAX;
        freshworks.method = Method::Oidc {
            nonce: "N".repeat(43),
            pkce_verifier: "V".repeat(43),
        };
        freshworks.target = Target::Freshworks {
            account: "A".repeat(MAX_ACCOUNT_ID_BYTES),
            state: "\"".repeat(MAX_PARAM_BYTES),
            nonce: "\\".repeat(MAX_PARAM_BYTES),
        };
        let mut directory = freshworks.clone();
        directory.method = Method::Password;
        let mut webchat = freshworks.clone();
        webchat.target = Target::Webchat {
            return_to: format!(
                "https://app.example.com/{}",
                "é".repeat((MAX_RETURN_TO_BYTES - 24) / 2)
            ),
        };
        for login in [freshworks, directory, webchat] {
            let cookie = jar.set_cookie(&login, 600);
            let pair = cookie.split(';').next().unwrap();
            assert!(pair.len() <= 3500, "{} bytes", pair.len());
            assert!(cookie.len() < 4096, "{} bytes", cookie.len());
        }
    }
}
