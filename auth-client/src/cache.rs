//! The token cache: a small async trait so a distributed store can plug in, and the bounded
//! in-memory store used by default.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::redact::REDACTED;

/// A boxed, `Send` future: what [`TokenCache`] methods return (so the trait is object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The default capacity of [`InMemoryTokenCache`]: 10,000 entries.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// What a cached token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CacheKeyKind {
    /// An app-only token (client credentials).
    App,
    /// A token obtained On-Behalf-Of a user's token.
    OnBehalfOf,
}

/// The identity of a cached token: kind, authority, client, a hash of the inbound assertion
/// (On-Behalf-Of: its SHA-256, or a keyed hash in the client's default in-memory cache), the RFC 8707 resource (other providers), and the normalised
/// scopes (sorted, deduplicated; lowercase for Entra, whose scopes are case-insensitive, and
/// exactly as given for other providers, whose scopes RFC 6749 §3.3 makes case-sensitive).
///
/// Its string form [`as_str`](Self::as_str) is stable and safe to use as a key in a shared
/// store: `auth-client/v2/{app|obo}/` followed by each part as `{byte length}:{value}`
/// (authority, client id, assertion hash, resource, scopes), so no two different tuples share
/// a key whatever characters the parts hold. It never contains a token (only the hash of the
/// assertion).
///
/// ```
/// use auth_client::{CacheKey, CacheKeyKind};
///
/// let key = CacheKey::app("https://login.microsoftonline.com/contoso", "client", &["API://X/.default"]);
/// assert_eq!(key.kind(), CacheKeyKind::App);
/// assert_eq!(
///     key.as_str(),
///     "auth-client/v2/app/41:https://login.microsoftonline.com/contoso6:client0:0:16:api://x/.default"
/// );
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    kind: CacheKeyKind,
    text: String,
    assertion_hash: Option<String>,
    scopes: Vec<String>,
}

impl CacheKey {
    /// The key of an Entra app-only token (authority, client id and scopes compared
    /// case-insensitively).
    pub fn app(authority: &str, client_id: &str, scopes: &[&str]) -> Self {
        Self::new(
            CacheKeyKind::App,
            authority,
            client_id,
            None,
            None,
            scopes,
            true,
        )
    }

    /// The key of an Entra On-Behalf-Of token; `assertion_hash` is the base64url SHA-256 of the
    /// inbound token ([`CacheKey::assertion_hash`] computes it).
    pub fn on_behalf_of(
        authority: &str,
        client_id: &str,
        assertion_hash: &str,
        scopes: &[&str],
    ) -> Self {
        Self::new(
            CacheKeyKind::OnBehalfOf,
            authority,
            client_id,
            Some(assertion_hash),
            None,
            scopes,
            true,
        )
    }

    /// The base64url SHA-256 of an inbound assertion, as On-Behalf-Of keys hold it.
    pub fn assertion_hash(assertion: &str) -> String {
        crate::random::b64url(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            assertion.as_bytes(),
        ))
    }

    /// Any key. `entra`: fold the case of the authority, client id and scopes (Entra compares
    /// them case-insensitively; other providers' scopes are case-sensitive).
    pub(crate) fn new(
        kind: CacheKeyKind,
        authority: &str,
        client_id: &str,
        assertion_hash: Option<&str>,
        resource: Option<&str>,
        scopes: &[&str],
        entra: bool,
    ) -> Self {
        let scopes = normalise_scopes(scopes, entra);
        let fold = |s: &str| {
            if entra {
                s.to_ascii_lowercase()
            } else {
                s.to_owned()
            }
        };
        let joined = scopes.join(" ");
        let parts = [
            fold(authority),
            fold(client_id),
            assertion_hash.unwrap_or("").to_owned(),
            resource.unwrap_or("").to_owned(),
            joined,
        ];
        let mut text = String::with_capacity(32 + parts.iter().map(|p| p.len() + 4).sum::<usize>());
        text.push_str("auth-client/v2/");
        text.push_str(match kind {
            CacheKeyKind::App => "app/",
            CacheKeyKind::OnBehalfOf => "obo/",
        });
        for part in &parts {
            // Length-prefixed: unambiguous whatever the parts contain.
            text.push_str(&part.len().to_string());
            text.push(':');
            text.push_str(part);
        }
        CacheKey {
            kind,
            text,
            assertion_hash: assertion_hash.map(str::to_owned),
            scopes,
        }
    }

    /// The stable string form (see the type's documentation).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the token is for.
    pub fn kind(&self) -> CacheKeyKind {
        self.kind
    }

    /// The normalised scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The hash of the inbound assertion (On-Behalf-Of keys): its base64url SHA-256, or, in
    /// the keys of the client's default in-memory cache, a keyed hash of it.
    pub fn inbound_assertion_hash(&self) -> Option<&str> {
        self.assertion_hash.as_deref()
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CacheKey").field(&self.text).finish()
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Trimmed, sorted, deduplicated, empty ones dropped; lowercase when `fold_case`.
pub(crate) fn normalise_scopes(scopes: &[&str], fold_case: bool) -> Vec<String> {
    let mut out: Vec<String> = scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(|s| {
            if fold_case {
                s.to_ascii_lowercase()
            } else {
                s.to_owned()
            }
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A cached access token: the token, its type, when it expires, when the server asked for a
/// proactive refresh (`refresh_in`, made absolute), and its scopes.
///
/// Serializable (serde; [`to_json`](Self::to_json) / [`from_json`](Self::from_json)) so a
/// distributed store can keep it. Times are Unix seconds. `Debug` hides the token.
///
/// ```
/// use auth_client::CachedToken;
///
/// let entry = CachedToken::new("eyJ0eXAi…", "Bearer", 1_900_000_000, Some(1_899_998_000), vec!["api://x/.default".into()]);
/// let json = entry.to_json();
/// assert_eq!(CachedToken::from_json(&json).unwrap(), entry);
/// assert!(!format!("{entry:?}").contains("eyJ0eXAi"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    access_token: String,
    token_type: String,
    expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_at: Option<u64>,
    #[serde(default)]
    scopes: Vec<String>,
}

impl CachedToken {
    /// An entry. `expires_at` and `refresh_at` are Unix seconds.
    pub fn new(
        access_token: impl Into<String>,
        token_type: impl Into<String>,
        expires_at: u64,
        refresh_at: Option<u64>,
        scopes: Vec<String>,
    ) -> Self {
        CachedToken {
            access_token: access_token.into(),
            token_type: token_type.into(),
            expires_at,
            refresh_at,
            scopes,
        }
    }

    /// The access token.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// `token_type` (`Bearer`).
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// When the token expires, Unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// When the server asked for a proactive refresh (`refresh_in` after issuance), Unix
    /// seconds.
    pub fn refresh_at(&self) -> Option<u64> {
        self.refresh_at
    }

    /// The token's scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// How long a store should keep the entry: until it expires (zero when it has).
    pub fn ttl(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Duration::from_secs(self.expires_at.saturating_sub(now))
    }

    /// The entry as JSON, for stores that keep strings.
    pub fn to_json(&self) -> String {
        // Serializing a struct of strings and integers to a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An entry from [`to_json`](Self::to_json)'s output.
    ///
    /// # Errors
    /// When the text is not such an entry.
    pub fn from_json(json: &str) -> Result<Self, CacheError> {
        serde_json::from_str(json).map_err(|e| CacheError::new(format!("bad cache entry: {e}")))
    }

    pub(crate) fn into_parts(self) -> (String, String, u64, Vec<String>) {
        (
            self.access_token,
            self.token_type,
            self.expires_at,
            self.scopes,
        )
    }
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("refresh_at", &self.refresh_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// A token store failed (e.g. a distributed store is unreachable). The client treats a failed
/// `get` as a miss and a failed `set` as not cached, and logs both at `warn`: a broken cache
/// costs token requests, never availability.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("token cache: {0}")]
pub struct CacheError(String);

impl CacheError {
    /// An error with this message (never put a token in it).
    pub fn new(message: impl Into<String>) -> Self {
        CacheError(message.into())
    }
}

/// Where a [`ConfidentialClient`](crate::ConfidentialClient) keeps app and On-Behalf-Of
/// tokens.
///
/// The default is [`InMemoryTokenCache`]. A distributed store (Redis, …) implements these
/// three methods: keys have a stable string form ([`CacheKey::as_str`]) and entries serialize
/// ([`CachedToken::to_json`], or any serde format), with [`CachedToken::ttl`] as the store's
/// expiry. The client decides freshness itself (expiry margin, `refresh_in`), so a store may
/// return entries close to expiry.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use auth_client::{BoxFuture, CacheError, CacheKey, CachedToken, TokenCache};
///
/// /// A store keeping JSON strings, as a Redis-backed one would.
/// #[derive(Default)]
/// struct JsonStore(Mutex<HashMap<String, String>>);
///
/// impl TokenCache for JsonStore {
///     fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<CachedToken>, CacheError>> {
///         Box::pin(async move {
///             let json = self.0.lock().unwrap().get(key.as_str()).cloned();
///             json.map(|j| CachedToken::from_json(&j)).transpose()
///         })
///     }
///     fn set<'a>(&'a self, key: &'a CacheKey, token: CachedToken) -> BoxFuture<'a, Result<(), CacheError>> {
///         Box::pin(async move {
///             self.0.lock().unwrap().insert(key.as_str().to_owned(), token.to_json());
///             Ok(())
///         })
///     }
///     fn remove<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<(), CacheError>> {
///         Box::pin(async move {
///             self.0.lock().unwrap().remove(key.as_str());
///             Ok(())
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let idp = auth_testkit::Emulator::start().await;
/// let consumer = idp.app("s2s-example-consumer");
/// let client = auth_client::ConfidentialClient::builder()
///     .authority(idp.authority())
///     .client_id(consumer.client_id())
///     .client_secret(consumer.secret())
///     .cache(JsonStore::default())
///     .build()?;
/// client.acquire_token_for_client(&["api://s2s-example-api/.default"]).await?;
/// client.acquire_token_for_client(&["api://s2s-example-api/.default"]).await?;
/// assert_eq!(idp.token_requests(auth_testkit::emulator::Grant::ClientCredentials), 1);
/// # Ok(()) }
/// ```
pub trait TokenCache: Send + Sync + 'static {
    /// The entry under `key`, if any.
    fn get<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<Option<CachedToken>, CacheError>>;

    /// Stores `token` under `key`, replacing any entry.
    fn set<'a>(
        &'a self,
        key: &'a CacheKey,
        token: CachedToken,
    ) -> BoxFuture<'a, Result<(), CacheError>>;

    /// Removes the entry under `key`.
    fn remove<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<(), CacheError>>;
}

/// The default [`TokenCache`]: in memory, bounded (`quick_cache`, CLOCK-Pro eviction) to a
/// number of entries; an entry past its `expires_at` is dropped when read.
///
/// When it is the client's cache, On-Behalf-Of keys hold a keyed hash of the inbound token
/// (SipHash-1-3, 128 bits, under a random key drawn for this cache) instead of its SHA-256:
/// see `assertion_hash`.
pub struct InMemoryTokenCache {
    entries: quick_cache::sync::Cache<String, CachedToken>,
    /// The SipHash key of [`assertion_hash`](Self::assertion_hash), drawn from the system
    /// CSPRNG when the cache is made; never shown or stored anywhere else. `None` only if the
    /// generator failed: then keys hold the SHA-256, as for a shared store.
    assertion_key: Option<[u8; 16]>,
}

impl InMemoryTokenCache {
    /// A cache holding at most about `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        InMemoryTokenCache {
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
            assertion_key: crate::random::bytes::<16>().ok(),
        }
    }

    /// The hash of an inbound token (On-Behalf-Of) in the keys of this cache: base64url of
    /// SipHash-1-3 with a 128-bit output, keyed with this cache's random 128-bit key.
    ///
    /// Why this is as safe as the SHA-256 that keys of shared stores hold, and faster (a
    /// cached On-Behalf-Of token is served in under 1 µs; the SHA-256 of a 1.6 KB token was
    /// most of the 1.1–1.25 µs before, see docs/performance.md):
    /// - **The assertion stays secret.** A key holds 128 bits of a keyed pseudorandom function
    ///   of the token, never the token. The key is never shown: this cache's `Debug` prints
    ///   its size only, and keys of this cache never leave the process (the client keys its
    ///   in-memory cache this way only when that cache is its store; a [`TokenCache`] of your
    ///   own, or Redis, gets the SHA-256 keys).
    /// - **No two tokens share a key.** Serving user A's downstream token to user B would
    ///   need two tokens with the same 128-bit tag. By chance: ~2⁻¹²⁸ per pair, ~10⁻³¹ for
    ///   10,000 entries. On purpose: SipHash is a PRF (Aumasson & Bernstein,
    ///   <https://www.aumasson.jp/siphash/siphash.pdf>); without the key, which an attacker
    ///   never sees and cannot query tags of, a collision costs ~2¹²⁸ tries. SipHash-1-3 is the
    ///   variant Rust's standard `HashMap` uses against chosen-input attacks; the tags here
    ///   are never even observable.
    /// - **Per cache, not shared.** A random key per cache makes tags meaningless across
    ///   processes, so this hash suits this tier only. A store shared by several replicas
    ///   (Redis) needs the same key for the same token in every process: those keys keep the
    ///   unkeyed SHA-256 ([`CacheKey::assertion_hash`]), whose preimage resistance keeps the
    ///   high-entropy, signed token secret from the store.
    pub(crate) fn assertion_hash(&self, assertion: &str) -> String {
        use siphasher::sip128::{Hasher128 as _, SipHasher13};
        use std::hash::Hasher as _;
        match &self.assertion_key {
            Some(key) => {
                let mut hasher = SipHasher13::new_with_key(key);
                hasher.write(assertion.as_bytes());
                crate::random::b64url(hasher.finish128().as_bytes())
            }
            None => CacheKey::assertion_hash(assertion),
        }
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Stores `token` under `key`, without a future.
    pub(crate) fn insert(&self, key: &CacheKey, token: CachedToken) {
        self.entries.insert(key.as_str().to_owned(), token);
    }

    /// The entry under `key`, without a future (the client's fast path).
    pub(crate) fn get_now(&self, key: &CacheKey) -> Option<CachedToken> {
        let entry = self.entries.get(key.as_str())?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if entry.expires_at <= now {
            self.entries.remove(key.as_str());
            return None;
        }
        Some(entry)
    }
}

impl Default for InMemoryTokenCache {
    fn default() -> Self {
        InMemoryTokenCache::new(DEFAULT_CACHE_CAPACITY)
    }
}

impl fmt::Debug for InMemoryTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryTokenCache")
            .field("len", &self.entries.len())
            .field("capacity", &self.entries.capacity())
            .finish()
    }
}

impl TokenCache for InMemoryTokenCache {
    fn get<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<Option<CachedToken>, CacheError>> {
        let entry = self.get_now(key);
        Box::pin(async move { Ok(entry) })
    }

    fn set<'a>(
        &'a self,
        key: &'a CacheKey,
        token: CachedToken,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        self.entries.insert(key.as_str().to_owned(), token);
        Box::pin(async { Ok(()) })
    }

    fn remove<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<(), CacheError>> {
        self.entries.remove(key.as_str());
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_obo_keys_hold_a_keyed_hash_of_the_assertion_never_the_assertion() {
        let assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
        let (one, two) = (InMemoryTokenCache::new(10), InMemoryTokenCache::new(10));
        let tag = one.assertion_hash(assertion);
        // Stable within a cache (the client finds its entries again)...
        assert_eq!(tag, one.assertion_hash(assertion));
        assert_ne!(tag, one.assertion_hash(&format!("{assertion}x")));
        // ...keyed per cache (meaningless elsewhere), and not the unkeyed SHA-256.
        assert_ne!(tag, two.assertion_hash(assertion));
        assert_ne!(tag, CacheKey::assertion_hash(assertion));
        assert_eq!(tag.len(), 22, "128 bits, base64url");
        assert!(!tag.contains("eyJ") && !tag.contains("c2ln"));
        let debug = format!("{one:?}");
        assert!(
            !debug.contains("assertion_key") && !debug.contains(&tag),
            "{debug}"
        );
    }

    #[test]
    fn keys_normalise_scopes_and_separate_kinds_and_assertions() {
        let a = CacheKey::app("https://x/t", "C", &["b a", "A"]);
        assert_eq!(a.scopes(), ["a", "b"]);
        let o1 = CacheKey::on_behalf_of(
            "https://x/t",
            "c",
            &CacheKey::assertion_hash("secret-t1"),
            &["a"],
        );
        let o2 =
            CacheKey::on_behalf_of("https://x/t", "c", &CacheKey::assertion_hash("t2"), &["a"]);
        assert_ne!(o1, o2);
        assert!(!o1.as_str().contains("secret-t1"));
        assert_ne!(
            CacheKey::app("https://x/t", "c", &["a"]).as_str(),
            o1.as_str()
        );
    }

    #[test]
    fn cache_keys_are_unambiguous() {
        // Without length prefixes these two would both read ".../t/c/x/...".
        let a = CacheKey::app("https://x/t/c", "x", &["s"]);
        let b = CacheKey::app("https://x/t", "c/x", &["s"]);
        assert_ne!(a, b);
        assert_ne!(a.as_str(), b.as_str());
        let with = |r| CacheKey::new(CacheKeyKind::App, "https://i", "c", None, r, &["s"], false);
        assert_ne!(with(Some("https://api")).as_str(), with(None).as_str());
        assert_ne!(with(Some("a")).as_str(), with(Some("b")).as_str());
    }

    #[test]
    fn cache_key_scopes_fold_case_only_for_entra() {
        let entra = |s| {
            CacheKey::new(
                CacheKeyKind::App,
                "https://i/t",
                "c",
                None,
                None,
                &[s],
                true,
            )
        };
        assert_eq!(entra("Files.Read"), entra("files.read"));
        let oidc = |s| CacheKey::new(CacheKeyKind::App, "https://i", "c", None, None, &[s], false);
        assert_ne!(oidc("Files.Read"), oidc("files.read"));
        assert_ne!(
            CacheKey::new(
                CacheKeyKind::App,
                "https://i",
                "Client",
                None,
                None,
                &["s"],
                false
            ),
            CacheKey::new(
                CacheKeyKind::App,
                "https://i",
                "client",
                None,
                None,
                &["s"],
                false
            )
        );
    }

    #[test]
    fn the_in_memory_cache_is_bounded_and_drops_expired_entries() {
        let cache = InMemoryTokenCache::new(10);
        let far = 4_000_000_000;
        for i in 0..100 {
            let key = CacheKey::app("a", "c", &[&format!("s{i}")]);
            cache.entries.insert(
                key.as_str().to_owned(),
                CachedToken::new("t", "Bearer", far, None, vec![]),
            );
        }
        assert!(cache.len() <= 20, "{}", cache.len());
        let key = CacheKey::app("a", "c", &["old"]);
        cache.entries.insert(
            key.as_str().to_owned(),
            CachedToken::new("t", "Bearer", 1, None, vec![]),
        );
        assert!(cache.get_now(&key).is_none());
        assert!(cache.entries.get(key.as_str()).is_none());
    }
}
