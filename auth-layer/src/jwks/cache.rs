//! The JWKS cache: fetches an identity provider's signing keys, keeps them fresh, and hands
//! the validator the current [`KeySet`] without locking. See [`JwksCache`] for the refresh
//! policy, and `docs/key-rotation.md` for why it is what it is.

use std::fmt;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::runtime::Handle;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::jwks::discovery::{self, DiscoveryConfig};
use crate::jwks::fetch::{self, Fetcher, check_url};
use crate::jwks::{KeySet, KeySetError};
use crate::{Claims, ValidationError, Validator};

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

/// Scheduled refreshes happen up to this fraction of the interval early, so replicas started
/// together do not fetch together.
const JITTER: f64 = 0.1;
/// While no key set was ever loaded, the first retry after a failed fetch waits this long,
/// doubling per failure up to the minimum refresh interval.
const BOOTSTRAP_RETRY: Duration = Duration::from_secs(1);
/// Floor of the delays the cache derives itself (after a failure, from `max-age`), so that a
/// zero minimum refresh interval or `max-age=0` cannot make the scheduler spin.
const MIN_DERIVED_DELAY: Duration = Duration::from_secs(1);
/// Durations are capped here so that `Instant + duration` cannot overflow.
const MAX_INTERVAL: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// Why a JWKS cache could not be configured, or why a fetch failed.
///
/// Each message names the URL involved and what to check. None contains a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// A configured or discovered URL may not be fetched.
    #[error("{url:?} cannot be used: {reason}")]
    InvalidUrl {
        /// The URL as configured or discovered.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The configuration is incomplete or contradictory.
    #[error("invalid JWKS cache configuration: {0}")]
    Config(&'static str),
    /// The discovery document names another issuer than the configured one.
    #[error(
        "the discovery document names issuer {discovered:?}, but {expected:?} is expected; \
         check the authority and tenant (an authority with a tenant domain name publishes its \
         tenant-id issuer: configure expected_issuer(...) for it)"
    )]
    IssuerMismatch {
        /// The expected issuer (may hold `{tenantid}`).
        expected: String,
        /// The issuer the document names.
        discovered: String,
    },
    /// The server answered with a status other than 200.
    #[error("GET {url} answered HTTP {status}; check the URL and the identity provider's status")]
    Http {
        /// The URL fetched.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// Connecting, TLS, or reading the response failed.
    #[error("GET {url} failed: {message}; check DNS, egress rules, proxy settings and TLS trust")]
    Transport {
        /// The URL fetched.
        url: String,
        /// The error and its causes.
        message: String,
    },
    /// No complete response within the timeout.
    #[error(
        "GET {url} timed out; the identity provider is slow or unreachable (see \
         JwksCacheBuilder::timeout and connect_timeout)"
    )]
    Timeout {
        /// The URL fetched.
        url: String,
    },
    /// The response body is larger than the cap.
    #[error(
        "GET {url}: the response is larger than the {limit}-byte cap; check the URL (see \
         JwksCacheBuilder::max_response_size)"
    )]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The configured cap in bytes.
        limit: usize,
    },
    /// The discovery document is not usable.
    #[error("{url} is not a usable OpenID Connect discovery document: {reason}")]
    InvalidDocument {
        /// The metadata URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The key-set document was refused by [`KeySet::from_jwks_json`].
    #[error("{url} is not a usable key set: {source}")]
    KeySet {
        /// The key-set URL.
        url: String,
        /// Why the key set was refused.
        source: KeySetError,
    },
    /// The default HTTP client could not be built.
    #[error("the default HTTP client could not be built: {message}")]
    Client {
        /// The error and its causes.
        message: String,
    },
    /// A refreshing cache was built outside a Tokio runtime.
    #[error(
        "a refreshing JWKS cache must be built inside a Tokio runtime (it spawns its refresh task)"
    )]
    NoRuntime,
    /// The fetch task ended without a result (its runtime is shutting down).
    #[error("the key-set fetch was abandoned: the Tokio runtime is shutting down")]
    Abandoned,
}

/// Counters and state of a [`JwksCache`], from [`JwksCache::stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStats {
    /// Refreshes started (initial, scheduled and kid-miss). One refresh is one key-set GET,
    /// preceded by a discovery GET for the initial and scheduled refreshes of a discovering cache.
    pub fetches_attempted: u64,
    /// Refreshes that loaded a new key set.
    pub fetches_succeeded: u64,
    /// Refreshes that failed (the previous key set was kept).
    pub fetches_failed: u64,
    /// Refreshes started because a token named an unknown `kid`.
    pub kid_miss_refreshes: u64,
    /// Unknown-`kid` misses refused without a fetch because of the rate limit.
    pub kid_miss_rate_limited: u64,
    /// Usable keys in the current key set.
    pub keys_loaded: usize,
    /// When the last successful refresh finished.
    pub last_success: Option<SystemTime>,
    /// How long ago the last successful refresh finished (`None` for a static set or before
    /// the first successful fetch).
    pub staleness: Option<Duration>,
    /// The error of the last refresh, if it failed.
    pub last_error: Option<JwksError>,
}

/// A cache of an identity provider's signing keys that [`Validator`]s verify against.
///
/// Cheap to clone (an `Arc` inside); every clone shares the keys, the counters and the
/// background refresh task, which stops when the last clone is dropped.
///
/// Microsoft Entra ID rolls its signing keys without notice, shares them across tenants, and
/// its metadata endpoint can be slow or down. The cache is built for that:
///
/// - **Sources**: OIDC discovery from an authority (`{instance}/{tenant}` →
///   `{instance}/{tenant}/v2.0/.well-known/openid-configuration` → `jwks_uri`) or a full
///   metadata URL; a direct `jwks_uri`; or a static [`KeySet`] ([`JwksCache::from_static`]).
///   A discovered `issuer` that is not the expected one, or a `jwks_uri` that is not https
///   (loopback hosts excepted), refuses the configuration.
/// - **Hot swap**: the current `Arc<KeySet>` lives in an [`arc_swap::ArcSwap`]; a validation
///   loads it without a lock. Keys are parsed once per fetch.
/// - **Scheduled refresh** every 12 hours (minus up to 10 % jitter, or sooner when the key set
///   is served with a shorter `Cache-Control: max-age`, never below the minimum refresh
///   interval), by a background task that stops when the last handle is dropped or on
///   [`JwksCache::shutdown`].
/// - **Refresh on unknown `kid`**: single-flight (every request that misses while a fetch is in
///   flight waits for that one fetch) and rate-limited (at most one kid-miss refresh per
///   [`min_refresh_interval`](JwksCacheBuilder::min_refresh_interval), 5 minutes by default,
///   counted from the previous kid-miss refresh). A miss inside the window fails fast with
///   [`ValidationError::UnknownKey`].
/// - **Last known good**: a failed fetch (network, timeout, non-200, not JSON, too large, or a
///   set [`KeySet::from_jwks_json`] refuses) keeps the previous keys and is logged at `warn`.
///   With [`max_staleness`](JwksCacheBuilder::max_staleness), validation fails closed once the
///   keys are older than that.
///
/// The refresh policy and its defaults are explained in `docs/key-rotation.md`.
///
/// ```
/// use auth_layer::Validator;
/// use auth_layer::jwks::JwksCache;
/// use auth_testkit::{TokenBuilder, ids, jwks_server::JwksServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A loopback identity provider serving discovery and the test keys.
/// let idp = JwksServer::start().await;
///
/// // In production: .authority("https://login.microsoftonline.com/<tenant-id>")
/// let cache = JwksCache::builder().authority(idp.authority(ids::TENANT_ID)).build().await?;
/// let validator = Validator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .build()?;
///
/// let token = TokenBuilder::delegated().sign();
/// let claims = cache.validate(&validator, &token).await?;
/// assert_eq!(claims.tenant_id(), Some(ids::TENANT_ID));
/// assert_eq!(cache.stats().fetches_succeeded, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

impl JwksCache {
    /// Starts the configuration of a refreshing cache.
    pub fn builder() -> JwksCacheBuilder {
        JwksCacheBuilder::default()
    }

    /// A cache over a fixed key set: never fetches, never refreshes; an unknown `kid` fails
    /// with [`ValidationError::UnknownKey`]. Needs no runtime.
    ///
    /// ```
    /// use auth_layer::jwks::JwksCache;
    /// use auth_layer::{ValidationError, Validator};
    /// use auth_testkit::{TestKey, TokenBuilder, default_keyset, ids};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let cache = JwksCache::from_static(default_keyset());
    /// let validator = Validator::builder()
    ///     .tenant_id(ids::TENANT_ID)
    ///     .client_id(ids::API_CLIENT_ID)
    ///     .build()?;
    ///
    /// assert!(cache.validate(&validator, &TokenBuilder::delegated().sign()).await.is_ok());
    /// let attacker = TokenBuilder::delegated().key(TestKey::rsa_untrusted()).sign();
    /// let refused = cache.validate_cached(&validator, &attacker);
    /// assert!(matches!(refused, Err(ValidationError::UnknownKey)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_static(keys: KeySet) -> Self {
        let (shutdown, _) = watch::channel(false);
        JwksCache {
            inner: Arc::new(Inner {
                keys: ArcSwap::from_pointee(keys),
                issuer: ArcSwapOption::empty(),
                loaded: AtomicBool::new(true),
                stale_closed: AtomicBool::new(false),
                remote: None,
                state: Mutex::new(State::new(Instant::now())),
                counters: Counters::default(),
                epoch: Instant::now(),
                last_success_nanos: AtomicU64::new(NEVER),
                wake: Arc::new(Notify::new()),
                shutdown,
            }),
        }
    }

    /// Validates `token` against the current keys; when its `kid` is unknown, refreshes the
    /// keys (single-flight, rate-limited) and tries once more.
    ///
    /// Tokens signed with a known key never wait: the keys are loaded without a lock. The
    /// first call on a [`build_lazy`](JwksCacheBuilder::build_lazy) cache waits for the first
    /// fetch (shared by every concurrent caller).
    ///
    /// # Errors
    /// The [`ValidationError`] of the validator; [`ValidationError::UnknownKey`] when the `kid`
    /// is still unknown after the refresh or the refresh was rate-limited;
    /// [`ValidationError::KeysUnavailable`] when no key set was ever loaded or the keys are older
    /// than the configured maximum staleness (fail closed).
    pub async fn validate(
        &self,
        validator: &Validator,
        token: &str,
    ) -> Result<Claims, ValidationError> {
        let inner = &self.inner;
        if let Some(flight) = inner.begin_initial() {
            // A failure was logged by the fetch.
            let _ = inner.wait(flight).await;
        }
        if !inner.loaded.load(Ordering::Acquire) || inner.too_stale() {
            return Err(ValidationError::KeysUnavailable);
        }
        match validator.validate(token, &inner.keys.load()) {
            Err(ValidationError::UnknownKey) if inner.loaded.load(Ordering::Acquire) => {}
            other => return other,
        }
        let Some(flight) = inner.begin_kid_miss() else {
            return Err(ValidationError::UnknownKey);
        };
        let _ = inner.wait(flight).await;
        validator.validate(token, &inner.keys.load())
    }

    /// Validates `token` against the current keys without ever waiting. When the `kid` is
    /// unknown, a refresh is started in the background (single-flight, rate-limited, as for
    /// [`validate`](Self::validate)) and [`ValidationError::UnknownKey`] is returned at once:
    /// a client retrying a moment later succeeds.
    ///
    /// For synchronous call sites such as a tonic interceptor.
    ///
    /// # Errors
    /// As [`validate`](Self::validate), without the second attempt.
    pub fn validate_cached(
        &self,
        validator: &Validator,
        token: &str,
    ) -> Result<Claims, ValidationError> {
        let inner = &self.inner;
        if inner.begin_initial().is_some() || !inner.loaded.load(Ordering::Acquire) {
            return Err(ValidationError::KeysUnavailable);
        }
        if inner.too_stale() {
            return Err(ValidationError::KeysUnavailable);
        }
        let result = validator.validate(token, &inner.keys.load());
        if matches!(result, Err(ValidationError::UnknownKey))
            && inner.loaded.load(Ordering::Acquire)
        {
            let _ = inner.begin_kid_miss();
        }
        result
    }

    /// Validates `token` with the keys already loaded, never waiting and never starting a
    /// fetch. `None` when the answer depends on a fetch: the keys are not loaded yet, or the
    /// `kid` is unknown and a refresh could run now (one is in flight, or the rate limit allows
    /// one); then call [`validate`](Self::validate). Tower layers use this to answer the
    /// common case without allocating a future.
    pub fn validate_now(
        &self,
        validator: &Validator,
        token: &str,
    ) -> Option<Result<Claims, ValidationError>> {
        let inner = &self.inner;
        if !inner.loaded.load(Ordering::Acquire) {
            return None;
        }
        if inner.too_stale() {
            return Some(Err(ValidationError::KeysUnavailable));
        }
        match validator.validate(token, &inner.keys.load()) {
            Err(ValidationError::UnknownKey) if inner.kid_miss_refresh_possible() => None,
            other => Some(other),
        }
    }

    /// Whether validation can use the keys now: a key set was loaded and it is not older than
    /// the configured [`max_staleness`](JwksCacheBuilder::max_staleness). A readiness probe
    /// reads this; it never waits and never fetches.
    pub fn is_ready(&self) -> bool {
        self.inner.loaded.load(Ordering::Acquire) && !self.inner.too_stale()
    }

    /// Loads the keys when none were ever loaded, joining the fetch in flight or starting one
    /// (unless the bootstrap backoff after a failure is running). `Ok` once a key set is
    /// loaded; a service calls it in a loop with its own backoff so that it starts even while
    /// the identity provider is unreachable, and becomes ready when it answers.
    ///
    /// # Errors
    /// The fetch failed, or the bootstrap backoff is running ([`JwksError::Timeout`] names the
    /// source URL then too).
    pub async fn load(&self) -> Result<(), JwksError> {
        let inner = &self.inner;
        if let Some(flight) = inner.begin_initial() {
            inner.wait(flight).await?;
        }
        if inner.loaded.load(Ordering::Acquire) {
            return Ok(());
        }
        let st = inner.lock();
        Err(st.last_error.clone().unwrap_or_else(|| JwksError::Timeout {
            url: inner
                .remote
                .as_ref()
                .map(|r| r.source_url().to_owned())
                .unwrap_or_default(),
        }))
    }

    /// The current key set (empty before the first successful fetch of a lazy cache).
    pub fn keys(&self) -> Arc<KeySet> {
        self.inner.keys.load_full()
    }

    /// The issuer named by the discovery document, as published (Entra's multi-tenant
    /// documents publish a `{tenantid}` template). `None` without discovery or before the
    /// first successful discovery.
    pub fn issuer(&self) -> Option<String> {
        self.inner
            .issuer
            .load_full()
            .map(|issuer| String::clone(&issuer))
    }

    /// Counters and state, for health checks and metrics.
    pub fn stats(&self) -> JwksStats {
        let inner = &self.inner;
        let (last_success, last_error) = {
            let st = inner.lock();
            (st.last_success, st.last_error.clone())
        };
        let c = &inner.counters;
        JwksStats {
            fetches_attempted: c.attempted.load(Ordering::Relaxed),
            fetches_succeeded: c.succeeded.load(Ordering::Relaxed),
            fetches_failed: c.failed.load(Ordering::Relaxed),
            kid_miss_refreshes: c.kid_miss.load(Ordering::Relaxed),
            kid_miss_rate_limited: c.rate_limited.load(Ordering::Relaxed),
            keys_loaded: inner.keys.load().len(),
            last_success,
            staleness: inner.staleness(Instant::now()),
            last_error,
        }
    }

    /// Stops the scheduled refresh task now, rather than when the last clone is dropped. The
    /// cache keeps serving its keys, and unknown-`kid` refreshes still happen.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let source = inner.remote.as_ref().map_or("static", Remote::source_url);
        f.debug_struct("JwksCache")
            .field("source", &source)
            .field("keys", &inner.keys.load().len())
            .field("loaded", &inner.loaded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
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
    /// [`ValidationError::KeysUnavailable`] until a refresh succeeds (default: never).
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
        let cache = self.into_cache()?;
        let flight = {
            let mut st = cache.inner.lock();
            cache.inner.start_flight(&mut st, Trigger::Initial)
        };
        cache.inner.wait(flight).await?;
        Ok(cache)
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
        self.into_cache()
    }

    fn into_cache(self) -> Result<JwksCache, JwksError> {
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
        let now = Instant::now();
        let refresh_interval = self.refresh_interval.min(MAX_INTERVAL);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let inner = Arc::new(Inner {
            keys: ArcSwap::from_pointee(KeySet::empty()),
            issuer: ArcSwapOption::empty(),
            loaded: AtomicBool::new(false),
            stale_closed: AtomicBool::new(false),
            remote: Some(Remote {
                source,
                fetcher: Fetcher::new(
                    client,
                    self.timeout.min(MAX_INTERVAL),
                    self.max_response_size,
                ),
                runtime: runtime.clone(),
                refresh_interval,
                min_refresh_interval: self.min_refresh_interval.min(MAX_INTERVAL),
                max_staleness: self.max_staleness,
            }),
            state: Mutex::new(State::new(now + refresh_interval)),
            counters: Counters::default(),
            epoch: now,
            last_success_nanos: AtomicU64::new(NEVER),
            wake: Arc::new(Notify::new()),
            shutdown,
        });
        runtime.spawn(scheduler(
            Arc::downgrade(&inner),
            shutdown_rx,
            Arc::clone(&inner.wake),
        ));
        Ok(JwksCache { inner })
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

/// `last_success_nanos` before any success.
const NEVER: u64 = u64::MAX;

/// The outcome a flight publishes: `None` while in flight.
type Outcome = Option<Result<(), JwksError>>;

/// What started a fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    Initial,
    Scheduled,
    KidMiss,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Initial => "initial",
            Trigger::Scheduled => "scheduled",
            Trigger::KidMiss => "kid_miss",
        }
    }
}

enum Source {
    Discovery(DiscoveryConfig),
    JwksUri(String),
}

struct Remote {
    source: Source,
    fetcher: Fetcher,
    runtime: Handle,
    refresh_interval: Duration,
    min_refresh_interval: Duration,
    max_staleness: Option<Duration>,
}

impl Remote {
    /// The delay before the next scheduled refresh after a success.
    fn interval_after_success(&self, max_age: Option<Duration>) -> Duration {
        match max_age {
            Some(age) if age < self.refresh_interval => age
                .max(self.min_refresh_interval)
                .max(MIN_DERIVED_DELAY)
                .min(self.refresh_interval),
            _ => self.refresh_interval,
        }
    }

    /// The delay before the next scheduled refresh after a failure.
    fn retry_interval(&self) -> Duration {
        self.min_refresh_interval
            .min(self.refresh_interval)
            .max(MIN_DERIVED_DELAY)
    }

    /// How long the first request waits after `failures` failed initial fetches.
    fn bootstrap_backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        BOOTSTRAP_RETRY
            .saturating_mul(1 << doublings)
            .min(self.min_refresh_interval)
    }

    /// The configured metadata or key-set URL, for messages.
    fn source_url(&self) -> &str {
        match &self.source {
            Source::Discovery(d) => &d.metadata_url,
            Source::JwksUri(uri) => uri,
        }
    }

    /// A bound on one refresh: a discovery GET and a key-set GET, plus slack.
    fn flight_limit(&self) -> Duration {
        self.fetcher
            .timeout()
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(1))
    }
}

#[derive(Default)]
struct Counters {
    attempted: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    kid_miss: AtomicU64,
    rate_limited: AtomicU64,
}

/// Refresh bookkeeping, behind a std `Mutex` that is never held across an `.await`.
struct State {
    /// The fetch in flight, if any: joiners clone the receiver.
    flight: Option<watch::Receiver<Outcome>>,
    /// The `jwks_uri` discovery last gave.
    jwks_uri: Option<String>,
    /// When the last kid-miss refresh started: the rate-limit window runs from here.
    last_miss_refresh: Option<Instant>,
    /// Failed fetches since the last success while nothing was ever loaded.
    bootstrap_failures: u32,
    /// When the last failed fetch finished.
    last_failure: Option<Instant>,
    next_refresh_at: Instant,
    last_success: Option<SystemTime>,
    last_error: Option<JwksError>,
}

impl State {
    fn new(next_refresh_at: Instant) -> Self {
        Self {
            flight: None,
            jwks_uri: None,
            last_miss_refresh: None,
            bootstrap_failures: 0,
            last_failure: None,
            next_refresh_at,
            last_success: None,
            last_error: None,
        }
    }

    /// The flight in progress, forgetting one whose task died without publishing.
    fn live_flight(&mut self) -> Option<watch::Receiver<Outcome>> {
        match &self.flight {
            Some(rx) if rx.has_changed().is_ok() => Some(rx.clone()),
            Some(_) => {
                self.flight = None;
                None
            }
            None => None,
        }
    }
}

struct Inner {
    keys: ArcSwap<KeySet>,
    issuer: ArcSwapOption<String>,
    /// Whether a key set was ever loaded (always for a static cache).
    loaded: AtomicBool,
    /// Whether "fails closed: too stale" was logged since the last success.
    stale_closed: AtomicBool,
    /// `None` for a static cache.
    remote: Option<Remote>,
    state: Mutex<State>,
    counters: Counters,
    /// The origin of `last_success_nanos`.
    epoch: Instant,
    /// Nanoseconds from `epoch` to the end of the last success, or [`NEVER`].
    last_success_nanos: AtomicU64,
    /// Wakes the scheduler when the next refresh time changes.
    wake: Arc<Notify>,
    /// `true` stops the scheduler; dropping it (with `Inner`) stops it too.
    shutdown: watch::Sender<bool>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn staleness(&self, now: Instant) -> Option<Duration> {
        self.remote.as_ref()?;
        let nanos = self.last_success_nanos.load(Ordering::Acquire);
        if nanos == NEVER {
            return None;
        }
        Some(now.saturating_duration_since(self.epoch + Duration::from_nanos(nanos)))
    }

    /// Whether the keys are older than the maximum staleness (logged once per episode).
    fn too_stale(&self) -> bool {
        let Some(max) = self.remote.as_ref().and_then(|r| r.max_staleness) else {
            return false;
        };
        let Some(staleness) = self.staleness(Instant::now()) else {
            return false;
        };
        if staleness <= max {
            return false;
        }
        if !self.stale_closed.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                staleness_secs = staleness.as_secs(),
                max_staleness_secs = max.as_secs(),
                "the signing keys are older than max_staleness: validation fails closed until a \
                 refresh succeeds"
            );
        }
        true
    }

    /// While nothing was ever loaded: the flight to wait for (joined or started), unless the
    /// bootstrap backoff after a failure is running. `None` once loaded.
    fn begin_initial(self: &Arc<Self>) -> Option<watch::Receiver<Outcome>> {
        if self.loaded.load(Ordering::Acquire) {
            return None;
        }
        let remote = self.remote.as_ref()?;
        let mut st = self.lock();
        if self.loaded.load(Ordering::Acquire) {
            return None;
        }
        if let Some(flight) = st.live_flight() {
            return Some(flight);
        }
        let now = Instant::now();
        if let Some(failed) = st.last_failure
            && now.saturating_duration_since(failed)
                < remote.bootstrap_backoff(st.bootstrap_failures)
        {
            return None;
        }
        Some(self.start_flight(&mut st, Trigger::Initial))
    }

    /// Whether [`begin_kid_miss`](Self::begin_kid_miss) would join or start a flight now.
    fn kid_miss_refresh_possible(&self) -> bool {
        let Some(remote) = self.remote.as_ref() else {
            return false;
        };
        let mut st = self.lock();
        if st.live_flight().is_some() {
            return true;
        }
        st.last_miss_refresh.is_none_or(|last| {
            Instant::now().saturating_duration_since(last) >= remote.min_refresh_interval
        })
    }

    /// After an unknown `kid`: the flight to wait for (joined or started), or `None` when the
    /// rate limit refuses a new one.
    fn begin_kid_miss(self: &Arc<Self>) -> Option<watch::Receiver<Outcome>> {
        let remote = self.remote.as_ref()?;
        let mut st = self.lock();
        if let Some(flight) = st.live_flight() {
            return Some(flight);
        }
        let now = Instant::now();
        if let Some(last) = st.last_miss_refresh
            && now.saturating_duration_since(last) < remote.min_refresh_interval
        {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        st.last_miss_refresh = Some(now);
        self.counters.kid_miss.fetch_add(1, Ordering::Relaxed);
        Some(self.start_flight(&mut st, Trigger::KidMiss))
    }

    /// Starts a fetch on the cache's runtime (so it completes even if the caller gives up) and
    /// records it as the flight in progress. Caller holds the state lock and checked that no
    /// flight is live.
    fn start_flight(
        self: &Arc<Self>,
        st: &mut State,
        trigger: Trigger,
    ) -> watch::Receiver<Outcome> {
        let (tx, rx) = watch::channel(None);
        let Some(remote) = &self.remote else {
            // A static cache never fetches: publish at once.
            tx.send_replace(Some(Ok(())));
            return rx;
        };
        st.flight = Some(rx.clone());
        self.counters.attempted.fetch_add(1, Ordering::Relaxed);
        let inner = Arc::clone(self);
        remote
            .runtime
            .spawn(async move { inner.run_flight(trigger, tx).await });
        rx
    }

    /// Waits for a flight's outcome, bounded by the fetch timeouts.
    async fn wait(&self, flight: watch::Receiver<Outcome>) -> Result<(), JwksError> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        wait_outcome(flight, remote.flight_limit())
            .await
            .unwrap_or_else(|| {
                Err(JwksError::Timeout {
                    url: remote.source_url().to_owned(),
                })
            })
    }

    async fn run_flight(self: Arc<Self>, trigger: Trigger, tx: watch::Sender<Outcome>) {
        let Some(remote) = &self.remote else {
            return;
        };
        let result = self.fetch(remote, trigger).await;
        let outcome = self.finish(remote, trigger, result);
        self.wake.notify_one();
        tx.send_replace(Some(outcome));
    }

    /// One refresh: discovery when needed (first fetch, and every scheduled refresh), then the
    /// key set.
    async fn fetch(&self, remote: &Remote, trigger: Trigger) -> Result<Loaded, JwksError> {
        let jwks_uri = match &remote.source {
            Source::JwksUri(uri) => uri.clone(),
            Source::Discovery(config) => {
                let cached = self.lock().jwks_uri.clone();
                match cached {
                    Some(uri) if trigger != Trigger::Scheduled => uri,
                    cached => match self.discover(remote, config, trigger).await {
                        Ok(uri) => uri,
                        // A transient metadata failure on a scheduled refresh: the known
                        // jwks_uri still serves the keys. Refusals (issuer, URL) are final.
                        Err(
                            error @ (JwksError::Http { .. }
                            | JwksError::Transport { .. }
                            | JwksError::Timeout { .. }),
                        ) if cached.is_some() => {
                            tracing::warn!(
                                error = %error,
                                "OIDC discovery failed; refreshing the keys from the known jwks_uri"
                            );
                            cached.unwrap_or_default()
                        }
                        Err(error) => return Err(error),
                    },
                }
            }
        };
        let span = tracing::info_span!("jwks_fetch", url = %jwks_uri, trigger = trigger.as_str());
        let document = remote.fetcher.get(&jwks_uri).instrument(span).await?;
        let keys = KeySet::from_jwks_json(&document.body).map_err(|source| JwksError::KeySet {
            url: jwks_uri.clone(),
            source,
        })?;
        Ok(Loaded {
            keys,
            max_age: document.max_age,
            url: jwks_uri,
        })
    }

    async fn discover(
        &self,
        remote: &Remote,
        config: &DiscoveryConfig,
        trigger: Trigger,
    ) -> Result<String, JwksError> {
        let url = &config.metadata_url;
        let span = tracing::info_span!("jwks_fetch", url = %url, trigger = trigger.as_str());
        let document = remote.fetcher.get(url).instrument(span).await?;
        let discovered = config.parse(&document.body)?;
        self.issuer.store(Some(Arc::new(discovered.issuer)));
        self.lock().jwks_uri = Some(discovered.jwks_uri.clone());
        Ok(discovered.jwks_uri)
    }

    /// Publishes a fetch's result: swaps in the new keys or keeps the last good ones, updates
    /// the counters and the schedule, clears the flight, logs.
    fn finish(
        &self,
        remote: &Remote,
        trigger: Trigger,
        result: Result<Loaded, JwksError>,
    ) -> Result<(), JwksError> {
        let now = Instant::now();
        let mut st = self.lock();
        st.flight = None;
        match result {
            Ok(Loaded { keys, max_age, url }) => {
                let count = keys.len();
                for dropped in keys.dropped() {
                    tracing::info!(url = %url, kid = ?dropped.kid, reason = %dropped.reason, "signing key left out of the key set");
                }
                self.keys.store(Arc::new(keys));
                self.loaded.store(true, Ordering::Release);
                self.stale_closed.store(false, Ordering::Relaxed);
                let nanos = u64::try_from(now.saturating_duration_since(self.epoch).as_nanos())
                    .unwrap_or(NEVER - 1);
                self.last_success_nanos.store(nanos, Ordering::Release);
                st.last_success = Some(SystemTime::now());
                st.last_error = None;
                st.bootstrap_failures = 0;
                st.last_failure = None;
                let interval = jitter(remote.interval_after_success(max_age));
                st.next_refresh_at = now + interval;
                drop(st);
                self.counters.succeeded.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    url = %url,
                    keys = count,
                    trigger = trigger.as_str(),
                    next_refresh_secs = interval.as_secs(),
                    "signing keys loaded"
                );
                Ok(())
            }
            Err(error) => {
                st.last_error = Some(error.clone());
                st.last_failure = Some(now);
                if !self.loaded.load(Ordering::Acquire) {
                    st.bootstrap_failures = st.bootstrap_failures.saturating_add(1);
                }
                let retry = jitter(remote.retry_interval());
                st.next_refresh_at = st.next_refresh_at.min(now + retry);
                drop(st);
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                let staleness = self.staleness(now).map(|s| s.as_secs());
                tracing::warn!(
                    error = %error,
                    trigger = trigger.as_str(),
                    staleness_secs = ?staleness,
                    retry_secs = retry.as_secs(),
                    "signing-key refresh failed; keeping the last known good key set"
                );
                Err(error)
            }
        }
    }
}

/// A key set fetched and parsed.
struct Loaded {
    keys: KeySet,
    max_age: Option<Duration>,
    url: String,
}

/// Waits for a flight's outcome; `None` when `limit` passes first.
async fn wait_outcome(
    mut flight: watch::Receiver<Outcome>,
    limit: Duration,
) -> Option<Result<(), JwksError>> {
    match tokio::time::timeout(limit, flight.wait_for(Option::is_some)).await {
        Ok(Ok(outcome)) => Some(outcome.clone().unwrap_or(Err(JwksError::Abandoned))),
        Ok(Err(_closed)) => Some(Err(JwksError::Abandoned)),
        Err(_elapsed) => None,
    }
}

/// The scheduled-refresh task. Holds only a `Weak`, so the cache is dropped with its last
/// handle; then (or on `shutdown()`) the task ends.
async fn scheduler(weak: Weak<Inner>, mut shutdown: watch::Receiver<bool>, wake: Arc<Notify>) {
    loop {
        let deadline = match weak.upgrade() {
            Some(inner) => inner.lock().next_refresh_at,
            None => return,
        };
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            () = wake.notified() => continue,
            () = tokio::time::sleep_until(deadline) => {}
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let (flight, limit) = {
            let mut st = inner.lock();
            if Instant::now() < st.next_refresh_at {
                continue;
            }
            let flight = match st.live_flight() {
                Some(flight) => flight,
                None => inner.start_flight(&mut st, Trigger::Scheduled),
            };
            (
                flight,
                inner
                    .remote
                    .as_ref()
                    .map_or(Duration::ZERO, Remote::flight_limit),
            )
        };
        drop(inner);
        // The outcome was logged by the flight.
        let _ = wait_outcome(flight, limit).await;
    }
}

/// `interval` shortened by a random fraction of up to [`JITTER`].
fn jitter(interval: Duration) -> Duration {
    // `RandomState` is randomly keyed per instance: enough randomness to spread replicas.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let unit = (random >> 11) as f64 / (1u64 << 53) as f64;
    Duration::try_from_secs_f64(interval.as_secs_f64() * (1.0 - JITTER * unit))
        .unwrap_or(interval)
        .min(MAX_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_and_its_futures_can_cross_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let cache = JwksCache::from_static(KeySet::empty());
        send_sync(&cache);
        send(&JwksCache::builder());
        let validator = Validator::builder()
            .issuer("https://idp.example")
            .audience("api")
            .build()
            .unwrap();
        let future = cache.validate(&validator, "token");
        send(&future);
    }

    #[test]
    fn jitter_only_shortens_by_up_to_ten_percent() {
        let base = Duration::from_secs(1000);
        for _ in 0..100 {
            let d = jitter(base);
            assert!(d <= base && d >= Duration::from_secs(900), "{d:?}");
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
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

    #[test]
    fn max_age_shortens_the_schedule_within_bounds() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let cache = JwksCache::builder()
            .jwks_uri("https://idp.example/keys")
            .refresh_interval(Duration::from_secs(3600))
            .min_refresh_interval(Duration::from_secs(300))
            .build_lazy()
            .unwrap();
        let remote = cache.inner.remote.as_ref().unwrap();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            remote.interval_after_success(None),
            Duration::from_secs(3600)
        );
        assert_eq!(
            remote.interval_after_success(secs(86400)),
            Duration::from_secs(3600)
        );
        assert_eq!(
            remote.interval_after_success(secs(600)),
            Duration::from_secs(600)
        );
        assert_eq!(
            remote.interval_after_success(secs(0)),
            Duration::from_secs(300)
        );
        assert_eq!(remote.bootstrap_backoff(1), Duration::from_secs(1));
        assert_eq!(remote.bootstrap_backoff(4), Duration::from_secs(8));
        assert_eq!(remote.bootstrap_backoff(40), Duration::from_secs(300));
    }
}
