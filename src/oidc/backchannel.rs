//! Server-to-server calls to the provider (discovery, JWKS, token, userinfo).
//!
//! When `upstream.backchannel_url` is set, requests for URLs on the issuer's origin go to that origin instead
//! (e.g. the provider's cluster-internal address), with `Host` and `X-Forwarded-Proto/Host` still naming the
//! public origin, so a provider that builds URLs from its public name answers exactly as it would to browsers.
//!
//! Every call carries the `X-Request-ID` of the request it is made for (a background refresh makes its own),
//! so the provider's log lines can be matched with the gateway's, and is timed in
//! `freshgate_provider_duration_seconds{operation, result}`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::{Authority, Scheme};
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::Upstream;
use crate::http_client::{self, error_chain, origin_authority};
use crate::metrics::{CallResult, Metrics, ProviderCall};
use crate::request_id::{RequestId, X_REQUEST_ID};

/// Discovery documents, JWKS and token responses are small; anything larger is refused.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BackchannelError {
    #[error("{url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("{url}: no answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("{url}: {detail}")]
    Body { url: String, detail: String },
    #[error("{url}: {detail}")]
    Request { url: String, detail: String },
}

struct Rewrite {
    public_scheme: String,
    public_authority: Authority,
    public_port: Option<u16>,
    to_scheme: Scheme,
    to_authority: Authority,
}

pub struct Backchannel {
    client: Client<http_client::Connector, Full<Bytes>>,
    rewrite: Option<Rewrite>,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Backchannel {
    pub fn new(upstream: &Upstream, tls: rustls::ClientConfig, metrics: Arc<Metrics>) -> Self {
        let connector = http_client::connector(tls, upstream.connect_timeout);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(http_client::pool_idle_timeout())
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(connector);
        let rewrite = upstream.backchannel_url.as_ref().map(|to| Rewrite {
            public_scheme: upstream.issuer_url.scheme().to_owned(),
            public_authority: origin_authority(&upstream.issuer_url),
            public_port: upstream.issuer_url.port_or_known_default(),
            to_scheme: if to.scheme() == "https" {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            },
            to_authority: origin_authority(to),
        });
        Backchannel {
            client,
            rewrite,
            timeout: upstream.connect_timeout + upstream.response_timeout,
            metrics,
        }
    }

    /// Sends one request for `call`, made for the request `id`, and reads the whole (bounded) response.
    pub async fn send(
        &self,
        request: Request<Vec<u8>>,
        call: ProviderCall,
        id: RequestId,
    ) -> Result<Response<Vec<u8>>, BackchannelError> {
        let started = Instant::now();
        let result = self.exchange(request, id).await;
        let outcome = match &result {
            Ok(response) => CallResult::of_status(response.status()),
            Err(_) => CallResult::Error,
        };
        self.metrics
            .peers
            .provider(call, outcome, started.elapsed());
        result
    }

    async fn exchange(
        &self,
        request: Request<Vec<u8>>,
        id: RequestId,
    ) -> Result<Response<Vec<u8>>, BackchannelError> {
        let mut url = request.uri().to_string();
        let (mut parts, body) = request.into_parts();
        parts.headers.insert(&X_REQUEST_ID, id.header_value());
        if let Some(rewrite) = &self.rewrite
            && rewrite.applies_to(&parts.uri)
        {
            parts.headers.insert(
                header::HOST,
                HeaderValue::from_str(rewrite.public_authority.as_str()).map_err(|e| {
                    BackchannelError::Request {
                        url: url.clone(),
                        detail: e.to_string(),
                    }
                })?,
            );
            parts.headers.insert(
                "x-forwarded-proto",
                HeaderValue::from_str(&rewrite.public_scheme)
                    .unwrap_or(HeaderValue::from_static("https")),
            );
            if let Some(host) = parts.headers.get(header::HOST).cloned() {
                parts.headers.insert("x-forwarded-host", host);
            }
            let path = parts.uri.path_and_query().cloned();
            let mut builder = Uri::builder()
                .scheme(rewrite.to_scheme.clone())
                .authority(rewrite.to_authority.clone());
            if let Some(path) = path {
                builder = builder.path_and_query(path);
            }
            parts.uri = builder.build().map_err(|e| BackchannelError::Request {
                url: url.clone(),
                detail: e.to_string(),
            })?;
            // Errors name what was contacted, not only the public URL it stands in for.
            url = format!("{} (upstream.backchannel_url, for {url})", parts.uri);
        }
        let request = Request::from_parts(parts, Full::new(Bytes::from(body)));
        let response = match tokio::time::timeout(self.timeout, self.client.request(request)).await
        {
            Err(_) => {
                return Err(BackchannelError::Timeout {
                    url,
                    seconds: self.timeout.as_secs(),
                });
            }
            Ok(Err(e)) => {
                return Err(BackchannelError::Unreachable {
                    url,
                    detail: error_chain(&e),
                });
            }
            Ok(Ok(response)) => response,
        };
        let (parts, body) = response.into_parts();
        let collected = tokio::time::timeout(
            self.timeout,
            Limited::new(body, MAX_RESPONSE_BYTES).collect(),
        )
        .await
        .map_err(|_| BackchannelError::Timeout {
            url: url.clone(),
            seconds: self.timeout.as_secs(),
        })?
        .map_err(|e| BackchannelError::Body {
            url: url.clone(),
            detail: format!("reading the response failed: {e}"),
        })?;
        Ok(Response::from_parts(parts, collected.to_bytes().to_vec()))
    }
}

impl Rewrite {
    fn applies_to(&self, uri: &Uri) -> bool {
        uri.scheme_str() == Some(self.public_scheme.as_str())
            && uri.host() == Some(self.public_authority.host())
            && uri.port_u16().or(match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            }) == self.public_port
    }
}

/// The back channel as `openidconnect`'s HTTP client, for the discovery document and the key set it
/// fetches, on behalf of the request `id`.
pub struct Tagged<'a> {
    pub backchannel: &'a Backchannel,
    pub id: RequestId,
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Tagged<'_> {
    type Error = BackchannelError;
    type Future = Pin<
        Box<dyn Future<Output = Result<openidconnect::HttpResponse, BackchannelError>> + Send + 'c>,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        // The library asks for two things: the discovery document, then the key set it names.
        let call = if request
            .uri()
            .path()
            .ends_with("/.well-known/openid-configuration")
        {
            ProviderCall::Discovery
        } else {
            ProviderCall::Jwks
        };
        Box::pin(self.backchannel.send(request, call, self.id))
    }
}
