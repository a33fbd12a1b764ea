//! HTTP: form POSTs to the token endpoint and GETs of discovery documents, with a total
//! timeout, a response-size cap and `Retry-After` parsing. Nothing here logs a body.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

use crate::error::Error;

/// Largest accepted response body: 1 MiB.
const MAX_RESPONSE_SIZE: usize = 1024 * 1024;
/// `Retry-After` values are capped here (MSAL does the same).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A response, read whole.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        match serde_json::from_slice(&self.body) {
            Ok(v @ serde_json::Value::Object(_)) => Some(v),
            _ => None,
        }
    }
}

/// A failed exchange, and whether retrying it once is worthwhile (connection errors).
pub(crate) struct SendError {
    pub(crate) error: Error,
    pub(crate) retryable: bool,
}

/// The HTTP side of a client.
#[derive(Clone)]
pub(crate) struct Transport {
    pub(crate) client: reqwest::Client,
    pub(crate) timeout: Duration,
}

impl Transport {
    /// POSTs `form` (`application/x-www-form-urlencoded`) with an optional HTTP Basic client
    /// authentication, and a `client-request-id`.
    pub(crate) async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
        request_id: &str,
    ) -> Result<RawResponse, SendError> {
        let body = serde_urlencoded::to_string(form).map_err(|_| SendError {
            error: Error::InvalidRequest("a request parameter cannot be form-encoded"),
            retryable: false,
        })?;
        let mut request = self
            .client
            .post(url)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header("return-client-request-id", HeaderValue::from_static("true"))
            .body(body);
        if let Ok(id) = HeaderValue::from_str(request_id) {
            request = request.header("client-request-id", id);
        }
        if let Some((id, secret)) = basic {
            // RFC 6749 §2.3.1: both are form-urlencoded before base64.
            let credentials = format!("{}:{}", form_encode(id), form_encode(secret));
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {encoded}")) {
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
        }
        self.execute(url, request).await
    }

    /// GETs a JSON document.
    pub(crate) async fn get(&self, url: &str) -> Result<RawResponse, SendError> {
        self.get_with(url, &[]).await
    }

    /// GETs a JSON document with extra headers (marked sensitive: they may hold a secret).
    pub(crate) async fn get_with(
        &self,
        url: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<RawResponse, SendError> {
        let mut request = self
            .client
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            if let Ok(mut value) = HeaderValue::from_str(value) {
                value.set_sensitive(true);
                request = request.header(*name, value);
            }
        }
        self.execute(url, request).await
    }

    async fn execute(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<RawResponse, SendError> {
        let exchange = async {
            let mut response = request.send().await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_RESPONSE_SIZE {
                    return Ok(Err(()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(Ok(RawResponse {
                status,
                retry_after,
                body,
            }))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Err(SendError {
                error: Error::Timeout {
                    url: url.to_owned(),
                    timeout: self.timeout,
                },
                retryable: false,
            }),
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(()))) => Err(SendError {
                error: Error::InvalidResponse {
                    url: url.to_owned(),
                    reason: format!("the response is larger than {MAX_RESPONSE_SIZE} bytes"),
                },
                retryable: false,
            }),
            Ok(Err(e)) if e.is_timeout() => Err(SendError {
                error: Error::Timeout {
                    url: url.to_owned(),
                    timeout: self.timeout,
                },
                retryable: false,
            }),
            Ok(Err(e)) => Err(SendError {
                retryable: e.is_connect() || e.is_request(),
                error: Error::Transport {
                    url: url.to_owned(),
                    message: error_chain(e),
                },
            }),
        }
    }
}

/// The error and its causes, without the URL reqwest adds (the caller's message names it).
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Retry-After`: delta-seconds or an HTTP date (RFC 9110 §10.2.3), capped at an hour.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let after = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(after.min(MAX_RETRY_AFTER))
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_dates_and_is_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("99999", now),
            Some(Duration::from_secs(3600))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(form_encode("a b+c/d:é"), "a+b%2Bc%2Fd%3A%C3%A9");
    }
}
