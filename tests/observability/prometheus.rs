//! The alerting rules and the Grafana dashboard in `deploy/` against the real thing: promtool checks the
//! rules and runs their unit tests, and Debian's prometheus scrapes a running gateway (TLS, a provider,
//! the test directory, logins that succeed and fail, passthrough) with the rules loaded. Every metric the
//! rules and the dashboard name must be among what the gateway exported, every dashboard query must
//! return series, every rule must evaluate without error, and the login-failure alert must fire on the
//! failures the test made (in a copy of the rules without their `for`) while the others stay quiet.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::login_query;
use crate::support::prometheus::{Prometheus, promtool};
use crate::support::slapd::Slapd;
use crate::support::{Browser, Gateway, Idp, Setup, repo};

const RULES: &str = "deploy/prometheus/freshgate.rules.yml";
const RULE_TESTS: &str = "deploy/prometheus/tests/freshgate.test.yml";
const DASHBOARD: &str = "deploy/grafana/freshgate.json";

#[test]
fn promtool_accepts_the_rules_and_their_unit_tests_pass() {
    let (ok, output) = promtool(&["check", "rules", RULES], "");
    assert!(ok, "{output}");
    let (ok, output) = promtool(&["test", "rules", RULE_TESTS], "");
    assert!(ok, "{output}");
    // Every alert has a unit test that makes it fire.
    let rules = std::fs::read_to_string(repo().join(RULES)).unwrap();
    let tests = std::fs::read_to_string(repo().join(RULE_TESTS)).unwrap();
    for alert in alert_names(&rules) {
        assert!(
            tests.contains(&format!(
                "alertname: {alert}\n        exp_alerts:\n          - "
            )),
            "{alert} has no firing case in {RULE_TESTS}"
        );
    }
}

/// Each alert's `runbook_url` names a section of docs/operations.md that exists (GitHub's heading
/// anchors: lowercase, spaces to `-`, other punctuation dropped).
#[test]
fn every_runbook_url_leads_to_a_section_of_the_operations_guide() {
    let guide = std::fs::read_to_string(repo().join("docs/operations.md")).unwrap();
    let anchors: BTreeSet<String> = guide
        .lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| {
            heading
                .trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let rules = std::fs::read_to_string(repo().join(RULES)).unwrap();
    let runbooks: Vec<&str> = rules
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("runbook_url: \"docs/operations.md#")
        })
        .map(|rest| rest.trim_end_matches('"'))
        .collect();
    assert_eq!(
        runbooks.len(),
        alert_names(&rules).len(),
        "one runbook per alert"
    );
    for anchor in runbooks {
        assert!(
            anchors.contains(anchor),
            "docs/operations.md has no #{anchor}"
        );
    }
}

/// The rule file's alert names.
fn alert_names(rules: &str) -> Vec<String> {
    rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- alert: "))
        .map(str::to_owned)
        .collect()
}

/// The metric names in PromQL text: `freshgate_…` and `process_…` identifiers.
fn metric_names(promql: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = promql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = promql[i..].starts_with("freshgate_") || promql[i..].starts_with("process_");
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts && boundary {
            let end = promql[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(promql.len(), |n| i + n);
            names.insert(promql[i..end].to_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// Every query of the dashboard (panels and template variables), with Grafana's variables filled in as
/// Grafana would for "All".
fn dashboard_queries() -> Vec<String> {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(DASHBOARD)).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    assert!(queries.len() >= 20, "{queries:?}");
    queries
        .into_iter()
        .map(|q| {
            q.replace("$__rate_interval", "1m")
                .replace("$job", ".+")
                .replace("$instance", ".+")
        })
        .collect()
}

/// The dashboard's template variables' `label_values(metric, label)` queries.
fn variable_queries() -> Vec<(String, String)> {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(DASHBOARD)).unwrap()).unwrap();
    dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|variable| variable["definition"].as_str())
        .map(|definition| {
            let inner = definition
                .strip_prefix("label_values(")
                .and_then(|rest| rest.strip_suffix(')'))
                .unwrap_or_else(|| panic!("not label_values: {definition}"));
            let (metric, label) = inner.rsplit_once(", ").unwrap();
            (
                metric.replace("$job", ".+").replace("$instance", ".+"),
                label.to_owned(),
            )
        })
        .collect()
}

/// A gateway with TLS, a provider (passthrough too) and the test directory, for a directory section's
/// metrics; its logins use the provider.
async fn gateway(idp: &Idp) -> Gateway {
    let slapd = Slapd::shared();
    let mut setup = Setup::new(idp.port);
    setup.tls = true;
    setup.proxy_to = Some(format!("http://127.0.0.1:{}", idp.port));
    setup.extra_top = format!(
        "directory:\n  url: {}\n  ca_file: {}\n  bind_dn: \"{}\"\n  bind_password: {}\n  base_dn: \"{}\"\n  \
         kind: active_directory\n  timeout: 3s\n",
        slapd.ldaps_url,
        slapd.ca_file.display(),
        slapd.bind_dn,
        slapd.bind_password,
        slapd.base_dn
    );
    let gateway = Gateway::start(&setup);
    gateway.wait_ready().await;
    gateway
}

/// One login at the provider that succeeds, and `failures` callbacks that fail (no pending login).
async fn logins(gateway: &Gateway, failures: usize) {
    let browser = Browser::new(gateway.addr, true);
    let redirect = browser
        .login(&login_query("s", "n"), "alice", "alice-password")
        .await;
    assert!(redirect.contains("id_token="));
    for _ in 0..failures {
        let stranger = Browser::new(gateway.addr, true);
        let response = stranger
            .get(&stranger.url("/sso/jwt/callback?state=gone&code=x"))
            .await;
        assert_eq!(response.status(), 400);
    }
    let passthrough = browser
        .get(&browser.url("/realms/acme/.well-known/openid-configuration"))
        .await;
    assert_eq!(passthrough.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_a_gateway_and_every_rule_and_dashboard_query_works_on_its_samples() {
    let idp = Idp::start_at(0, "https://sso.freshgate.test");
    let gateway = gateway(&idp).await;
    let admin = gateway.admin.expect("an admin listener");

    // The shipped rules, and a copy that fires at once (no `for`), under another group name.
    let dir = tempfile::tempdir().unwrap();
    let rules_text = std::fs::read_to_string(repo().join(RULES)).unwrap();
    let copy: String = rules_text
        .lines()
        .filter(|line| !line.trim_start().starts_with("for: "))
        .map(|line| line.replace("- name: freshgate", "- name: freshgate-without-for") + "\n")
        .collect();
    let copy_path: PathBuf = dir.path().join("without-for.rules.yml");
    std::fs::write(&copy_path, copy).unwrap();
    let prometheus = Prometheus::start(&[admin], &[repo().join(RULES), copy_path]).await;
    prometheus
        .wait_for("up{job=\"freshgate\"} == 1", Duration::from_secs(30))
        .await;

    // Traffic in two waves with scrapes between, so counters that appear in the first one increase in
    // the second (rate() needs two samples of a series).
    logins(&gateway, 1).await;
    prometheus.wait_scrapes(3).await;
    logins(&gateway, 4).await;
    prometheus.wait_scrapes(3).await;

    // (a) Every metric the rules and the dashboard name is exported.
    let exported: BTreeSet<String> = prometheus
        .api("label/__name__/values", &[])
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let queries = dashboard_queries();
    let mut used = metric_names(&rules_text);
    for query in &queries {
        used.extend(metric_names(query));
    }
    for (metric, _) in variable_queries() {
        used.extend(metric_names(&metric));
    }
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| !exported.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "named in {RULES} or {DASHBOARD} but not exported: {missing:?}\nexported: {exported:?}"
    );
    assert!(used.len() >= 25, "{used:?}");

    // Every dashboard query returns series from these samples, and each variable has values.
    for query in &queries {
        let result = prometheus.query(query).await;
        assert!(
            !result.is_empty(),
            "no series for the dashboard query {query}"
        );
    }
    for (metric, label) in variable_queries() {
        let result = prometheus.query(&metric).await;
        assert!(
            result
                .iter()
                .any(|series| series["metric"][&label].is_string()),
            "no {label} values from {metric}"
        );
    }

    // (b) Every rule evaluates without error on the real samples...
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let rules = loop {
        let data = prometheus.api("rules", &[]).await;
        let rules: Vec<Value> = data["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        if rules.iter().all(|rule| rule["health"] == "ok") {
            break rules;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rules not healthy: {rules:#?}\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(rules.len(), 2 * alert_names(&rules_text).len());
    for rule in &rules {
        assert_eq!(rule["lastError"].as_str().unwrap_or(""), "", "{rule}");
    }

    // ...the failures the test made fire the login-failure alert (4 of 5 attempts in wave two), and the
    // rest stay quiet: the certificate is good for years, the gateway is ready, the directory is up.
    let firing = prometheus
        .wait_for(
            "ALERTS{alertname=\"FreshgateLoginFailureRatioHigh\",alertstate=\"firing\"}",
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(firing[0]["metric"]["job"], "freshgate", "{firing:?}");
    let others = prometheus
        .query("ALERTS{alertname!=\"FreshgateLoginFailureRatioHigh\"}")
        .await;
    assert!(
        others.is_empty(),
        "only the login-failure alert: {others:#?}"
    );
    let alerts = prometheus.api("alerts", &[]).await;
    let alert = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["state"] == "firing")
        .expect("a firing alert");
    assert_eq!(
        alert["annotations"]["runbook_url"],
        "docs/operations.md#freshgateloginfailureratiohigh"
    );
    assert!(
        alert["annotations"]["summary"].as_str().is_some_and(
            |s| s.starts_with("freshgate: ") && s.ends_with("% of login attempts fail")
        ),
        "{alert}"
    );
}

#[test]
fn metric_names_are_read_out_of_promql() {
    let names = metric_names(
        "histogram_quantile(0.95, sum by (le) (rate(freshgate_login_duration_seconds_bucket{job=~\"x\"}[1m]))) / process_max_fds",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["freshgate_login_duration_seconds_bucket", "process_max_fds"]
    );
    assert!(metric_names("my_freshgate_x + notprocess_y").is_empty());
}
