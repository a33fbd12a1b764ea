//! HTTP GETs for metadata and key-set documents: https only (plain http for loopback hosts),
//! bounded in time and size, read as a stream that stops at the size cap.

use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderMap};
use reqwest::{StatusCode, Url, redirect};

use crate::jwks::error::JwksError;
use crate::url::check_fetch_url;

/// How many redirects the default client follows (each hop is checked like the first URL).
const MAX_REDIRECTS: usize = 5;

/// Checks that `url` may be fetched (see [`check_fetch_url`]).
pub(crate) fn check_url(url: &str) -> Result<Url, JwksError> {
    check_fetch_url(url).map_err(|reason| JwksError::InvalidUrl {
        url: url.to_owned(),
        reason,
    })
}

/// The client used when the caller supplies none: rustls, the given
/// timeouts, and redirects followed only to URLs [`check_url`] accepts.
pub(crate) fn default_client(
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<reqwest::Client, JwksError> {
    let policy = redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if check_url(attempt.url().as_str()).is_err() {
            attempt.error("redirect to a URL that is not https (or loopback http)")
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .redirect(policy)
        .user_agent(concat!("auth-layer/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| JwksError::Client {
            message: error_chain(&e),
        })
}

/// A fetched document.
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    /// `Cache-Control: max-age`, when the response had one.
    pub(crate) max_age: Option<Duration>,
}

/// Performs bounded GETs with one client.
#[derive(Clone, Debug)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_size: usize,
}

impl Fetcher {
    pub(crate) fn new(client: reqwest::Client, timeout: Duration, max_size: usize) -> Self {
        Self {
            client,
            timeout,
            max_size,
        }
    }

    /// The configured total timeout of one GET.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GETs `url`: a `200` response whose body is at most the size cap, within the timeout
    /// (which covers connecting, headers and the whole body, whatever client was supplied).
    pub(crate) async fn get(&self, url: &str) -> Result<Fetched, JwksError> {
        match tokio::time::timeout(self.timeout, self.get_unbounded(url)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(JwksError::Timeout {
                url: url.to_owned(),
            }),
        }
    }

    async fn get_unbounded(&self, url: &str) -> Result<Fetched, JwksError> {
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                JwksError::Timeout {
                    url: url.to_owned(),
                }
            } else {
                JwksError::Transport {
                    url: url.to_owned(),
                    message: error_chain(&e),
                }
            }
        };
        let mut response = self
            .client
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status != StatusCode::OK {
            // Entra's answer for an unknown tenant is a 400 whose OAuth error body carries
            // AADSTS90002; read a little of it to say so instead of a bare status.
            if status == StatusCode::BAD_REQUEST
                && let Ok(Some(chunk)) = response.chunk().await
                && names_unknown_tenant(&chunk)
            {
                return Err(JwksError::TenantNotFound {
                    url: url.to_owned(),
                });
            }
            return Err(JwksError::Http {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let too_large = || JwksError::TooLarge {
            url: url.to_owned(),
            limit: self.max_size,
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_size as u64)
        {
            return Err(too_large());
        }
        let max_age = max_age(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > self.max_size {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, max_age })
    }
}

/// Whether an error body is Entra's "tenant not found": `error_codes` holds 90002
/// (`{"error":"invalid_tenant","error_codes":[90002],…}`). Only the first chunk is read: the
/// body is a few hundred bytes.
fn names_unknown_tenant(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error_codes")?
                .as_array()
                .map(|codes| codes.iter().any(|c| c.as_u64() == Some(90002)))
        })
        .unwrap_or(false)
}

/// The `max-age` directive of `Cache-Control`, if any.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|value| {
            value.split(',').find_map(|directive| {
                let (name, seconds) = directive.trim().split_once('=')?;
                if !name.trim().eq_ignore_ascii_case("max-age") {
                    return None;
                }
                seconds
                    .trim()
                    .trim_matches('"')
                    .parse::<u64>()
                    .ok()
                    .map(Duration::from_secs)
            })
        })
}

/// An error and its causes, `: `-separated (reqwest's own message names only the outer layer).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn entras_tenant_not_found_body_is_recognised() {
        // The shape Entra answers discovery for an unknown tenant with.
        let body = br#"{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'x' not found.","error_codes":[90002],"error_uri":"https://login.microsoftonline.com/error?code=90002"}"#;
        assert!(names_unknown_tenant(body));
        assert!(!names_unknown_tenant(
            br#"{"error":"invalid_request","error_codes":[900144]}"#
        ));
        assert!(!names_unknown_tenant(b"<html>400</html>"));
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        let mut headers = HeaderMap::new();
        assert_eq!(max_age(&headers), None);
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, MAX-AGE=3600"),
        );
        assert_eq!(max_age(&headers), Some(Duration::from_secs(3600)));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        assert_eq!(max_age(&headers), None);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=-1"));
        assert_eq!(max_age(&headers), None);
    }
}
