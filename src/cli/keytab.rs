//! `freshgate check`'s look at the Kerberos keytab (`directory.kerberos.keytab_file`): it must hold a key
//! for the service principal, and its newest keys should be AES (RC4 and DES are weak, and domains that
//! have turned them off issue AES tickets only). Who may read the file is checked with every secret file
//! (`config::warnings`).

use super::report::Report;
use crate::config::{Kerberos, RealmMapping};
use crate::kerberos::keytab::{self, enctype_name, is_strong};

/// Adds what it finds to `report`; `false` when the keytab cannot serve the service principal at all.
pub fn check_keytab(settings: &Kerberos, report: &mut Report) -> bool {
    let path = settings.keytab_file.display();
    let entries = match keytab::read(&settings.keytab_file) {
        Ok(entries) => entries,
        Err(problem) => {
            report.problems.push(format!(
                "directory.kerberos.keytab_file: {problem}\n    fix: export it again (`ktpass … -out freshgate.keytab`, docs/directory.md)"
            ));
            return false;
        }
    };
    let ours: Vec<_> = entries
        .iter()
        .filter(|e| {
            e.principal
                .eq_ignore_ascii_case(&settings.service_principal)
        })
        .collect();
    if ours.is_empty() {
        let mut found: Vec<&str> = entries.iter().map(|e| e.principal.as_str()).collect();
        found.dedup();
        report.problems.push(format!(
            "directory.kerberos.keytab_file: {path} holds no key for {} (it holds: {})\n    fix: export the keytab for that principal (`ktpass -princ {} …`), or set directory.kerberos.service_principal to the principal it was made for",
            settings.service_principal,
            if found.is_empty() { "nothing".to_owned() } else { found.join(", ") },
            settings.service_principal,
        ));
        return false;
    }
    let kvno = ours.iter().map(|e| e.kvno).max().unwrap_or_default();
    let mut types: Vec<String> = ours
        .iter()
        .filter(|e| e.kvno == kvno)
        .map(|e| enctype_name(e.enctype))
        .collect();
    types.dedup();
    if ours
        .iter()
        .filter(|e| e.kvno == kvno)
        .any(|e| is_strong(e.enctype))
    {
        report.ok.push(format!(
            "keytab {path}: {} (key version {kvno}: {})",
            settings.service_principal,
            types.join(", ")
        ));
    } else {
        report.warnings.push(format!(
            "directory.kerberos.keytab_file: {path} has only weak keys for {} ({}): domain controllers that no longer issue RC4 or DES tickets will send tickets the gateway cannot read; \
             enable AES for the account (\"This account supports Kerberos AES 256 bit encryption\") and export it again with `ktpass … -crypto AES256-SHA1`",
            settings.service_principal,
            types.join(", ")
        ));
    }
    report.ok.push(realms(settings));
    true
}

/// Whose tickets sign in: the service principal's realm, exactly, and each trusted realm by its rule.
fn realms(settings: &Kerberos) -> String {
    let own = format!(
        "Kerberos sign-in for users of {} (the service principal's realm)",
        settings.realm()
    );
    if settings.trusted_realms.is_empty() {
        return format!(
            "{own} only; users of other realms get the sign-in form (directory.kerberos.trusted_realms)"
        );
    }
    let trusted: Vec<String> = settings
        .trusted_realms
        .iter()
        .map(|(realm, mapping)| {
            let rule = match mapping {
                RealmMapping::Upn => "upn: name@REALM is the userPrincipalName",
                RealmMapping::ShortName => "short_name: name is the sAMAccountName",
            };
            format!("{realm} ({rule})")
        })
        .collect();
    format!("{own}, and of the trusted realms {}", trusted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kerberos::keytab::tests::entry;

    fn check(bytes: &[u8], principal: &str) -> Report {
        check_trusting(bytes, principal, Vec::new())
    }

    fn check_trusting(
        bytes: &[u8],
        principal: &str,
        trusted_realms: Vec<(String, RealmMapping)>,
    ) -> Report {
        let dir = std::env::temp_dir().join(format!(
            "freshgate-keytab-test-{}-{}",
            std::process::id(),
            crate::clock::random_token()
        ));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("freshgate.keytab");
        std::fs::write(&path, bytes).unwrap();
        let mut report = Report::default();
        let _ = check_keytab(
            &Kerberos {
                keytab_file: path,
                service_principal: principal.into(),
                trusted_realms,
            },
            &mut report,
        );
        std::fs::remove_dir_all(dir).unwrap();
        report
    }

    fn keytab(entries: &[Vec<u8>]) -> Vec<u8> {
        [vec![0x05, 0x02], entries.concat()].concat()
    }

    const SPN: &str = "HTTP/sso.corp.example@CORP.EXAMPLE";

    #[test]
    fn an_aes_key_for_the_service_principal_passes() {
        let report = check(
            &keytab(&[entry(
                &["HTTP", "sso.corp.example"],
                "CORP.EXAMPLE",
                3,
                18,
                None,
            )]),
            SPN,
        );
        assert!(
            report.problems.is_empty() && report.warnings.is_empty(),
            "{report:?}"
        );
        assert!(
            report.ok[0].contains("key version 3: aes256-cts-hmac-sha1-96"),
            "{report:?}"
        );
    }

    #[test]
    fn the_realms_whose_users_sign_in_are_listed_with_their_rules() {
        let aes = keytab(&[entry(
            &["HTTP", "sso.corp.example"],
            "CORP.EXAMPLE",
            3,
            18,
            None,
        )]);
        let own_only = check(&aes, SPN);
        assert!(
            own_only.ok.iter().any(|line| line.contains(
                "users of CORP.EXAMPLE (the service principal's realm) only; users of other realms get the sign-in form"
            )),
            "{own_only:?}"
        );
        let trusting = check_trusting(
            &aes,
            SPN,
            vec![
                ("PARTNER.EXAMPLE".into(), RealmMapping::Upn),
                ("LINUX.EXAMPLE".into(), RealmMapping::ShortName),
            ],
        );
        assert!(
            trusting.ok.iter().any(|line| line.ends_with(
                "and of the trusted realms PARTNER.EXAMPLE (upn: name@REALM is the userPrincipalName), LINUX.EXAMPLE (short_name: name is the sAMAccountName)"
            )),
            "{trusting:?}"
        );
    }

    #[test]
    fn only_rc4_or_des_keys_are_a_warning_that_says_how_to_export_aes() {
        let report = check(
            &keytab(&[
                entry(&["HTTP", "sso.corp.example"], "CORP.EXAMPLE", 4, 23, None),
                entry(&["HTTP", "sso.corp.example"], "CORP.EXAMPLE", 4, 3, None),
                // An AES key of an older key version does not help: the KDC uses the newest.
                entry(&["HTTP", "sso.corp.example"], "CORP.EXAMPLE", 3, 18, None),
            ]),
            SPN,
        );
        assert!(report.problems.is_empty(), "{report:?}");
        assert!(
            report.warnings[0].contains("rc4-hmac, des-cbc-md5"),
            "{report:?}"
        );
        assert!(
            report.warnings[0].contains("-crypto AES256-SHA1"),
            "{report:?}"
        );
    }

    #[test]
    fn a_keytab_for_another_principal_or_not_a_keytab_is_a_problem() {
        let report = check(
            &keytab(&[entry(
                &["HTTP", "other.corp.example"],
                "CORP.EXAMPLE",
                3,
                18,
                None,
            )]),
            SPN,
        );
        assert!(report.problems[0].contains("holds no key for HTTP/sso.corp.example@CORP.EXAMPLE"));
        assert!(report.problems[0].contains("HTTP/other.corp.example@CORP.EXAMPLE"));
        let report = check(b"not a keytab", SPN);
        assert!(report.problems[0].contains("is not a keytab"), "{report:?}");
    }
}
