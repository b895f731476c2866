//! What `freshgate check` found, and how it is printed: what is fine, what only weakens the gateway, what
//! must be fixed before `serve`, and the values to paste into Freshworks.

use std::fmt::Write;
use std::path::Path;

#[derive(Debug, Default)]
pub struct Report {
    pub ok: Vec<String>,
    pub warnings: Vec<String>,
    pub problems: Vec<String>,
    pub paste: Option<String>,
}

pub fn render(path: &Path, report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "freshgate check {}", path.display());
    let _ = writeln!(out);
    for line in &report.ok {
        let _ = writeln!(out, "  ok       {line}");
    }
    for line in &report.warnings {
        let _ = writeln!(out, "  warning  {line}");
    }
    for line in &report.problems {
        let _ = writeln!(out, "  PROBLEM  {line}");
    }
    let _ = writeln!(out);
    if let Some(paste) = &report.paste {
        out.push_str(paste);
        let _ = writeln!(out);
    }
    match report.problems.len() {
        0 => {
            let _ = writeln!(out, "All checks passed.");
        }
        1 => {
            let _ = writeln!(out, "1 problem; fix it before running `freshgate serve`.");
        }
        n => {
            let _ = writeln!(
                out,
                "{n} problems; fix them before running `freshgate serve`."
            );
        }
    }
    out
}
