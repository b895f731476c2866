//! The directory failing: unreachable, slow, refusing the service account or a bind, a certificate it
//! cannot prove. `LoginError` (`login_error`) wraps it for the login page. No password is ever in it;
//! `detail` text from the directory goes only to logs.

use std::time::Duration;

/// `strongAuthRequired` (RFC 4511 §4.1.9): AD's answer to a simple bind without TLS when LDAP signing is
/// required (Samba's default).
pub const STRONG_AUTH_REQUIRED: u32 = 8;

#[derive(Debug, Clone, thiserror::Error)]
pub enum DirectoryError {
    #[error("the directory cannot be reached: {detail}")]
    Unreachable { detail: String },
    #[error("the directory did not answer the {operation} within {} ms", .timeout.as_millis())]
    Timeout {
        operation: &'static str,
        timeout: Duration,
    },
    #[error(
        "the directory refused the service account's bind ({detail}); check directory.bind_dn and its password"
    )]
    ServiceBindRefused { detail: String },
    #[error("the directory's TLS certificate is refused: {detail}")]
    Certificate { detail: String, fix: &'static str },
    #[error(
        "the directory accepts this bind only over TLS (strongAuthRequired, {detail}); use an ldaps:// URL in directory.url, or keep ldap:// and set directory.start_tls: true"
    )]
    TlsRequired { detail: String },
    #[error("the directory refused the {operation}: {detail}")]
    Refused {
        operation: &'static str,
        detail: String,
    },
    #[error(
        "more than one directory entry matches the user name; make directory.user_filter match one user"
    )]
    Ambiguous,
}

impl DirectoryError {
    pub fn from_ldap(operation: &'static str, error: ldap3::LdapError, timeout: Duration) -> Self {
        match error {
            ldap3::LdapError::Timeout { .. } => DirectoryError::Timeout { operation, timeout },
            other => {
                let text = other.to_string();
                match certificate_problem(&text) {
                    Some((detail, fix)) => DirectoryError::Certificate { detail, fix },
                    None => DirectoryError::Unreachable {
                        detail: format!("{operation}: {text}"),
                    },
                }
            }
        }
    }

    /// What to change, for `freshgate check` (each cause its own: the certificate is not the service
    /// account's fault).
    pub fn fix(&self) -> String {
        match self {
            DirectoryError::Unreachable { .. } => {
                "check directory.url (host and port) and that the domain controller answers from here".into()
            }
            DirectoryError::Timeout { .. } => {
                "check that the domain controller answers from here, or raise directory.timeout".into()
            }
            DirectoryError::ServiceBindRefused { .. } => {
                "check directory.bind_dn and its password, and that the account is enabled and not locked out"
                    .into()
            }
            DirectoryError::Certificate { fix, .. } => (*fix).into(),
            DirectoryError::TlsRequired { .. } => {
                "use ldaps://host:636 in directory.url, or ldap://host:389 with directory.start_tls: true".into()
            }
            DirectoryError::Refused { .. } => {
                "check the service account's rights to read directory.base_dn".into()
            }
            DirectoryError::Ambiguous => "make directory.user_filter match one entry".into(),
        }
    }

    /// A bind the directory answered with neither success nor `invalidCredentials`.
    pub fn refused_bind(rc: u32, text: &str) -> Self {
        let detail = format!("rc={rc} {}", super::one_line(text));
        if rc == STRONG_AUTH_REQUIRED {
            DirectoryError::TlsRequired { detail }
        } else {
            DirectoryError::Refused {
                operation: "bind",
                detail,
            }
        }
    }

    /// The `kind` label of `freshgate_directory_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            DirectoryError::Unreachable { .. } => "unreachable",
            DirectoryError::Timeout { .. } => "timeout",
            DirectoryError::ServiceBindRefused { .. } => "service_bind_refused",
            DirectoryError::TlsRequired { .. } => "tls_required",
            DirectoryError::Certificate { .. } => "certificate",
            DirectoryError::Refused { .. } => "refused",
            DirectoryError::Ambiguous => "ambiguous_user",
        }
    }
}

/// A refused TLS certificate in a connection error's text (rustls says "invalid peer certificate: …"):
/// what is wrong, and what to do about it.
fn certificate_problem(text: &str) -> Option<(String, &'static str)> {
    let at = text.find("invalid peer certificate")?;
    let detail = super::one_line(&text[at..]);
    let fix = if detail.contains("not valid for name") || detail.contains("NotValidForName") {
        "use a host name in directory.url that the certificate lists in its subjectAltName, or give the \
         domain controller a certificate that lists the name you use (AD CS \"Domain Controller\" or \
         \"Kerberos Authentication\" template). A certificate without subjectAltName (such as Samba's \
         self-made one) is refused whatever the name; this is not about directory.bind_dn or its password"
    } else if detail.contains("UnknownIssuer") {
        "set directory.ca_file to the PEM of the CA that issued the domain controllers' certificates \
         (see them with `openssl s_client -showcerts -connect host:636`)"
    } else if detail.contains("expired") || detail.contains("not valid yet") {
        "renew the domain controller's certificate, or check this machine's clock"
    } else {
        "check the domain controller's certificate (a server certificate for its name, issued by the CA in \
         directory.ca_file)"
    };
    Some((detail, fix))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::DirectoryError;
    use crate::metrics::directory::ErrorKind;

    #[test]
    fn every_kind_of_directory_error_is_a_label_of_the_errors_metric() {
        let errors = [
            DirectoryError::Unreachable {
                detail: String::new(),
            },
            DirectoryError::Timeout {
                operation: "search",
                timeout: Duration::from_secs(1),
            },
            DirectoryError::ServiceBindRefused {
                detail: String::new(),
            },
            DirectoryError::Certificate {
                detail: String::new(),
                fix: "",
            },
            DirectoryError::TlsRequired {
                detail: String::new(),
            },
            DirectoryError::Refused {
                operation: "search",
                detail: String::new(),
            },
            DirectoryError::Ambiguous,
        ];
        for error in errors {
            assert!(
                ErrorKind::ALL
                    .iter()
                    .any(|kind| kind.name() == error.kind()),
                "{} is not counted in freshgate_directory_errors_total",
                error.kind()
            );
        }
    }
}
