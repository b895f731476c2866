//! The peers themselves: what the test directory and the AD stand-in answer, checked with the `ldap3`
//! client, so that a failing gateway test is about the gateway.

use std::time::Duration;

use ldap3::exop::{WhoAmI, WhoAmIResp};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, ldap_escape};

use crate::support::ad_standin::{self, AdStandin, StandinGroup, StandinUser};
use crate::support::slapd::{self, DirUser, Slapd, same_dn};

const AD_USER_ATTRS: [&str; 9] = [
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "givenName",
    "sn",
    "objectGUID",
    "userAccountControl",
    "memberOf",
    "telephoneNumber",
];

fn settings() -> LdapConnSettings {
    LdapConnSettings::new().set_conn_timeout(Duration::from_secs(5))
}

async fn connect(url: &str, settings: LdapConnSettings) -> Result<Ldap, LdapError> {
    let (conn, ldap) = LdapConnAsync::with_settings(settings, url).await?;
    ldap3::drive!(conn);
    Ok(ldap)
}

/// A connection to the shared directory over LDAPS (trusting the test CA), bound as `dn`.
async fn bound(dn: &str, password: &str) -> Ldap {
    let dir = Slapd::shared();
    let mut ldap = connect(&dir.ldaps_url, settings().set_config(dir.tls_config()))
        .await
        .expect("LDAPS with the test CA");
    ldap.simple_bind(dn, password)
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("{dn} binds: {e}"));
    ldap
}

async fn service() -> Ldap {
    let dir = Slapd::shared();
    bound(&dir.bind_dn, &dir.bind_password).await
}

/// The AD user filter: a person types a sAMAccountName or a UPN.
fn user_filter(name: &str) -> String {
    let name = ldap_escape(name);
    format!("(&(sAMAccountType=805306368)(|(sAMAccountName={name})(userPrincipalName={name})))")
}

async fn search(ldap: &mut Ldap, base: &str, filter: &str, attrs: &[&str]) -> Vec<SearchEntry> {
    let (entries, _) = ldap
        .search(base, Scope::Subtree, filter, attrs.to_vec())
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("search {filter}: {e}"));
    entries.into_iter().map(SearchEntry::construct).collect()
}

/// DNs as comparable values (slapd writes `cn=Doe\2C Jane,ou=…` for AD's `CN=Doe\, Jane,OU=…`).
fn dn_set<S: AsRef<str>>(dns: &[S]) -> Vec<Vec<(String, String)>> {
    let mut dns: Vec<_> = dns
        .iter()
        .map(|d| slapd::normalize_dn(d.as_ref()))
        .collect();
    dns.sort();
    dns
}

fn member_of(entry: &SearchEntry) -> Vec<Vec<(String, String)>> {
    dn_set(&entry.attrs.get("memberOf").cloned().unwrap_or_default())
}

fn lower(groups: &[&str]) -> Vec<Vec<(String, String)>> {
    dn_set(groups)
}

async fn find(name: &str) -> Vec<SearchEntry> {
    let mut ldap = service().await;
    search(
        &mut ldap,
        slapd::BASE_DN,
        &user_filter(name),
        &AD_USER_ATTRS,
    )
    .await
}

fn one(entries: Vec<SearchEntry>, user: &DirUser) -> SearchEntry {
    assert_eq!(entries.len(), 1, "one entry for {}: {entries:?}", user.sam);
    let entry = entries.into_iter().next().unwrap();
    assert!(same_dn(&entry.dn, user.dn), "{} is {}", entry.dn, user.dn);
    entry
}

fn first(entry: &SearchEntry, attr: &str) -> Option<String> {
    entry.attrs.get(attr).and_then(|v| v.first()).cloned()
}

async fn bind_result(
    url: &str,
    settings: LdapConnSettings,
    dn: &str,
    password: &str,
) -> ldap3::LdapResult {
    let mut ldap = connect(url, settings).await.expect("a connection");
    ldap.simple_bind(dn, password).await.unwrap()
}

// ---- slapd: the test directory -----------------------------------------------------------------------

#[test]
fn the_directory_starts_quickly_and_leaves_no_slapd_behind_when_dropped() {
    let dir = Slapd::start();
    assert!(
        dir.startup < Duration::from_secs(10),
        "started in {:?}",
        dir.startup
    );
    eprintln!("Slapd::start() took {:?}", dir.startup);
    let pid = dir.pid().expect("slapd's pid file");
    let path = dir.dir.clone();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(dir);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "slapd {pid} still runs after the handle was dropped"
    );
    assert!(!path.exists(), "{} is left behind", path.display());
}

#[tokio::test]
async fn the_service_account_finds_a_user_by_sam_account_name_case_insensitively_and_by_upn() {
    for name in ["jdoe", "JDOE", "jdoe@corp.example", "JDoe@Corp.Example"] {
        let entry = one(find(name).await, &slapd::JDOE);
        assert_eq!(first(&entry, "sAMAccountName").as_deref(), Some("jdoe"));
        assert_eq!(
            first(&entry, "userPrincipalName").as_deref(),
            slapd::JDOE.upn
        );
        assert_eq!(first(&entry, "mail").as_deref(), slapd::JDOE.mail);
        assert_eq!(first(&entry, "givenName").as_deref(), Some("John"));
        assert_eq!(first(&entry, "sn").as_deref(), Some("Doe"));
        assert_eq!(
            first(&entry, "telephoneNumber").as_deref(),
            Some(slapd::JDOE_PHONE)
        );
        assert_eq!(first(&entry, "userAccountControl").as_deref(), Some("512"));
    }
}

#[tokio::test]
async fn every_user_has_the_documented_attributes_and_guid() {
    for user in slapd::USERS {
        let entry = one(find(user.sam).await, &user);
        assert_eq!(first(&entry, "mail").as_deref(), user.mail, "{}", user.sam);
        assert_eq!(
            first(&entry, "userPrincipalName").as_deref(),
            user.upn,
            "{}",
            user.sam
        );
        assert_eq!(first(&entry, "givenName").as_deref(), Some(user.given_name));
        assert_eq!(first(&entry, "sn").as_deref(), Some(user.sn));
        assert_eq!(
            first(&entry, "userAccountControl"),
            Some(user.user_account_control.to_string())
        );
        let guid = &entry.bin_attrs["objectGUID"][0];
        assert_eq!(slapd::guid_text(guid), user.guid, "{}", user.sam);
        assert_eq!(member_of(&entry), lower(user.member_of), "{}", user.sam);
    }
}

#[tokio::test]
async fn the_guid_text_is_mixed_endian_like_ad() {
    let entry = one(find("jdoe").await, &slapd::JDOE);
    let guid = &entry.bin_attrs["objectGUID"][0];
    assert_eq!(
        &guid[..8],
        &[0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56]
    );
    assert_eq!(
        slapd::guid_text(guid),
        "12345678-1234-5678-9abc-def000000001"
    );
    assert_eq!(ad_standin::guid_bytes(slapd::JDOE.guid), guid.as_slice());
}

#[tokio::test]
async fn the_non_ascii_sam_account_name_matches_case_insensitively() {
    for name in ["zoë", "ZOË", "Zoë@corp.example"] {
        let entry = one(find(name).await, &slapd::ZOE);
        assert_eq!(first(&entry, "givenName").as_deref(), Some("Zoë"));
        assert_eq!(first(&entry, "sn").as_deref(), Some("Ünal"));
    }
}

#[tokio::test]
async fn the_user_in_a_sub_ou_is_found_from_the_base() {
    let entry = one(find("kim").await, &slapd::KIM);
    assert!(entry.dn.to_lowercase().contains("ou=contractors,ou=staff"));
}

#[tokio::test]
async fn a_star_is_matched_literally_only_when_escaped() {
    let entry = one(find("a*b").await, &slapd::STAR);
    assert_eq!(first(&entry, "sAMAccountName").as_deref(), Some("a*b"));
    assert!(
        find("a*").await.is_empty(),
        "an escaped star is no wildcard"
    );
    // Unescaped, the same input is a filter of its own: `*` alone matches every user.
    let mut ldap = service().await;
    let everyone = search(
        &mut ldap,
        slapd::BASE_DN,
        "(&(sAMAccountType=805306368)(sAMAccountName=*))",
        &["sAMAccountName"],
    )
    .await;
    assert_eq!(
        everyone.len(),
        slapd::USERS.len() + 1,
        "the users and the service account"
    );
}

#[tokio::test]
async fn member_of_is_filled_by_the_overlay_with_nested_groups_and_cycles() {
    let mut ldap = service().await;
    let jane = one(find("jane").await, &slapd::JANE);
    assert_eq!(
        member_of(&jane),
        lower(&[slapd::TIER2_GROUP]),
        "jane is in Agents only through Tier 2"
    );
    let groups = search(
        &mut ldap,
        "OU=Groups,DC=corp,DC=example",
        "(objectClass=groupOfNames)",
        &["memberOf", "member"],
    )
    .await;
    let group = |dn: &str| {
        groups
            .iter()
            .find(|g| same_dn(&g.dn, dn))
            .unwrap_or_else(|| panic!("{dn} in {groups:?}"))
    };
    assert_eq!(
        member_of(group(slapd::TIER2_GROUP)),
        lower(&[slapd::AGENTS_GROUP])
    );
    assert!(member_of(group(slapd::AGENTS_GROUP)).is_empty());
    assert_eq!(
        member_of(group(slapd::LOOP_A_GROUP)),
        lower(&[slapd::LOOP_B_GROUP])
    );
    assert_eq!(
        member_of(group(slapd::LOOP_B_GROUP)),
        lower(&[slapd::LOOP_A_GROUP])
    );
    assert_eq!(group(slapd::AGENTS_GROUP).attrs["member"].len(), 6);
    let out = one(find("out").await, &slapd::OUT);
    assert!(member_of(&out).is_empty());
}

#[tokio::test]
async fn a_bind_with_the_right_password_works_over_ldaps_with_the_test_ca() {
    let dir = Slapd::shared();
    let result = bind_result(
        &dir.ldaps_url,
        settings().set_config(dir.tls_config()),
        slapd::JDOE.dn,
        slapd::JDOE.password,
    )
    .await;
    assert_eq!(result.rc, 0, "{result:?}");
    // The certificate also names localhost (and dc1.corp.example).
    let localhost = dir.ldaps_url.replace("127.0.0.1", "localhost");
    let result = bind_result(
        &localhost,
        settings().set_config(dir.tls_config()),
        slapd::JANE.dn,
        slapd::JANE.password,
    )
    .await;
    assert_eq!(result.rc, 0, "{result:?}");
}

#[tokio::test]
async fn a_bind_works_over_starttls() {
    let dir = Slapd::shared();
    let mut ldap = connect(
        &dir.ldap_url,
        settings().set_config(dir.tls_config()).set_starttls(true),
    )
    .await
    .expect("StartTLS with the test CA");
    ldap.simple_bind(slapd::KIM.dn, slapd::KIM.password)
        .await
        .unwrap()
        .success()
        .unwrap();
    let (exop, _) = ldap.extended(WhoAmI).await.unwrap().success().unwrap();
    let whoami: WhoAmIResp = exop.parse();
    assert!(
        same_dn(&whoami.authzid, &format!("dn:{}", slapd::KIM.dn)),
        "{whoami:?}"
    );
}

#[tokio::test]
async fn the_server_certificate_is_refused_without_the_test_ca() {
    let dir = Slapd::shared();
    // The public roots only, as a client with no CA file configured would have.
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let config = std::sync::Arc::new(config);
    let Err(err) = connect(&dir.ldaps_url, settings().set_config(config.clone())).await else {
        panic!("LDAPS without the test CA was accepted");
    };
    assert!(
        format!("{err}").to_lowercase().contains("certificate"),
        "{err}"
    );
    let Err(err) = connect(
        &dir.ldap_url,
        settings().set_config(config).set_starttls(true),
    )
    .await
    else {
        panic!("StartTLS without the test CA was accepted");
    };
    assert!(
        format!("{err}").to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_invalid_credentials() {
    let dir = Slapd::shared();
    let result = bind_result(
        &dir.ldaps_url,
        settings().set_config(dir.tls_config()),
        slapd::JDOE.dn,
        "nope",
    )
    .await;
    assert_eq!(result.rc, 49);
    let result = bind_result(
        &dir.ldaps_url,
        settings().set_config(dir.tls_config()),
        slapd::JDOE.dn,
        slapd::ZOE.password,
    )
    .await;
    assert_eq!(result.rc, 49);
}

#[tokio::test]
async fn the_empty_password_bind_with_a_dn_succeeds_at_slapd_as_anonymous() {
    // RFC 4513 5.1.2: the pitfall is real here. A client that takes this "success" for a checked
    // password lets anyone in.
    let dir = Slapd::shared();
    let mut ldap = connect(&dir.ldaps_url, settings().set_config(dir.tls_config()))
        .await
        .unwrap();
    let result = ldap.simple_bind(slapd::JDOE.dn, "").await.unwrap();
    assert_eq!(result.rc, 0, "an unauthenticated bind succeeds: {result:?}");
    let (exop, _) = ldap.extended(WhoAmI).await.unwrap().success().unwrap();
    let whoami: WhoAmIResp = exop.parse();
    assert_eq!(whoami.authzid, "", "it is anonymous, not jdoe");
    // Anonymous may not search.
    let result = ldap
        .search(
            slapd::BASE_DN,
            Scope::Subtree,
            &user_filter("jdoe"),
            vec!["mail"],
        )
        .await
        .unwrap();
    assert!(result.0.is_empty(), "anonymous sees no entry");
    assert_eq!(result.1.rc, 50, "insufficientAccessRights: {:?}", result.1);
}

#[tokio::test]
async fn the_non_ascii_user_binds_with_the_utf8_password() {
    let mut ldap = bound(slapd::ZOE.dn, slapd::ZOE.password).await;
    let (exop, _) = ldap.extended(WhoAmI).await.unwrap().success().unwrap();
    let whoami: WhoAmIResp = exop.parse();
    assert!(
        same_dn(&whoami.authzid, &format!("dn:{}", slapd::ZOE.dn)),
        "{whoami:?}"
    );
    // The same characters decomposed (NFD: o + U+0308) are another password.
    let dir = Slapd::shared();
    let nfd = "pa\u{308}sswo\u{308}rd-ß-日本";
    let result = bind_result(
        &dir.ldaps_url,
        settings().set_config(dir.tls_config()),
        slapd::ZOE.dn,
        nfd,
    )
    .await;
    assert_eq!(result.rc, 49);
}

#[tokio::test]
async fn the_dn_with_an_escaped_comma_binds() {
    let _ldap = bound(slapd::JANE.dn, slapd::JANE.password).await;
}

#[tokio::test]
async fn a_bound_user_reads_its_own_entry_only_and_nobody_reads_passwords() {
    let mut ldap = bound(slapd::JDOE.dn, slapd::JDOE.password).await;
    let own = search(
        &mut ldap,
        slapd::JDOE.dn,
        "(objectClass=*)",
        &["mail", "userPassword"],
    )
    .await;
    assert_eq!(own.len(), 1);
    assert_eq!(first(&own[0], "mail").as_deref(), slapd::JDOE.mail);
    assert!(
        !own[0].attrs.contains_key("userPassword")
            && !own[0].bin_attrs.contains_key("userPassword")
    );
    // The base is hidden from jdoe too: noSuchObject, no entry.
    let ldap3::SearchResult(others, result) = ldap
        .search(
            slapd::BASE_DN,
            Scope::Subtree,
            "(sAMAccountName=jane)",
            vec!["mail"],
        )
        .await
        .unwrap();
    assert!(others.is_empty(), "jdoe sees jane: {others:?}");
    assert_eq!(result.rc, 32, "{result:?}");
    let mut svc = service().await;
    let entry = search(
        &mut svc,
        slapd::JDOE.dn,
        "(objectClass=*)",
        &["userPassword"],
    )
    .await;
    assert!(
        entry[0].attrs.is_empty() && entry[0].bin_attrs.is_empty(),
        "{entry:?}"
    );
}

#[tokio::test]
async fn the_disabled_flag_is_data_for_the_gateway_slapd_still_binds() {
    let mut ldap = service().await;
    let disabled = search(
        &mut ldap,
        slapd::BASE_DN,
        "(userAccountControl:1.2.840.113556.1.4.803:=2)",
        &["sAMAccountName"],
    )
    .await;
    assert_eq!(disabled.len(), 1);
    assert!(same_dn(&disabled[0].dn, slapd::DIS.dn));
    let _ldap = bound(slapd::DIS.dn, slapd::DIS.password).await;
}

// ---- the AD stand-in ---------------------------------------------------------------------------------

const AGENTS: &str = "CN=Freshservice Agents,OU=Groups,DC=corp,DC=example";
const TIER2: &str = "CN=Tier 2,OU=Groups,DC=corp,DC=example";
const LOOP_A: &str = "CN=Loop A,OU=Groups,DC=corp,DC=example";
const LOOP_B: &str = "CN=Loop B,OU=Groups,DC=corp,DC=example";

fn standin() -> AdStandin {
    let mut users = vec![
        StandinUser::new("jdoe", "jdoe-password").groups(&[AGENTS, LOOP_A]),
        StandinUser::new("jane", "jane-password").groups(&[TIER2]),
        StandinUser::new("nomail", "nomail-password").mail(None),
    ];
    for (code, _) in ad_standin::BIND_CODES {
        users.push(StandinUser::new(&format!("u{code}"), "right").bind_code(code));
    }
    AdStandin::start_with_groups(
        users,
        vec![
            StandinGroup::new(TIER2, &[AGENTS]),
            StandinGroup::new(LOOP_A, &[LOOP_B]),
            StandinGroup::new(LOOP_B, &[LOOP_A]),
        ],
    )
}

#[tokio::test]
async fn the_ad_standin_answers_each_bind_sub_code_with_ads_diagnostic_text() {
    let ad = standin();
    for (code, meaning) in ad_standin::BIND_CODES {
        let dn = ad_standin::user_dn(&format!("u{code}"));
        let result = bind_result(&ad.url, settings(), &dn, "right").await;
        assert_eq!(result.rc, 49, "{code} ({meaning})");
        assert_eq!(
            result.text,
            format!(
                "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {code}, v4563\0"
            )
        );
        // With a wrong password, only "no such user" and "locked out" keep their code.
        let result = bind_result(&ad.url, settings(), &dn, "wrong").await;
        let expected = if code == "525" || code == "775" {
            code
        } else {
            "52e"
        };
        assert!(
            result.text.contains(&format!("data {expected},")),
            "{code}: {}",
            result.text
        );
        assert_eq!(ad.binds(&dn), 2);
    }
    let result = bind_result(&ad.url, settings(), &ad_standin::user_dn("nobody"), "x").await;
    assert!(
        result.text.contains("data 52e,"),
        "an unknown user is 52e: {}",
        result.text
    );
}

#[tokio::test]
async fn the_ad_standin_takes_a_dn_a_upn_or_a_domain_name_and_counts_binds() {
    let ad = standin();
    let jdoe = ad_standin::user_dn("jdoe");
    for name in [
        jdoe.as_str(),
        "jdoe@corp.example",
        "CORP\\jdoe",
        "corp\\JDOE",
    ] {
        let result = bind_result(&ad.url, settings(), name, "jdoe-password").await;
        assert_eq!(result.rc, 0, "{name}: {result:?}");
    }
    assert_eq!(ad.binds(&jdoe), 4, "{:?}", ad.bind_log());
    assert_eq!(ad.binds("jdoe@corp.example"), 1);
    let result = bind_result(&ad.url, settings(), &ad.bind_dn, &ad.bind_password).await;
    assert_eq!(result.rc, 0);
    assert_eq!(ad.binds(ad_standin::SERVICE_DN), 1);
    // As at slapd, a name with an empty password is an anonymous bind that succeeds.
    let result = bind_result(&ad.url, settings(), &jdoe, "").await;
    assert_eq!(result.rc, 0);
    assert_eq!(ad.total_binds(), 6);
}

#[tokio::test]
async fn the_ad_standin_finds_a_user_with_the_ad_filter_and_returns_its_attributes() {
    let ad = standin();
    let mut ldap = connect(&ad.url, settings()).await.unwrap();
    // Anonymous: AD's "a successful bind must be completed".
    let result = ldap
        .search(
            &ad.base_dn,
            Scope::Subtree,
            &user_filter("jdoe"),
            vec!["mail"],
        )
        .await
        .unwrap();
    assert_eq!(result.1.rc, 1);
    assert!(result.1.text.starts_with("000004DC:"), "{}", result.1.text);
    ldap.simple_bind(&ad.bind_dn, &ad.bind_password)
        .await
        .unwrap()
        .success()
        .unwrap();
    for name in ["jdoe", "JDOE", "jdoe@corp.example"] {
        let entries = search(&mut ldap, &ad.base_dn, &user_filter(name), &AD_USER_ATTRS).await;
        assert_eq!(entries.len(), 1, "{name}");
        let entry = &entries[0];
        assert_eq!(entry.dn, ad_standin::user_dn("jdoe"));
        assert_eq!(first(entry, "sAMAccountName").as_deref(), Some("jdoe"));
        assert_eq!(
            first(entry, "userPrincipalName").as_deref(),
            Some("jdoe@corp.example")
        );
        assert_eq!(first(entry, "mail").as_deref(), Some("jdoe@corp.example"));
        assert_eq!(first(entry, "userAccountControl").as_deref(), Some("512"));
        assert!(entry.attrs.contains_key("givenName") && entry.attrs.contains_key("sn"));
        assert_eq!(member_of(entry), lower(&[AGENTS, LOOP_A]));
        let guid = &entry.bin_attrs["objectGUID"][0];
        assert_eq!(slapd::guid_text(guid), ad.guid_text("jdoe"));
    }
    let nomail = search(
        &mut ldap,
        &ad.base_dn,
        &user_filter("nomail"),
        &AD_USER_ATTRS,
    )
    .await;
    assert!(!nomail[0].attrs.contains_key("mail"));
    assert!(
        search(&mut ldap, &ad.base_dn, &user_filter("j*"), &AD_USER_ATTRS)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_ad_standin_answers_the_in_chain_rule_with_transitive_groups_through_cycles() {
    let ad = standin();
    let mut ldap = connect(&ad.url, settings()).await.unwrap();
    ldap.simple_bind(&ad.bind_dn, &ad.bind_password)
        .await
        .unwrap()
        .success()
        .unwrap();
    let groups_of = |sam: &str| {
        format!(
            "(member:{}:={})",
            ad_standin::IN_CHAIN,
            ldap_escape(ad_standin::user_dn(sam))
        )
    };
    let dns =
        |entries: Vec<SearchEntry>| dn_set(&entries.into_iter().map(|e| e.dn).collect::<Vec<_>>());
    let jane = search(&mut ldap, &ad.base_dn, &groups_of("jane"), &["cn"]).await;
    assert_eq!(
        dns(jane),
        lower(&[AGENTS, TIER2]),
        "jane is in Agents through Tier 2"
    );
    let jdoe = search(&mut ldap, &ad.base_dn, &groups_of("jdoe"), &["1.1"]).await;
    assert_eq!(
        dns(jdoe),
        lower(&[AGENTS, LOOP_A, LOOP_B]),
        "the cycle ends"
    );
    let nomail = search(&mut ldap, &ad.base_dn, &groups_of("nomail"), &["1.1"]).await;
    assert!(nomail.is_empty());
    // The other way round: is jane in Agents, transitively?
    let filter = format!(
        "(&{}(memberOf:{}:={}))",
        user_filter("jane"),
        ad_standin::IN_CHAIN,
        ldap_escape(AGENTS)
    );
    assert_eq!(
        search(&mut ldap, &ad.base_dn, &filter, &["1.1"])
            .await
            .len(),
        1
    );
}
