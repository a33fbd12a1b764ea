//! What `Debug` output shows in place of a secret.

/// Shown instead of a token, a secret, a code or a key.
pub(crate) const REDACTED: &str = "[redacted]";
