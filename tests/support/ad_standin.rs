//! A stand-in for Active Directory, for the two things the real test directory (slapd, `slapd.rs`) cannot
//! produce: AD's bind failure sub-codes and the LDAP_MATCHING_RULE_IN_CHAIN matching rule. It is not a
//! directory: everything else comes from slapd.
//!
//! - A simple bind that fails answers `invalidCredentials` (49) with AD's diagnostic message, e.g.
//!   `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563` (AD ends it
//!   with a NUL byte, and so does this). The `data` sub-code is the user's `bind_code`: 525 (no such user),
//!   52e (bad password), 530 (logon hours), 531 (workstation), 532 (password expired), 533 (disabled),
//!   701 (account expired), 773 (must change password), 775 (locked out). As in AD, 525 and 775 come
//!   whatever the password; the others only with the right password (a wrong one is 52e); an unknown name
//!   is 52e too (AD does not tell).
//! - A bind name is a DN, a UPN (`sam@corp.example`) or `CORP\sam`, as AD takes them. A DN with an empty
//!   password is an unauthenticated bind, and it succeeds as anonymous (RFC 4513 §5.1.2), as in AD.
//! - A search needs a successful bind (anonymous: `operationsError`, AD's `000004DC` text). The filter is
//!   evaluated on the users and groups: `&`, `|`, `!`, equality and presence (case-insensitive), and the
//!   extensible match `member:1.2.840.113556.1.4.1941:=<user DN>` on groups (the user's groups, transitively,
//!   cycle-safe), or `memberOf:1.2.840.113556.1.4.1941:=<group DN>` on users. Users carry sAMAccountName,
//!   userPrincipalName, mail, givenName, sn, cn, objectGUID (16 bytes), userAccountControl, sAMAccountType
//!   and memberOf (direct groups).
//! - Binds are counted per name, so a test can say how many binds reached "AD".
//!
//! It runs on a thread of its own (a current-thread tokio runtime), so it serves tests that block too.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::BytesMut;
use futures_util::StreamExt;
use ldap3_proto::proto::{LdapExtendedResponse, LdapOp, LdapResult};
use ldap3_proto::{
    LdapCodec, LdapFilter, LdapMsg, LdapPartialAttribute, LdapResultCode, LdapSearchResultEntry,
    LdapSearchScope, SearchRequest, SimpleBindRequest,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_util::codec::{Encoder, FramedRead};

pub const BASE_DN: &str = "DC=corp,DC=example";
pub const DOMAIN: &str = "CORP";
pub const UPN_SUFFIX: &str = "corp.example";
pub const SERVICE_DN: &str = "CN=svc-freshgate,OU=Service,DC=corp,DC=example";
pub const SERVICE_PASSWORD: &str = "svc-password";
/// LDAP_MATCHING_RULE_IN_CHAIN.
pub const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";
/// The AD bind sub-codes this stand-in answers, with what they mean.
pub const BIND_CODES: [(&str, &str); 9] = [
    ("525", "no such user"),
    ("52e", "wrong password"),
    ("530", "not permitted to log on at this time"),
    ("531", "not permitted to log on at this workstation"),
    ("532", "password expired"),
    ("533", "account disabled"),
    ("701", "account expired"),
    ("773", "user must reset password"),
    ("775", "account locked out"),
];

/// AD's diagnostic message of a failed simple bind with sub-code `code` (e.g. "775"), as AD sends it
/// (ending in a NUL byte).
pub fn bind_message(code: &str) -> String {
    format!(
        "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {code}, v4563\0"
    )
}

/// AD's answer to a search on a connection without a successful bind.
pub const NEEDS_BIND_MESSAGE: &str = "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563\0";

/// A user of the stand-in; its DN is `CN=<sam>,OU=Staff,DC=corp,DC=example`, its UPN `<sam>@corp.example`.
#[derive(Clone, Debug)]
pub struct StandinUser {
    pub sam: String,
    pub password: String,
    /// The AD sub-code its binds fail with (see the module's doc); None: a bind with the password works.
    pub bind_code: Option<&'static str>,
    pub mail: Option<String>,
    /// Direct groups (DNs), as `memberOf` lists them; nesting comes from `StandinGroup`s.
    pub groups: Vec<String>,
}

impl StandinUser {
    /// A user with mail `<sam>@corp.example`, no group and no bind failure.
    pub fn new(sam: &str, password: &str) -> StandinUser {
        StandinUser {
            sam: sam.to_string(),
            password: password.to_string(),
            bind_code: None,
            mail: Some(format!("{sam}@{UPN_SUFFIX}")),
            groups: Vec::new(),
        }
    }

    pub fn bind_code(mut self, code: &'static str) -> StandinUser {
        self.bind_code = Some(code);
        self
    }

    pub fn mail(mut self, mail: Option<&str>) -> StandinUser {
        self.mail = mail.map(str::to_string);
        self
    }

    pub fn groups(mut self, groups: &[&str]) -> StandinUser {
        self.groups = groups.iter().map(|g| g.to_string()).collect();
        self
    }

    pub fn dn(&self) -> String {
        user_dn(&self.sam)
    }

    pub fn upn(&self) -> String {
        format!("{}@{UPN_SUFFIX}", self.sam)
    }
}

/// The DN the stand-in gives user `sam`.
pub fn user_dn(sam: &str) -> String {
    format!("CN={sam},OU=Staff,{BASE_DN}")
}

/// A group that is itself a member of other groups (`member_of`: DNs). Groups only named in a user's
/// `groups` exist too, nested in nothing.
#[derive(Clone, Debug)]
pub struct StandinGroup {
    pub dn: String,
    pub member_of: Vec<String>,
}

impl StandinGroup {
    pub fn new(dn: &str, member_of: &[&str]) -> StandinGroup {
        StandinGroup {
            dn: dn.to_string(),
            member_of: member_of.iter().map(|g| g.to_string()).collect(),
        }
    }
}

/// One bind that reached the stand-in.
#[derive(Clone, Debug)]
pub struct BindRecord {
    /// The name as the client sent it.
    pub name: String,
    /// The DN of the user it named, if any.
    pub dn: Option<String>,
    /// 0 (success) or 49.
    pub code: u32,
}

struct Directory {
    users: Vec<StandinUser>,
    /// Group DN (lowercase) → its DN as given and the groups it is a member of.
    groups: HashMap<String, StandinGroup>,
    binds: Mutex<Vec<BindRecord>>,
}

/// A running AD stand-in on 127.0.0.1.
pub struct AdStandin {
    /// `ldap://127.0.0.1:PORT`
    pub url: String,
    pub port: u16,
    pub base_dn: String,
    pub bind_dn: String,
    pub bind_password: String,
    directory: Arc<Directory>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl AdStandin {
    /// Starts a stand-in with `users` (and the service account); groups are not nested.
    pub fn start(users: Vec<StandinUser>) -> AdStandin {
        AdStandin::start_with_groups(users, Vec::new())
    }

    /// Starts a stand-in with `users` and group nesting `groups`.
    pub fn start_with_groups(users: Vec<StandinUser>, groups: Vec<StandinGroup>) -> AdStandin {
        let mut by_dn: HashMap<String, StandinGroup> = HashMap::new();
        let named = users
            .iter()
            .flat_map(|u| u.groups.iter())
            .chain(groups.iter().flat_map(|g| g.member_of.iter()));
        for dn in named {
            by_dn
                .entry(dn.to_lowercase())
                .or_insert_with(|| StandinGroup::new(dn, &[]));
        }
        for group in groups {
            by_dn.insert(group.dn.to_lowercase(), group);
        }
        let directory = Arc::new(Directory {
            users,
            groups: by_dn,
            binds: Mutex::new(Vec::new()),
        });
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a port for the AD stand-in");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = directory.clone();
        let thread = std::thread::Builder::new()
            .name("ad-standin".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the AD stand-in");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let accept = async {
                        loop {
                            if let Ok((socket, _)) = listener.accept().await {
                                tokio::spawn(serve(socket, served.clone()));
                            }
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("a thread for the AD stand-in");
        AdStandin {
            url: format!("ldap://127.0.0.1:{port}"),
            port,
            base_dn: BASE_DN.to_string(),
            bind_dn: SERVICE_DN.to_string(),
            bind_password: SERVICE_PASSWORD.to_string(),
            directory,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// How many binds named `name` (as sent, case-insensitively) or the user whose DN is `name`.
    pub fn binds(&self, name: &str) -> usize {
        self.bind_log()
            .iter()
            .filter(|b| {
                b.name.eq_ignore_ascii_case(name)
                    || b.dn
                        .as_deref()
                        .is_some_and(|dn| dn.eq_ignore_ascii_case(name))
            })
            .count()
    }

    /// How many binds reached the stand-in, whoever they named.
    pub fn total_binds(&self) -> usize {
        self.bind_log().len()
    }

    /// Every bind so far, in order.
    pub fn bind_log(&self) -> Vec<BindRecord> {
        self.directory.binds.lock().unwrap().clone()
    }

    /// `objectGUID` of user `sam` in AD's text form (see `guid_bytes`).
    pub fn guid_text(&self, sam: &str) -> String {
        let index = self
            .directory
            .users
            .iter()
            .position(|u| u.sam == sam)
            .expect("a user of the stand-in");
        guid_text_of(index)
    }
}

impl Drop for AdStandin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// User number `index`'s GUID text: `abcdef01-2345-6789-8abc-0000000000NN` (NN: index + 1, hex).
fn guid_text_of(index: usize) -> String {
    format!("abcdef01-2345-6789-8abc-{:012x}", index + 1)
}

/// The 16 bytes of a GUID text, in AD's order (the first three groups little-endian).
pub fn guid_bytes(text: &str) -> Vec<u8> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("a GUID text"))
        .collect();
    let mut out = bytes.clone();
    out[0..4].copy_from_slice(&[bytes[3], bytes[2], bytes[1], bytes[0]]);
    out[4..6].copy_from_slice(&[bytes[5], bytes[4]]);
    out[6..8].copy_from_slice(&[bytes[7], bytes[6]]);
    out
}

#[derive(Clone, PartialEq)]
enum Session {
    None,
    Anonymous,
    Bound(String),
}

async fn serve(socket: TcpStream, directory: Arc<Directory>) {
    let (read, mut write) = socket.into_split();
    let mut requests = FramedRead::new(read, LdapCodec::default());
    let mut session = Session::None;
    while let Some(Ok(msg)) = requests.next().await {
        let msgid = msg.msgid;
        let answers = match ldap3_proto::ServerOps::try_from(msg) {
            Ok(ldap3_proto::ServerOps::SimpleBind(bind)) => {
                vec![bind_answer(&directory, &mut session, &bind)]
            }
            Ok(ldap3_proto::ServerOps::Search(search)) => {
                search_answer(&directory, &session, &search)
            }
            Ok(ldap3_proto::ServerOps::Unbind(_)) => return,
            Ok(ldap3_proto::ServerOps::Abandon { .. }) => continue,
            Ok(ldap3_proto::ServerOps::Whoami(whoami)) => {
                vec![whoami.gen_success(&match &session {
                    Session::Bound(dn) => format!("dn:{dn}"),
                    _ => String::new(),
                })]
            }
            Ok(ldap3_proto::ServerOps::Compare(compare)) => vec![compare.gen_error(
                LdapResultCode::UnwillingToPerform,
                "the AD stand-in does not compare".into(),
            )],
            // StartTLS and every other extended operation, modify, add, delete: not here.
            Err(()) => vec![LdapMsg {
                msgid,
                op: LdapOp::ExtendedResponse(LdapExtendedResponse {
                    res: LdapResult {
                        code: LdapResultCode::UnwillingToPerform,
                        matcheddn: String::new(),
                        message: "the AD stand-in answers binds and searches only".into(),
                        referral: Vec::new(),
                    },
                    name: None,
                    value: None,
                }),
                ctrl: Vec::new(),
            }],
        };
        let mut buf = BytesMut::new();
        for answer in answers {
            if LdapCodec::default().encode(answer, &mut buf).is_err() {
                return;
            }
        }
        if write.write_all(&buf).await.is_err() {
            return;
        }
    }
}

fn find_user<'a>(directory: &'a Directory, name: &str) -> Option<&'a StandinUser> {
    let name = name.trim();
    directory.users.iter().find(|u| {
        name.eq_ignore_ascii_case(&u.dn())
            || name.to_lowercase() == u.upn().to_lowercase()
            || name.to_lowercase() == format!("{DOMAIN}\\{}", u.sam).to_lowercase()
    })
}

fn bind_answer(directory: &Directory, session: &mut Session, bind: &SimpleBindRequest) -> LdapMsg {
    let record = |dn: Option<String>, code: u32| {
        directory.binds.lock().unwrap().push(BindRecord {
            name: bind.dn.clone(),
            dn,
            code,
        });
    };
    // RFC 4513 5.1.1 and 5.1.2: anonymous, and unauthenticated (a name, no password), both succeed.
    if bind.pw.is_empty() {
        *session = Session::Anonymous;
        record(find_user(directory, &bind.dn).map(|u| u.dn()), 0);
        return bind.gen_success();
    }
    if bind.dn.eq_ignore_ascii_case(SERVICE_DN) {
        if bind.pw == SERVICE_PASSWORD {
            *session = Session::Bound(SERVICE_DN.to_string());
            record(Some(SERVICE_DN.to_string()), 0);
            return bind.gen_success();
        }
        *session = Session::None;
        record(Some(SERVICE_DN.to_string()), 49);
        return invalid(bind, "52e");
    }
    *session = Session::None;
    let Some(user) = find_user(directory, &bind.dn) else {
        record(None, 49);
        return invalid(bind, "52e");
    };
    let right = bind.pw == user.password;
    let code = match user.bind_code {
        Some(code @ ("525" | "775" | "52e")) => Some(code),
        Some(code) if right => Some(code),
        _ if !right => Some("52e"),
        _ => None,
    };
    match code {
        Some(code) => {
            record(Some(user.dn()), 49);
            invalid(bind, code)
        }
        None => {
            *session = Session::Bound(user.dn());
            record(Some(user.dn()), 0);
            bind.gen_success()
        }
    }
}

fn invalid(bind: &SimpleBindRequest, code: &str) -> LdapMsg {
    bind.gen_error(LdapResultCode::InvalidCredentials, bind_message(code))
}

/// An entry as the filter sees it: lowercase attribute names → values.
struct Entry {
    dn: String,
    attrs: Vec<(&'static str, Vec<Vec<u8>>)>,
    /// For groups: the users (DNs, lowercase) that are members, transitively. For users: their groups,
    /// transitively (DNs, lowercase).
    in_chain: BTreeSet<String>,
    is_group: bool,
}

impl Entry {
    fn values(&self, name: &str) -> Option<&Vec<Vec<u8>>> {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// The groups `user` is in, directly or through other groups; a cycle ends the walk.
fn transitive_groups(directory: &Directory, user: &StandinUser) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = user.groups.iter().map(|g| g.to_lowercase()).collect();
    while let Some(group) = todo.pop() {
        if !seen.insert(group.clone()) {
            continue;
        }
        if let Some(g) = directory.groups.get(&group) {
            todo.extend(g.member_of.iter().map(|p| p.to_lowercase()));
        }
    }
    seen
}

fn entries(directory: &Directory) -> Vec<Entry> {
    let text = |s: &str| vec![s.as_bytes().to_vec()];
    let mut out = Vec::new();
    let mut members: HashMap<String, BTreeSet<String>> = HashMap::new();
    let service = Entry {
        dn: SERVICE_DN.to_string(),
        attrs: vec![
            (
                "objectClass",
                vec![
                    b"top".to_vec(),
                    b"person".to_vec(),
                    b"organizationalPerson".to_vec(),
                    b"user".to_vec(),
                ],
            ),
            ("cn", text("svc-freshgate")),
            ("sAMAccountName", text("svc-freshgate")),
            ("sAMAccountType", text("805306368")),
            ("userAccountControl", text("66048")),
        ],
        in_chain: BTreeSet::new(),
        is_group: false,
    };
    out.push(service);
    for (index, user) in directory.users.iter().enumerate() {
        let groups = transitive_groups(directory, user);
        for g in &groups {
            members
                .entry(g.clone())
                .or_default()
                .insert(user.dn().to_lowercase());
        }
        let uac = if user.bind_code == Some("533") {
            "514"
        } else {
            "512"
        };
        let mut attrs = vec![
            (
                "objectClass",
                vec![
                    b"top".to_vec(),
                    b"person".to_vec(),
                    b"organizationalPerson".to_vec(),
                    b"user".to_vec(),
                ],
            ),
            ("cn", text(&user.sam)),
            ("distinguishedName", text(&user.dn())),
            ("sAMAccountName", text(&user.sam)),
            ("userPrincipalName", text(&user.upn())),
            ("givenName", text(&user.sam)),
            ("sn", text("Standin")),
            ("objectGUID", vec![guid_bytes(&guid_text_of(index))]),
            ("userAccountControl", text(uac)),
            ("sAMAccountType", text("805306368")),
        ];
        if let Some(mail) = &user.mail {
            attrs.push(("mail", text(mail)));
        }
        if !user.groups.is_empty() {
            attrs.push((
                "memberOf",
                user.groups.iter().map(|g| g.as_bytes().to_vec()).collect(),
            ));
        }
        out.push(Entry {
            dn: user.dn(),
            attrs,
            in_chain: groups,
            is_group: false,
        });
    }
    let mut groups: Vec<&StandinGroup> = directory.groups.values().collect();
    groups.sort_by(|a, b| a.dn.cmp(&b.dn));
    for group in groups {
        let cn = group
            .dn
            .split(',')
            .next()
            .and_then(|rdn| rdn.split_once('='))
            .map_or(group.dn.as_str(), |(_, v)| v);
        let mut attrs = vec![
            ("objectClass", vec![b"top".to_vec(), b"group".to_vec()]),
            ("cn", text(cn)),
            ("distinguishedName", text(&group.dn)),
            ("sAMAccountType", text("268435456")),
        ];
        if !group.member_of.is_empty() {
            attrs.push((
                "memberOf",
                group
                    .member_of
                    .iter()
                    .map(|g| g.as_bytes().to_vec())
                    .collect(),
            ));
        }
        out.push(Entry {
            dn: group.dn.clone(),
            attrs,
            in_chain: members.remove(&group.dn.to_lowercase()).unwrap_or_default(),
            is_group: true,
        });
    }
    out
}

fn matches(entry: &Entry, filter: &LdapFilter) -> bool {
    match filter {
        LdapFilter::And(all) => all.iter().all(|f| matches(entry, f)),
        LdapFilter::Or(any) => any.iter().any(|f| matches(entry, f)),
        LdapFilter::Not(f) => !matches(entry, f),
        LdapFilter::Present(name) => {
            name.eq_ignore_ascii_case("objectClass") || entry.values(name).is_some()
        }
        LdapFilter::Equality(name, value) => entry.values(name).is_some_and(|values| {
            values
                .iter()
                .any(|v| String::from_utf8_lossy(v).to_lowercase() == value.to_lowercase())
        }),
        LdapFilter::Extensible(rule) if rule.matching_rule.as_deref() == Some(IN_CHAIN) => {
            let value = rule.match_value.to_lowercase();
            match rule.type_.as_deref().map(str::to_lowercase).as_deref() {
                Some("member") => entry.is_group && entry.in_chain.contains(&value),
                Some("memberof") => !entry.is_group && entry.in_chain.contains(&value),
                _ => false,
            }
        }
        _ => false,
    }
}

fn in_scope(entry: &Entry, base: &str, scope: &LdapSearchScope) -> bool {
    let dn = entry.dn.to_lowercase();
    let base = base.to_lowercase();
    match scope {
        LdapSearchScope::Base => dn == base,
        LdapSearchScope::OneLevel => dn.split_once(',').is_some_and(|(_, parent)| parent == base),
        _ => base.is_empty() || dn == base || dn.ends_with(&format!(",{base}")),
    }
}

fn search_answer(directory: &Directory, session: &Session, search: &SearchRequest) -> Vec<LdapMsg> {
    if !matches!(session, Session::Bound(_)) {
        return vec![search.gen_error(LdapResultCode::OperationsError, NEEDS_BIND_MESSAGE.into())];
    }
    let wanted = |name: &str| {
        search.attrs.is_empty()
            || search
                .attrs
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case(name))
    };
    let mut out = Vec::new();
    for entry in entries(directory) {
        if !in_scope(&entry, &search.base, &search.scope) || !matches(&entry, &search.filter) {
            continue;
        }
        let attributes = entry
            .attrs
            .iter()
            .filter(|(name, _)| wanted(name))
            .map(|(name, vals)| LdapPartialAttribute {
                atype: name.to_string(),
                vals: vals.clone(),
            })
            .collect();
        out.push(search.gen_result_entry(LdapSearchResultEntry {
            dn: entry.dn.clone(),
            attributes,
        }));
    }
    out.push(search.gen_success());
    out
}
