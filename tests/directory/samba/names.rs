//! What a browser sees is a function of what it typed and its address, never of whether the name exists:
//! a known and an unknown name, each typed every way AD accepts it, one wrong password after another,
//! get the same statuses, pages and `Retry-After`, and answers of about the same duration.

use std::time::{Duration, Instant};

use super::*;
use crate::support::samba::{self, AGENTS_GROUP, SambaDc};

/// What a browser can compare: the status, `Retry-After`, the page without the state, request id and
/// typed name; and how long the post took.
async fn answer(gateway: &Gateway, typed: &str) -> ((u16, Option<String>, String), Duration) {
    let browser = gateway.browser();
    let (_, state) = open_form(&browser, ACCOUNT).await;
    let started = Instant::now();
    let response = submit(&browser, &state, typed, "not-the-password").await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    (
        (status, retry_after, normalized_form(&body, typed)),
        elapsed,
    )
}

#[tokio::test]
async fn a_known_and_an_unknown_name_get_the_same_answers_whatever_the_spelling() {
    let dc = SambaDc::shared();
    // One user whose UPN is its sAMAccountName at the domain, one whose UPN is another name (first.last@…,
    // as in many domains), and two names that exist nowhere.
    let (a, b) = (samba::unique_sam("knowna"), samba::unique_sam("knownb"));
    let dn_a = dc.add_user(&a, "right-password", &[AGENTS_GROUP]).await;
    let dn_b = dc.add_user(&b, "right-password", &[AGENTS_GROUP]).await;
    dc.replace(
        &dn_b,
        "userPrincipalName",
        &[&format!("first.{b}@corp.example")],
    )
    .await;
    let (g, h) = (samba::unique_sam("ghosta"), samba::unique_sam("ghostb"));
    let gateway = samba_gateway("", "");
    let spellings = |a: &str, b: &str| {
        vec![
            a.to_owned(),
            // At once, the UPN: the case (429 for a known name, the form for an unknown one).
            format!("{a}@corp.example"),
            format!("CORP\\{a}"),
            a.to_uppercase(),
            format!("first.{b}@corp.example"),
            b.to_owned(),
        ]
    };
    let known = spellings(&a, &b);
    let unknown = spellings(&g, &h);
    let mut timings = (Vec::new(), Vec::new());
    let mut steps = Vec::new();
    for round in 0..2 {
        if round == 1 {
            // After the backoff: the known entry has three failures now (its own limit), so its bind is
            // held; the unknown name costs a decoy bind. Both answer as a wrong password.
            tokio::time::sleep(Duration::from_millis(2100)).await;
        }
        for (k, u) in known.iter().zip(&unknown) {
            let (seen_known, t_known) = answer(&gateway, k).await;
            let (seen_unknown, t_unknown) = answer(&gateway, u).await;
            assert_eq!(
                seen_known, seen_unknown,
                "round {round}: {k} and {u} answered differently"
            );
            timings.0.push(t_known);
            timings.1.push(t_unknown);
            steps.push(format!(
                "{}{}",
                seen_known.0,
                seen_known
                    .1
                    .map(|r| format!(" (Retry-After {r})"))
                    .unwrap_or_default()
            ));
        }
    }
    eprintln!("spellings, known and unknown alike: {steps:?}");
    assert_eq!(
        steps[1], "200",
        "a wrong password, then at once the UPN: the form again"
    );
    assert!(steps.iter().any(|s| s.starts_with("429")), "{steps:?}");
    let mean = |t: &[Duration]| t.iter().sum::<Duration>() / t.len() as u32;
    let (known_mean, unknown_mean) = (mean(&timings.0), mean(&timings.1));
    eprintln!("mean answer: known {known_mean:?}, unknown {unknown_mean:?}");
    assert!(
        known_mean.abs_diff(unknown_mean) < Duration::from_millis(500),
        "known {known_mean:?}, unknown {unknown_mean:?}"
    );
    assert!(gateway.has_logged("\"reason\":\"held_user\""));
    // The accounts were protected all along: the DC saw no more than each entry's own limit (3).
    for dn in [&dn_a, &dn_b] {
        let binds = binds_logged(dc, dn).await;
        assert!(binds.len() <= 3, "{dn}: {binds:?}");
        assert!(!locked(dc, dn).await);
    }
}
