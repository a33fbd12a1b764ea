//! [`BoundedMemoryStore`]: sessions in this process's memory, bounded.
//!
//! `tower-sessions`' own `MemoryStore` keeps every session ever created until the process ends
//! (expired ones are ignored on load but never removed), so anyone can grow it by requesting
//! `/login` in a loop. This one holds at most `capacity` sessions (`quick_cache`, as
//! `auth-client`'s token cache, evicting by its CLOCK-Pro policy) and drops expired ones
//! when they are loaded.

use async_trait::async_trait;
use tower_sessions::SessionStore;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};

/// The default capacity: 100,000 sessions.
pub const DEFAULT_SESSION_CAPACITY: usize = 100_000;

/// Sessions in memory, at most `capacity` of them (see the module docs). For one instance;
/// use [`RedisSessionStore`](crate::RedisSessionStore) (feature `redis`) for many.
#[derive(Clone, Debug)]
pub struct BoundedMemoryStore {
    sessions: std::sync::Arc<quick_cache::sync::Cache<Id, Record>>,
}

impl Default for BoundedMemoryStore {
    fn default() -> Self {
        BoundedMemoryStore::new(DEFAULT_SESSION_CAPACITY)
    }
}

impl BoundedMemoryStore {
    /// A store of at most `capacity` sessions.
    pub fn new(capacity: usize) -> Self {
        BoundedMemoryStore {
            sessions: std::sync::Arc::new(quick_cache::sync::Cache::new(capacity.max(1))),
        }
    }

    /// How many sessions it holds.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[async_trait]
impl SessionStore for BoundedMemoryStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        for _ in 0..4 {
            if self.sessions.get(&record.id).is_none() {
                self.sessions.insert(record.id, record.clone());
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(Error::Backend("no free session id".to_owned()))
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.sessions.insert(record.id, record.clone());
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(record) = self.sessions.get(id) else {
            return Ok(None);
        };
        if record.expiry_date <= OffsetDateTime::now_utc() {
            self.sessions.remove(id);
            return Ok(None);
        }
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.sessions.remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_in: i64) -> Record {
        Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc()
                + tower_sessions::cookie::time::Duration::seconds(expires_in),
        }
    }

    #[tokio::test]
    async fn memory_sessions_are_bounded_and_expire() {
        let store = BoundedMemoryStore::new(100);
        for _ in 0..1000 {
            store.create(&mut record(60)).await.unwrap();
        }
        assert!(store.len() <= 100, "{}", store.len());

        let mut expired = record(-1);
        store.create(&mut expired).await.unwrap();
        assert!(store.load(&expired.id).await.unwrap().is_none());
        let mut live = record(60);
        store.create(&mut live).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap().unwrap().id, live.id);
        store.delete(&live.id).await.unwrap();
        assert!(store.load(&live.id).await.unwrap().is_none());
    }
}
