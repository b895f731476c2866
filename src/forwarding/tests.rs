//! Forwarding fields: which are trusted, which are removed, what is sent.

use super::*;

#[test]
fn the_client_is_the_rightmost_untrusted_forwarded_address() {
    let forwarding = Forwarding::new(vec!["10.0.0.0/8".parse().unwrap()], false);
    let peer: IpAddr = "10.0.0.5".parse().unwrap();
    let mut headers = HeaderMap::new();
    // The client wrote the first entry itself; the proxy appended the address it saw.
    headers.insert(
        &X_FORWARDED_FOR,
        HeaderValue::from_static("1.2.3.4, 198.51.100.7, 10.0.0.9"),
    );
    assert_eq!(
        forwarding.client_ip(&headers, peer),
        "198.51.100.7".parse::<IpAddr>().unwrap()
    );
    // From an untrusted peer the field is ignored.
    let stranger: IpAddr = "203.0.113.1".parse().unwrap();
    assert_eq!(forwarding.client_ip(&headers, stranger), stranger);
    // A garbled entry ends the walk at the last trusted hop.
    headers.insert(
        &X_FORWARDED_FOR,
        HeaderValue::from_static("198.51.100.7, garbage"),
    );
    assert_eq!(forwarding.client_ip(&headers, peer), peer);
    assert_eq!(forwarding.client_ip(&HeaderMap::new(), peer), peer);
}

/// A header map from name/value pairs, in order (repeated names append).
fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            (name, HeaderValue::from_str(value).unwrap())
        })
        .collect()
}

#[test]
fn an_untrusted_peer_cannot_set_any_forwarding_field() {
    let forwarding = Forwarding::new(vec![], true);
    let mut pairs: Vec<(&str, &str)> = FORWARDING_FIELDS
        .iter()
        .map(|name| (*name, "evil.example"))
        .collect();
    pairs.push(("accept", "text/html"));
    pairs.push(("x_forwarded_host", "evil.example"));
    pairs.push(("X_Forwarded_Port", "8443"));
    pairs.push(("x_custom_field", "kept"));
    let mut headers = map(&pairs);
    forwarding.apply(
        &mut headers,
        "10.0.0.7".parse().unwrap(),
        Some(HeaderValue::from_static("sso.example.com")),
    );
    assert_eq!(headers["x-forwarded-for"], "10.0.0.7");
    assert_eq!(headers["x-forwarded-proto"], "https");
    assert_eq!(headers["x-forwarded-host"], "sso.example.com");
    assert_eq!(headers["accept"], "text/html");
    assert_eq!(headers["x_custom_field"], "kept");
    assert_eq!(headers.len(), 5, "{headers:?}");
}

#[test]
fn every_forwarding_field_is_recognised_in_both_spellings_and_others_are_not() {
    for name in FORWARDING_FIELDS {
        assert!(
            name.len() < 64 && name.as_bytes()[0].is_ascii_lowercase(),
            "{name}"
        );
        assert!(
            is_forwarding_field(&HeaderName::from_static(name)),
            "{name}"
        );
        let underscored = name.replace('-', "_");
        assert!(
            is_forwarding_field(&HeaderName::from_bytes(underscored.as_bytes()).unwrap()),
            "{underscored}"
        );
    }
    for name in [
        "host",
        "accept",
        "cookie",
        "x-forwarded-fo",
        "x-forwarded-forr",
        "forwarded_",
        "x-request-id",
        "0-forwarded",
        "-x",
        "client-ipv6",
    ] {
        assert!(
            !is_forwarding_field(&HeaderName::from_bytes(name.as_bytes()).unwrap()),
            "{name}"
        );
    }
}

#[test]
fn addresses_are_written_as_display_writes_them() {
    for text in [
        "0.0.0.0",
        "1.2.3.4",
        "10.0.0.7",
        "99.100.101.255",
        "255.255.255.255",
        "192.168.1.10",
        "::1",
        "2001:db8::7",
    ] {
        let ip: IpAddr = text.parse().unwrap();
        assert_eq!(
            address_value(ip).unwrap(),
            ip.to_string().as_str(),
            "{text}"
        );
    }
}

#[test]
fn without_a_checked_host_no_forwarded_host_is_sent() {
    let forwarding = Forwarding::new(vec![], false);
    let mut headers = map(&[("x-forwarded-host", "evil.example")]);
    forwarding.apply(&mut headers, "10.0.0.7".parse().unwrap(), None);
    assert!(!headers.contains_key("x-forwarded-host"));
}

#[test]
fn trusted_peer_forwarding_headers_are_kept_and_the_peer_appended() {
    let forwarding = Forwarding::new(vec!["10.0.0.0/8".parse().unwrap()], false);
    let mut headers = map(&[
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "sso.example.com"),
        ("x-forwarded-port", "443"),
    ]);
    forwarding.apply(
        &mut headers,
        "10.1.2.3".parse().unwrap(),
        Some(HeaderValue::from_static("internal")),
    );
    assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 10.1.2.3");
    assert_eq!(headers["x-forwarded-proto"], "https");
    assert_eq!(headers["x-forwarded-host"], "sso.example.com");
    assert_eq!(headers["x-forwarded-port"], "443");
}

#[test]
fn ipv4_mapped_ipv6_peers_match_ipv4_networks() {
    let forwarding = Forwarding::new(vec!["127.0.0.0/8".parse().unwrap()], false);
    assert!(forwarding.trusts("::ffff:127.0.0.1".parse().unwrap()));
    assert!(!forwarding.trusts("::ffff:10.0.0.1".parse().unwrap()));
}

#[test]
fn claimed_hosts_lists_every_forwarded_host_entry() {
    let headers = map(&[
        ("x-forwarded-host", "a.example, b.example"),
        (
            "forwarded",
            "for=1.2.3.4;Host=\"c.example\", for=5.6.7.8;host=d.example;proto=https",
        ),
    ]);
    let hosts: Vec<&str> = claimed_hosts(&headers).collect();
    assert_eq!(hosts, ["a.example", "b.example", "c.example", "d.example"]);
    assert_eq!(claimed_hosts(&HeaderMap::new()).count(), 0);
}
