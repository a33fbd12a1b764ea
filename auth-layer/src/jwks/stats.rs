//! [`JwksStats`]: a key cache's counters and state.

use std::time::{Duration, SystemTime};

use crate::jwks::error::JwksError;

/// Counters and state of a [`JwksCache`](crate::jwks::JwksCache), from [`JwksCache::stats`](crate::jwks::JwksCache::stats).
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
