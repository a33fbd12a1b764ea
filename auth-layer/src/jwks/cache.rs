//! The [`JwksCache`]: serves the current signing keys of an identity provider, from a fixed
//! [`KeySet`] or from a remote source kept fresh by `refresh.rs`. It validates nothing: the
//! [`Authenticator`](crate::Authenticator) asks it for keys and, on an unknown `kid`, for one
//! refresh.

use std::fmt;
use std::sync::Arc;

#[cfg(feature = "fetch")]
use crate::jwks::error::JwksError;
#[cfg(feature = "fetch")]
use crate::jwks::refresh::{Flight, KeysNow as RemoteKeysNow, Refresher};
use crate::jwks::stats::JwksStats;
use crate::key_set::KeySet;

/// A cache of an identity provider's signing keys, for an
/// [`Authenticator`](crate::Authenticator) (or your own code) to verify tokens with.
///
/// Cheap to clone (an `Arc` inside); every clone shares the keys, the counters and the
/// background refresh task, which stops when the last clone is dropped.
///
/// Microsoft Entra ID rolls its signing keys without notice, shares them across tenants, and
/// its metadata endpoint can be slow or down. The cache is built for that:
///
/// - **Sources**: OIDC discovery from an authority (`{instance}/{tenant}` →
///   `{instance}/{tenant}/v2.0/.well-known/openid-configuration` → `jwks_uri`) or a full
///   metadata URL; a direct `jwks_uri` (both with the `fetch` feature, on by default); or a
///   static [`KeySet`] ([`JwksCache::from_static`]). A discovered `issuer` that is not the
///   expected one, or a `jwks_uri` that is not https (loopback hosts excepted), refuses the
///   configuration.
/// - **Hot swap**: the current `Arc<KeySet>` lives in an `arc_swap::ArcSwap`; reading it takes
///   no lock. Keys are parsed once per fetch.
/// - **Scheduled refresh** every 12 hours (minus up to 10 % jitter, or sooner when the key set
///   is served with a shorter `Cache-Control: max-age`, never below the minimum refresh
///   interval), by a background task that stops when the last handle is dropped or on
///   [`JwksCache::shutdown`].
/// - **Refresh on unknown `kid`** ([`refresh_for_unknown_kid`](Self::refresh_for_unknown_kid)):
///   single-flight (every caller that misses while a fetch is in flight waits for that one
///   fetch) and rate-limited (at most one kid-miss refresh per `min_refresh_interval`, 5 minutes
///   by default, counted from the previous kid-miss refresh).
/// - **Last known good**: a failed fetch (network, timeout, non-200, not JSON, too large, or a
///   set [`KeySet::from_jwks_json`] refuses) keeps the previous keys and is logged at `warn`.
///   With `max_staleness`, the keys are refused (fail closed) once older than that.
///
/// The refresh policy and its defaults are explained in `docs/key-rotation.md`.
///
/// ```
/// use auth_layer::Authenticator;
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
/// assert_eq!(cache.stats().fetches_succeeded, 1);
/// assert!(!cache.current().is_empty());
///
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .jwks(cache)
///     .build()?;
/// let principal = auth.authenticate(&TokenBuilder::delegated().sign()).await?;
/// assert_eq!(principal.tenant_id(), Some(ids::TENANT_ID));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct JwksCache {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Static(Arc<KeySet>),
    #[cfg(feature = "fetch")]
    Remote(Arc<Refresher>),
}

/// What [`JwksCache::refresh_for_unknown_kid`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KidMissRefresh {
    /// A refresh ran (started now, or joined) and loaded a key set.
    Refreshed,
    /// A refresh ran and failed: the previous keys are kept.
    #[cfg(feature = "fetch")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
    Failed(JwksError),
    /// No refresh: the rate limit allows one kid-miss refresh per minimum refresh interval.
    RateLimited,
    /// No refresh: the cache holds a fixed key set.
    Static,
}

/// How the keys stand for a caller who cannot wait.
#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
pub(crate) enum KeysNow<'a> {
    /// Loaded and fresh enough.
    Ready(Keys<'a>),
    /// Never loaded; the first fetch is in flight.
    Loading(Pending),
    /// Never loaded (bootstrap backoff), or older than `max_staleness`: fail closed.
    Unavailable,
}

/// The current key set, borrowed without a reference-count write.
pub(crate) enum Keys<'a> {
    Static(&'a KeySet),
    #[cfg(feature = "fetch")]
    Remote(arc_swap::Guard<Arc<KeySet>>),
}

impl std::ops::Deref for Keys<'_> {
    type Target = KeySet;
    fn deref(&self) -> &KeySet {
        match self {
            Keys::Static(keys) => keys,
            #[cfg(feature = "fetch")]
            Keys::Remote(guard) => guard,
        }
    }
}

/// A key fetch in flight that a caller may wait for.
pub(crate) struct Pending {
    #[cfg(feature = "fetch")]
    flight: Flight,
}

impl Pending {
    /// Waits for the fetch to end (bounded by the fetch timeouts).
    pub(crate) async fn wait(self) -> KidMissRefresh {
        #[cfg(feature = "fetch")]
        return match self.flight.wait().await {
            Ok(()) => KidMissRefresh::Refreshed,
            Err(error) => KidMissRefresh::Failed(error),
        };
        #[cfg(not(feature = "fetch"))]
        KidMissRefresh::Static
    }
}

impl JwksCache {
    /// A cache over a fixed key set: never fetches, never refreshes. Needs no runtime.
    ///
    /// ```
    /// use auth_layer::jwks::{JwksCache, KidMissRefresh};
    /// use auth_testkit::default_keyset;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cache = JwksCache::from_static(default_keyset());
    /// assert_eq!(cache.current().len(), default_keyset().len());
    /// assert_eq!(cache.refresh_for_unknown_kid().await, KidMissRefresh::Static);
    /// # }
    /// ```
    pub fn from_static(keys: KeySet) -> Self {
        JwksCache {
            source: Source::Static(Arc::new(keys)),
        }
    }

    #[cfg(feature = "fetch")]
    pub(crate) fn from_refresher(refresher: Arc<Refresher>) -> Self {
        JwksCache {
            source: Source::Remote(refresher),
        }
    }

    /// Whether validation can use the keys now: a key set was loaded and it is not older than
    /// the configured maximum staleness (always, for a static set). A readiness probe reads
    /// this; it never waits and never fetches.
    pub fn is_ready(&self) -> bool {
        match &self.source {
            Source::Static(_) => true,
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => refresher.is_ready(),
        }
    }

    /// Loads the keys when none were ever loaded, joining the fetch in flight or starting one
    /// (unless the bootstrap backoff after a failure is running). `Ok` once a key set is
    /// loaded (at once for a static set); a service calls it in a loop with its own backoff so
    /// that it starts even while the identity provider is unreachable, and becomes ready when
    /// it answers.
    ///
    /// # Errors
    /// The fetch failed, or the bootstrap backoff is running (the last fetch's error, or
    /// [`JwksError::Timeout`] naming the source URL).
    #[cfg(feature = "fetch")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
    pub async fn load(&self) -> Result<(), JwksError> {
        match &self.source {
            Source::Static(_) => Ok(()),
            Source::Remote(refresher) => refresher.load_now().await,
        }
    }

    /// The current key set (empty before the first successful fetch of a lazy cache).
    pub fn current(&self) -> Arc<KeySet> {
        match &self.source {
            Source::Static(keys) => Arc::clone(keys),
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => refresher.load_full(),
        }
    }

    /// The keys for a caller who cannot wait; a never-loaded cache starts (or joins) its
    /// first fetch in the background.
    pub(crate) fn keys_now(&self) -> KeysNow<'_> {
        match &self.source {
            Source::Static(keys) => KeysNow::Ready(Keys::Static(keys)),
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => match refresher.keys_now() {
                RemoteKeysNow::Ready(guard) => KeysNow::Ready(Keys::Remote(guard)),
                RemoteKeysNow::Loading(flight) => KeysNow::Loading(Pending { flight }),
                RemoteKeysNow::Unavailable => KeysNow::Unavailable,
            },
        }
    }

    /// After an unknown `kid` in `seen` (the keys the caller looked in), without waiting: the
    /// refresh to wait for (started now, or joined; finished at once when the keys changed
    /// since), or `None` when the cache is static or the rate limit refuses one.
    pub(crate) fn begin_refresh_for_unknown_kid(&self, seen: &KeySet) -> Option<Pending> {
        match &self.source {
            Source::Static(_) => {
                let _ = seen;
                None
            }
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => refresher
                .begin_kid_miss(seen)
                .map(|flight| Pending { flight }),
        }
    }

    /// Refreshes the keys because a token named a `kid` the current set lacks: joins the
    /// refresh in flight, or starts one unless the rate limit refuses (one kid-miss refresh per
    /// minimum refresh interval), and waits for it. Then look at [`current`](Self::current)
    /// again. [`Authenticator::authenticate`](crate::Authenticator::authenticate) does this for
    /// you.
    pub async fn refresh_for_unknown_kid(&self) -> KidMissRefresh {
        match &self.source {
            Source::Static(_) => KidMissRefresh::Static,
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => {
                match self.begin_refresh_for_unknown_kid(&refresher.load()) {
                    Some(pending) => pending.wait().await,
                    None => KidMissRefresh::RateLimited,
                }
            }
        }
    }

    /// The issuer named by the discovery document, as published (Entra's multi-tenant
    /// documents publish a `{tenantid}` template). `None` without discovery or before the
    /// first successful discovery.
    pub fn issuer(&self) -> Option<String> {
        match &self.source {
            Source::Static(_) => None,
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => refresher.issuer(),
        }
    }

    /// Counters and state, for health checks and metrics.
    pub fn stats(&self) -> JwksStats {
        match &self.source {
            Source::Static(keys) => JwksStats {
                fetches_attempted: 0,
                fetches_succeeded: 0,
                fetches_failed: 0,
                kid_miss_refreshes: 0,
                kid_miss_rate_limited: 0,
                keys_loaded: keys.len(),
                last_success: None,
                staleness: None,
                last_error: None,
            },
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => refresher.stats(),
        }
    }

    /// Sets the `auth_jwks_staleness_seconds` gauge of this cache to its value now (feature
    /// `metrics`; every metric is listed in `docs/deploying.md#metrics`). The gauge is
    /// also set after every fetch; call this before rendering a scrape so that it is current
    /// between fetches. Does nothing for a static cache or without the feature.
    pub fn record_staleness(&self) {
        match &self.source {
            Source::Static(_) => {}
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => refresher.record_staleness(),
        }
    }

    /// Stops the scheduled refresh task now, rather than when the last clone is dropped. The
    /// cache keeps serving its keys, and unknown-`kid` refreshes still happen. Does nothing
    /// for a static cache.
    pub fn shutdown(&self) {
        match &self.source {
            Source::Static(_) => {}
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => refresher.shutdown(),
        }
    }
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (source, keys, loaded) = match &self.source {
            Source::Static(keys) => ("static", keys.len(), true),
            #[cfg(feature = "fetch")]
            Source::Remote(refresher) => (
                refresher.source_url(),
                refresher.load().len(),
                refresher.is_loaded(),
            ),
        };
        f.debug_struct("JwksCache")
            .field("source", &source)
            .field("keys", &keys)
            .field("loaded", &loaded)
            .finish_non_exhaustive()
    }
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
        let future = cache.refresh_for_unknown_kid();
        send(&future);
    }
}
