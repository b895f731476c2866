//! The simulator's pages: the portal with its "Log in" button, and the verdict.

use std::fmt::Write;

use super::Shape;
use super::verdict::Verdict;
use crate::pages::{escape, escape_with_code};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}\
h1{font-size:1.5rem}.button{display:inline-block;padding:.6rem 1.2rem;background:#2563eb;color:#fff;border-radius:.3rem;text-decoration:none;margin-right:.5rem}\
.secondary{background:#52606d}.pass{color:#166534}.fail{color:#b91c1c}table{border-collapse:collapse;width:100%}\
td,th{border-bottom:1px solid #e4e7eb;padding:.3rem .5rem;text-align:left;vertical-align:top}code{word-break:break-all}\
.note{color:#52606d;font-size:.9rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

pub fn portal(account: &str, login_url: &str, shape: Shape) -> String {
    let (primary, secondary) = match shape {
        Shape::Current => (
            ("current", "Log in"),
            ("seed", "Log in (seed request shape)"),
        ),
        Shape::Seed => (
            ("seed", "Log in"),
            ("current", "Log in (current request shape)"),
        ),
    };
    page(
        "Freshworks portal (simulated)",
        &format!(
            "<h1>Acme support portal</h1>\
             <p>This page plays Freshworks' part of JWT SSO for account <code>{}</code>. \"Log in\" sends you to the \
             gateway's Login URL <code>{}</code> with a fresh <code>state</code> and <code>nonce</code>, exactly as \
             Freshworks does; the token that comes back is checked as Freshworks checks it.</p>\
             <p><a id=\"login\" class=\"button\" href=\"/login?shape={}\">{}</a>\
             <a id=\"login-other\" class=\"button secondary\" href=\"/login?shape={}\">{}</a></p>",
            escape(account),
            escape(login_url),
            primary.0,
            primary.1,
            secondary.0,
            secondary.1
        ),
    )
}

pub fn verdict_page(verdict: &Verdict) -> String {
    let mut body = String::new();
    if verdict.passed() {
        let _ = write!(
            body,
            "<h1 id=\"verdict\" class=\"pass\">All checks passed</h1><p id=\"who\">Logged in: <strong>{}</strong></p>",
            escape(&verdict.who())
        );
    } else {
        let failed = verdict.checks.iter().filter(|c| !c.passed).count();
        let _ = write!(
            body,
            "<h1 id=\"verdict\" class=\"fail\">Freshworks would refuse this login</h1><p>{failed} check(s) failed.</p>"
        );
    }
    body.push_str(
        "<h2>Checks</h2><table id=\"checks\"><tr><th></th><th>check</th><th>detail</th></tr>",
    );
    for check in &verdict.checks {
        let (class, mark) = if check.passed {
            ("pass", "✔")
        } else {
            ("fail", "✘")
        };
        let _ = write!(
            body,
            "<tr class=\"check {class}\"><td class=\"{class}\">{mark}</td><td>{}</td><td>{}</td></tr>",
            escape(check.name),
            escape_with_code(&check.detail)
        );
    }
    body.push_str("</table><h2>Claims</h2><table id=\"claims\">");
    for (name, value) in &verdict.claims {
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape(name),
            escape(&value.to_string())
        );
    }
    body.push_str("</table><p><a class=\"button\" href=\"/\">Back to the portal</a></p>");
    page("Freshworks JWT SSO verdict (simulated)", &body)
}

pub fn verdict_text(verdict: &Verdict) -> String {
    let mut out = String::new();
    if verdict.passed() {
        let _ = writeln!(out, "PASS  login verified: {}", verdict.who());
    } else {
        let _ = writeln!(out, "FAIL  Freshworks would refuse this login");
    }
    for check in &verdict.checks {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            if check.passed { "ok  " } else { "FAIL" },
            check.name,
            check.detail
        );
    }
    out
}

pub fn not_found() -> String {
    page(
        "Not found",
        "<h1>Not found</h1><p><a href=\"/\">Back to the portal</a></p>",
    )
}
