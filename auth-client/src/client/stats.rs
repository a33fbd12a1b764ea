//! [`ClientStats`]: the counters a client keeps, for tests and metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a [`ConfidentialClient`](crate::ConfidentialClient), for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Requests sent to the token endpoint (retries included).
    pub token_requests: u64,
    /// App and On-Behalf-Of tokens served from the cache.
    pub cache_hits: u64,
    /// Calls that waited for an identical in-flight request instead of sending their own.
    pub coalesced: u64,
    /// Calls refused without a request because an identical one is throttled.
    pub throttled: u64,
    /// Proactive refreshes started because the server's `refresh_in` had passed.
    pub background_refreshes: u64,
}

/// The live counters behind [`ClientStats`].
#[derive(Default)]
pub(super) struct Counters {
    pub(super) token_requests: AtomicU64,
    pub(super) cache_hits: AtomicU64,
    pub(super) coalesced: AtomicU64,
    pub(super) throttled: AtomicU64,
    pub(super) background_refreshes: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub(super) fn snapshot(&self) -> ClientStats {
        ClientStats {
            token_requests: self.token_requests.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            coalesced: self.coalesced.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            background_refreshes: self.background_refreshes.load(Ordering::Relaxed),
        }
    }
}
