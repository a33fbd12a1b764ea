//! HTTP GETs for metadata and key-set documents: https only (plain http for loopback hosts),
//! bounded in time and size, read as a stream that stops at the size cap.

use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderMap};
use reqwest::{StatusCode, Url, redirect};

use crate::jwks::cache::JwksError;
use crate::validator::{is_loopback_authority, normalise_base_url};

/// How many redirects the default client follows (each hop is checked like the first URL).
const MAX_REDIRECTS: usize = 5;

/// Checks that `url` may be fetched: an absolute `https` URL without user info or fragment,
/// or `http` to a loopback host (127.0.0.0/8, `[::1]`, `localhost`).
pub(crate) fn check_url(url: &str) -> Result<Url, JwksError> {
    let invalid = |reason: &'static str| JwksError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    if normalise_base_url(url).is_none() {
        return Err(invalid(
            "not an absolute https URL (plain http is accepted only for loopback hosts)",
        ));
    }
    let parsed = Url::parse(url).map_err(|_| invalid("not a valid URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("a URL with user info (user@host) is refused"));
    }
    if parsed.fragment().is_some() {
        return Err(invalid("a URL with a #fragment is refused"));
    }
    match parsed.scheme() {
        "https" if parsed.host_str().is_some() => Ok(parsed),
        // `normalise_base_url` looked at the text; the parsed host is what would be dialled.
        "http" if parsed.host_str().is_some_and(is_loopback_authority) => Ok(parsed),
        _ => Err(invalid(
            "not an absolute https URL (plain http is accepted only for loopback hosts)",
        )),
    }
}

/// The client used when the caller supplies none: rustls (with its `ring` provider chosen
/// explicitly by reqwest, so no process-wide `CryptoProvider` needs installing), the given
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
    fn only_https_or_loopback_http_may_be_fetched() {
        assert!(check_url("https://login.microsoftonline.com/common/discovery/v2.0/keys").is_ok());
        assert!(check_url("http://127.0.0.1:8080/keys").is_ok());
        assert!(check_url("http://localhost/keys").is_ok());
        assert!(check_url("http://[::1]:9/keys").is_ok());
        for url in [
            "http://example.com/keys",
            "http://127.0.0.1:80@evil.example/keys",
            "https://user:pw@idp.example/keys",
            "https://idp.example/keys#frag",
            "ftp://idp.example/keys",
            "/relative/keys",
            "",
        ] {
            assert!(check_url(url).is_err(), "{url}");
        }
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
