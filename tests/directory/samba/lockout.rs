//! The gateway alone never locks an account, against Samba's own counters: bursts of wrong passwords (in
//! memory, in Redis, from two gateways sharing Redis), a slow drip that a sliding window would let through,
//! a password settings object with a threshold of 2, and one the service account cannot read. Each test
//! has a user of its own with a short observation window (a PSO), so the right password works again
//! within seconds.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::*;
use crate::support::redis::Redis;
use crate::support::samba::{self, AGENTS_GROUP, SambaDc};

/// The observation window of the tests' own policies: short, so the right password works again soon.
const WINDOW: Duration = Duration::from_secs(3);

/// `n` wrong passwords posted at once with one form per gateway (round robin over gateways and the
/// spellings in `typed`); the answers' statuses.
async fn burst(gateways: &[&Gateway], typed: &[String], password: &str, n: usize) -> Vec<u16> {
    let mut forms = Vec::new();
    for gateway in gateways {
        let browser = gateway.browser();
        let (_, state) = open_form(&browser, ACCOUNT).await;
        forms.push((browser, state));
    }
    let posts = (0..n).map(|i| {
        let (browser, state) = &forms[i % forms.len()];
        let name = typed[i % typed.len()].clone();
        async move {
            submit(browser, state, &name, password)
                .await
                .status()
                .as_u16()
        }
    });
    join_all(posts).await
}

/// A user of the test's own under a PSO (`threshold` failures within `window` lock it for a minute).
async fn user_with_policy(prefix: &str, threshold: u32, window: Duration) -> (String, String) {
    let dc = SambaDc::shared();
    let sam = samba::unique_sam(prefix);
    let dn = dc.add_user(&sam, "right-password", &[AGENTS_GROUP]).await;
    dc.add_pso(
        &format!("{sam}-policy"),
        10,
        threshold,
        window,
        Duration::from_secs(60),
        &[&dn],
    )
    .await;
    (sam, dn)
}

/// Waits until the DC's count for `dn` has reset (a whole `window` on its own clock since the last failure),
/// then logs in with the right password: the first try must work. `typed` must be a spelling whose own
/// limits the test has not used up (the per-name backoff would answer 429).
async fn signs_in_again(gateway: &Gateway, typed: &str, dn: &str, window: Duration) {
    let dc = SambaDc::shared();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last_failure = dc.number(dn, "badPasswordTime").await;
        let root = dc.read("", &["currentTime"]).await;
        let now = freshgate::directory::lockout::current_time(&root).expect("the DC's clock");
        if now - last_failure > i64::try_from(window.as_nanos() / 100).unwrap() {
            break;
        }
        assert!(Instant::now() < deadline, "the count of {dn} never reset");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let response = login(gateway, ACCOUNT, typed, "right-password").await;
    assert_eq!(response.status(), 302, "{}", gateway.logs());
}

/// The burst's numbers against the DC, checked and reported.
async fn assert_below_threshold(label: &str, dn: &str, statuses: &[u16], threshold: usize) {
    let dc = SambaDc::shared();
    let binds = binds_logged(dc, dn).await;
    let count = dc.number(dn, "badPwdCount").await;
    eprintln!(
        "{label}: {} posts, {} binds reached the DC ({binds:?}), badPwdCount {count}",
        statuses.len(),
        binds.len()
    );
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // At most threshold - 1 (fewer when a failure is counted both by the DC and as recent: the guard
    // errs on the safe side), and not none: the burst was not simply refused.
    assert!(
        (1..threshold).contains(&binds.len()),
        "{} binds: {binds:?}",
        binds.len()
    );
    assert!(binds.iter().all(|s| s == "NT_STATUS_WRONG_PASSWORD"));
    assert_eq!(count, binds.len() as i64);
    assert!(!locked(dc, dn).await, "{dn} is locked");
}

#[tokio::test]
async fn fifty_wrong_passwords_at_once_stay_below_the_lockout_threshold_in_memory() {
    let (sam, dn) = user_with_policy("burstmem", 5, WINDOW).await;
    let gateway = samba_gateway(LOOSE_THROTTLE, "");
    let statuses = burst(&[&gateway], std::slice::from_ref(&sam), "wrong", 50).await;
    assert_below_threshold("memory store", &dn, &statuses, 5).await;
    assert!(gateway.has_logged("\"reason\":\"held_lockout_guard\""));
    signs_in_again(&gateway, &format!("{sam}@corp.example"), &dn, WINDOW).await;
}

#[tokio::test]
async fn fifty_wrong_passwords_at_once_stay_below_the_lockout_threshold_with_redis() {
    let redis = Redis::start();
    let (sam, dn) = user_with_policy("burstred", 5, WINDOW).await;
    let store = format!("store: {{ url: \"{}\" }}\n", redis.url());
    let gateway = samba_gateway(LOOSE_THROTTLE, &store);
    let statuses = burst(&[&gateway], std::slice::from_ref(&sam), "wrong", 50).await;
    assert_below_threshold("redis store", &dn, &statuses, 5).await;
    signs_in_again(&gateway, &format!("{sam}@corp.example"), &dn, WINDOW).await;
}

#[tokio::test]
async fn two_gateways_sharing_redis_send_no_more_wrong_passwords_than_one() {
    let redis = Redis::start();
    let (sam, dn) = user_with_policy("bursttwo", 5, WINDOW).await;
    let store = format!("store: {{ url: \"{}\" }}\n", redis.url());
    let (a, b) = (
        samba_gateway(LOOSE_THROTTLE, &store),
        samba_gateway(LOOSE_THROTTLE, &store),
    );
    // Spellings of the name as Windows users type it (one typed name for the throttle, one entry for AD).
    let typed = [sam.clone(), format!("CORP\\{sam}"), sam.to_uppercase()];
    let statuses = burst(&[&a, &b], &typed, "wrong", 50).await;
    assert_below_threshold("two gateways, redis", &dn, &statuses, 5).await;
    signs_in_again(&b, &format!("{sam}@corp.example"), &dn, WINDOW).await;
}

#[tokio::test]
async fn sixty_unknown_names_at_once_from_one_address_cost_no_more_binds_than_its_limit() {
    let dc = SambaDc::shared();
    // A base of its own, so that this gateway's decoy binds (CN=freshgate-no-such-user-…,<base>) are told
    // apart from other tests' in the DC's log.
    let base = "OU=Staff,DC=corp,DC=example";
    let directory = samba_directory(
        dc,
        "  throttle: { max_failures: 3, window: 60s, max_failures_per_ip: 30 }\n",
    )
    .replace(
        &format!("base_dn: \"{}\"", dc.base_dn),
        &format!("base_dn: \"{base}\""),
    );
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let names: Vec<String> = (0..60).map(|i| format!("ghost-{i}")).collect();
    let browser = gateway.browser();
    let (_, state) = open_form(&browser, ACCOUNT).await;
    let posts = names.iter().map(|name| async {
        submit(&browser, &state, name, "whatever")
            .await
            .status()
            .as_u16()
    });
    let statuses = join_all(posts).await;
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let answered = statuses.iter().filter(|s| **s == 200).count();
    binds_logged(dc, "").await;
    let decoys = dc
        .auth_events()
        .into_iter()
        .filter(|e| {
            e.account.starts_with("CN=freshgate-no-such-user-") && e.account.ends_with(base)
        })
        .count();
    eprintln!(
        "60 unknown names at once: {answered} answered, {refused} refused (429), {decoys} binds reached the DC"
    );
    assert_eq!((answered, refused), (30, 30), "{statuses:?}");
    assert_eq!(decoys, 30);
}

#[tokio::test]
async fn a_slow_drip_of_wrong_passwords_never_locks_the_account() {
    // AD: 3 failures lock, and the count resets only after 4 s without one. The gateway lets 5 per 10 s
    // through its own limits (a sliding window that a drip every 2 s never fills): only the directory's
    // counters, read before each bind, keep the drip from locking the account.
    let dc = SambaDc::shared();
    let (sam, dn) = user_with_policy("drip", 3, Duration::from_secs(4)).await;
    let gateway = samba_gateway(
        "  throttle: { max_failures: 5, window: 10s, max_failures_per_ip: 1000 }\n",
        "",
    );
    // Two spellings in turn (each its own key for what the browser is told: `CORP\\name` and `NAME` are
    // the typed name `name`), so the per-name backoff never holds a try: only the guard does.
    let typed = [sam.clone(), format!("{sam}@corp.example")];
    let started = Instant::now();
    let mut tries = 0;
    while started.elapsed() < Duration::from_secs(10) {
        let response = login(&gateway, ACCOUNT, &typed[tries % typed.len()], "wrong").await;
        assert_eq!(response.status(), 200, "{}", gateway.logs());
        tries += 1;
        assert!(!locked(dc, &dn).await, "locked after {tries} tries");
        assert!(dc.number(&dn, "badPwdCount").await < 3);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let binds = binds_logged(dc, &dn).await;
    eprintln!(
        "drip: {tries} wrong passwords over {:?}, {} reached the DC",
        started.elapsed(),
        binds.len()
    );
    assert!(
        binds.len() >= 2,
        "the drip is not simply refused: {binds:?}"
    );
    assert!(gateway.has_logged("\"reason\":\"held_lockout_guard\""));
    // Through a gateway whose own limits the drip has not used (the DC's count is what matters).
    let fresh = samba_gateway(LOOSE_THROTTLE, "");
    signs_in_again(&fresh, &sam, &dn, Duration::from_secs(4)).await;
}

#[tokio::test]
async fn under_a_pso_with_threshold_two_the_gateway_sends_one_wrong_password_at_most() {
    let dc = SambaDc::shared();
    let (sam, dn) = user_with_policy("psotwo", 2, WINDOW).await;
    let gateway = samba_gateway(LOOSE_THROTTLE, "");
    let typed = [sam.clone(), format!("CORP\\{sam}")];
    let statuses = burst(&[&gateway], &typed, "wrong", 20).await;
    // Tries that arrive once others have failed may meet their typed name's backoff (429).
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    let binds = binds_logged(dc, &dn).await;
    eprintln!(
        "PSO threshold 2: 20 wrong passwords at once, {} reached the DC, badPwdCount {}",
        binds.len(),
        dc.number(&dn, "badPwdCount").await
    );
    assert_eq!(binds.len(), 1, "{binds:?}");
    assert!(!locked(dc, &dn).await);
    signs_in_again(&gateway, &format!("{sam}@corp.example"), &dn, WINDOW).await;
}

#[tokio::test]
async fn a_pso_the_service_account_cannot_read_holds_every_bind_and_says_why() {
    let dc = SambaDc::shared();
    let (sam, dn) = user_with_policy("psohide", 2, Duration::from_secs(5)).await;
    // svc-nopso has the domain's default rights: it sees that a PSO applies, not its threshold.
    let directory = directory_as(dc, samba::NOPSO_DN, samba::NOPSO_PASSWORD, LOOSE_THROTTLE);
    let gateway = Gateway::start_yaml(&yaml(&directory, ""));
    let upn = format!("{sam}@corp.example");
    for (typed, password) in [(&sam, "wrong"), (&upn, "right-password")] {
        let response = login(&gateway, ACCOUNT, typed, password).await;
        assert_page(response, 200, "The user name or password is not right").await;
    }
    assert!(binds_logged(dc, &dn).await.is_empty(), "no bind at all");
    assert!(gateway.has_logged("\"reason\":\"held_unreadable_policy\""));
    assert!(
        gateway.has_logged("cannot read its lockout settings"),
        "{}",
        gateway.logs()
    );
}
