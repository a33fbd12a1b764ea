//! The refreshing side of a [`JwksCache`](crate::jwks::JwksCache): the current key set of a
//! remote source, the single-flight fetches (initial, scheduled, unknown `kid`), the
//! rate limit, the schedule and the staleness clock. See `docs/key-rotation.md` for why the
//! policy is what it is.

use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::runtime::Handle;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::jwks::discovery::DiscoveryConfig;
use crate::jwks::error::JwksError;
use crate::jwks::fetch::Fetcher;
use crate::jwks::stats::JwksStats;
use crate::key_set::KeySet;

/// Scheduled refreshes happen up to this fraction of the interval early, so replicas started
/// together do not fetch together.
const JITTER: f64 = 0.1;
/// While no key set was ever loaded, the first retry after a failed fetch waits this long,
/// doubling per failure up to the minimum refresh interval.
const BOOTSTRAP_RETRY: Duration = Duration::from_secs(1);
/// Floor of the delays the cache derives itself (after a failure, from `max-age`), so that a
/// zero minimum refresh interval or `max-age=0` cannot make the scheduler spin.
const MIN_DERIVED_DELAY: Duration = Duration::from_secs(1);
/// Durations are capped here so that `Instant + duration` cannot overflow.
pub(super) const MAX_INTERVAL: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// `last_success_nanos` before any success.
const NEVER: u64 = u64::MAX;

/// The outcome a flight publishes: `None` while in flight.
type Outcome = Option<Result<(), JwksError>>;

/// What started a fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    Initial,
    Scheduled,
    KidMiss,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Initial => "initial",
            Trigger::Scheduled => "scheduled",
            Trigger::KidMiss => "kid_miss",
        }
    }
}

pub(crate) enum Source {
    Discovery(DiscoveryConfig),
    JwksUri(String),
}

pub(crate) struct Remote {
    source: Source,
    fetcher: Fetcher,
    runtime: Handle,
    refresh_interval: Duration,
    min_refresh_interval: Duration,
    max_staleness: Option<Duration>,
}

impl Remote {
    /// The delay before the next scheduled refresh after a success.
    fn interval_after_success(&self, max_age: Option<Duration>) -> Duration {
        match max_age {
            Some(age) if age < self.refresh_interval => age
                .max(self.min_refresh_interval)
                .max(MIN_DERIVED_DELAY)
                .min(self.refresh_interval),
            _ => self.refresh_interval,
        }
    }

    /// The delay before the next scheduled refresh after a failure.
    fn retry_interval(&self) -> Duration {
        self.min_refresh_interval
            .min(self.refresh_interval)
            .max(MIN_DERIVED_DELAY)
    }

    /// How long the first request waits after `failures` failed initial fetches.
    fn bootstrap_backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        BOOTSTRAP_RETRY
            .saturating_mul(1 << doublings)
            .min(self.min_refresh_interval)
    }

    /// The configured metadata or key-set URL, for messages.
    fn source_url(&self) -> &str {
        match &self.source {
            Source::Discovery(d) => &d.metadata_url,
            Source::JwksUri(uri) => uri,
        }
    }

    /// A bound on one refresh: a discovery GET and a key-set GET, plus slack.
    fn flight_limit(&self) -> Duration {
        self.fetcher
            .timeout()
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(1))
    }
}

#[derive(Default)]
struct Counters {
    attempted: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    kid_miss: AtomicU64,
    rate_limited: AtomicU64,
}

/// Refresh bookkeeping, behind a std `Mutex` that is never held across an `.await`.
struct State {
    /// The fetch in flight, if any: joiners clone the receiver.
    flight: Option<watch::Receiver<Outcome>>,
    /// The `jwks_uri` discovery last gave.
    jwks_uri: Option<String>,
    /// When the last kid-miss refresh started: the rate-limit window runs from here.
    last_miss_refresh: Option<Instant>,
    /// Failed fetches since the last success while nothing was ever loaded.
    bootstrap_failures: u32,
    /// When the last failed fetch finished.
    last_failure: Option<Instant>,
    next_refresh_at: Instant,
    last_success: Option<SystemTime>,
    last_error: Option<JwksError>,
}

impl State {
    fn new(next_refresh_at: Instant) -> Self {
        Self {
            flight: None,
            jwks_uri: None,
            last_miss_refresh: None,
            bootstrap_failures: 0,
            last_failure: None,
            next_refresh_at,
            last_success: None,
            last_error: None,
        }
    }

    /// The flight in progress, forgetting one whose task died without publishing.
    fn live_flight(&mut self) -> Option<watch::Receiver<Outcome>> {
        match &self.flight {
            Some(rx) if rx.has_changed().is_ok() => Some(rx.clone()),
            Some(_) => {
                self.flight = None;
                None
            }
            None => None,
        }
    }
}

/// A flight: the outcome of one fetch, published when it ends (`None` while in flight).
pub(crate) struct Flight {
    outcome: watch::Receiver<Outcome>,
    limit: Duration,
    url: Arc<str>,
}

impl Flight {
    /// Waits for the fetch to end, bounded by the fetch timeouts.
    pub(crate) async fn wait(self) -> Result<(), JwksError> {
        wait_outcome(self.outcome, self.limit)
            .await
            .unwrap_or_else(|| {
                Err(JwksError::Timeout {
                    url: self.url.to_string(),
                })
            })
    }
}

/// How the keys stand for a caller who cannot wait.
pub(crate) enum KeysNow {
    /// Loaded and fresh enough.
    Ready(arc_swap::Guard<Arc<KeySet>>),
    /// Never loaded; the first fetch is in flight (started now, or joined).
    Loading(Flight),
    /// Never loaded and the bootstrap backoff is running, or older than `max_staleness`.
    Unavailable,
}

/// The remote key source and everything that keeps its keys fresh. Shared (`Arc`) by the
/// cache's clones and its fetch tasks; the scheduler holds a `Weak`.
pub(crate) struct Refresher {
    keys: ArcSwap<KeySet>,
    issuer: ArcSwapOption<String>,
    /// Whether a key set was ever loaded.
    loaded: AtomicBool,
    /// Whether "fails closed: too stale" was logged since the last success.
    stale_closed: AtomicBool,
    remote: Remote,
    state: Mutex<State>,
    counters: Counters,
    /// The origin of `last_success_nanos`.
    epoch: Instant,
    /// Nanoseconds from `epoch` to the end of the last success, or [`NEVER`].
    last_success_nanos: AtomicU64,
    /// Wakes the scheduler when the next refresh time changes.
    wake: Arc<Notify>,
    /// `true` stops the scheduler; dropping it (with the refresher) stops it too.
    shutdown: watch::Sender<bool>,
}

/// What [`Refresher::start`] needs: a checked source and checked settings.
pub(crate) struct RemoteConfig {
    pub(crate) source: Source,
    pub(crate) fetcher: Fetcher,
    pub(crate) runtime: Handle,
    pub(crate) refresh_interval: Duration,
    pub(crate) min_refresh_interval: Duration,
    pub(crate) max_staleness: Option<Duration>,
}

impl Refresher {
    /// A refresher with nothing loaded yet, and its scheduler task started on the runtime.
    pub(crate) fn start(config: RemoteConfig) -> Arc<Self> {
        let now = Instant::now();
        let refresh_interval = config.refresh_interval.min(MAX_INTERVAL);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let runtime = config.runtime.clone();
        let refresher = Arc::new(Refresher {
            keys: ArcSwap::from_pointee(KeySet::empty()),
            issuer: ArcSwapOption::empty(),
            loaded: AtomicBool::new(false),
            stale_closed: AtomicBool::new(false),
            remote: Remote {
                source: config.source,
                fetcher: config.fetcher,
                runtime: config.runtime,
                refresh_interval,
                min_refresh_interval: config.min_refresh_interval.min(MAX_INTERVAL),
                max_staleness: config.max_staleness,
            },
            state: Mutex::new(State::new(now + refresh_interval)),
            counters: Counters::default(),
            epoch: now,
            last_success_nanos: AtomicU64::new(NEVER),
            wake: Arc::new(Notify::new()),
            shutdown,
        });
        runtime.spawn(scheduler(
            Arc::downgrade(&refresher),
            shutdown_rx,
            Arc::clone(&refresher.wake),
        ));
        refresher
    }

    /// The current key set, without a lock or a reference-count write.
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.keys.load()
    }

    /// The current key set, shared.
    pub(crate) fn load_full(&self) -> Arc<KeySet> {
        self.keys.load_full()
    }

    /// The keys for a caller who cannot wait. Never loaded: starts (or joins) the first fetch,
    /// unless the bootstrap backoff runs.
    pub(crate) fn keys_now(self: &Arc<Self>) -> KeysNow {
        if !self.loaded.load(Ordering::Acquire) {
            return match self.begin_initial() {
                Some(flight) => KeysNow::Loading(flight),
                // Loaded meanwhile: look again.
                None if self.loaded.load(Ordering::Acquire) => self.keys_now(),
                None => KeysNow::Unavailable,
            };
        }
        if self.too_stale() {
            return KeysNow::Unavailable;
        }
        KeysNow::Ready(self.keys.load())
    }

    /// The issuer the discovery document named, as published.
    pub(crate) fn issuer(&self) -> Option<String> {
        self.issuer.load_full().map(|issuer| String::clone(&issuer))
    }

    /// The configured metadata or key-set URL, for messages.
    pub(crate) fn source_url(&self) -> &str {
        self.remote.source_url()
    }

    /// Whether a key set was ever loaded.
    pub(crate) fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Loaded and not older than `max_staleness`.
    pub(crate) fn is_ready(&self) -> bool {
        self.is_loaded() && !self.too_stale()
    }

    /// Joins or starts the first fetch while nothing was ever loaded; `Ok` once loaded.
    pub(crate) async fn load_now(self: &Arc<Self>) -> Result<(), JwksError> {
        if let Some(flight) = self.begin_initial() {
            flight.wait().await?;
        }
        if self.is_loaded() {
            return Ok(());
        }
        let st = self.lock();
        Err(st.last_error.clone().unwrap_or_else(|| JwksError::Timeout {
            url: self.source_url().to_owned(),
        }))
    }

    /// Stops the scheduled refresh task.
    pub(crate) fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Counters and state.
    pub(crate) fn stats(&self) -> JwksStats {
        let (last_success, last_error) = {
            let st = self.lock();
            (st.last_success, st.last_error.clone())
        };
        let c = &self.counters;
        JwksStats {
            fetches_attempted: c.attempted.load(Ordering::Relaxed),
            fetches_succeeded: c.succeeded.load(Ordering::Relaxed),
            fetches_failed: c.failed.load(Ordering::Relaxed),
            kid_miss_refreshes: c.kid_miss.load(Ordering::Relaxed),
            kid_miss_rate_limited: c.rate_limited.load(Ordering::Relaxed),
            keys_loaded: self.keys.load().len(),
            last_success,
            staleness: self.staleness(Instant::now()),
            last_error,
        }
    }

    /// Sets the staleness gauge to its value now (feature `metrics`).
    pub(crate) fn record_staleness(&self) {
        crate::metrics::key_staleness(self.source_url(), self.staleness(Instant::now()), None);
    }

    /// The first fetch, started now: what `JwksCacheBuilder::build` waits for.
    pub(crate) fn start_initial(self: &Arc<Self>) -> Flight {
        let mut st = self.lock();
        self.start_flight(&mut st, Trigger::Initial)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn staleness(&self, now: Instant) -> Option<Duration> {
        let nanos = self.last_success_nanos.load(Ordering::Acquire);
        if nanos == NEVER {
            return None;
        }
        Some(now.saturating_duration_since(self.epoch + Duration::from_nanos(nanos)))
    }

    /// Whether the keys are older than the maximum staleness (logged once per episode).
    fn too_stale(&self) -> bool {
        let Some(max) = self.remote.max_staleness else {
            return false;
        };
        let Some(staleness) = self.staleness(Instant::now()) else {
            return false;
        };
        if staleness <= max {
            return false;
        }
        if !self.stale_closed.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                staleness_secs = staleness.as_secs(),
                max_staleness_secs = max.as_secs(),
                "the signing keys are older than max_staleness: validation fails closed until a \
                 refresh succeeds"
            );
        }
        true
    }

    /// While nothing was ever loaded: the flight to wait for (joined or started), unless the
    /// bootstrap backoff after a failure is running. `None` once loaded.
    pub(crate) fn begin_initial(self: &Arc<Self>) -> Option<Flight> {
        if self.loaded.load(Ordering::Acquire) {
            return None;
        }
        let mut st = self.lock();
        if self.loaded.load(Ordering::Acquire) {
            return None;
        }
        if let Some(flight) = self.live_flight(&mut st) {
            return Some(flight);
        }
        let now = Instant::now();
        if let Some(failed) = st.last_failure
            && now.saturating_duration_since(failed)
                < self.remote.bootstrap_backoff(st.bootstrap_failures)
        {
            return None;
        }
        Some(self.start_flight(&mut st, Trigger::Initial))
    }

    /// After an unknown `kid` in `seen` (the key set the caller looked in): the flight to wait
    /// for (joined or started), or `None` when the rate limit refuses a new one. When the keys
    /// changed since the caller looked (a refresh ended meanwhile), a finished flight: look
    /// again, no fetch needed.
    pub(crate) fn begin_kid_miss(self: &Arc<Self>, seen: &KeySet) -> Option<Flight> {
        let mut st = self.lock();
        if let Some(flight) = self.live_flight(&mut st) {
            return Some(flight);
        }
        // Keys are stored under the lock (in `finish`), so this comparison cannot race one.
        if !std::ptr::eq(Arc::as_ptr(&self.keys.load()), seen) {
            let (_, finished) = watch::channel(Some(Ok(())));
            return Some(self.flight(finished));
        }
        let now = Instant::now();
        if let Some(last) = st.last_miss_refresh
            && now.saturating_duration_since(last) < self.remote.min_refresh_interval
        {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        st.last_miss_refresh = Some(now);
        self.counters.kid_miss.fetch_add(1, Ordering::Relaxed);
        Some(self.start_flight(&mut st, Trigger::KidMiss))
    }

    fn flight(&self, outcome: watch::Receiver<Outcome>) -> Flight {
        Flight {
            outcome,
            limit: self.remote.flight_limit(),
            url: Arc::from(self.remote.source_url()),
        }
    }

    fn live_flight(&self, st: &mut State) -> Option<Flight> {
        st.live_flight().map(|rx| self.flight(rx))
    }

    /// Starts a fetch on the cache's runtime (so it completes even if the caller gives up) and
    /// records it as the flight in progress. Caller holds the state lock and checked that no
    /// flight is live.
    fn start_flight(self: &Arc<Self>, st: &mut State, trigger: Trigger) -> Flight {
        let (tx, rx) = watch::channel(None);
        st.flight = Some(rx.clone());
        self.counters.attempted.fetch_add(1, Ordering::Relaxed);
        let refresher = Arc::clone(self);
        self.remote
            .runtime
            .spawn(async move { refresher.run_flight(trigger, tx).await });
        self.flight(rx)
    }

    async fn run_flight(self: Arc<Self>, trigger: Trigger, tx: watch::Sender<Outcome>) {
        let remote = &self.remote;
        let result = self.fetch(remote, trigger).await;
        let outcome = self.finish(remote, trigger, result);
        self.wake.notify_one();
        tx.send_replace(Some(outcome));
    }

    /// One refresh: discovery when needed (first fetch, and every scheduled refresh), then the
    /// key set.
    async fn fetch(&self, remote: &Remote, trigger: Trigger) -> Result<Loaded, JwksError> {
        let jwks_uri = match &remote.source {
            Source::JwksUri(uri) => uri.clone(),
            Source::Discovery(config) => {
                let cached = self.lock().jwks_uri.clone();
                match cached {
                    Some(uri) if trigger != Trigger::Scheduled => uri,
                    cached => match self.discover(remote, config, trigger).await {
                        Ok(uri) => uri,
                        // A transient metadata failure on a scheduled refresh: the known
                        // jwks_uri still serves the keys. Refusals (issuer, URL) are final.
                        Err(
                            error @ (JwksError::Http { .. }
                            | JwksError::Transport { .. }
                            | JwksError::Timeout { .. }),
                        ) if cached.is_some() => {
                            tracing::warn!(
                                error = %error,
                                "OIDC discovery failed; refreshing the keys from the known jwks_uri"
                            );
                            cached.unwrap_or_default()
                        }
                        Err(error) => return Err(error),
                    },
                }
            }
        };
        let span = tracing::info_span!("jwks_fetch", url = %jwks_uri, trigger = trigger.as_str());
        let document = remote.fetcher.get(&jwks_uri).instrument(span).await?;
        let keys = KeySet::from_jwks_json(&document.body).map_err(|source| JwksError::KeySet {
            url: jwks_uri.clone(),
            source,
        })?;
        Ok(Loaded {
            keys,
            max_age: document.max_age,
            url: jwks_uri,
        })
    }

    async fn discover(
        &self,
        remote: &Remote,
        config: &DiscoveryConfig,
        trigger: Trigger,
    ) -> Result<String, JwksError> {
        let url = &config.metadata_url;
        let span = tracing::info_span!("jwks_fetch", url = %url, trigger = trigger.as_str());
        let document = remote.fetcher.get(url).instrument(span).await?;
        let discovered = config.parse(&document.body)?;
        self.issuer.store(Some(Arc::new(discovered.issuer)));
        self.lock().jwks_uri = Some(discovered.jwks_uri.clone());
        Ok(discovered.jwks_uri)
    }

    /// Publishes a fetch's result: swaps in the new keys or keeps the last good ones, updates
    /// the counters and the schedule, clears the flight, logs.
    fn finish(
        &self,
        remote: &Remote,
        trigger: Trigger,
        result: Result<Loaded, JwksError>,
    ) -> Result<(), JwksError> {
        let now = Instant::now();
        let mut st = self.lock();
        st.flight = None;
        match result {
            Ok(Loaded { keys, max_age, url }) => {
                let count = keys.len();
                for dropped in keys.dropped() {
                    tracing::info!(url = %url, kid = ?dropped.kid, reason = %dropped.reason, "signing key left out of the key set");
                }
                self.keys.store(Arc::new(keys));
                self.loaded.store(true, Ordering::Release);
                self.stale_closed.store(false, Ordering::Relaxed);
                let nanos = u64::try_from(now.saturating_duration_since(self.epoch).as_nanos())
                    .unwrap_or(NEVER - 1);
                self.last_success_nanos.store(nanos, Ordering::Release);
                st.last_success = Some(SystemTime::now());
                st.last_error = None;
                st.bootstrap_failures = 0;
                st.last_failure = None;
                let interval = jitter(remote.interval_after_success(max_age));
                st.next_refresh_at = now + interval;
                drop(st);
                self.counters.succeeded.fetch_add(1, Ordering::Relaxed);
                crate::metrics::key_fetch(true);
                crate::metrics::key_staleness(
                    remote.source_url(),
                    Some(Duration::ZERO),
                    Some(SystemTime::now()),
                );
                tracing::info!(
                    url = %url,
                    keys = count,
                    trigger = trigger.as_str(),
                    next_refresh_secs = interval.as_secs(),
                    "signing keys loaded"
                );
                Ok(())
            }
            Err(error) => {
                st.last_error = Some(error.clone());
                st.last_failure = Some(now);
                if !self.loaded.load(Ordering::Acquire) {
                    st.bootstrap_failures = st.bootstrap_failures.saturating_add(1);
                }
                let retry = jitter(remote.retry_interval());
                st.next_refresh_at = st.next_refresh_at.min(now + retry);
                drop(st);
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                crate::metrics::key_fetch(false);
                crate::metrics::key_staleness(remote.source_url(), self.staleness(now), None);
                let staleness = self.staleness(now).map(|s| s.as_secs());
                if self.loaded.load(Ordering::Acquire) {
                    tracing::warn!(
                        error = %error,
                        trigger = trigger.as_str(),
                        staleness_secs = ?staleness,
                        retry_secs = retry.as_secs(),
                        "signing-key refresh failed; keeping the last known good key set"
                    );
                } else {
                    // Nothing to keep: say so, and that the cache keeps trying.
                    tracing::warn!(
                        error = %error,
                        trigger = trigger.as_str(),
                        "no signing keys loaded yet: tokens are refused until they are; the \
                         key fetch is retried (the next request, or the refresh schedule, \
                         tries again)"
                    );
                }
                Err(error)
            }
        }
    }
}

/// A key set fetched and parsed.
struct Loaded {
    keys: KeySet,
    max_age: Option<Duration>,
    url: String,
}

/// Waits for a flight's outcome; `None` when `limit` passes first.
async fn wait_outcome(
    mut flight: watch::Receiver<Outcome>,
    limit: Duration,
) -> Option<Result<(), JwksError>> {
    match tokio::time::timeout(limit, flight.wait_for(Option::is_some)).await {
        Ok(Ok(outcome)) => Some(outcome.clone().unwrap_or(Err(JwksError::Abandoned))),
        Ok(Err(_closed)) => Some(Err(JwksError::Abandoned)),
        Err(_elapsed) => None,
    }
}

/// The scheduled-refresh task. Holds only a `Weak`, so the cache is dropped with its last
/// handle; then (or on `shutdown()`) the task ends.
async fn scheduler(weak: Weak<Refresher>, mut shutdown: watch::Receiver<bool>, wake: Arc<Notify>) {
    loop {
        let deadline = match weak.upgrade() {
            Some(inner) => inner.lock().next_refresh_at,
            None => return,
        };
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            () = wake.notified() => continue,
            () = tokio::time::sleep_until(deadline) => {}
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let flight = {
            let mut st = inner.lock();
            if Instant::now() < st.next_refresh_at {
                continue;
            }
            match inner.live_flight(&mut st) {
                Some(flight) => flight,
                None => inner.start_flight(&mut st, Trigger::Scheduled),
            }
        };
        drop(inner);
        // The outcome was logged by the flight.
        let _ = flight.wait().await;
    }
}

/// `interval` shortened by a random fraction of up to [`JITTER`].
fn jitter(interval: Duration) -> Duration {
    // `RandomState` is randomly keyed per instance: enough randomness to spread replicas.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let unit = (random >> 11) as f64 / (1u64 << 53) as f64;
    Duration::try_from_secs_f64(interval.as_secs_f64() * (1.0 - JITTER * unit))
        .unwrap_or(interval)
        .min(MAX_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_only_shortens_by_up_to_ten_percent() {
        let base = Duration::from_secs(1000);
        for _ in 0..100 {
            let d = jitter(base);
            assert!(d <= base && d >= Duration::from_secs(900), "{d:?}");
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn max_age_shortens_the_schedule_within_bounds() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let remote = Remote {
            source: Source::JwksUri("https://idp.example/keys".to_owned()),
            fetcher: Fetcher::new(reqwest::Client::new(), Duration::from_secs(5), 1024),
            runtime: rt.handle().clone(),
            refresh_interval: Duration::from_secs(3600),
            min_refresh_interval: Duration::from_secs(300),
            max_staleness: None,
        };
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            remote.interval_after_success(None),
            Duration::from_secs(3600)
        );
        assert_eq!(
            remote.interval_after_success(secs(86400)),
            Duration::from_secs(3600)
        );
        assert_eq!(
            remote.interval_after_success(secs(600)),
            Duration::from_secs(600)
        );
        assert_eq!(
            remote.interval_after_success(secs(0)),
            Duration::from_secs(300)
        );
        assert_eq!(remote.bootstrap_backoff(1), Duration::from_secs(1));
        assert_eq!(remote.bootstrap_backoff(4), Duration::from_secs(8));
        assert_eq!(remote.bootstrap_backoff(40), Duration::from_secs(300));
    }
}
