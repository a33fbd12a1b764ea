//! Where validation gets the current time from.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in seconds since the Unix epoch.
///
/// Validation never reads the system clock directly: it asks the [`Clock`] configured on the
/// [`ValidatorBuilder`](crate::ValidatorBuilder), so tests and tools can freeze time
/// (the pattern of rustls' `TimeProvider`).
///
/// ```
/// use auth_layer::{Clock, FixedClock};
/// let clock = FixedClock::at(1_700_000_000);
/// assert_eq!(clock.now(), 1_700_000_000.0);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch, possibly fractional.
    fn now(&self) -> f64;
}

/// The system wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        // A clock set before 1970 is treated as the epoch: every token then looks "not yet
        // valid" or valid-far-in-the-future rather than panicking.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// A clock frozen at one instant (tests, `entra-token verify --at`).
#[derive(Clone, Copy, PartialEq)]
pub struct FixedClock(f64);

impl FixedClock {
    /// A clock that always reads `unix_seconds`.
    pub const fn at(unix_seconds: i64) -> Self {
        Self(unix_seconds as f64)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> f64 {
        self.0
    }
}

impl fmt::Debug for FixedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FixedClock({})", self.0)
    }
}
