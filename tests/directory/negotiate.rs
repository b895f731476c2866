//! The steps of a Negotiate (Kerberos) login the Kerberos tests share: a gateway with `kerberos:`,
//! `curl --negotiate` as a browser on a domain-joined machine, a token captured on its way, and the
//! checks of a refusal (the form again, with a new challenge).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::flow::*;
use crate::support::kdc::Kdc;
use crate::support::samba::SambaDc;
use crate::support::slapd::Slapd;
use crate::support::{Gateway, PUBLIC_HOST};

/// A KDC the tests get tickets from, MIT's (`Kdc`) or Samba's (`SambaDc`), and its keytab for the gateway.
pub trait Tickets {
    /// The krb5.conf clients use (`KRB5_CONFIG`): this KDC, no DNS.
    fn krb5_config(&self) -> &Path;
    /// The gateway's keytab, exported by this KDC.
    fn keytab(&self) -> &Path;
    /// A directory for ticket caches and curl's files, removed with the KDC.
    fn scratch(&self) -> &Path;

    /// `program` with this KDC's `KRB5_CONFIG` and the ticket cache `ccache`, and nothing from the user's
    /// own Kerberos setup (set on the command, never on the test process).
    fn command(&self, program: &str, ccache: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("KRB5_CONFIG", self.krb5_config())
            .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
            .env("KRB5RCACHEDIR", self.scratch())
            .env_remove("KRB5_KTNAME")
            .env_remove("KRB5_CLIENT_KTNAME");
        command
    }

    /// A new ticket cache holding `user`'s TGT, from `kinit` (with `options`, e.g. `-E`) and the password
    /// on stdin.
    fn kinit_with(&self, options: &[&str], user: &str, password: &str) -> PathBuf {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ccache = self.scratch().join(format!(
            "ccache-{}-{n}",
            user.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ));
        let mut child = self
            .command("kinit", &ccache)
            .args(options)
            .arg(user)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kinit runs (Debian: apt-get install krb5-user)");
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "kinit {user}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        ccache
    }

    fn kinit(&self, user: &str, password: &str) -> PathBuf {
        self.kinit_with(&[], user, password)
    }
}

impl Tickets for Kdc {
    fn command(&self, program: &str, ccache: &Path) -> Command {
        Kdc::command(self, program, ccache)
    }
    fn krb5_config(&self) -> &Path {
        &self.krb5_config
    }
    fn keytab(&self) -> &Path {
        &self.keytab
    }
    fn scratch(&self) -> &Path {
        &self.dir
    }
}

impl Tickets for SambaDc {
    fn krb5_config(&self) -> &Path {
        &self.krb5_config
    }
    fn keytab(&self) -> &Path {
        &self.keytab
    }
    fn scratch(&self) -> &Path {
        &self.dir
    }
}

/// `flow::yaml` with `directory` (an indented `directory:` section, e.g. `flow::slapd_directory`) and
/// `kerberos:` for the KDC's keytab with `kerberos_extra` lines under it (indented by four spaces), and
/// `top` at the top level; the service principal defaults to `HTTP/sso.freshgate.test@CORP.EXAMPLE`
/// (public_url's host, base_dn's realm).
pub fn kerberos_yaml(
    tickets: &impl Tickets,
    directory: &str,
    kerberos_extra: &str,
    top: &str,
) -> String {
    let directory = format!(
        "{directory}  kerberos:\n    keytab_file: {}\n{kerberos_extra}",
        tickets.keytab().display()
    );
    yaml(&directory, top)
}

/// The gateway of the MIT tests: the shared slapd, the KDC's keytab.
pub fn kerberos_gateway(kdc: &Kdc) -> Gateway {
    Gateway::start_yaml(&kerberos_yaml(
        kdc,
        &slapd_directory(Slapd::shared(), false),
        "",
        "",
    ))
}

/// What `curl --negotiate` got: the status, the response headers, the body, and the token it sent.
pub struct Curl {
    pub status: u16,
    pub headers: String,
    pub body: String,
    /// The base64 token of the `Authorization: Negotiate` header curl sent, if it sent one.
    pub token: Option<String>,
}

impl Curl {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// `curl --negotiate -u :` to the account's Login URL, as a browser on a domain-joined machine would
/// (one retry after the 401 challenge, redirects not followed), with `ccache` as its tickets.
pub fn curl_negotiate(
    tickets: &impl Tickets,
    gateway: &Gateway,
    ccache: &Path,
    account: &str,
) -> Curl {
    curl_negotiate_at(tickets, gateway, ccache, account, PUBLIC_HOST)
}

/// `curl_negotiate` with `host` in the URL, so that curl asks for a ticket for `HTTP/<host>`, while the
/// request still carries the gateway's own `Host`.
pub fn curl_negotiate_at(
    tickets: &impl Tickets,
    gateway: &Gateway,
    ccache: &Path,
    account: &str,
    host: &str,
) -> Curl {
    let url = format!("http://{host}{}", login_path(account));
    // The URL keeps the public host and port (the gateway checks `Host`; curl names the service principal
    // after the URL's host); the connection goes to the test gateway's port.
    let connect_to = format!("{host}:80:127.0.0.1:{}", gateway.addr.port());
    let headers = ccache.with_extension("headers");
    let mut command = tickets.command("curl", ccache);
    command.args([
        "-sS",
        "-v",
        "--negotiate",
        "-u",
        ":",
        "--connect-to",
        &connect_to,
    ]);
    if host != PUBLIC_HOST {
        command.args(["-H", &format!("Host: {PUBLIC_HOST}")]);
    }
    let output: Output = command
        .arg("-D")
        .arg(&headers)
        .arg(&url)
        .output()
        .expect("curl runs (Debian: apt-get install curl)");
    let verbose = String::from_utf8_lossy(&output.stderr).into_owned();
    let headers = std::fs::read_to_string(&headers).unwrap_or_default();
    let last = headers.rsplit("HTTP/").next().unwrap_or_default();
    let status = last
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("curl got no response:\n{verbose}"));
    let token = verbose.lines().find_map(|line| {
        line.strip_prefix("> Authorization: Negotiate ")
            .map(|t| t.trim().to_owned())
    });
    Curl {
        status,
        headers: format!("HTTP/{last}"),
        body: String::from_utf8_lossy(&output.stdout).into_owned(),
        token,
    }
}

/// A token `curl --negotiate` makes from `ccache` for the gateway's service principal, caught by a
/// listener of the test's that only answers with the challenge: a token no gateway has seen, as an
/// eavesdropper would capture it on its way.
pub fn fresh_token(tickets: &impl Tickets, ccache: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let curl_done = Arc::new(AtomicBool::new(false));
    let catcher = std::thread::spawn({
        let curl_done = curl_done.clone();
        move || -> Option<String> {
            loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(token) = catch_token(stream) {
                            return Some(token);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if curl_done.load(Ordering::SeqCst) {
                            return None;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => return None,
                }
            }
        }
    });
    let output = tickets
        .command("curl", ccache)
        .args(["-sS", "-o", "/dev/null", "--negotiate", "-u", ":"])
        .args([
            "--connect-to",
            &format!("{PUBLIC_HOST}:80:127.0.0.1:{port}"),
        ])
        .arg(format!("http://{PUBLIC_HOST}/"))
        .output()
        .expect("curl runs");
    curl_done.store(true, Ordering::SeqCst);
    catcher.join().unwrap().unwrap_or_else(|| {
        panic!(
            "curl sent no Negotiate token: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Answers the requests of one connection with the Negotiate challenge until one carries a token.
fn catch_token(stream: TcpStream) -> Option<String> {
    let mut stream = stream;
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    loop {
        let mut token = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.strip_prefix("Authorization: Negotiate ") {
                token = Some(value.trim().to_owned());
            }
        }
        if token.is_some() {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return token;
        }
        stream
            .write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n")
            .ok()?;
    }
}

/// A GET of the Login URL with `Authorization: <value>`, as a browser would retry it.
pub async fn with_authorization(gateway: &Gateway, value: &str) -> reqwest::Response {
    let browser = gateway.browser();
    browser
        .client
        .get(browser.url(&login_path(ACCOUNT)))
        .header("authorization", value)
        .send()
        .await
        .unwrap()
}

pub async fn assert_form_with_challenge(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 401, "{what}");
    assert_eq!(
        response.headers()["www-authenticate"],
        "Negotiate",
        "{what}: a new challenge"
    );
    assert!(
        response.headers().get("set-cookie").is_some(),
        "{what}: the form's pending-login cookie"
    );
    let html = response.text().await.unwrap();
    assert!(hidden_state(&html).is_some(), "{what}: the form\n{html}");
}
