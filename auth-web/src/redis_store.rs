//! [`RedisSessionStore`]: `tower-sessions` sessions in Redis, shared by every replica of the
//! web app, encrypted at rest.
//!
//! Built on the `redis` crate that `auth-client`'s `RedisTokenCache` already uses, rather than
//! `tower-sessions-redis-store` (which brings the `fred` client): one Redis client in the
//! dependency tree, one set of connection and TLS settings to get right.
//!
//! Each session is one Redis string: the key is `{prefix}` + the SHA-256 of the session id
//! (someone who can list the keys learns no session id), the value is the session record as
//! JSON sealed with AES-256-GCM (aws-lc-rs; random nonce; the key name as associated data, so
//! a value moved to another key does not open), and the key expires with the session
//! (`EXAT`). The session holds the user's refresh and access tokens: never store them in
//! plain text.

use std::fmt;

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::digest;
use base64::Engine as _;
use redis::AsyncCommands as _;
use redis::aio::MultiplexedConnection;
use tokio::sync::OnceCell;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};

const SEALED_V1: u8 = 1;
const TAG_LEN: usize = 16;

/// Sessions in Redis, encrypted at rest (see the module docs).
///
/// ```no_run
/// use auth_web::RedisSessionStore;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // 32 random bytes, the same on every replica (e.g. from a secret store), never in the repo.
/// let key = [7u8; 32];
/// let client = redis::Client::open("redis://127.0.0.1:6379")?;
/// let store = RedisSessionStore::new(client, &key)?.prefix("cases-app:session:");
/// # let _ = store;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSessionStore {
    client: redis::Client,
    connection: std::sync::Arc<OnceCell<MultiplexedConnection>>,
    key: std::sync::Arc<RandomizedNonceKey>,
    prefix: String,
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .field("key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The encryption key is not 32 bytes.
#[derive(Debug, thiserror::Error)]
#[error("auth-web: the session encryption key must be 32 bytes (AES-256-GCM), not {0}")]
pub struct KeyLengthError(usize);

impl RedisSessionStore {
    /// A store over `client`, sealing sessions with the 32-byte `key` (AES-256-GCM). Connects
    /// on first use.
    ///
    /// # Errors
    /// [`KeyLengthError`] when `key` is not 32 bytes.
    pub fn new(client: redis::Client, key: &[u8]) -> std::result::Result<Self, KeyLengthError> {
        if key.len() != AES_256_GCM.key_len() {
            return Err(KeyLengthError(key.len()));
        }
        let key =
            RandomizedNonceKey::new(&AES_256_GCM, key).map_err(|_| KeyLengthError(key.len()))?;
        Ok(RedisSessionStore {
            client,
            connection: std::sync::Arc::default(),
            key: std::sync::Arc::new(key),
            prefix: "auth-web:session:".to_owned(),
        })
    }

    /// The key prefix (default `auth-web:session:`): one per app sharing a Redis.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn redis_key(&self, id: &Id) -> String {
        let hash = digest::digest(&digest::SHA256, id.to_string().as_bytes());
        format!(
            "{}{}",
            self.prefix,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.as_ref())
        )
    }

    async fn connection(&self) -> Result<MultiplexedConnection> {
        self.connection
            .get_or_try_init(|| self.client.get_multiplexed_async_connection())
            .await
            .cloned()
            .map_err(backend)
    }

    fn seal(&self, redis_key: &str, record: &Record) -> Result<Vec<u8>> {
        let mut plaintext = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(redis_key.as_bytes()), &mut plaintext)
            .map_err(|_| Error::Encode("sealing failed".to_owned()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len());
        out.push(SEALED_V1);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&plaintext);
        Ok(out)
    }

    fn open(&self, redis_key: &str, value: &[u8]) -> Option<Record> {
        if value.len() < 1 + NONCE_LEN + TAG_LEN || value[0] != SEALED_V1 {
            return None;
        }
        let (nonce, sealed) = value[1..].split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(redis_key.as_bytes()), &mut buffer)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }

    /// `SET key value EXAT expiry [NX]`; whether it was set.
    async fn set(&self, record: &Record, only_new: bool) -> Result<bool> {
        let key = self.redis_key(&record.id);
        let value = self.seal(&key, record)?;
        let expiry = u64::try_from(record.expiry_date.unix_timestamp()).unwrap_or(0);
        let mut options =
            redis::SetOptions::default().with_expiration(redis::SetExpiry::EXAT(expiry));
        if only_new {
            options = options.conditional_set(redis::ExistenceCheck::NX);
        }
        let mut connection = self.connection().await?;
        let reply: Option<String> = connection
            .set_options(&key, value, options)
            .await
            .map_err(backend)?;
        Ok(reply.is_some())
    }
}

fn backend(err: redis::RedisError) -> Error {
    Error::Backend(format!("redis: {err}"))
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A new random id until one is free (a collision of 128-bit ids is not expected).
        for _ in 0..4 {
            if self.set(record, true).await? {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(Error::Backend("no free session id".to_owned()))
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.set(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let key = self.redis_key(id);
        let mut connection = self.connection().await?;
        let value: Option<Vec<u8>> = connection.get(&key).await.map_err(backend)?;
        // A value that does not open (another key, tampered, not ours) is no session.
        Ok(value.and_then(|v| self.open(&key, &v)))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let key = self.redis_key(id);
        let mut connection = self.connection().await?;
        let _: i64 = connection.del(&key).await.map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_sealed_and_bound_to_their_key() {
        let client = redis::Client::open("redis://127.0.0.1:1").unwrap();
        let store = RedisSessionStore::new(client.clone(), &[1u8; 32]).unwrap();
        let mut record = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc(),
        };
        record.data.insert(
            "auth_web.account".into(),
            serde_json::json!({"refresh_token": "0.AAAA-rt"}),
        );
        let key = store.redis_key(&record.id);
        assert!(!key.contains(&record.id.to_string()));
        let sealed = store.seal(&key, &record).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("0.AAAA-rt"));
        assert_eq!(store.open(&key, &sealed).unwrap().id, record.id);
        assert!(store.open("auth-web:session:other", &sealed).is_none());
        let other = RedisSessionStore::new(client, &[2u8; 32]).unwrap();
        assert!(other.open(&key, &sealed).is_none());
        assert!(
            RedisSessionStore::new(redis::Client::open("redis://x").unwrap(), &[0u8; 16]).is_err()
        );
    }
}
