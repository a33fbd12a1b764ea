//! The verified-token cache: the outcome of full validation, reused for the token's lifetime.
//!
//! Clients reuse an access token for its whole 60–90 minute life, so verifying its RSA signature
//! on every request is waste (Envoy's `jwt_authn` caches the same way). Only successes are
//! cached, keyed by the exact token text (a fast hash, then full string equality: no hash is
//! trusted on its own). A hit is served only if `exp`/`nbf` still hold by the validator's clock
//! and leeway, and the key that verified it is still in the current key set; otherwise the entry
//! is dropped and the token validated again.

use quick_cache::sync::Cache;

use crate::{KeySet, Principal, Validator};

/// Tokens longer than this are validated every time rather than cached, so the cache's memory
/// stays near `capacity × (2 × token size)`.
pub(crate) const MAX_CACHED_TOKEN_LEN: usize = 8 * 1024;

/// The default number of entries.
pub const DEFAULT_VERIFIED_TOKEN_CACHE_CAPACITY: usize = 10_000;

pub(crate) struct VerifiedTokenCache {
    entries: Cache<Box<str>, Principal>,
}

impl VerifiedTokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Cache::new(capacity.max(1)),
        }
    }

    /// The cached principal for `token`, if it is still valid now and its key is still
    /// published.
    pub(crate) fn get(
        &self,
        token: &str,
        validator: &Validator,
        keys: &KeySet,
    ) -> Option<Principal> {
        let principal = self.entries.get(token)?;
        let key_present = keys.keys().iter().any(|k| k.id() == principal.key_id());
        if key_present && validator.check_lifetime(&principal).is_ok() {
            Some(principal)
        } else {
            self.entries.remove(token);
            None
        }
    }

    pub(crate) fn insert(&self, token: &str, principal: &Principal) {
        if token.len() <= MAX_CACHED_TOKEN_LEN {
            self.entries.insert(Box::from(token), principal.clone());
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.entries.capacity()
    }
}
