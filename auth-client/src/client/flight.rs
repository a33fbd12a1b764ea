//! Single-flight and throttling: concurrent identical requests share one token-endpoint call,
//! and a throttled request identity is not sent again before its `Retry-After` time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::sync::lock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::error::{Error, Throttled};
use crate::token::AccessToken;

/// Throttled request identities remembered at once.
const THROTTLE_CAPACITY: usize = 10_000;

/// The outcome an in-flight request publishes to everyone waiting for it.
pub(super) type Outcome = Option<Result<AccessToken, Error>>;

/// The requests in flight, by key.
#[derive(Default)]
pub(super) struct Flights {
    map: Arc<Mutex<HashMap<String, watch::Receiver<Outcome>>>>,
}

/// Whether [`Flights::join_or_start`] joined a flight or started one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Joined {
    /// An identical request was in flight: this caller waits for it.
    Existing,
    /// This caller started the flight.
    New,
}

impl Flights {
    /// Joins the in-flight request for `key`, or starts `flight()` in a task of its own (so
    /// that a caller going away does not cancel it for the others).
    pub(super) fn join_or_start<F, Fut>(
        &self,
        key: &str,
        flight: F,
    ) -> (watch::Receiver<Outcome>, Joined)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, Error>> + Send + 'static,
    {
        let mut flights = lock(&self.map);
        if let Some(existing) = flights.get(key) {
            return (existing.clone(), Joined::Existing);
        }
        let (tx, rx) = watch::channel(None);
        flights.insert(key.to_owned(), rx.clone());
        drop(flights);
        let future = flight();
        let guard = FlightGuard {
            map: Arc::clone(&self.map),
            key: key.to_owned(),
        };
        tokio::spawn(async move {
            let outcome = {
                let _guard = guard;
                future.await
            };
            let _ = tx.send(Some(outcome));
        });
        (rx, Joined::New)
    }
}

/// Removes a flight from the map when the flight ends, however it ends.
struct FlightGuard {
    map: Arc<Mutex<HashMap<String, watch::Receiver<Outcome>>>>,
    key: String,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        lock(&self.map).remove(&self.key);
    }
}

/// Request identities (cache keys, or hashes of codes and refresh tokens) and the time
/// (client clock, Unix seconds) before which they are not sent again.
pub(super) struct Throttle {
    until: quick_cache::sync::Cache<String, f64>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            until: quick_cache::sync::Cache::new(THROTTLE_CAPACITY),
        }
    }
}

impl Throttle {
    /// The error to answer without a request, while `key` is throttled at `now`.
    pub(super) fn check(&self, key: &str, now: f64) -> Option<Error> {
        let until = self.until.get(key)?;
        if until <= now {
            self.until.remove(key);
            return None;
        }
        Some(Error::Throttled(Box::new(Throttled {
            status: None,
            retry_after: Some(Duration::from_secs_f64(until - now)),
            until: Some(unix(until)),
            server: None,
        })))
    }

    /// Holds `key` back until `until`.
    pub(super) fn hold(&self, key: &str, until: f64) {
        self.until.insert(key.to_owned(), until);
    }
}

/// Unix seconds as a `SystemTime`.
pub(super) fn unix(now: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(now.max(0.0))
}
