//! Signing keys: the parsed [`KeySet`] a validator verifies against.
//!
//! Fetching and refreshing key sets from an identity provider is the job of the JWKS cache; a
//! [`KeySet`] on its own is an immutable, ready-to-verify snapshot, cheap to share behind an `Arc`.

pub(crate) mod key_set;

pub use key_set::{DropReason, DroppedKey, KeySet, KeySetError, VerifyingKey};
