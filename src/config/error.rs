//! Configuration problems: every one names the key, says what is wrong and how to fix it.
//!
//! Loading never stops at the first problem; `ConfigErrors` carries all of them so an operator fixes the
//! file in one pass. No message ever contains a secret value.

use std::fmt;
use std::path::PathBuf;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the key, e.g. `upstream.client_secret` or `freshworks.accounts.12344.redirect_url`;
    /// list items are written `upstream.scopes[1]`. Empty when the problem concerns the whole file.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.problem)?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file as it was named to the loader.
    pub file: PathBuf,
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub fn new(file: impl Into<PathBuf>, errors: Vec<ConfigError>) -> Self {
        ConfigErrors {
            file: file.into(),
            errors,
        }
    }
}

/// ```text
/// gateway.yaml: 2 problems
///   upstream.client_secrt: unknown key
///     fix: remove it, or did you mean `client_secret`?
///   tls.key_file: /etc/freshgate/gateway.key does not exist
///     fix: point tls.key_file at the PEM private key of the certificate, or remove the tls section to serve plain HTTP
/// ```
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        write!(f, "{}: {n} {noun}", self.file.display())?;
        for e in &self.errors {
            f.write_str("\n  ")?;
            if !e.key.is_empty() {
                write!(f, "{}: ", e.key)?;
            }
            f.write_str(&e.problem)?;
            if !e.fix.is_empty() {
                write!(f, "\n    fix: {}", e.fix)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_every_problem_with_its_fix() {
        let errors = ConfigErrors::new(
            "gateway.yaml",
            vec![
                ConfigError::new(
                    "upstream.client_secrt",
                    "unknown key",
                    "remove it, or did you mean `client_secret`?",
                ),
                ConfigError::new(
                    "upstream.client_secret",
                    "environment variable FRESHGATE_CLIENT_SECRET is not set",
                    "export FRESHGATE_CLIENT_SECRET, or set upstream.client_secret_file to a file holding the secret",
                ),
                ConfigError::new(
                    "tls.key_file",
                    "/etc/freshgate/gateway.key does not exist",
                    "point tls.key_file at the PEM private key of the certificate, or remove the tls section to serve plain HTTP",
                ),
            ],
        );
        let expected = "gateway.yaml: 3 problems
  upstream.client_secrt: unknown key
    fix: remove it, or did you mean `client_secret`?
  upstream.client_secret: environment variable FRESHGATE_CLIENT_SECRET is not set
    fix: export FRESHGATE_CLIENT_SECRET, or set upstream.client_secret_file to a file holding the secret
  tls.key_file: /etc/freshgate/gateway.key does not exist
    fix: point tls.key_file at the PEM private key of the certificate, or remove the tls section to serve plain HTTP";
        assert_eq!(errors.to_string(), expected);
    }

    #[test]
    fn a_single_problem_is_counted_in_the_singular() {
        let errors = ConfigErrors::new(
            "/etc/freshgate/gateway.yaml",
            vec![ConfigError::new(
                "listen",
                "is required but not set",
                "add `listen: 0.0.0.0:8443`",
            )],
        );
        assert!(
            errors
                .to_string()
                .starts_with("/etc/freshgate/gateway.yaml: 1 problem\n  listen: is required")
        );
    }

    #[test]
    fn a_problem_about_the_whole_file_has_no_key_prefix() {
        let errors = ConfigErrors::new(
            "gateway.yaml",
            vec![ConfigError::new(
                "",
                "cannot read /x/gateway.yaml: it does not exist",
                "create it",
            )],
        );
        assert_eq!(
            errors.to_string(),
            "gateway.yaml: 1 problem\n  cannot read /x/gateway.yaml: it does not exist\n    fix: create it"
        );
        assert_eq!(
            errors.errors[0].to_string(),
            "cannot read /x/gateway.yaml: it does not exist (fix: create it)"
        );
    }

    #[test]
    fn config_errors_are_std_errors() {
        fn is_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
        let e = ConfigErrors::new("a.yaml", vec![]);
        is_error(&e);
        is_error(&ConfigError::new("k", "p", "f"));
    }
}
