//! A YAML syntax error as a configuration problem: said once, where the mistake is, with the line quoted.
//!
//! libyaml reports a problem mark (where it gave up) and, for many errors, a context mark (where the
//! construct it was reading began). For an unclosed quote or bracket the problem mark is the end of the file,
//! far past the mistake; the context mark is the opening quote or bracket, which is what needs fixing. The
//! context is only in the error's text (`yaml_serde` exposes one location), so the text is split here.

use super::super::error::ConfigError;

const FIX: &str = "fix the YAML syntax there (indent with spaces, not tabs; quote values that contain `: ` or start with `*`, `&`, `!`, `{` or `[`; close every quote and bracket)";

/// A line and column as libyaml prints them (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    line: usize,
    column: usize,
}

/// libyaml's message: `{problem} at line L column C[, {context}[ at line L column C]]`.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    problem: &'a str,
    at: Mark,
    context: Option<(&'a str, Option<Mark>)>,
}

/// `L column C` at the start of `text` (what follows ` at line `), and the text after it.
fn mark(text: &str) -> Option<(Mark, &str)> {
    let (line, rest) = text.split_once(" column ")?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let at = Mark {
        line: line.parse().ok()?,
        column: rest[..end].parse().ok()?,
    };
    Some((at, &rest[end..]))
}

fn split(message: &str) -> Option<Parts<'_>> {
    let (problem, rest) = message.split_once(" at line ")?;
    let (at, rest) = mark(rest)?;
    let context = rest
        .strip_prefix(", ")
        .map(|context| match context.split_once(" at line ") {
            Some((text, start)) => (text, mark(start).map(|(start, _)| start)),
            None => (context, None),
        });
    Some(Parts {
        problem,
        at,
        context,
    })
}

/// The file's line `at.line`, with a caret under `at.column`.
fn excerpt(text: &str, at: Mark) -> String {
    let Some(line) = text.lines().nth(at.line.saturating_sub(1)) else {
        return String::new();
    };
    let number = at.line.to_string();
    let pad = " ".repeat(number.len());
    // The caret's indent copies the line's tabs so that it lands under the column in any terminal.
    let indent: String = line
        .chars()
        .take(at.column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("\n      {number} | {line}\n      {pad} | {indent}^")
}

/// The problem for a file that is not valid YAML, located at the mistake.
pub fn yaml_error(text: &str, e: &serde_yaml::Error) -> ConfigError {
    let message = e.to_string();
    let problem = match split(&message) {
        Some(Parts {
            problem,
            at,
            context: Some((context, Some(start))),
        }) if start != at => format!(
            "not valid YAML at line {}, column {}: {context} that starts there, {problem} at line {}, column {}{}",
            start.line,
            start.column,
            at.line,
            at.column,
            excerpt(text, start)
        ),
        Some(Parts {
            problem,
            at,
            context,
        }) => {
            let context = context.map(|(c, _)| format!(" ({c})")).unwrap_or_default();
            format!(
                "not valid YAML at line {}, column {}: {problem}{context}{}",
                at.line,
                at.column,
                excerpt(text, at)
            )
        }
        None => format!("not valid YAML: {message}"),
    };
    ConfigError::new("", problem, FIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        let e = serde_yaml::from_str::<serde_yaml::Value>(text).unwrap_err();
        yaml_error(text, &e).problem
    }

    #[test]
    fn an_unclosed_quote_is_located_at_the_quote_not_at_the_end_of_the_file() {
        let text = "listen: 0.0.0.0:8443\nupstream:\n  issuer: https://a\n  client_id: \"abc\n  scopes: [openid]\n\n";
        let out = problem(text);
        assert!(out.starts_with("not valid YAML at line 4, column 14: while scanning a quoted scalar that starts there, found unexpected end of stream at line 7, column 1"), "{out}");
        assert!(
            out.ends_with("\n      4 |   client_id: \"abc\n        |              ^"),
            "{out}"
        );
    }

    #[test]
    fn an_unclosed_bracket_is_located_at_the_bracket() {
        let out = problem("listen: [a, b\nupstream: {}\n");
        assert!(
            out.starts_with("not valid YAML at line 1, column 9: while parsing a flow sequence that starts there, did not find expected ',' or ']' at line 2, column 9"),
            "{out}"
        );
        assert!(
            out.ends_with("1 | listen: [a, b\n        |         ^"),
            "{out}"
        );
    }

    #[test]
    fn a_location_is_given_once() {
        for text in [
            "listen: 1\nupstream:\n  issuer: https://a: b\n",
            "a: \"x\nb: 2\n",
            "a: [1\n",
            "listen: 1\n\tupstream: {}\n",
        ] {
            let out = problem(text);
            let first_line = out.lines().next().unwrap();
            assert_eq!(
                first_line.matches("line ").count(),
                first_line.matches(", column ").count(),
                "{out}"
            );
            assert!(!first_line.contains(" column 1 (line"), "{out}");
            assert!(
                first_line.matches("at line").count() <= 2 && !first_line.contains(") (line"),
                "{out}"
            );
        }
        let out = problem("listen: 1\nupstream:\n  issuer: https://a: b\n");
        assert_eq!(
            out,
            "not valid YAML at line 3, column 20: mapping values are not allowed in this context\n      3 |   issuer: https://a: b\n        |                    ^"
        );
    }
}
