//! Forwarding-field spoofing: a client that is not a trusted proxy cannot tell the provider a client
//! address, scheme, host, port or path prefix.

use crate::raw::{exchange, passthrough, status};
use crate::support::origin;
use crate::support::{Gateway, PUBLIC_HOST};

/// Every spelling the reviews found reaching the provider, and more that frameworks read.
const SPOOFED: [&str; 43] = [
    "X-Forwarded-Port: 8443",
    "X-Forwarded-Prefix: /evil",
    "X-Forwarded-Ssl: on",
    "X-Forwarded-Scheme: https",
    "X-Forwarded-Server: evil.example",
    "X-Original-Host: evil.example",
    "X-Original-URL: /admin",
    "X-Rewrite-URL: /admin",
    "True-Client-IP: 6.6.6.6",
    "X-Client-IP: 6.6.6.6",
    "CF-Connecting-IP: 6.6.6.6",
    "X-Real-IP: 6.6.6.6",
    "Forwarded: for=6.6.6.6;host=evil.example;proto=https",
    "X-Forwarded-For: 6.6.6.6",
    "X-Forwarded-Proto: https",
    "X-Forwarded-Host: evil.example",
    "X-Forwarded-Uri: /admin",
    "X-Host: evil.example",
    "X-Cluster-Client-IP: 6.6.6.6",
    "X-Original-URI: /admin",
    // The second review: client-address fields that reached the provider.
    "Client-IP: 6.6.6.6",
    "X-Originating-IP: 6.6.6.6",
    "X-Remote-Addr: 6.6.6.6",
    // More of the same family that "real client IP" code, CDNs and proxies read.
    "X-Remote-IP: 6.6.6.6",
    "X-ProxyUser-Ip: 6.6.6.6",
    "Proxy-Client-IP: 6.6.6.6",
    "WL-Proxy-Client-IP: 6.6.6.6",
    "Fastly-Client-IP: 6.6.6.6",
    "Akamai-Client-IP: 6.6.6.6",
    "CF-Connecting-IPv6: 2001:db8::6",
    "X-Azure-ClientIP: 6.6.6.6",
    "X-Azure-SocketIP: 6.6.6.6",
    "X-Envoy-External-Address: 6.6.6.6",
    "X-AppEngine-User-IP: 6.6.6.6",
    "X-Original-Forwarded-For: 6.6.6.6",
    "Forwarded-For: 6.6.6.6",
    "X-Forwarded-By: 6.6.6.6",
    "X-Forwarded-Protocol: ssl",
    "Front-End-Https: on",
    "X-Url-Scheme: https",
    // CVE-2025-64484: underscore spellings, which CGI-style servers read as dashes.
    "X_Forwarded_Host: evil.example",
    "x_forwarded_for: 6.6.6.6",
    "Client_IP: 6.6.6.6",
];

#[tokio::test]
async fn no_forwarding_field_of_an_untrusted_peer_reaches_the_provider() {
    let origin = origin::start().await;
    let gateway = Gateway::start(&passthrough(&origin));
    let response = exchange(
        gateway.addr,
        &format!(
            "GET /headers HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n{}\r\nConnection: close\r\n\r\n",
            SPOOFED.join("\r\n")
        ),
    )
    .await;
    assert_eq!(status(&response), 200, "{response}");
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let seen: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    let headers = seen["headers"].as_object().unwrap();
    for field in SPOOFED {
        let name = field.split(':').next().unwrap().to_ascii_lowercase();
        match name.as_str() {
            "x-forwarded-for" => assert_eq!(headers[&name], "127.0.0.1"),
            "x-forwarded-proto" => assert_eq!(headers[&name], "http"),
            "x-forwarded-host" => assert_eq!(headers[&name], PUBLIC_HOST),
            _ => assert!(
                !headers.contains_key(&name),
                "{name} reached the provider: {headers:?}"
            ),
        }
    }
}
