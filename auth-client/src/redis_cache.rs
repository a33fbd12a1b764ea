//! A two-level [`TokenCache`]: the in-memory cache (L1) in front of Redis (L2), so replicas
//! share app and On-Behalf-Of tokens and keep them across deploys. Feature `redis`.
//!
//! - **L1 first**: a fresh L1 entry is served without touching Redis. Redis is read on an L1
//!   miss, or when the L1 entry is past `expiry_margin` / its `refresh_in` (another replica may
//!   already hold the renewed token); what Redis returns is copied into L1.
//! - **Entries** live in Redis until the token's expiry minus `expiry_margin` (`SET … PX`), under
//!   `{prefix}{CacheKey::as_str()}`: never a token (On-Behalf-Of keys hold the SHA-256 of the
//!   inbound token).
//! - **Encryption**: AES-256-GCM (aws-lc-rs, random 96-bit nonce per write), with the Redis key
//!   as associated data so an entry cannot be moved to another key. Value: `0x01 ‖ nonce ‖
//!   ciphertext ‖ tag`. Without a key, `allow_unencrypted()` must be called explicitly.
//! - **Outages**: every Redis operation is bounded by `timeout`; a failure marks Redis down for
//!   `retry_interval` (operations skip it: L1 + the token endpoint), is logged at `warn` at most
//!   once per `warn_interval`, and the next operation after the interval reconnects. `get` and
//!   `set` never fail because of Redis; `remove` reports that the entry may survive in Redis.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, FromRedisValue};
use tracing::{debug, info, warn};

use crate::cache::{
    BoxFuture, CacheError, CacheKey, CachedToken, DEFAULT_CACHE_CAPACITY, InMemoryTokenCache,
    TokenCache,
};
use crate::client::DEFAULT_EXPIRY_MARGIN;
use crate::sync::lock;

/// Default bound of one Redis operation (connecting included): 200 ms.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(200);
/// Default namespace of the Redis keys: `tower-entra:`.
pub const DEFAULT_REDIS_KEY_PREFIX: &str = "tower-entra:";
/// Default time Redis is left alone after a failure before it is tried again: 1 second.
pub const DEFAULT_REDIS_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Default minimum time between two "Redis unavailable" warnings: 60 seconds.
pub const DEFAULT_REDIS_WARN_INTERVAL: Duration = Duration::from_secs(60);

/// First byte of an encrypted value (format version 1: AES-256-GCM).
const SEALED_V1: u8 = 1;
const TAG_LEN: usize = 16;

/// A [`TokenCache`] keeping tokens in memory (L1) and in Redis (L2), shared by every replica
/// pointing at the same Redis and prefix. Cheap to clone (an `Arc` inside): keep a clone for
/// [`stats`](Self::stats) and give one to the client.
///
/// Building it does not connect: the first operation does, and a Redis that is down at startup
/// only costs token requests until it is back. Use the same `expiry_margin` as the client's
/// (both default to 5 minutes).
///
/// ```no_run
/// use auth_client::{ConfidentialClient, RedisTokenCache};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // 32 bytes from your secret store (e.g. Key Vault), the same on every replica.
/// let key: [u8; 32] = *b"an-application-supplied-32B-key!";
/// let cache = RedisTokenCache::builder("redis://redis.internal:6379/0")
///     .key_prefix("orders-api:")
///     .encryption_key(key)
///     .build()?;
/// let client = ConfidentialClient::builder()
///     .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com")
///     .client_id("00000000-0000-0000-0000-000000000001")
///     .client_secret("…")
///     .cache(cache.clone())
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisTokenCache {
    shared: Arc<Shared>,
}

struct Shared {
    l1: InMemoryTokenCache,
    client: redis::Client,
    /// `host:port/db`, for logs (never the password).
    target: String,
    prefix: String,
    cipher: Option<Cipher>,
    timeout: Duration,
    expiry_margin: Duration,
    retry_interval: Duration,
    warn_interval: Duration,
    /// The open connection (multiplexed: every operation uses a clone of it).
    connection: Mutex<Option<MultiplexedConnection>>,
    /// Held while connecting, so one caller connects and the others wait for it.
    connecting: tokio::sync::Mutex<()>,
    health: Mutex<Health>,
    counters: Counters,
}

#[derive(Default)]
struct Health {
    /// Redis is skipped until then.
    down_until: Option<Instant>,
    /// The last operation failed (recovery is logged once).
    failing: bool,
    last_warn: Option<Instant>,
    /// Failures not logged since the last warning.
    suppressed: u64,
}

#[derive(Default)]
struct Counters {
    l1_hits: AtomicU64,
    l2_hits: AtomicU64,
    misses: AtomicU64,
    l2_writes: AtomicU64,
    l2_failures: AtomicU64,
    l2_skipped: AtomicU64,
    rejected: AtomicU64,
}

/// Counters of a [`RedisTokenCache`], for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisCacheStats {
    /// `get`s answered by the in-memory cache without touching Redis.
    pub l1_hits: u64,
    /// `get`s answered by Redis (the entry is then copied into memory).
    pub l2_hits: u64,
    /// `get`s that found nothing in either level.
    pub misses: u64,
    /// Entries written to Redis.
    pub l2_writes: u64,
    /// Redis operations that failed or timed out.
    pub l2_failures: u64,
    /// Redis operations skipped because Redis failed less than `retry_interval` ago.
    pub l2_skipped: u64,
    /// Redis values refused: not decryptable with the configured keys (other key, tampered,
    /// moved to another key) or not an entry.
    pub rejected: u64,
}

/// Why a [`RedisTokenCache`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisCacheBuildError {
    /// The Redis URL is not one the `redis` crate accepts (`redis://[[user]:password@]host[:port][/db]`,
    /// `redis+unix:///path`).
    #[error("invalid Redis URL: {0}")]
    Url(String),
    /// Neither an encryption key nor `allow_unencrypted()`.
    #[error(
        "no encryption key for the Redis token cache: give a 32-byte key (encryption_key) or \
         call allow_unencrypted() to store tokens in Redis in clear"
    )]
    NoEncryptionKey,
    /// Both an encryption key and `allow_unencrypted()`.
    #[error("encryption_key and allow_unencrypted() exclude each other")]
    KeyAndUnencrypted,
    /// An encryption key that is not 32 bytes.
    #[error("a Redis token cache encryption key must be 32 bytes (AES-256-GCM), not {0}")]
    KeyLength(usize),
    /// A zero timeout.
    #[error("the Redis timeout must be more than zero")]
    ZeroTimeout,
    /// A `rediss://` URL asking to skip certificate verification (`#insecure`).
    #[error(
        "the Redis URL disables TLS certificate verification (#insecure): remove it, and give \
         the server's CA with tls_root_certificates() if it is not publicly trusted"
    )]
    InsecureTls,
    /// Root certificates for a URL that is not `rediss://`.
    #[error(
        "tls_root_certificates() needs a rediss:// URL (TLS; Azure Cache for Redis: port 6380)"
    )]
    RootCertificatesWithoutTls,
}

/// Builds a [`RedisTokenCache`]: [`RedisTokenCache::builder`].
#[must_use]
pub struct RedisTokenCacheBuilder {
    url: String,
    prefix: String,
    key: Option<Vec<u8>>,
    previous_keys: Vec<Vec<u8>>,
    allow_unencrypted: bool,
    timeout: Duration,
    expiry_margin: Duration,
    retry_interval: Duration,
    warn_interval: Duration,
    l1_capacity: usize,
    tls_roots: Option<Vec<u8>>,
}

impl fmt::Debug for RedisTokenCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenCacheBuilder")
            .field("prefix", &self.prefix)
            .field("encrypted", &self.key.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisTokenCacheBuilder {
    /// Namespace of the Redis keys (default [`DEFAULT_REDIS_KEY_PREFIX`]); replicas sharing
    /// tokens must use the same one.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Encrypts values with AES-256-GCM under this 32-byte key (the same on every replica).
    pub fn encryption_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.key = Some(key.as_ref().to_vec());
        self
    }

    /// A former key, still accepted when reading (key rotation); repeatable. Values are always
    /// written with [`encryption_key`](Self::encryption_key).
    pub fn previous_encryption_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.previous_keys.push(key.as_ref().to_vec());
        self
    }

    /// Stores tokens in Redis **in clear** (JSON): anyone who can read Redis, or its backups
    /// and replication traffic, can then use them. Only for a Redis as private as the process
    /// memory; required when no encryption key is given.
    pub fn allow_unencrypted(mut self) -> Self {
        self.allow_unencrypted = true;
        self
    }

    /// Bound of each Redis operation, connecting included (default
    /// [`DEFAULT_REDIS_TIMEOUT`]); past it the operation counts as a failure.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Entries are kept in Redis until their token's expiry minus this (default 5 minutes, as
    /// the client's [`expiry_margin`](crate::ConfidentialClientBuilder::expiry_margin): use
    /// the same value).
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// After a failure, Redis is skipped for this long, then tried again (default
    /// [`DEFAULT_REDIS_RETRY_INTERVAL`]).
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// At most one "Redis unavailable" warning per this interval (default
    /// [`DEFAULT_REDIS_WARN_INTERVAL`]); the next one says how many failures were not logged.
    pub fn warn_interval(mut self, interval: Duration) -> Self {
        self.warn_interval = interval;
        self
    }

    /// Capacity of the in-memory level, in entries (default 10,000).
    pub fn l1_capacity(mut self, entries: usize) -> Self {
        self.l1_capacity = entries;
        self
    }

    /// Trusts the CA certificates in `pem` (one or more PEM blocks) for a `rediss://` URL,
    /// instead of the system's roots.
    ///
    /// Azure Cache for Redis serves TLS only, on port 6380, with a publicly trusted
    /// certificate: `rediss://:{access key}@{name}.redis.cache.windows.net:6380` works with the
    /// system roots and needs no call to this. A private CA, or a local `redis-server` with
    /// `tls-port`, does. Verification is never skipped: a URL with `#insecure` is refused.
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots = Some(pem.into());
        self
    }

    /// The cache. Does not connect.
    ///
    /// # Errors
    /// A URL the `redis` crate refuses, a key that is not 32 bytes, no key without
    /// `allow_unencrypted()`, both, or a zero timeout.
    pub fn build(self) -> Result<RedisTokenCache, RedisCacheBuildError> {
        if self.url.contains("#insecure") {
            return Err(RedisCacheBuildError::InsecureTls);
        }
        if self.url.starts_with("rediss://") {
            ensure_crypto_provider();
        }
        let client = match self.tls_roots {
            None => redis::Client::open(self.url.as_str()),
            Some(_) if !self.url.starts_with("rediss://") => {
                return Err(RedisCacheBuildError::RootCertificatesWithoutTls);
            }
            Some(ref pem) => redis::Client::build_with_tls(
                self.url.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
        }
        .map_err(|e| RedisCacheBuildError::Url(e.to_string()))?;
        let info = client.get_connection_info();
        let target = format!("{}/{}", info.addr(), info.redis_settings().db());
        let cipher = match (self.key, self.allow_unencrypted) {
            (Some(_), true) => return Err(RedisCacheBuildError::KeyAndUnencrypted),
            (None, false) => return Err(RedisCacheBuildError::NoEncryptionKey),
            (None, true) => None,
            (Some(key), false) => Some(Cipher {
                current: aead_key(&key)?,
                previous: self
                    .previous_keys
                    .iter()
                    .map(|k| aead_key(k))
                    .collect::<Result<_, _>>()?,
            }),
        };
        if self.timeout.is_zero() {
            return Err(RedisCacheBuildError::ZeroTimeout);
        }
        Ok(RedisTokenCache {
            shared: Arc::new(Shared {
                l1: InMemoryTokenCache::new(self.l1_capacity),
                client,
                target,
                prefix: self.prefix,
                cipher,
                timeout: self.timeout,
                expiry_margin: self.expiry_margin,
                retry_interval: self.retry_interval,
                warn_interval: self.warn_interval,
                connection: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                health: Mutex::new(Health::default()),
                counters: Counters::default(),
            }),
        })
    }
}

/// The `redis` crate's TLS connector asks rustls for the process-wide crypto provider, which
/// rustls can only guess when exactly one of its backends is compiled in; a dependency tree with
/// both (`ring` through another crate) would make the first TLS connection panic. So, when the
/// application has installed none, install aws-lc-rs — the backend this workspace uses
/// everywhere. An application's own choice, made before, is kept.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only when another thread installed one in between: that one is kept.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

fn aead_key(key: &[u8]) -> Result<RandomizedNonceKey, RedisCacheBuildError> {
    if key.len() != AES_256_GCM.key_len() {
        return Err(RedisCacheBuildError::KeyLength(key.len()));
    }
    RandomizedNonceKey::new(&AES_256_GCM, key)
        .map_err(|_| RedisCacheBuildError::KeyLength(key.len()))
}

struct Cipher {
    current: RandomizedNonceKey,
    previous: Vec<RandomizedNonceKey>,
}

impl Cipher {
    /// `0x01 ‖ nonce ‖ ciphertext ‖ tag`, the Redis key as associated data.
    fn seal(&self, redis_key: &str, mut plaintext: Vec<u8>) -> Option<Vec<u8>> {
        let nonce = self
            .current
            .seal_in_place_append_tag(Aad::from(redis_key.as_bytes()), &mut plaintext)
            .ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len());
        out.push(SEALED_V1);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&plaintext);
        Some(out)
    }

    fn open(&self, redis_key: &str, value: &[u8]) -> Option<Vec<u8>> {
        if value.len() < 1 + NONCE_LEN + TAG_LEN || value[0] != SEALED_V1 {
            return None;
        }
        let (nonce, sealed) = value[1..].split_at(NONCE_LEN);
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find_map(|key| {
                let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
                let mut buffer = sealed.to_vec();
                let len = key
                    .open_in_place(nonce, Aad::from(redis_key.as_bytes()), &mut buffer)
                    .ok()?
                    .len();
                buffer.truncate(len);
                Some(buffer)
            })
    }
}

/// Why a Redis operation did not happen.
enum Outage {
    /// Redis failed less than `retry_interval` ago.
    Skipped,
    /// This operation failed or timed out.
    Failed,
}

impl RedisTokenCache {
    /// A builder for a cache on the Redis at `url` (`redis://[[user]:password@]host[:port][/db]`).
    /// `rediss://` (TLS) needs the `redis` crate's `tokio-rustls-comp` feature, which this crate
    /// does not enable: see docs/redis-cache.md.
    pub fn builder(url: impl Into<String>) -> RedisTokenCacheBuilder {
        RedisTokenCacheBuilder {
            url: url.into(),
            prefix: DEFAULT_REDIS_KEY_PREFIX.to_owned(),
            key: None,
            previous_keys: Vec::new(),
            allow_unencrypted: false,
            timeout: DEFAULT_REDIS_TIMEOUT,
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
            retry_interval: DEFAULT_REDIS_RETRY_INTERVAL,
            warn_interval: DEFAULT_REDIS_WARN_INTERVAL,
            l1_capacity: DEFAULT_CACHE_CAPACITY,
            tls_roots: None,
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> RedisCacheStats {
        let c = &self.shared.counters;
        RedisCacheStats {
            l1_hits: c.l1_hits.load(Ordering::Relaxed),
            l2_hits: c.l2_hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            l2_writes: c.l2_writes.load(Ordering::Relaxed),
            l2_failures: c.l2_failures.load(Ordering::Relaxed),
            l2_skipped: c.l2_skipped.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
        }
    }

    /// The Redis key of `key`: the prefix, then [`CacheKey::as_str`].
    pub fn redis_key(&self, key: &CacheKey) -> String {
        self.shared.redis_key(key)
    }

    /// Whether values are encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.shared.cipher.is_some()
    }

    /// Entries in the in-memory level.
    pub fn l1_len(&self) -> usize {
        self.shared.l1.len()
    }

    /// Whether Redis is being skipped after a failure (it is tried again once `retry_interval`
    /// has passed).
    pub fn is_degraded(&self) -> bool {
        self.shared.skipping()
    }
}

impl fmt::Debug for RedisTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("RedisTokenCache")
            .field("redis", &s.target)
            .field("prefix", &s.prefix)
            .field("encrypted", &s.cipher.is_some())
            .field("timeout", &s.timeout)
            .field("l1", &s.l1)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Shared {
    /// Whether the client would serve `entry` without asking again: before expiry minus the
    /// margin and before `refresh_at`.
    fn serveable(&self, entry: &CachedToken, now: f64) -> bool {
        (entry.expires_at() as f64 - self.expiry_margin.as_secs_f64()) > now
            && entry.refresh_at().is_none_or(|at| at as f64 > now)
    }

    fn skipping(&self) -> bool {
        lock(&self.health)
            .down_until
            .is_some_and(|until| Instant::now() < until)
    }

    async fn connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        if let Some(connection) = lock(&self.connection).clone() {
            return Ok(connection);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(connection) = lock(&self.connection).clone() {
            return Ok(connection);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *lock(&self.connection) = Some(connection.clone());
        Ok(connection)
    }

    /// Runs `cmd` within the timeout, unless Redis failed less than `retry_interval` ago.
    async fn run<T: FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, Outage> {
        if self.skipping() {
            self.counters.l2_skipped.fetch_add(1, Ordering::Relaxed);
            return Err(Outage::Skipped);
        }
        let attempt = async {
            let mut connection = self.connection().await?;
            cmd.query_async::<T>(&mut connection).await
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => {
                self.recovered();
                Ok(value)
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                Err(Outage::Failed)
            }
            Err(_) => {
                self.failed(&format!("no answer within {:?}", self.timeout));
                Err(Outage::Failed)
            }
        }
    }

    fn failed(&self, error: &str) {
        self.counters.l2_failures.fetch_add(1, Ordering::Relaxed);
        // A broken or stuck connection is not reused: the next attempt connects anew.
        *lock(&self.connection) = None;
        let now = Instant::now();
        let mut health = lock(&self.health);
        health.down_until = Some(now + self.retry_interval);
        health.failing = true;
        if health
            .last_warn
            .is_some_and(|at| now.duration_since(at) < self.warn_interval)
        {
            health.suppressed += 1;
            return;
        }
        health.last_warn = Some(now);
        let suppressed = std::mem::take(&mut health.suppressed);
        drop(health);
        warn!(
            redis = %self.target,
            error,
            failures_not_logged = suppressed,
            retry_in = ?self.retry_interval,
            "Redis token cache unavailable: serving from memory and the token endpoint until it is back"
        );
    }

    fn recovered(&self) {
        let mut health = lock(&self.health);
        if health.failing {
            health.failing = false;
            health.down_until = None;
            drop(health);
            info!(redis = %self.target, "Redis token cache reachable again");
        }
    }

    fn encode(&self, redis_key: &str, token: &CachedToken) -> Option<Vec<u8>> {
        let json = token.to_json().into_bytes();
        match &self.cipher {
            Some(cipher) => cipher.seal(redis_key, json),
            None => Some(json),
        }
    }

    fn decode(&self, redis_key: &str, value: &[u8]) -> Option<CachedToken> {
        let entry = match &self.cipher {
            Some(cipher) => cipher
                .open(redis_key, value)
                .and_then(|json| serde_json::from_slice(&json).ok()),
            None => serde_json::from_slice(value).ok(),
        };
        if entry.is_none() {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            debug!(
                redis_key,
                "Redis token cache entry refused (other encryption key, tampered, or not an entry); treated as a miss"
            );
        }
        entry
    }

    fn redis_key(&self, key: &CacheKey) -> String {
        let mut out = String::with_capacity(self.prefix.len() + key.as_str().len());
        out.push_str(&self.prefix);
        out.push_str(key.as_str());
        out
    }

    async fn l2_get(&self, redis_key: &str) -> Option<CachedToken> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(redis_key);
        let value: Option<Vec<u8>> = self.run(cmd).await.ok()?;
        self.decode(redis_key, &value?)
    }

    async fn get(&self, key: &CacheKey) -> Option<CachedToken> {
        let now = now_secs();
        let l1 = self.l1.get_now(key);
        if let Some(entry) = &l1
            && self.serveable(entry, now)
        {
            self.counters.l1_hits.fetch_add(1, Ordering::Relaxed);
            return l1;
        }
        match self.l2_get(&self.redis_key(key)).await {
            Some(entry)
                if l1
                    .as_ref()
                    .is_none_or(|old| entry.expires_at() > old.expires_at()) =>
            {
                self.counters.l2_hits.fetch_add(1, Ordering::Relaxed);
                let _ = self.l1.set(key, entry.clone()).await;
                Some(entry)
            }
            _ => {
                if l1.is_none() {
                    self.counters.misses.fetch_add(1, Ordering::Relaxed);
                }
                l1
            }
        }
    }

    async fn set(&self, key: &CacheKey, token: CachedToken) {
        let _ = self.l1.set(key, token.clone()).await;
        let ttl_ms =
            (token.expires_at() as f64 - self.expiry_margin.as_secs_f64() - now_secs()) * 1000.0;
        if ttl_ms < 1.0 {
            // The client would never serve it from the cache: not worth a Redis write.
            return;
        }
        let redis_key = self.redis_key(key);
        let Some(value) = self.encode(&redis_key, &token) else {
            return;
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(&redis_key).arg(value).arg("PX").arg(ttl_ms as u64);
        if self.run::<()>(cmd).await.is_ok() {
            self.counters.l2_writes.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn remove(&self, key: &CacheKey) -> Result<(), CacheError> {
        let _ = self.l1.remove(key).await;
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.redis_key(key));
        match self.run::<()>(cmd).await {
            Ok(()) => Ok(()),
            Err(Outage::Skipped | Outage::Failed) => Err(CacheError::new(
                "Redis unavailable: removed from this replica's memory only; other replicas may \
                 serve the entry until it expires",
            )),
        }
    }
}

impl TokenCache for RedisTokenCache {
    fn get<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<Option<CachedToken>, CacheError>> {
        Box::pin(async move { Ok(self.shared.get(key).await) })
    }

    fn set<'a>(
        &'a self,
        key: &'a CacheKey,
        token: CachedToken,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            self.shared.set(key, token).await;
            Ok(())
        })
    }

    fn remove<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(self.shared.remove(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(builder: RedisTokenCacheBuilder) -> RedisTokenCache {
        builder.build().unwrap()
    }

    fn entry(token: &str) -> CachedToken {
        CachedToken::new(token, "Bearer", 4_000_000_000, None, vec!["a".into()])
    }

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn building_requires_a_key_or_an_explicit_opt_out() {
        let b = || RedisTokenCache::builder("redis://127.0.0.1:1");
        assert_eq!(
            b().build().unwrap_err(),
            RedisCacheBuildError::NoEncryptionKey
        );
        assert_eq!(
            b().encryption_key([1; 16]).build().unwrap_err(),
            RedisCacheBuildError::KeyLength(16)
        );
        assert_eq!(
            b().encryption_key(KEY)
                .previous_encryption_key([1; 31])
                .build()
                .unwrap_err(),
            RedisCacheBuildError::KeyLength(31)
        );
        assert_eq!(
            b().encryption_key(KEY)
                .allow_unencrypted()
                .build()
                .unwrap_err(),
            RedisCacheBuildError::KeyAndUnencrypted
        );
        assert_eq!(
            b().allow_unencrypted()
                .timeout(Duration::ZERO)
                .build()
                .unwrap_err(),
            RedisCacheBuildError::ZeroTimeout
        );
        assert!(matches!(
            RedisTokenCache::builder("http://x")
                .allow_unencrypted()
                .build(),
            Err(RedisCacheBuildError::Url(_))
        ));
        assert!(b().encryption_key(KEY).build().unwrap().is_encrypted());
        assert!(!b().allow_unencrypted().build().unwrap().is_encrypted());
    }

    #[test]
    fn debug_shows_neither_the_password_nor_the_key() {
        let c = cache(
            RedisTokenCache::builder("redis://:hunter2-password@127.0.0.1:6390/3")
                .encryption_key(KEY),
        );
        let text = format!("{c:?}");
        assert!(text.contains("127.0.0.1:6390/3"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn values_are_sealed_bound_to_their_key_and_opened_with_current_or_previous_keys() {
        let c = cache(RedisTokenCache::builder("redis://127.0.0.1:1").encryption_key(KEY));
        let s = &c.shared;
        let token = entry("eyJ.secret-token.sig");
        let sealed = s.encode("p:k1", &token).unwrap();
        assert_eq!(sealed[0], SEALED_V1);
        assert!(!String::from_utf8_lossy(&sealed).contains("secret-token"));
        // Random nonce: two writes differ.
        assert_ne!(sealed, s.encode("p:k1", &token).unwrap());
        assert_eq!(s.decode("p:k1", &sealed), Some(token.clone()));
        // Moved to another key, tampered, truncated, clear JSON: refused.
        assert_eq!(s.decode("p:k2", &sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(s.decode("p:k1", &tampered), None);
        assert_eq!(s.decode("p:k1", &sealed[..20]), None);
        assert_eq!(s.decode("p:k1", token.to_json().as_bytes()), None);
        assert_eq!(c.stats().rejected, 4);

        // Rotation: a cache with a new key and the old one as previous reads old values.
        let rotated = cache(
            RedisTokenCache::builder("redis://127.0.0.1:1")
                .encryption_key([9; 32])
                .previous_encryption_key(KEY),
        );
        assert_eq!(rotated.shared.decode("p:k1", &sealed), Some(token.clone()));
        let other = cache(RedisTokenCache::builder("redis://127.0.0.1:1").encryption_key([9; 32]));
        assert_eq!(other.shared.decode("p:k1", &sealed), None);

        // Unencrypted: JSON, and sealed values are refused.
        let clear = cache(RedisTokenCache::builder("redis://127.0.0.1:1").allow_unencrypted());
        assert_eq!(
            clear.shared.encode("p:k1", &token).unwrap(),
            token.to_json().into_bytes()
        );
        assert_eq!(clear.shared.decode("p:k1", &sealed), None);
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_a_miss_and_is_skipped_until_the_retry_interval() {
        // Port 1 on loopback: nothing listens, connecting is refused at once.
        let c = cache(
            RedisTokenCache::builder("redis://127.0.0.1:1")
                .encryption_key(KEY)
                .retry_interval(Duration::from_secs(60)),
        );
        let key = CacheKey::app("https://login.example/t", "c", &["a"]);
        assert_eq!(c.get(&key).await, Ok(None));
        assert!(c.is_degraded());
        c.set(&key, entry("t")).await.unwrap();
        // L1 still works.
        assert_eq!(c.get(&key).await, Ok(Some(entry("t"))));
        assert!(c.remove(&key).await.is_err());
        assert_eq!(c.get(&key).await, Ok(None));
        let stats = c.stats();
        assert_eq!(stats.l2_failures, 1, "{stats:?}");
        assert_eq!(stats.l2_skipped, 3, "{stats:?}");
        assert_eq!(stats.l1_hits, 1, "{stats:?}");
    }
}
