//! The serving sections: `listen`, `public_url`, `admin_listen`, `trusted_proxies`, `limits` and `log`.

use std::time::Duration;

use ipnet::IpNet;

use super::{Dir, MINIMAL, keys, no_env, with};
use crate::config::LogFormat;
use crate::config::validate::values::check_log_level;

#[test]
fn a_public_url_with_a_path_query_or_other_scheme_is_rejected() {
    let dir = Dir::new();
    for bad in [
        "https://sso.example.com/gateway",
        "https://sso.example.com/?a=b",
        "ftp://sso.example.com",
        "sso.example.com",
    ] {
        let yaml = MINIMAL.replace(
            "public_url: https://sso.example.com",
            &format!("public_url: '{bad}'"),
        );
        let errors = dir.err(&yaml, &no_env());
        assert_eq!(keys(&errors), vec!["public_url"], "{bad}");
        assert!(errors.errors[0].problem.contains(bad), "{errors}");
    }
    let errors = dir.err(
        &MINIMAL.replace("https://sso.example.com\n", "https://sso.example.com/sso\n"),
        &no_env(),
    );
    assert!(
        errors.errors[0].fix.contains("`https://sso.example.com`"),
        "{errors}"
    );
    let yaml = MINIMAL.replace("https://sso.example.com\n", "'http://localhost:8080/'\n");
    let c = dir.ok(&yaml, &no_env());
    assert_eq!(c.public("/x"), "http://localhost:8080/x");
    assert!(!c.public_is_https());
}

#[test]
fn admin_listen_off_disables_the_admin_listener() {
    let dir = Dir::new();
    assert_eq!(
        dir.ok(&with("admin_listen: off\n"), &no_env()).admin_listen,
        None
    );
    assert_eq!(
        dir.ok(&with("admin_listen: false\n"), &no_env())
            .admin_listen,
        None
    );
    assert_eq!(
        dir.ok(&with("admin_listen: '[::1]:9000'\n"), &no_env())
            .admin_listen,
        Some("[::1]:9000".parse().unwrap())
    );
    let errors = dir.err(&with("admin_listen: 0.0.0.0:8443\n"), &no_env());
    assert_eq!(keys(&errors), vec!["admin_listen"]);
    let errors = dir.err(&with("admin_listen: nope\n"), &no_env());
    assert!(errors.errors[0].fix.contains("`off`"));
}

#[test]
fn trusted_proxies_take_ranges_and_bare_addresses() {
    let dir = Dir::new();
    let c = dir.ok(
        &with("trusted_proxies: [10.1.2.3/8, 127.0.0.1, '::1']\n"),
        &no_env(),
    );
    let expected: Vec<IpNet> = ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(c.trusted_proxies, expected);
    let errors = dir.err(
        &with("trusted_proxies: [10.0.0.0/8, proxy.local, 10.0.0.0/33]\n"),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec!["trusted_proxies[1]", "trusted_proxies[2]"]
    );
}

#[test]
fn limits_accept_sizes_and_durations_and_reject_nonsense() {
    let dir = Dir::new();
    let c = dir.ok(
        &with("limits: { max_header_bytes: 1MiB, max_connections: 1, shutdown_grace: 0 }\n"),
        &no_env(),
    );
    assert_eq!(c.limits.max_header_bytes, 1024 * 1024);
    assert_eq!(c.limits.max_connections, 1);
    assert_eq!(c.limits.shutdown_grace, Duration::ZERO);
    assert_eq!(
        dir.ok(&with("limits: { max_header_bytes: 2048 }\n"), &no_env())
            .limits
            .max_header_bytes,
        2048
    );
    assert_eq!(
        dir.ok(&with("limits: { max_header_bytes: 8 KiB }\n"), &no_env())
            .limits
            .max_header_bytes,
        8192
    );

    let errors = dir.err(
        &with("limits: { max_header_bytes: 512, max_connections: 0, idle_timeout: 0s, header_read_timeout: 1.5s, tls_handshake_timeout: 10 MB }\n"),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec![
            "limits.header_read_timeout",
            "limits.tls_handshake_timeout",
            "limits.idle_timeout",
            "limits.max_header_bytes",
            "limits.max_connections"
        ],
        "{errors}"
    );
    assert!(
        errors.errors[2].problem.contains("longer than zero"),
        "{errors}"
    );
    assert!(
        errors.errors[3].problem.contains("minimum of 1KiB"),
        "{errors}"
    );
}

#[test]
fn the_shutdown_delay_defaults_to_five_seconds_allows_zero_and_refuses_a_typo_of_minutes() {
    let dir = Dir::new();
    assert_eq!(
        dir.ok(MINIMAL, &no_env()).limits.shutdown_delay,
        Duration::from_secs(5)
    );
    let c = dir.ok(
        &with("limits: { shutdown_delay: 0s, shutdown_grace: 10s }\n"),
        &no_env(),
    );
    assert_eq!(c.limits.shutdown_delay, Duration::ZERO);
    assert_eq!(
        dir.ok(&with("limits: { shutdown_delay: 15s }\n"), &no_env())
            .limits
            .shutdown_delay,
        Duration::from_secs(15)
    );
    let errors = dir.err(&with("limits: { shutdown_delay: 10m }\n"), &no_env());
    assert_eq!(keys(&errors), vec!["limits.shutdown_delay"], "{errors}");
    assert!(
        errors.errors[0].problem.contains("out of range"),
        "{errors}"
    );
    assert!(
        errors.errors[0].fix.contains("shutdown_delay: 5s"),
        "{errors}"
    );
}

#[test]
fn worker_threads_default_to_the_cores_and_must_be_at_least_one() {
    let dir = Dir::new();
    assert_eq!(
        dir.ok(MINIMAL, &no_env()).limits.worker_threads,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    assert_eq!(
        dir.ok(&with("limits: { worker_threads: 3 }\n"), &no_env())
            .limits
            .worker_threads,
        3
    );
    for bad in ["0", "-1", "two"] {
        let errors = dir.err(
            &with(&format!("limits: {{ worker_threads: {bad} }}\n")),
            &no_env(),
        );
        assert_eq!(keys(&errors), vec!["limits.worker_threads"], "{errors}");
        assert!(errors.errors[0].problem.contains("at least 1"), "{errors}");
    }
}

#[test]
fn max_upstream_connections_defaults_to_128_and_must_be_at_least_one() {
    let dir = Dir::new();
    assert_eq!(
        dir.ok(MINIMAL, &no_env()).limits.max_upstream_connections,
        128
    );
    assert_eq!(
        dir.ok(
            &with("limits: { max_upstream_connections: 16 }\n"),
            &no_env()
        )
        .limits
        .max_upstream_connections,
        16
    );
    for bad in ["0", "many"] {
        let errors = dir.err(
            &with(&format!("limits: {{ max_upstream_connections: {bad} }}\n")),
            &no_env(),
        );
        assert_eq!(
            keys(&errors),
            vec!["limits.max_upstream_connections"],
            "{errors}"
        );
        assert!(errors.errors[0].problem.contains("at least 1"), "{errors}");
    }
}

#[test]
fn log_settings_are_checked() {
    let dir = Dir::new();
    let c = dir.ok(
        &with("log: { format: JSON, level: 'warn,freshgate::proxy=trace', access_log: 'yes' }\n"),
        &no_env(),
    );
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.log.level, "warn,freshgate::proxy=trace");
    assert!(c.log.access_log);
    let errors = dir.err(
        &with("log: { format: xml, level: verbose, access_log: sometimes }\n"),
        &no_env(),
    );
    assert_eq!(
        keys(&errors),
        vec!["log.format", "log.level", "log.access_log"]
    );
    assert!(check_log_level("freshgate[request{id=1}]=debug").is_ok());
    assert!(check_log_level("info,hyper=warning").is_err());
}

#[test]
fn a_listen_address_without_a_host_gets_a_concrete_fix() {
    let dir = Dir::new();
    let errors = dir.err(&MINIMAL.replace("0.0.0.0:8443", "8443"), &no_env());
    assert_eq!(keys(&errors), vec!["listen"]);
    assert!(errors.errors[0].fix.contains("`0.0.0.0:8443`"));
    let errors = dir.err(
        &MINIMAL.replace("0.0.0.0:8443", "localhost:8443"),
        &no_env(),
    );
    assert!(errors.errors[0].fix.contains("not a host name"));
}

#[test]
fn allowed_hosts_take_names_or_a_lone_star_and_name_each_bad_entry() {
    let dir = Dir::new();
    assert_eq!(dir.ok(&with(""), &no_env()).allowed_hosts, Some(Vec::new()));
    let c = dir.ok(
        &with("allowed_hosts: [SSO.Internal.test., \"10.0.0.5:8443\", \"[fd00::5]:443\"]\n"),
        &no_env(),
    );
    let names: Vec<(String, Option<u16>)> = c
        .allowed_hosts
        .unwrap()
        .into_iter()
        .map(|n| (n.host, n.port))
        .collect();
    assert_eq!(
        names,
        vec![
            ("sso.internal.test".into(), None),
            ("10.0.0.5".into(), Some(8443)),
            ("[fd00::5]".into(), Some(443)),
        ]
    );
    assert_eq!(
        dir.ok(&with("allowed_hosts: [\"*\"]\n"), &no_env())
            .allowed_hosts,
        None
    );
    let errors = dir.err(
        &with("allowed_hosts: [https://sso.example.com, ok.example, \"a b\"]\n"),
        &no_env(),
    );
    assert_eq!(keys(&errors), vec!["allowed_hosts[0]", "allowed_hosts[2]"]);
    let errors = dir.err(&with("allowed_hosts: [\"*\", a.example]\n"), &no_env());
    assert_eq!(keys(&errors), vec!["allowed_hosts"]);
}
