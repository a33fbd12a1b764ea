//! The one poison-tolerant lock helper of the testkit's servers.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, recovering the guard when a panicking thread poisoned it: a panicking test
/// thread must not cascade into every later request of the emulator or the JWKS server.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
