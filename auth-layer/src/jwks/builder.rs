//! Configures a refreshing [`JwksCache`]: the key source, the transport and the refresh policy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use crate::jwks::cache::JwksCache;
use crate::jwks::discovery;
use crate::jwks::error::JwksError;
use crate::jwks::fetch::{self, Fetcher, check_url};
use crate::jwks::refresh::{MAX_INTERVAL, Refresher, RemoteConfig, Source};

/// Default interval between scheduled refreshes: 12 hours.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(12 * 60 * 60);
/// Default minimum interval between two kid-miss refreshes: 5 minutes.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Default connect timeout of the default HTTP client: 2 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default total timeout of one GET (connect, headers and body): 5 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a metadata or key-set response body: 1 MiB.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 1024 * 1024;

impl JwksCache {
    /// Starts the configuration of a refreshing cache.
    pub fn builder() -> JwksCacheBuilder {
        JwksCacheBuilder::default()
    }
}

/// Configures a refreshing [`JwksCache`]: one key source, then optional transport and refresh
/// settings. Invalid settings are remembered and reported by `build`.
///
/// ```no_run
/// use std::time::Duration;
/// use auth_layer::jwks::JwksCache;
///
/// # async fn run() -> Result<(), auth_layer::jwks::JwksError> {
/// let cache = JwksCache::builder()
///     .authority("https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
///     .timeout(Duration::from_secs(3))
///     .max_staleness(Duration::from_secs(7 * 24 * 60 * 60))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct JwksCacheBuilder {
    source: Option<SourceConfig>,
    expected_issuer: Option<String>,
    client: Option<reqwest::Client>,
    connect_timeout: Duration,
    timeout: Duration,
    max_response_size: usize,
    refresh_interval: Duration,
    min_refresh_interval: Duration,
    max_staleness: Option<Duration>,
    error: Option<JwksError>,
}

enum SourceConfig {
    Authority(String),
    MetadataUrl(String),
    JwksUri(String),
}

impl Default for JwksCacheBuilder {
    fn default() -> Self {
        Self {
            source: None,
            expected_issuer: None,
            client: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
            max_staleness: None,
            error: None,
        }
    }
}

impl JwksCacheBuilder {
    fn fail(mut self, error: JwksError) -> Self {
        self.error.get_or_insert(error);
        self
    }

    fn set_source(mut self, source: SourceConfig) -> Self {
        if self.source.is_some() {
            return self.fail(JwksError::Config(
                "set exactly one of authority(...), metadata_url(...) and jwks_uri(...)",
            ));
        }
        self.source = Some(source);
        self
    }

    /// Discovers the keys from an Entra-style authority `{instance}/{tenant}`, e.g.
    /// `https://login.microsoftonline.com/<tenant-id>`: metadata at
    /// `{instance}/{tenant}/v2.0/.well-known/openid-configuration`, whose `issuer` must be
    /// `{instance}/{tenant}/v2.0` (after replacing `{tenantid}` with the tenant) unless
    /// [`expected_issuer`](Self::expected_issuer) says otherwise.
    pub fn authority(self, authority: impl Into<String>) -> Self {
        self.set_source(SourceConfig::Authority(authority.into()))
    }

    /// Discovers the keys from a full OIDC metadata URL (any provider). Its `issuer` must be the
    /// URL without `/.well-known/openid-configuration` (OIDC Discovery 1.0 §4.3) unless
    /// [`expected_issuer`](Self::expected_issuer) says otherwise.
    pub fn metadata_url(self, url: impl Into<String>) -> Self {
        self.set_source(SourceConfig::MetadataUrl(url.into()))
    }

    /// Fetches the keys from this JWKS URL directly, without discovery.
    pub fn jwks_uri(self, url: impl Into<String>) -> Self {
        self.set_source(SourceConfig::JwksUri(url.into()))
    }

    /// The issuer the discovery document must name, compared byte for byte after replacing
    /// `{tenantid}` with the authority's tenant on both sides.
    pub fn expected_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.expected_issuer = Some(issuer.into());
        self
    }

    /// The HTTP client to fetch with (proxies, custom roots…). Its own timeouts and redirect
    /// policy apply, and the cache's [`timeout`](Self::timeout) bounds every GET on top. The
    /// default client uses rustls, the timeouts configured here, and follows at most five
    /// redirects, only to https (or loopback http) URLs.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Connect timeout of the default client (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Total timeout of one GET: connect, headers and body (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest accepted response body in bytes (default 1 MiB). The body is read as a stream
    /// and the read stops at the cap.
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// Interval between scheduled refreshes (default 12 h), shortened by up to 10 % jitter, and
    /// by a shorter `Cache-Control: max-age` on the key set (but never below
    /// [`min_refresh_interval`](Self::min_refresh_interval)).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Minimum interval between two refreshes triggered by unknown `kid`s (default 5 min, as
    /// Entra's guidance and Microsoft.IdentityModel use). Also the retry interval after a failed
    /// refresh and the floor for `Cache-Control: max-age` (both at least 1 s). Zero disables
    /// the kid-miss rate limit: for tests only.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// Once the last successful refresh is older than this, every validation fails closed with
    /// [`ValidationError::KeysUnavailable`](crate::ValidationError::KeysUnavailable) until a refresh succeeds (default: never).
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.max_staleness = Some(staleness);
        self
    }

    /// Builds the cache and waits for the first fetch.
    ///
    /// Must be called inside a Tokio runtime: the cache spawns its refresh task there.
    ///
    /// # Errors
    /// A configuration error, or why the first fetch failed (including
    /// [`JwksError::IssuerMismatch`] and a non-https `jwks_uri`).
    pub async fn build(self) -> Result<JwksCache, JwksError> {
        let refresher = self.into_refresher()?;
        refresher.start_initial().wait().await?;
        Ok(JwksCache::from_refresher(refresher))
    }

    /// Builds the cache without fetching: the first validation fetches (once, however many
    /// requests arrive together). A failed first fetch is logged and retried by the next
    /// request after a short backoff (1 s, doubling up to the minimum refresh interval).
    ///
    /// Must be called inside a Tokio runtime: the cache spawns its refresh task there.
    ///
    /// # Errors
    /// A configuration error (URLs, settings, no runtime); nothing is fetched.
    pub fn build_lazy(self) -> Result<JwksCache, JwksError> {
        self.into_refresher().map(JwksCache::from_refresher)
    }

    fn into_refresher(self) -> Result<Arc<Refresher>, JwksError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let source = match self.source {
            None => {
                return Err(JwksError::Config(
                    "no key source: set authority(...), metadata_url(...) or jwks_uri(...)",
                ));
            }
            Some(SourceConfig::Authority(authority)) => {
                Source::Discovery(discovery::from_authority(&authority, self.expected_issuer)?)
            }
            Some(SourceConfig::MetadataUrl(url)) => {
                Source::Discovery(discovery::from_metadata_url(&url, self.expected_issuer)?)
            }
            Some(SourceConfig::JwksUri(url)) => {
                if self.expected_issuer.is_some() {
                    return Err(JwksError::Config(
                        "expected_issuer(...) needs discovery (authority or metadata_url); \
                         with jwks_uri configure the issuer on the Validator",
                    ));
                }
                check_url(&url)?;
                Source::JwksUri(url)
            }
        };
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(JwksError::Config("timeouts must be greater than zero"));
        }
        if self.refresh_interval.is_zero() {
            return Err(JwksError::Config(
                "the refresh interval must be greater than zero",
            ));
        }
        if self.max_response_size == 0 {
            return Err(JwksError::Config(
                "the response size cap must be greater than zero",
            ));
        }
        let runtime = Handle::try_current().map_err(|_| JwksError::NoRuntime)?;
        let client = match self.client {
            Some(client) => client,
            None => fetch::default_client(self.connect_timeout, self.timeout)?,
        };
        Ok(Refresher::start(RemoteConfig {
            source,
            fetcher: Fetcher::new(
                client,
                self.timeout.min(MAX_INTERVAL),
                self.max_response_size,
            ),
            runtime,
            refresh_interval: self.refresh_interval,
            min_refresh_interval: self.min_refresh_interval,
            max_staleness: self.max_staleness,
        }))
    }
}

impl fmt::Debug for JwksCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            None => None,
            Some(
                SourceConfig::Authority(s)
                | SourceConfig::MetadataUrl(s)
                | SourceConfig::JwksUri(s),
            ) => Some(s.as_str()),
        };
        f.debug_struct("JwksCacheBuilder")
            .field("source", &source)
            .field("expected_issuer", &self.expected_issuer)
            .field("timeout", &self.timeout)
            .field("refresh_interval", &self.refresh_interval)
            .field("min_refresh_interval", &self.min_refresh_interval)
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_can_cross_threads() {
        fn send<T: Send>(_: &T) {}
        send(&JwksCache::builder());
    }

    #[test]
    fn config_errors_are_immediate() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let err = JwksCache::builder().build_lazy().unwrap_err();
        assert!(matches!(err, JwksError::Config(_)));
        let err = JwksCache::builder()
            .jwks_uri("http://example.com/keys")
            .build_lazy()
            .unwrap_err();
        assert!(matches!(err, JwksError::InvalidUrl { .. }));
        let err = JwksCache::builder()
            .authority("https://login.microsoftonline.com/common")
            .jwks_uri("https://login.microsoftonline.com/common/discovery/v2.0/keys")
            .build_lazy()
            .unwrap_err();
        assert!(matches!(err, JwksError::Config(_)));
        let ok = JwksCache::builder()
            .authority("https://login.microsoftonline.com/common")
            .build_lazy();
        assert!(ok.is_ok());
    }

    #[test]
    fn a_refreshing_cache_needs_a_runtime() {
        let err = JwksCache::builder()
            .jwks_uri("https://login.microsoftonline.com/common/discovery/v2.0/keys")
            .build_lazy()
            .unwrap_err();
        assert_eq!(err, JwksError::NoRuntime);
    }
}
