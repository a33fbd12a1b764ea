//! The verified-token cache: the outcome of full validation, reused for the token's lifetime.
//!
//! Clients reuse an access token for its whole 60–90 minute life, so verifying its RSA signature
//! on every request is waste (Envoy's `jwt_authn` caches the same way). Only successes are
//! cached, keyed by the exact token text (a fast hash, then full string equality: no hash is
//! trusted on its own).
//!
//! A hit never answers differently from a full validation at the same instant. Everything that
//! can change while the token does not is checked again on every hit:
//! - the keys' freshness (`max_staleness`): the caller asks the key cache first, and a hit is
//!   looked up only with keys it may use;
//! - the signing key: the key that verified the token must still be published with the same
//!   material (RFC 7638 thumbprint) and `alg`, not merely the same `kid`;
//! - every claim rule after the signature ([`Validator::check_claims`]: issuer and tenant,
//!   including a tenant filter that may change its mind, the key's issuer, audience, lifetime
//!   by the validator's clock and leeway).
//!
//! Otherwise the entry is dropped and the token validated in full.

use std::hash::{Hash, Hasher};

use quick_cache::Equivalent;
use quick_cache::sync::Cache;

use crate::algorithm::Algorithm;
use crate::claims::Claims;
use crate::key_set::{KeySet, VerifyingKey};
use crate::principal::Principal;
use crate::validator::Validator;

/// Tokens longer than this are validated every time rather than cached, so the cache's memory
/// stays near `capacity × (2 × token size)`.
pub(crate) const MAX_CACHED_TOKEN_LEN: usize = 8 * 1024;

/// The default number of entries.
pub const DEFAULT_VERIFIED_TOKEN_CACHE_CAPACITY: usize = 10_000;

#[derive(Clone)]
struct Entry {
    principal: Principal,
    /// The identity of the key that verified the token.
    thumbprint: [u8; 32],
    alg: Option<Algorithm>,
}

pub(crate) struct VerifiedTokenCache {
    entries: Cache<TokenText, Entry>,
}

/// A cached token's exact text: the cache's key.
///
/// Hashed by its last [`HASHED_SUFFIX`] bytes and its length only; equality is always the
/// whole text. Only validated tokens are stored, and a validated token ends with its
/// signature, which the issuer's key makes unpredictable: the suffix spreads entries as well as
/// the whole text would, and nobody without the signing key can make tokens that collide on
/// it. A lookup then costs one pass over the token (the comparison), not two.
struct TokenText(Box<[u8]>);

/// A lookup key: the bytes of a presented token (any bytes; only an exact match hits).
#[derive(Clone, Copy)]
struct PresentedToken<'a>(&'a [u8]);

/// How many trailing bytes of a token its hash covers (with the length).
const HASHED_SUFFIX: usize = 32;

fn hash_token<H: Hasher>(token: &[u8], state: &mut H) {
    state.write_usize(token.len());
    state.write(&token[token.len().saturating_sub(HASHED_SUFFIX)..]);
}

impl Hash for TokenText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(&self.0, state);
    }
}

impl PartialEq for TokenText {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for TokenText {}

impl Hash for PresentedToken<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(self.0, state);
    }
}

impl Equivalent<TokenText> for PresentedToken<'_> {
    fn equivalent(&self, key: &TokenText) -> bool {
        // The whole text, byte for byte: the hash alone is never trusted.
        *self.0 == *key.0
    }
}

impl VerifiedTokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Cache::new(capacity.max(1)),
        }
    }

    /// The cached principal for `token`, if a full validation against `keys` would accept it
    /// now (see the module documentation).
    ///
    /// `token` is the presented token's bytes, unchecked: only the exact text of a token that
    /// was validated hits.
    pub(crate) fn get(
        &self,
        token: &[u8],
        validator: &Validator,
        keys: &KeySet,
    ) -> Option<Principal> {
        let token = PresentedToken(token);
        let entry = self.entries.get(&token)?;
        let still_valid = current_key(&entry, keys)
            .is_some_and(|key| validator.check_claims(&entry.principal, key).is_ok());
        if still_valid {
            Some(entry.principal)
        } else {
            self.entries.remove(&token);
            None
        }
    }

    /// Remembers `principal`, validated from `token` against `keys`.
    pub(crate) fn insert(&self, token: &str, principal: &Principal, keys: &KeySet) {
        if token.len() > MAX_CACHED_TOKEN_LEN {
            return;
        }
        let Some(key) = verifying_key(principal, keys) else {
            return;
        };
        let entry = Entry {
            principal: principal.clone(),
            thumbprint: *key.thumbprint(),
            alg: key.algorithm(),
        };
        self.entries
            .insert(TokenText(Box::from(token.as_bytes())), entry);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.entries.capacity()
    }
}

/// The key of `keys` that verified `claims` (the one whose id the claims share).
fn verifying_key<'k>(claims: &Claims, keys: &'k KeySet) -> Option<&'k VerifyingKey> {
    let id = claims.key_id();
    keys.keys().iter().find(|k| k.owns_id(id))
}

/// The key of `keys` that is the one `entry` was verified with: the very same parsed key, or
/// one with the same id, material and `alg` (a refresh parses the keys again).
fn current_key<'k>(entry: &Entry, keys: &'k KeySet) -> Option<&'k VerifyingKey> {
    let id = entry.principal.key_id();
    keys.keys().iter().find(|k| {
        k.owns_id(id)
            || (k.id() == id && *k.thumbprint() == entry.thumbprint && k.algorithm() == entry.alg)
    })
}
