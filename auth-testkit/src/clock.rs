//! A clock tests move forward.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use auth_layer::{Clock, SystemClock};

/// The system clock plus an offset the test advances: configure a validator or a client with a
/// clone, keep one, and [`advance`](Self::advance) it to make tokens expire without waiting.
/// Clones share the offset.
///
/// ```
/// use auth_layer::Clock;
/// use auth_testkit::AdvancingClock;
/// use std::time::Duration;
///
/// let clock = AdvancingClock::default();
/// let seen_by_the_validator = clock.clone();
/// let before = seen_by_the_validator.now();
/// clock.advance(Duration::from_secs(3 * 60 * 60));
/// assert!(seen_by_the_validator.now() - before >= 3.0 * 60.0 * 60.0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct AdvancingClock(Arc<AtomicI64>);

impl AdvancingClock {
    /// Moves the clock (and every clone) forward by `by`, in whole seconds.
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for AdvancingClock {
    fn now(&self) -> f64 {
        SystemClock.now() + self.0.load(Ordering::SeqCst) as f64
    }
}
