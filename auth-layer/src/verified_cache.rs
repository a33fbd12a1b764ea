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
//! - the claim rules after the signature that can change their answer: the lifetime by the
//!   validator's clock and leeway, and a tenant filter, which may change its mind
//!   ([`Validator::recheck_claims`]). The others (issuer, tenant list, the key's `issuer`
//!   member, audience) are functions of the token's claims, the validator's configuration
//!   (immutable once built: the cache belongs to one authenticator) and the key: while the key
//!   is the very one that verified the token they cannot answer differently, and they are not
//!   run again. After a refresh has parsed the key again they are: a re-published key may
//!   carry another `issuer` member ([`Validator::check_claims`]).
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
        let still_valid = match current_key(&entry, keys) {
            Some(CurrentKey::Same(key)) => validator.recheck_claims(&entry.principal, key).is_ok(),
            Some(CurrentKey::Republished(key)) => {
                validator.check_claims(&entry.principal, key).is_ok()
            }
            None => false,
        };
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

/// How the key that verified a cached token is still published.
enum CurrentKey<'k> {
    /// The very same parsed key (the key set was not refreshed since): its `issuer` member too
    /// is the one the token was checked against.
    Same(&'k VerifyingKey),
    /// A key parsed again by a refresh, with the same id, material and `alg`; its other members
    /// (Entra's `issuer`) may differ.
    Republished(&'k VerifyingKey),
}

/// The key of `keys` that is the one `entry` was verified with, if it is still published.
fn current_key<'k>(entry: &Entry, keys: &'k KeySet) -> Option<CurrentKey<'k>> {
    let id = entry.principal.key_id();
    keys.keys().iter().find_map(|k| {
        if k.owns_id(id) {
            Some(CurrentKey::Same(k))
        } else if k.id() == id && *k.thumbprint() == entry.thumbprint && k.algorithm() == entry.alg
        {
            Some(CurrentKey::Republished(k))
        } else {
            None
        }
    })
}
