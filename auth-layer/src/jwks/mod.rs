//! Signing keys from an identity provider: the [`JwksCache`] that fetches, refreshes and
//! serves them (a [`KeySet`](crate::KeySet) is the parsed, immutable snapshot it hands out).
//!
//! One file per concern: `cache.rs` serves the keys, `builder.rs` configures a refreshing
//! cache, `refresh.rs` runs the fetches (initial, scheduled, unknown `kid`) and the rate limit,
//! `discovery.rs` reads OIDC discovery documents, `fetch.rs` performs the bounded GETs,
//! `error.rs` and `stats.rs` hold what the cache reports.

#[cfg(feature = "fetch")]
mod builder;
mod cache;
#[cfg(feature = "fetch")]
mod discovery;
mod error;
#[cfg(feature = "fetch")]
mod fetch;
#[cfg(feature = "fetch")]
mod refresh;
mod stats;

#[cfg(feature = "fetch")]
#[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
pub use builder::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_MIN_REFRESH_INTERVAL,
    DEFAULT_REFRESH_INTERVAL, DEFAULT_TIMEOUT, JwksCacheBuilder,
};
pub use cache::{JwksCache, KidMissRefresh};
pub(crate) use cache::{KeysNow, Pending};
pub use error::JwksError;
pub use stats::JwksStats;
