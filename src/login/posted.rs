//! The sign-in form as posted: from the gateway's own page only, an `application/x-www-form-urlencoded`
//! body of bounded size read within a time limit, each field at most once, the password in a buffer that is
//! cleared when dropped.

use std::time::Duration;

use http::header;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use zeroize::Zeroizing;

use super::SsoError;

/// Largest form accepted: a user name of 256 characters and a long password, percent-encoded. A longer
/// declared length is refused before routing (`Route::max_body_bytes`); this bounds a body of no declared
/// length (chunked).
const MAX_FORM_BYTES: usize = crate::route::SSO_MAX_BODY_BYTES as usize;
/// How long the form body may take to arrive.
const FORM_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the form posted.
pub struct Posted {
    pub state: String,
    pub username: String,
    pub password: Zeroizing<String>,
}

/// Refuses a form posted by another site: `Sec-Fetch-Site` must be `same-origin` (or `none`, typed by
/// the user), and `Origin`, when sent, must be the gateway's own (RFC 6454; browsers send it with every
/// POST). Neither header can be set by a page.
pub fn check_origin(headers: &HeaderMap, public_url: &url::Url) -> Result<(), SsoError> {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Err(SsoError::ForgedForm {
            reason: "cross_site_form",
        });
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ours = public_url.origin().ascii_serialization();
        if origin.as_bytes() != ours.as_bytes() {
            return Err(SsoError::ForgedForm {
                reason: "cross_site_form",
            });
        }
    }
    Ok(())
}

/// The posted form, each field at most once, from an `application/x-www-form-urlencoded` body of at most
/// `MAX_FORM_BYTES`. The body and the password are held in buffers that are cleared when dropped.
pub async fn read_form(request: Request<Incoming>) -> Result<Posted, SsoError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(SsoError::ForgedForm {
            reason: "not_a_form",
        });
    }
    let body = Limited::new(request.into_body(), MAX_FORM_BYTES);
    let collected = tokio::time::timeout(FORM_READ_TIMEOUT, body.collect())
        .await
        .map_err(|_| SsoError::ForgedForm {
            reason: "form_too_slow",
        })?
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                SsoError::FormTooLarge
            } else {
                SsoError::ForgedForm {
                    reason: "form_unreadable",
                }
            }
        })?;
    let bytes = Zeroizing::new(collected.to_bytes().to_vec());
    let mut state = None;
    let mut username = None;
    let mut password: Option<Zeroizing<String>> = None;
    for (name, value) in url::form_urlencoded::parse(&bytes) {
        let duplicate = match name.as_ref() {
            "state" => state.replace(value.into_owned()).is_some(),
            "username" => username.replace(value.into_owned()).is_some(),
            "password" => password
                .replace(Zeroizing::new(value.into_owned()))
                .is_some(),
            _ => false,
        };
        if duplicate {
            return Err(SsoError::ForgedForm {
                reason: "duplicate_field",
            });
        }
    }
    Ok(Posted {
        state: state.unwrap_or_default(),
        username: username.unwrap_or_default(),
        password: password.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_a_form_from_the_gateways_own_origin_is_taken() {
        let public: url::Url = "https://sso.corp.example".parse().unwrap();
        for ok in [
            headers(&[]),
            headers(&[
                ("origin", "https://sso.corp.example"),
                ("sec-fetch-site", "same-origin"),
            ]),
            headers(&[("sec-fetch-site", "none")]),
        ] {
            assert!(check_origin(&ok, &public).is_ok(), "{ok:?}");
        }
        for forged in [
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "null")]),
            headers(&[("origin", "https://sso.corp.example:8443")]),
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
        ] {
            assert!(check_origin(&forged, &public).is_err(), "{forged:?}");
        }
    }
}
