//! What a failed bind means. Active Directory answers every refused bind with `invalidCredentials` (49)
//! and puts the real reason in the diagnostic message as `data NNN` (the Win32 error, in hex):
//! `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563`.
//! Only 52e is a wrong password; the others are states of the account that the user must hear about,
//! and that must never count as a failed password (or the throttle would lock out the locked-out).

/// The outcome of a user's bind that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindRefusal {
    /// 52e, or a plain `invalidCredentials` from another server.
    WrongPassword,
    /// 525: the DN does not exist (it just did, at the search: moved or deleted since).
    NoSuchUser,
    /// 530: not permitted to log on at this time.
    LogonHours,
    /// 531: not permitted to log on from this workstation.
    Workstation,
    /// 532: the password has expired.
    PasswordExpired,
    /// 533: the account is disabled.
    Disabled,
    /// 701: the account has expired.
    AccountExpired,
    /// 773: the user must change the password before logging on.
    MustChangePassword,
    /// 775: the account is locked out.
    LockedOut,
}

/// `invalidCredentials` (RFC 4511 §A.2).
pub const INVALID_CREDENTIALS: u32 = 49;

/// The refusal for a bind that answered `invalidCredentials` with this diagnostic message.
pub fn refusal(diagnostic: &str) -> BindRefusal {
    match ad_data_code(diagnostic).as_deref() {
        Some("525") => BindRefusal::NoSuchUser,
        Some("530") => BindRefusal::LogonHours,
        Some("531") => BindRefusal::Workstation,
        Some("532") => BindRefusal::PasswordExpired,
        Some("533") => BindRefusal::Disabled,
        Some("701") => BindRefusal::AccountExpired,
        Some("773") => BindRefusal::MustChangePassword,
        Some("775") => BindRefusal::LockedOut,
        _ => BindRefusal::WrongPassword,
    }
}

/// The hex code after `data ` in an AD diagnostic message, lower-cased.
fn ad_data_code(diagnostic: &str) -> Option<String> {
    let lower = diagnostic.to_ascii_lowercase();
    let start = lower.find("data ")? + "data ".len();
    let code: String = lower[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (!code.is_empty()).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad(code: &str) -> String {
        format!(
            "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {code}, v4563\0"
        )
    }

    #[test]
    fn each_ad_sub_code_is_its_own_refusal() {
        let cases = [
            ("52e", BindRefusal::WrongPassword),
            ("525", BindRefusal::NoSuchUser),
            ("530", BindRefusal::LogonHours),
            ("531", BindRefusal::Workstation),
            ("532", BindRefusal::PasswordExpired),
            ("533", BindRefusal::Disabled),
            ("701", BindRefusal::AccountExpired),
            ("773", BindRefusal::MustChangePassword),
            ("775", BindRefusal::LockedOut),
        ];
        for (code, expected) in cases {
            assert_eq!(refusal(&ad(code)), expected, "{code}");
            assert_eq!(refusal(&ad(&code.to_uppercase())), expected, "{code}");
        }
    }

    #[test]
    fn other_servers_messages_are_a_wrong_password() {
        assert_eq!(refusal(""), BindRefusal::WrongPassword);
        assert_eq!(refusal("invalid credentials"), BindRefusal::WrongPassword);
        assert_eq!(refusal("data xyz"), BindRefusal::WrongPassword);
    }
}
