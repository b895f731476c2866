//! The test directory: Debian's slapd started by `tests/ldap/slapd.sh` (the fixture the node tests and the
//! demo use too) with the AD-like schema and the users and groups of `tests/ldap/users.ldif`.
//! `tests/ldap/README.md` describes it; the constants below are its tables, so tests name users instead of
//! repeating literals.
//!
//! slapd spells attribute types in the DNs it returns as its schema does (`cn=John Doe,ou=Staff,dc=corp,…`),
//! where AD says `CN=…,OU=…,DC=…`: compare DNs as DNs (case-insensitively), never as strings.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::script::Script;
use super::{free_port, repo, rustls_client_config};

/// The directory's base, NetBIOS-style domain name and UPN suffix.
pub const BASE_DN: &str = "DC=corp,DC=example";
pub const DOMAIN: &str = "CORP";
pub const UPN_SUFFIX: &str = "corp.example";
/// The read-only service account (also in the ready line: `Slapd::bind_dn`, `Slapd::bind_password`).
pub const SERVICE_DN: &str = "CN=svc-freshgate,OU=Service,DC=corp,DC=example";
pub const SERVICE_PASSWORD: &str = "svc-password";
/// `sAMAccountType` of a normal user account (SAM_USER_OBJECT, 0x30000000).
pub const SAM_USER_OBJECT: &str = "805306368";

/// The groups (groupOfNames; `memberOf` filled by slapd's memberof overlay, direct memberships only).
pub const AGENTS_GROUP: &str = "CN=Freshservice Agents,OU=Groups,DC=corp,DC=example";
pub const TIER2_GROUP: &str = "CN=Tier 2,OU=Groups,DC=corp,DC=example";
pub const LOOP_A_GROUP: &str = "CN=Loop A,OU=Groups,DC=corp,DC=example";
pub const LOOP_B_GROUP: &str = "CN=Loop B,OU=Groups,DC=corp,DC=example";

/// One user of the test directory (tests/ldap/users.ldif).
#[derive(Clone, Copy, Debug)]
pub struct DirUser {
    /// `sAMAccountName`: the name a person types (also as `CORP\name`).
    pub sam: &'static str,
    pub dn: &'static str,
    pub upn: Option<&'static str>,
    pub password: &'static str,
    pub mail: Option<&'static str>,
    pub given_name: &'static str,
    pub sn: &'static str,
    pub user_account_control: u32,
    /// `objectGUID` in AD's text form (the first three groups of the 16 bytes little-endian).
    pub guid: &'static str,
    /// Direct groups, as `memberOf` lists them.
    pub member_of: &'static [&'static str],
}

pub const JDOE: DirUser = DirUser {
    sam: "jdoe",
    dn: "CN=John Doe,OU=Staff,DC=corp,DC=example",
    upn: Some("jdoe@corp.example"),
    password: "jdoe-password",
    mail: Some("jdoe@corp.example"),
    given_name: "John",
    sn: "Doe",
    user_account_control: 512,
    guid: "12345678-1234-5678-9abc-def000000001",
    member_of: &[AGENTS_GROUP, LOOP_A_GROUP],
};
/// jdoe's `telephoneNumber` (the only user with one).
pub const JDOE_PHONE: &str = "+1 555 0100";

/// Non-ASCII name and password (UTF-8).
pub const ZOE: DirUser = DirUser {
    sam: "zoë",
    dn: "CN=Zoë Ünal,OU=Staff,DC=corp,DC=example",
    upn: Some("zoë@corp.example"),
    password: "pässwörd-ß-日本",
    mail: Some("zoe@corp.example"),
    given_name: "Zoë",
    sn: "Ünal",
    user_account_control: 512,
    guid: "12345678-1234-5678-9abc-def000000002",
    member_of: &[AGENTS_GROUP],
};

/// A comma in the CN; in Freshservice Agents only through Tier 2.
pub const JANE: DirUser = DirUser {
    sam: "jane",
    dn: "CN=Doe\\, Jane,OU=Staff,DC=corp,DC=example",
    upn: Some("jane@corp.example"),
    password: "jane-password",
    mail: Some("jane@corp.example"),
    given_name: "Jane",
    sn: "Doe",
    user_account_control: 512,
    guid: "12345678-1234-5678-9abc-def000000003",
    member_of: &[TIER2_GROUP],
};

/// In a sub-OU (OU=Contractors,OU=Staff).
pub const KIM: DirUser = DirUser {
    sam: "kim",
    dn: "CN=Kim Lee,OU=Contractors,OU=Staff,DC=corp,DC=example",
    upn: Some("kim@corp.example"),
    password: "kim-password",
    mail: Some("kim@corp.example"),
    given_name: "Kim",
    sn: "Lee",
    user_account_control: 512,
    guid: "12345678-1234-5678-9abc-def000000004",
    member_of: &[AGENTS_GROUP],
};

/// Disabled (userAccountControl 514 = NORMAL_ACCOUNT | ACCOUNTDISABLE). slapd does not enforce it: the
/// bind succeeds, the flag is for the gateway to read.
pub const DIS: DirUser = DirUser {
    sam: "dis",
    dn: "CN=Dee Abled,OU=Staff,DC=corp,DC=example",
    upn: Some("dis@corp.example"),
    password: "dis-password",
    mail: Some("dis@corp.example"),
    given_name: "Dee",
    sn: "Abled",
    user_account_control: 514,
    guid: "12345678-1234-5678-9abc-def000000005",
    member_of: &[AGENTS_GROUP],
};

/// No `mail` attribute.
pub const NOMAIL: DirUser = DirUser {
    sam: "nomail",
    dn: "CN=No Mail,OU=Staff,DC=corp,DC=example",
    upn: Some("nomail@corp.example"),
    password: "nomail-password",
    mail: None,
    given_name: "No",
    sn: "Mail",
    user_account_control: 512,
    guid: "12345678-1234-5678-9abc-def000000006",
    member_of: &[AGENTS_GROUP],
};

/// Not in Freshservice Agents (nor in any group).
pub const OUT: DirUser = DirUser {
    sam: "out",
    dn: "CN=Otto Side,OU=Staff,DC=corp,DC=example",
    upn: Some("out@corp.example"),
    password: "out-password",
    mail: Some("out@corp.example"),
    given_name: "Otto",
    sn: "Side",
    user_account_control: 512,
    guid: "12345678-1234-5678-9abc-def000000007",
    member_of: &[],
};

/// The filter-injection decoy: its sAMAccountName is literally `a*b` (no UPN, no group).
pub const STAR: DirUser = DirUser {
    sam: "a*b",
    dn: "CN=Star Decoy,OU=Staff,DC=corp,DC=example",
    upn: None,
    password: "star-password",
    mail: Some("star@corp.example"),
    given_name: "Star",
    sn: "Decoy",
    user_account_control: 512,
    guid: "12345678-1234-5678-9abc-def000000008",
    member_of: &[],
};

/// Every user of OU=Staff (the service account is in OU=Service and is not listed here).
pub const USERS: [DirUser; 8] = [JDOE, ZOE, JANE, KIM, DIS, NOMAIL, OUT, STAR];

/// The service account's `objectGUID` text.
pub const SERVICE_GUID: &str = "12345678-1234-5678-9abc-def000000000";

/// AD's text form of an `objectGUID` value, as the gateway renders it; the tests also pin literal texts.
#[allow(unused_imports)]
pub use freshgate::directory::guid_text;

/// Whether two DNs name the same entry: attribute types and values compared case-insensitively, values
/// unescaped (slapd answers `cn=Doe\2C Jane,ou=Staff,…` for `CN=Doe\, Jane,OU=Staff,…`). Enough for the
/// test data (no multi-valued RDNs).
pub fn same_dn(a: &str, b: &str) -> bool {
    normalize_dn(a) == normalize_dn(b)
}

/// A DN as a list of (lowercase type, lowercase unescaped value).
pub fn normalize_dn(dn: &str) -> Vec<(String, String)> {
    let mut rdns = Vec::new();
    let mut current = Vec::<u8>::new();
    let bytes = dn.as_bytes();
    let mut i = 0;
    let push = |raw: &[u8], rdns: &mut Vec<(String, String)>| {
        let text = String::from_utf8_lossy(raw).into_owned();
        let (name, value) = text.split_once('=').unwrap_or(("", &text));
        rdns.push((name.trim().to_lowercase(), value.trim().to_lowercase()));
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        current.push(byte);
                        i += 3;
                    }
                    None => {
                        current.push(bytes[i + 1]);
                        i += 2;
                    }
                }
            }
            b',' => {
                push(&current, &mut rdns);
                current.clear();
                i += 1;
            }
            byte => {
                current.push(byte);
                i += 1;
            }
        }
    }
    if !current.is_empty() || !rdns.is_empty() {
        push(&current, &mut rdns);
    }
    rdns
}

/// A running test directory (`tests/ldap/slapd.sh` in a temporary directory, on two free ports).
pub struct Slapd {
    /// `ldap://127.0.0.1:P` (plain; StartTLS offered).
    pub ldap_url: String,
    /// `ldaps://127.0.0.1:Q`; its certificate is issued by `ca_file` for localhost, 127.0.0.1 and
    /// dc1.corp.example.
    pub ldaps_url: String,
    /// The test CA (PEM) that issued the server's certificate.
    pub ca_file: PathBuf,
    pub base_dn: String,
    pub bind_dn: String,
    pub bind_password: String,
    /// slapd's own directory: slapd.conf, slapd.pid, slapd.log, the certificates.
    pub dir: PathBuf,
    /// How long `start` took, up to the ready line.
    pub startup: Duration,
    /// Stops slapd and removes its directory when dropped.
    script: Script,
    _tmp: tempfile::TempDir,
}

impl Slapd {
    /// Starts a test directory of its own (about half a second: certificates, slapd, the data).
    pub fn start() -> Slapd {
        Slapd::start_on(free_port(), free_port())
    }

    /// Starts a test directory on these ports (a test that restarts the directory reuses them).
    pub fn start_on(ldap_port: u16, ldaps_port: u16) -> Slapd {
        let started = Instant::now();
        let tmp = tempfile::Builder::new()
            .prefix("freshgate-slapd-")
            .tempdir()
            .expect("a temporary directory");
        let dir = tmp.path().to_path_buf();
        let mut command = Command::new("bash");
        command
            .arg(repo().join("tests/ldap/slapd.sh"))
            .arg("--dir")
            .arg(&dir)
            .args(["--ldap-port", &ldap_port.to_string()])
            .args(["--ldaps-port", &ldaps_port.to_string()])
            .args(["--exit-on-stdin-close", "--remove-dir-on-exit"]);
        let script = Script::start(
            command,
            &tmp.path().with_extension("stderr"),
            "tests/ldap/slapd.sh",
            "Debian: apt-get install slapd ldap-utils",
        );
        let field = |name: &str| script.field(name);
        Slapd {
            ldap_url: field("ldap"),
            ldaps_url: field("ldaps"),
            ca_file: PathBuf::from(field("ca_file")),
            base_dn: field("base_dn"),
            bind_dn: field("bind_dn"),
            bind_password: field("bind_password"),
            dir,
            startup: started.elapsed(),
            script,
            _tmp: tmp,
        }
    }

    /// One directory shared by the tests of this binary that only read it.
    pub fn shared() -> &'static Slapd {
        static SHARED: OnceLock<Slapd> = OnceLock::new();
        SHARED.get_or_init(Slapd::start)
    }

    /// slapd's process id (from its pid file).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("slapd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Applies `ldif` (an LDIF change record) as the rootdn, with `ldapmodify`: for a test that needs an
    /// entry changed in a directory of its own (`start`), never the shared one.
    pub fn modify(&self, ldif: &str) {
        use std::io::Write;
        let conf = std::fs::read_to_string(self.dir.join("slapd.conf")).unwrap();
        let root_pw = conf
            .lines()
            .find_map(|line| line.strip_prefix("rootpw "))
            .expect("slapd.conf has the rootdn's password")
            .trim()
            .to_owned();
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-H", &self.ldap_url, "-D"])
            .arg(format!("CN=admin,{}", self.base_dn))
            .args(["-w", &root_pw])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ldapmodify runs (Debian: apt-get install ldap-utils)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "ldapmodify: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A rustls client configuration that trusts the test CA only (no ALPN: LDAP has none).
    pub fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        let mut config = rustls_client_config(Some(&self.ca_file));
        config.alpn_protocols.clear();
        Arc::new(config)
    }
}
