//! The test Active Directory: Debian's Samba AD DC started by `tests/samba/dc.sh` with a throwaway domain
//! `CORP.EXAMPLE` on 127.0.0.1, LDAPS with a test CA, the users and groups of `tests/samba/README.md` (the
//! constants below are its tables) and a keytab for `HTTP/sso.freshgate.test@CORP.EXAMPLE`.
//!
//! A domain controller listens on fixed ports, so there is one per machine at a time: `SambaDc::shared()`
//! starts one per test binary (the script waits while another test run holds its lock). The domain is
//! provisioned once into a template under `target/` and copied for each run (about 2 s instead of 20).
//!
//! Tests that change the directory (lock an account, add a password settings object) make users of their
//! own with `add_user`, so tests running side by side never see each other's changes. The DC's own record
//! of every authentication (`auth_events`, Samba's JSON audit log) counts the binds that reached it.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use serde_json::Value;

use super::script::Script;
use super::{repo, rustls_client_config};

pub const BASE_DN: &str = "DC=corp,DC=example";
pub const DOMAIN: &str = "CORP";
pub const REALM: &str = "CORP.EXAMPLE";
pub const UPN_SUFFIX: &str = "corp.example";
/// The gateway's service account (also in the ready line): reads users, groups and password settings.
pub const SERVICE_DN: &str = "CN=svc-freshgate,OU=Service,DC=corp,DC=example";
pub const SERVICE_PASSWORD: &str = "svc-password";
/// A service account without the read right on password settings objects (the domain's default).
pub const NOPSO_DN: &str = "CN=svc-nopso,OU=Service,DC=corp,DC=example";
pub const NOPSO_PASSWORD: &str = "svc-nopso-password";
/// The account holding the gateway's HTTP service principal (its keys are in the keytab).
pub const HTTP_ACCOUNT: &str = "http-freshgate";
pub const HTTP_ACCOUNT_PASSWORD: &str = "http-password";
pub const SERVICE_PRINCIPAL: &str = "HTTP/sso.freshgate.test@CORP.EXAMPLE";

pub const AGENTS_GROUP: &str = "CN=Freshservice Agents,OU=Groups,DC=corp,DC=example";
pub const TIER2_GROUP: &str = "CN=Tier 2,OU=Groups,DC=corp,DC=example";
pub const LOOP_A_GROUP: &str = "CN=Loop A,OU=Groups,DC=corp,DC=example";
pub const LOOP_B_GROUP: &str = "CN=Loop B,OU=Groups,DC=corp,DC=example";
/// Every user's primary group (`primaryGroupID` 513): never listed in `member` or `memberOf`.
pub const DOMAIN_USERS_GROUP: &str = "CN=Domain Users,CN=Users,DC=corp,DC=example";

/// The domain's lockout policy (`samba-tool domain passwordsettings`): 5 wrong passwords within 2 minutes
/// lock an account for 2 minutes.
pub const DOMAIN_LOCKOUT_THRESHOLD: u32 = 5;
pub const DOMAIN_LOCKOUT_WINDOW: Duration = Duration::from_secs(120);

/// One user of the test domain (tests/samba/README.md).
#[derive(Clone, Copy, Debug)]
pub struct AdUser {
    pub sam: &'static str,
    pub dn: &'static str,
    pub upn: &'static str,
    pub password: &'static str,
    pub mail: Option<&'static str>,
    pub given_name: &'static str,
    pub sn: &'static str,
    /// Direct groups (`memberOf`), besides the primary group Domain Users.
    pub member_of: &'static [&'static str],
}

const fn staff(
    sam: &'static str,
    dn: &'static str,
    upn: &'static str,
    password: &'static str,
    mail: Option<&'static str>,
    names: (&'static str, &'static str),
    member_of: &'static [&'static str],
) -> AdUser {
    AdUser {
        sam,
        dn,
        upn,
        password,
        mail,
        given_name: names.0,
        sn: names.1,
        member_of,
    }
}

pub const JDOE: AdUser = staff(
    "jdoe",
    "CN=John Doe,OU=Staff,DC=corp,DC=example",
    "jdoe@corp.example",
    "jdoe-password",
    Some("jdoe@corp.example"),
    ("John", "Doe"),
    &[AGENTS_GROUP, LOOP_A_GROUP],
);
pub const JDOE_PHONE: &str = "+1 555 0100";
/// Non-ASCII name, DN and password.
pub const ZOE: AdUser = staff(
    "zoë",
    "CN=Zoë Ünal,OU=Staff,DC=corp,DC=example",
    "zoë@corp.example",
    "pässwörd-ß-日本",
    Some("zoe@corp.example"),
    ("Zoë", "Ünal"),
    &[AGENTS_GROUP],
);
/// A comma in the CN; an agent only through Tier 2.
pub const JANE: AdUser = staff(
    "jane",
    "CN=Doe\\, Jane,OU=Staff,DC=corp,DC=example",
    "jane@corp.example",
    "jane-password",
    Some("jane@corp.example"),
    ("Jane", "Doe"),
    &[TIER2_GROUP],
);
/// In a sub-OU.
pub const KIM: AdUser = staff(
    "kim",
    "CN=Kim Lee,OU=Contractors,OU=Staff,DC=corp,DC=example",
    "kim@corp.example",
    "kim-password",
    Some("kim@corp.example"),
    ("Kim", "Lee"),
    &[AGENTS_GROUP],
);
/// Disabled (`samba-tool user disable`): AD answers `data 533`, only to the right password.
pub const DIS: AdUser = staff(
    "dis",
    "CN=Dee Abled,OU=Staff,DC=corp,DC=example",
    "dis@corp.example",
    "dis-password",
    Some("dis@corp.example"),
    ("Dee", "Abled"),
    &[AGENTS_GROUP],
);
/// No `mail`.
pub const NOMAIL: AdUser = staff(
    "nomail",
    "CN=No Mail,OU=Staff,DC=corp,DC=example",
    "nomail@corp.example",
    "nomail-password",
    None,
    ("No", "Mail"),
    &[AGENTS_GROUP],
);
/// In no group but Domain Users.
pub const OUT: AdUser = staff(
    "out",
    "CN=Otto Side,OU=Staff,DC=corp,DC=example",
    "out@corp.example",
    "out-password",
    Some("out@corp.example"),
    ("Otto", "Side"),
    &[],
);
/// Must change the password at the next logon (`pwdLastSet` 0): `data 773`.
pub const CHG: AdUser = staff(
    "chg",
    "CN=Chris Change,OU=Staff,DC=corp,DC=example",
    "chg@corp.example",
    "chg-password",
    Some("chg@corp.example"),
    ("Chris", "Change"),
    &[AGENTS_GROUP],
);
/// The account has expired (`samba-tool user setexpiry --days=0`): `data 701`.
pub const EXP: AdUser = staff(
    "exp",
    "CN=Ex Pired,OU=Staff,DC=corp,DC=example",
    "exp@corp.example",
    "exp-password",
    Some("exp@corp.example"),
    ("Ex", "Pired"),
    &[AGENTS_GROUP],
);

/// Every user of OU=Staff.
pub const USERS: [AdUser; 9] = [JDOE, ZOE, JANE, KIM, DIS, NOMAIL, OUT, CHG, EXP];

/// A running test domain controller.
pub struct SambaDc {
    /// `ldap://127.0.0.1:389`: StartTLS offered; a simple bind without it is refused (strongAuthRequired),
    /// as AD does when LDAP signing is required.
    pub ldap_url: String,
    /// `ldaps://127.0.0.1:636`: its certificate is issued by `ca_file` for dc1.corp.example and 127.0.0.1
    /// (not localhost).
    pub ldaps_url: String,
    pub ca_file: PathBuf,
    pub base_dn: String,
    pub bind_dn: String,
    pub bind_password: String,
    pub admin_dn: String,
    pub admin_password: String,
    pub realm: String,
    /// `127.0.0.1:88`.
    pub kdc: String,
    /// The krb5.conf clients use (`KRB5_CONFIG`): this KDC, no DNS.
    pub krb5_config: PathBuf,
    /// The gateway's keytab (mode 0600) for `service_principal`, AES keys.
    pub keytab: PathBuf,
    pub service_principal: String,
    /// The DC's smb.conf, for `samba-tool --configfile`.
    pub smb_conf: PathBuf,
    /// Samba's log, with one JSON line per authentication (`auth_events`).
    pub log: PathBuf,
    pub dir: PathBuf,
    /// How long `start` took, up to the ready line (waiting for another run's DC included).
    pub startup: Duration,
    /// Stops Samba and removes its directory when dropped.
    script: Script,
    _tmp: tempfile::TempDir,
}

impl SambaDc {
    /// Starts a domain controller (waits while another test run on this machine has one).
    pub fn start() -> SambaDc {
        let started = Instant::now();
        let tmp = tempfile::Builder::new()
            .prefix("freshgate-samba-")
            .tempdir()
            .expect("a temporary directory");
        // The temporary directory is the DC's own, which the script removes on exit (the shared DC is a
        // static that is never dropped).
        let dir = tmp.path().to_path_buf();
        let template = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("samba-dc-template");
        let mut command = Command::new("bash");
        command
            .arg(repo().join("tests/samba/dc.sh"))
            .arg("--dir")
            .arg(&dir)
            .arg("--template")
            .arg(&template)
            .args(["--exit-on-stdin-close", "--remove-dir-on-exit"]);
        let script = Script::start(
            command,
            &tmp.path().with_extension("stderr"),
            "tests/samba/dc.sh",
            "Debian: apt-get install samba samba-ad-dc samba-ad-provision winbind krb5-user ldap-utils; \
             run as root (ports 88 and 389)",
        );
        let field = |name: &str| script.field(name);
        SambaDc {
            ldap_url: field("ldap"),
            ldaps_url: field("ldaps"),
            ca_file: PathBuf::from(field("ca_file")),
            base_dn: field("base_dn"),
            bind_dn: field("bind_dn"),
            bind_password: field("bind_password"),
            admin_dn: field("admin_dn"),
            admin_password: field("admin_password"),
            realm: field("realm"),
            kdc: field("kdc"),
            krb5_config: PathBuf::from(field("krb5_config")),
            keytab: PathBuf::from(field("keytab")),
            service_principal: field("service_principal"),
            smb_conf: PathBuf::from(field("smb_conf")),
            log: PathBuf::from(field("log")),
            dir: PathBuf::from(field("dir")),
            startup: started.elapsed(),
            script,
            _tmp: tmp,
        }
    }

    /// The domain controller of this test binary.
    pub fn shared() -> &'static SambaDc {
        static SHARED: OnceLock<SambaDc> = OnceLock::new();
        SHARED.get_or_init(SambaDc::start)
    }

    /// A rustls client configuration that trusts the test CA only (no ALPN: LDAP has none).
    pub fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        let mut config = rustls_client_config(Some(&self.ca_file));
        config.alpn_protocols.clear();
        Arc::new(config)
    }

    /// A connection over LDAPS bound as `dn` (a DN, a UPN or `CORP\name`); panics when the bind fails.
    pub async fn bound(&self, dn: &str, password: &str) -> Ldap {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(Duration::from_secs(10))
            .set_config(self.tls_config());
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.ldaps_url)
            .await
            .expect("LDAPS to the Samba DC with the test CA");
        ldap3::drive!(conn);
        ldap.simple_bind(dn, password)
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("{dn} binds to the Samba DC: {e}"));
        ldap
    }

    /// A connection bound as the domain's Administrator (to make users, policies, and read counters).
    pub async fn admin(&self) -> Ldap {
        self.bound(&self.admin_dn, &self.admin_password).await
    }

    /// The attributes of one entry, read as the Administrator.
    pub async fn read(&self, dn: &str, attributes: &[&str]) -> SearchEntry {
        let mut ldap = self.admin().await;
        let (entries, _) = ldap
            .search(dn, Scope::Base, "(objectClass=*)", attributes.to_vec())
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("read {dn}: {e}"));
        let _ = ldap.unbind().await;
        SearchEntry::construct(entries.into_iter().next().expect("the entry"))
    }

    /// The first value of an attribute as a number (0 when absent).
    pub async fn number(&self, dn: &str, attribute: &str) -> i64 {
        let entry = self.read(dn, &[attribute]).await;
        entry
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
            .and_then(|(_, v)| v.first())
            .map_or(0, |v| v.parse().unwrap())
    }

    /// Replaces an attribute's values (as the Administrator).
    pub async fn replace(&self, dn: &str, attribute: &str, values: &[&str]) {
        let mut ldap = self.admin().await;
        let values: HashSet<&str> = values.iter().copied().collect();
        ldap.modify(dn, vec![Mod::Replace(attribute, values)])
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("modify {dn} {attribute}: {e}"));
        let _ = ldap.unbind().await;
    }

    /// Adds a user of its own to OU=Staff (a member of `groups`, with a `mail` of `<sam>@corp.example`) and
    /// returns its DN. Over LDAPS as the Administrator: `unicodePwd` is the password in quotes, UTF-16LE.
    pub async fn add_user(&self, sam: &str, password: &str, groups: &[&str]) -> String {
        let dn = format!("CN={sam},OU=Staff,{BASE_DN}");
        let quoted: Vec<u8> = format!("\"{password}\"")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let text = |s: &str| HashSet::from([s.as_bytes().to_vec()]);
        let upn = format!("{sam}@{UPN_SUFFIX}");
        let attributes: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = vec![
            (b"objectClass".to_vec(), text("user")),
            (b"sAMAccountName".to_vec(), text(sam)),
            (b"userPrincipalName".to_vec(), text(&upn)),
            (b"mail".to_vec(), text(&upn)),
            (b"givenName".to_vec(), text(sam)),
            (b"sn".to_vec(), text("Test")),
            (b"unicodePwd".to_vec(), HashSet::from([quoted])),
            (b"userAccountControl".to_vec(), text("512")),
        ];
        let mut ldap = self.admin().await;
        ldap.add(&dn, attributes)
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("add {dn}: {e}"));
        for group in groups {
            ldap.modify(
                group,
                vec![Mod::Add("member", HashSet::from([dn.as_str()]))],
            )
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("add {dn} to {group}: {e}"));
        }
        let _ = ldap.unbind().await;
        dn
    }

    /// Adds a password settings object (fine-grained password policy) that applies to `applies_to`, with
    /// a lockout threshold and an observation window and duration in seconds (AD keeps them as negative
    /// 100 ns intervals; samba-tool only takes minutes). Returns its DN.
    pub async fn add_pso(
        &self,
        name: &str,
        precedence: u32,
        threshold: u32,
        window: Duration,
        duration: Duration,
        applies_to: &[&str],
    ) -> String {
        let dn = format!("CN={name},CN=Password Settings Container,CN=System,{BASE_DN}");
        let interval = |d: Duration| format!("-{}", d.as_nanos() / 100);
        let text = |s: &str| HashSet::from([s.to_owned()]);
        let mut attributes: Vec<(String, HashSet<String>)> = vec![
            ("objectClass".into(), text("msDS-PasswordSettings")),
            (
                "msDS-PasswordSettingsPrecedence".into(),
                text(&precedence.to_string()),
            ),
            (
                "msDS-PasswordReversibleEncryptionEnabled".into(),
                text("FALSE"),
            ),
            ("msDS-PasswordHistoryLength".into(), text("0")),
            ("msDS-PasswordComplexityEnabled".into(), text("FALSE")),
            ("msDS-MinimumPasswordLength".into(), text("0")),
            ("msDS-MinimumPasswordAge".into(), text("0")),
            // Never (the largest negative interval).
            (
                "msDS-MaximumPasswordAge".into(),
                text("-9223372036854775808"),
            ),
            ("msDS-LockoutThreshold".into(), text(&threshold.to_string())),
            (
                "msDS-LockoutObservationWindow".into(),
                text(&interval(window)),
            ),
            ("msDS-LockoutDuration".into(), text(&interval(duration))),
        ];
        if !applies_to.is_empty() {
            attributes.push((
                "msDS-PSOAppliesTo".into(),
                applies_to.iter().map(|s| s.to_string()).collect(),
            ));
        }
        let mut ldap = self.admin().await;
        ldap.add(&dn, attributes)
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("add {dn}: {e}"));
        let _ = ldap.unbind().await;
        dn
    }

    /// `samba-tool ARGS --configfile=<this DC's smb.conf>`; panics when it fails.
    pub fn samba_tool(&self, args: &[&str]) -> Output {
        let output = Command::new("samba-tool")
            .args(args)
            .arg(format!("--configfile={}", self.smb_conf.display()))
            .output()
            .expect("samba-tool runs");
        assert!(
            output.status.success(),
            "samba-tool {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Every authentication the DC has logged so far (Samba's `auth_json_audit`), oldest first.
    pub fn auth_events(&self) -> Vec<AuthEvent> {
        read_auth_events(&self.log)
    }

    /// The DC's log.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// One authentication as the DC logged it.
#[derive(Clone, Debug)]
pub struct AuthEvent {
    /// The name the client bound with, as sent (a DN, a UPN, `CORP\name`).
    pub account: String,
    /// `NT_STATUS_OK`, `NT_STATUS_WRONG_PASSWORD`, `NT_STATUS_NO_SUCH_USER`, `NT_STATUS_ACCOUNT_LOCKED_OUT`, …
    pub status: String,
    /// `LDAP` or `Kerberos KDC`.
    pub service: String,
}

fn read_auth_events(log: &Path) -> Vec<AuthEvent> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let start = line.find("{\"timestamp\"")?;
            let value: Value = serde_json::from_str(&line[start..]).ok()?;
            let auth = value.get("Authentication")?;
            Some(AuthEvent {
                account: auth["clientAccount"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                status: auth["status"].as_str().unwrap_or_default().to_owned(),
                service: auth["serviceDescription"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            })
        })
        .collect()
}

/// A name no other test of this binary uses: `prefix` and a counter (sAMAccountName allows 20 characters).
pub fn unique_sam(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{prefix}{n}");
    assert!(name.len() <= 20, "{name} is too long for a sAMAccountName");
    name
}
