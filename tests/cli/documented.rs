//! The documentation says what the code does, where a test can tell:
//!
//! - every key the configuration accepts (`freshgate::config::known_keys()`) has a row in a reference table
//!   of docs/configuration.md or docs/directory.md, and every key in those tables is accepted;
//! - every configuration key README.md and docs/ mention in backticks exists;
//! - every `freshgate_…` metric they mention is one the code exports;
//! - every `freshgate <command> …` they show (code blocks, the Dockerfile's and deploy/'s comments) parses
//!   with the binary's command line.
//!
//! A reference table is a Markdown table whose header's first cell is `key` and that has a `default` column;
//! its keys are written out in full (`directory.throttle.window`), with `<placeholder>` segments for names
//! the operator chooses (`freshworks.accounts.<id>.login`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::support;

/// Keys the docs write on purpose although the configuration has no such key: the examples of what the
/// loader says about a misspelt or misplaced key (docs/configuration.md, "Validation and errors").
const WRONG_ON_PURPOSE: &[&str] = &["upstream.client_secrt", "upstream.timeout"];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md and every page of docs/.
fn pages() -> Vec<PathBuf> {
    let repo = support::repo();
    let mut pages = vec![repo.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The cells of a Markdown table row (`\|` is a pipe inside a cell).
fn cells(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = row.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    if cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    cells.into_iter().map(|c| c.trim().to_owned()).collect()
}

/// The spans of text between backticks.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A dotted configuration path as written in a doc, its segments normalised: quotes dropped, any
/// `<placeholder>` as `<>`. `None` for what is not one.
fn as_key(span: &str) -> Option<Vec<String>> {
    let segments: Vec<String> = span
        .split('.')
        .map(|segment| {
            let segment = segment.trim_matches('"');
            if segment.starts_with('<') && segment.ends_with('>') {
                "<>".to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    let word = |s: &String| {
        s == "<>"
            || s == "*"
            || (!s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    };
    (segments.iter().all(word) && !segments[0].starts_with(|c: char| c.is_ascii_digit()))
        .then_some(segments)
}

/// Whether a documented path names a known key: a placeholder or `*` in either matches any one segment.
fn matches(documented: &[String], known: &str) -> bool {
    let known: Vec<&str> = known.split('.').collect();
    documented.len() == known.len()
        && documented
            .iter()
            .zip(&known)
            .all(|(d, k)| d == k || d == "<>" || d == "*" || *k == "*")
}

/// Every key in a `key` table of `page`: (key, row, from a reference table).
fn table_keys(page: &Path) -> Vec<(Vec<String>, String, bool)> {
    let text = read(page);
    let mut found = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in text.lines() {
        if !line.trim_start().starts_with('|') {
            header = None;
            continue;
        }
        let row = cells(line);
        let Some(columns) = &header else {
            header = Some(row);
            continue;
        };
        if row.iter().all(|c| c.chars().all(|c| c == '-' || c == ':')) {
            continue;
        }
        if columns.first().map(String::as_str) != Some("key") {
            continue;
        }
        let reference = columns.iter().any(|c| c.contains("default"));
        for span in backticked(&row[0]) {
            match as_key(span) {
                Some(key) => found.push((key, line.to_owned(), reference)),
                None => panic!(
                    "{}: `{span}` in a key column is not a dotted key: {line}",
                    page.display()
                ),
            }
        }
    }
    found
}

#[test]
fn every_key_the_configuration_accepts_is_documented_and_every_documented_key_is_accepted() {
    let known = freshgate::config::known_keys();
    let leaves: Vec<&String> = known
        .iter()
        .filter(|key| !known.iter().any(|k| k.starts_with(&format!("{key}."))))
        .collect();
    let repo = support::repo();
    let mut documented = Vec::new();
    for page in ["docs/configuration.md", "docs/directory.md"] {
        for (key, row, reference) in table_keys(&repo.join(page)) {
            assert!(
                known.iter().any(|k| matches(&key, k)),
                "{page} documents `{}`, which the configuration does not accept: {row}",
                key.join(".")
            );
            if reference {
                documented.push(key);
            }
        }
    }
    let missing: Vec<&&String> = leaves
        .iter()
        .filter(|leaf| !documented.iter().any(|d| matches(d, leaf)))
        .collect();
    assert!(
        missing.is_empty(),
        "accepted but in no reference table of docs/configuration.md or docs/directory.md: {missing:?}"
    );
}

#[test]
fn every_configuration_key_the_docs_mention_exists() {
    let known = freshgate::config::known_keys();
    // Paths start at a section: a bare word (`listen`) could be anything in prose.
    let sections: BTreeSet<&str> = known
        .iter()
        .filter_map(|k| k.split_once('.').map(|(top, _)| top))
        .collect();
    let files = [
        "md", "rs", "yaml", "yml", "json", "js", "mjs", "toml", "sh", "pem", "key",
    ];
    let mut unknown = Vec::new();
    for page in pages() {
        for (n, line) in read(&page).lines().enumerate() {
            for span in backticked(line) {
                let Some(key) = as_key(span) else { continue };
                if key.len() < 2
                    || !sections.contains(key[0].as_str())
                    || files.contains(&key[key.len() - 1].as_str())
                    || WRONG_ON_PURPOSE.contains(&span)
                {
                    continue;
                }
                if !known.iter().any(|k| matches(&key, k)) {
                    unknown.push(format!("{}:{}: `{span}`", page.display(), n + 1));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "no such configuration key:\n{}",
        unknown.join("\n")
    );
}

/// Every file under `dir` whose name ends in one of `extensions`.
fn files_under(dir: &Path, extensions: &[&str], into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, extensions, into);
        } else if path
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| e == *x))
        {
            into.push(path);
        }
    }
}

#[test]
fn every_metric_the_docs_mention_is_one_the_code_exports() {
    let mut sources = Vec::new();
    files_under(&support::repo().join("src"), &["rs"], &mut sources);
    let code: String = sources.iter().map(|path| read(path)).collect();
    let mut unknown = Vec::new();
    for page in pages() {
        let text = read(&page);
        for (at, _) in text.match_indices("freshgate_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            // A whole name in the code (a histogram's also with its series' suffixes), or, for a prefix
            // written with `*` (`freshgate_store_*`), anything that starts with it.
            let exported = if name.ends_with('_') {
                code.contains(&name)
            } else {
                code.match_indices(&name).any(|(at, _)| {
                    let after = &code[at + name.len()..];
                    !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                        || ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|s| after.starts_with(s))
                })
            };
            if !exported {
                unknown.push(format!("{}: {name}", page.display()));
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "metrics the code does not export:\n{}",
        unknown.join("\n")
    );
}

/// The command lines a text shows: in Markdown, the lines of `sh` code blocks and backticked spans (other
/// code blocks show output and diagrams); elsewhere, backticked spans in comments, comment lines indented as
/// examples (`#   docker run …`) and `Exec…=` lines; `\` continuations joined.
fn shown_commands(path: &Path) -> Vec<String> {
    let text = read(path);
    let markdown = path.extension().is_some_and(|e| e == "md");
    let mut lines = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if markdown {
            if let Some(language) = trimmed.strip_prefix("```") {
                block = match block {
                    Some(_) => None,
                    None => Some(language.trim().to_owned()),
                };
                continue;
            }
            match &block {
                Some(language) if language == "sh" => lines.push(trimmed.to_owned()),
                Some(_) => {}
                None => lines.extend(backticked(line).into_iter().map(str::to_owned)),
            }
        } else if let Some(comment) = trimmed.strip_prefix('#') {
            lines.extend(backticked(comment).into_iter().map(str::to_owned));
            let example = comment.trim_start();
            let program = example.split_whitespace().next().unwrap_or_default();
            if comment.starts_with("   ")
                && [
                    "docker",
                    "kubectl",
                    "freshgate",
                    "sudo",
                    "systemctl",
                    "install",
                ]
                .contains(&program)
            {
                lines.push(example.to_owned());
            }
        } else if trimmed.starts_with("Exec") {
            lines.push(trimmed.to_owned());
        }
    }
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in lines {
        if let Some(start) = line.strip_suffix('\\') {
            current.push_str(start);
            current.push(' ');
        } else {
            current.push_str(&line);
            joined.push(std::mem::take(&mut current));
        }
    }
    joined
}

/// The arguments after the last `freshgate` program in a command line, when a subcommand follows it.
fn freshgate_arguments(line: &str) -> Option<Vec<String>> {
    let words: Vec<String> = line
        .split_whitespace()
        .take_while(|w| !w.starts_with('#'))
        .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_owned())
        .collect();
    let at = words.iter().rposition(|w| {
        let program = w.rsplit(['/', '=']).next().unwrap_or(w);
        program == "freshgate"
    })?;
    let rest = &words[at + 1..];
    // A synopsis (`freshgate check [-c FILE]`) describes commands rather than showing one.
    if rest.iter().any(|w| w.starts_with('[')) {
        return None;
    }
    let subcommand = rest.first()?;
    subcommand
        .chars()
        .all(|c| c.is_ascii_lowercase())
        .then(|| rest.to_vec())
}

#[test]
fn every_freshgate_command_the_docs_show_parses_with_the_command_line() {
    let repo = support::repo();
    let mut texts = pages();
    texts.push(repo.join("Dockerfile"));
    files_under(
        &repo.join("deploy"),
        &["yaml", "service", "sysusers"],
        &mut texts,
    );
    files_under(&repo.join("examples"), &["yaml"], &mut texts);
    let mut parsed = 0;
    let mut broken = Vec::new();
    for text in &texts {
        for line in shown_commands(text) {
            let Some(arguments) = freshgate_arguments(&line) else {
                continue;
            };
            parsed += 1;
            if let Err(e) = freshgate::cli::Cli::try_parse_from(
                std::iter::once("freshgate".to_owned()).chain(arguments),
            ) {
                let e = e.to_string();
                broken.push(format!(
                    "{}: {line}\n    {}",
                    text.display(),
                    e.lines().next().unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        parsed >= 20,
        "only {parsed} commands found: the scan is broken"
    );
    assert!(
        broken.is_empty(),
        "commands the CLI does not accept:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_limits_the_example_gateway_yaml_shows_are_the_defaults() {
    // docs/configuration.md: "The defaults are the values shown in gateway.yaml."
    let shipped: serde_yaml::Value =
        serde_yaml::from_str(&read(&support::repo().join("gateway.yaml"))).unwrap();
    let mut config = serde_yaml::Mapping::new();
    for (key, value) in [
        ("listen", "127.0.0.1:8080"),
        ("public_url", "http://localhost:8080"),
    ] {
        config.insert(key.into(), value.into());
    }
    let upstream: serde_yaml::Value = serde_yaml::from_str(
        "{ issuer: http://localhost:8080/realms/a, client_id: c, client_secret: s }",
    )
    .unwrap();
    config.insert("upstream".into(), upstream);
    config.insert("limits".into(), shipped["limits"].clone());
    let yaml = serde_yaml::to_string(&config).unwrap();
    let loaded = freshgate::config::validate::load_str(
        &yaml,
        Path::new("/nonexistent/gateway.yaml"),
        &freshgate::config::MapEnv::new(),
    )
    .unwrap_or_else(|errors| panic!("gateway.yaml's limits: {errors}"));
    assert_eq!(loaded.limits, freshgate::config::Limits::default());
}

#[test]
fn the_relative_path_rule_names_every_key_that_names_a_file() {
    let text = read(&support::repo().join("docs/configuration.md"));
    let section = text
        .split("### Relative paths")
        .nth(1)
        .and_then(|rest| rest.split("\n###").next())
        .expect("docs/configuration.md has a Relative paths section");
    let listed: BTreeSet<String> = backticked(section)
        .into_iter()
        .filter(|span| as_key(span).is_some() && span.ends_with("_file"))
        .map(str::to_owned)
        .collect();
    let files: BTreeSet<String> = freshgate::config::known_keys()
        .into_iter()
        .filter(|key| key.ends_with("_file"))
        .collect();
    assert_eq!(listed, files, "docs/configuration.md, Relative paths");
}
