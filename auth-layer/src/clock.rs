//! Where validation gets the current time from.

use std::fmt;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
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
///
/// On Linux it reads `CLOCK_REALTIME_COARSE`: the wall clock as of the kernel's last tick, at
/// most one tick behind (1–10 ms, by the kernel's `CONFIG_HZ`), for about a tenth of the cost of
/// a precise read (a vDSO read of a cached value, no time-counter arithmetic). Validation reads
/// the clock on every request, cache hits included, and compares it with whole-second claims
/// (`exp`, `nbf`) under a leeway of seconds (60 by default): a few milliseconds late is no
/// difference an issuer or a client can see. Elsewhere it reads
/// [`SystemTime::now`](std::time::SystemTime::now).
///
/// ```
/// use auth_layer::{Clock, SystemClock};
/// use std::time::{SystemTime, UNIX_EPOCH};
///
/// let precise = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
/// assert!((SystemClock.now() - precise).abs() < 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn now(&self) -> f64 {
        use rustix::time::{ClockId, clock_gettime};
        let now = clock_gettime(ClockId::RealtimeCoarse);
        // A clock set before 1970 is treated as the epoch, as below.
        if now.tv_sec < 0 {
            return 0.0;
        }
        now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn precise() -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    }

    #[test]
    fn the_system_clock_is_the_wall_clock_at_most_a_tick_behind() {
        for _ in 0..100 {
            let before = precise();
            let now = SystemClock.now();
            let after = precise();
            // A coarse read is the time of the kernel's last tick: never ahead of a precise
            // read taken after it, and behind one taken before it by at most a tick (10 ms at
            // CONFIG_HZ=100; 50 ms allowed for a loaded machine).
            assert!(now <= after + 1e-6, "ahead: {now} > {after}");
            assert!(before - now < 0.05, "behind by {} s", before - now);
            std::thread::sleep(Duration::from_micros(300));
        }
    }

    #[test]
    fn the_system_clock_moves() {
        let first = SystemClock.now();
        std::thread::sleep(Duration::from_millis(50));
        assert!(SystemClock.now() > first);
    }
}
