//! Signing keys: the parsed [`KeySet`] a validator verifies against.
//!
//! Fetching and refreshing key sets from an identity provider is the job of [`JwksCache`]; a
//! [`KeySet`] on its own is an immutable, ready-to-verify snapshot, cheap to share behind an `Arc`.

mod cache;
mod discovery;
mod fetch;
pub(crate) mod key_set;

pub use cache::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_MIN_REFRESH_INTERVAL,
    DEFAULT_REFRESH_INTERVAL, DEFAULT_TIMEOUT, JwksCache, JwksCacheBuilder, JwksError, JwksStats,
};
pub use key_set::{DropReason, DroppedKey, KeySet, KeySetError, VerifyingKey};
