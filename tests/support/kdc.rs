//! The test KDC: Debian's MIT krb5kdc started by `tests/krb5/kdc.sh` (the fixture the browser tests use
//! too) with a throwaway realm `CORP.EXAMPLE`, the test directory's users (same passwords) plus `ghost`,
//! and the gateway's keytab for `HTTP/sso.freshgate.test@CORP.EXAMPLE`; with `start_with_trusts`, a second
//! krb5kdc for the realms `PARTNER.TEST` and `CORP.EVIL.TEST`, which CORP.EXAMPLE trusts.
//! `tests/krb5/README.md` describes it.
//!
//! Clients (kinit, curl) get this KDC through `KRB5_CONFIG` and a ticket cache of their own through
//! `KRB5CCNAME`, set on their command only: the tests never change their own environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::script::Script;
use super::{free_port, repo};

pub const REALM: &str = "CORP.EXAMPLE";
pub const SERVICE_PRINCIPAL: &str = "HTTP/sso.freshgate.test@CORP.EXAMPLE";
/// A principal with a password in the KDC and no entry in the test directory.
pub const GHOST: (&str, &str) = ("ghost", "ghost-password");
/// Users of the trusted realms (`Kdc::start_with_trusts`): the directory's jdoe's short name in another
/// realm, an enterprise-style name holding jdoe's UPN, and jdoe in a realm whose first label is the
/// directory's NetBIOS name.
pub const PARTNER_JDOE: (&str, &str) = ("jdoe@PARTNER.TEST", "partner-jdoe-password");
pub const PARTNER_ENTERPRISE: (&str, &str) = (
    "jdoe\\@corp.example@PARTNER.TEST",
    "partner-enterprise-password",
);
pub const EVIL_JDOE: (&str, &str) = ("jdoe@CORP.EVIL.TEST", "evil-jdoe-password");
/// A user of the trusted realm for a directory entry whose UPN a test sets to `kim@partner.test`.
pub const PARTNER_KIM: (&str, &str) = ("kim@PARTNER.TEST", "partner-kim-password");

/// A running test KDC.
pub struct Kdc {
    /// `CORP.EXAMPLE`.
    pub realm: String,
    /// `127.0.0.1:P` (TCP and UDP).
    pub kdc: String,
    /// The krb5.conf clients use (`KRB5_CONFIG`): this KDC, no DNS.
    pub krb5_config: PathBuf,
    /// The gateway's keytab (mode 0600).
    pub keytab: PathBuf,
    pub service_principal: String,
    /// The KDC's own directory: kdc.conf, krb5.conf, the database, kdc.log.
    pub dir: PathBuf,
    /// How long `start` took, up to the ready line.
    pub startup: Duration,
    /// Stops the KDC and removes its directory when dropped.
    script: Script,
    _tmp: tempfile::TempDir,
}

impl Kdc {
    /// Starts a KDC of its own (about 0.2 s: the realm, the principals, the keytab, krb5kdc).
    pub fn start() -> Kdc {
        Kdc::start_inner(false)
    }

    /// A KDC of its own and the trusted realms' (`PARTNER.TEST`, `CORP.EVIL.TEST`), whose users get
    /// tickets for the gateway through the trust.
    pub fn start_with_trusts() -> Kdc {
        Kdc::start_inner(true)
    }

    fn start_inner(trusts: bool) -> Kdc {
        let started = Instant::now();
        let tmp = tempfile::Builder::new()
            .prefix("freshgate-kdc-")
            .tempdir()
            .expect("a temporary directory");
        let dir = tmp.path().join("kdc");
        let mut command = Command::new("bash");
        command
            .arg(repo().join("tests/krb5/kdc.sh"))
            .arg("--dir")
            .arg(&dir)
            .args(["--port", &free_port().to_string()])
            .args(["--exit-on-stdin-close", "--remove-dir-on-exit"]);
        if trusts {
            command.args(["--partner-port", &free_port().to_string()]);
        }
        let script = Script::start(
            command,
            &tmp.path().join("kdc.stderr"),
            "tests/krb5/kdc.sh",
            "Debian: apt-get install krb5-kdc krb5-admin-server krb5-user",
        );
        let field = |name: &str| script.field(name);
        Kdc {
            realm: field("realm"),
            kdc: field("kdc"),
            krb5_config: PathBuf::from(field("krb5_config")),
            keytab: PathBuf::from(field("keytab")),
            service_principal: field("service_principal"),
            dir: PathBuf::from(field("dir")),
            startup: started.elapsed(),
            script,
            _tmp: tmp,
        }
    }

    /// One KDC shared by the tests of this binary.
    pub fn shared() -> &'static Kdc {
        static SHARED: OnceLock<Kdc> = OnceLock::new();
        SHARED.get_or_init(Kdc::start)
    }

    /// `kadmin.local` on this KDC's realm (e.g. `cpw -randkey HTTP/…`, a new key version); panics with its
    /// output when it fails.
    pub fn kadmin(&self, query: &str) -> String {
        let sbin = Path::new("/usr/sbin/kadmin.local");
        let program = if sbin.exists() {
            sbin
        } else {
            Path::new("kadmin.local")
        };
        let output = Command::new(program)
            .env("KRB5_CONFIG", &self.krb5_config)
            .env("KRB5_KDC_PROFILE", self.dir.join("kdc.conf"))
            .args(["-r", &self.realm, "-q", query])
            .output()
            .expect("kadmin.local runs (Debian: apt-get install krb5-admin-server)");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "kadmin.local -q {query}: {said}");
        said
    }

    /// `program` with this KDC's `KRB5_CONFIG` and the ticket cache `ccache`, and nothing from the user's
    /// own Kerberos setup.
    pub fn command(&self, program: &str, ccache: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("KRB5_CONFIG", &self.krb5_config)
            .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
            .env("KRB5RCACHEDIR", &self.dir)
            .env_remove("KRB5_KTNAME")
            .env_remove("KRB5_CLIENT_KTNAME");
        command
    }

    /// The KDC's log (requests and the tickets issued).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kdc.log")).unwrap_or_default()
    }
}
