//! Faults and knobs of the token endpoint, for client resilience tests: throttling and outages
//! (with or without `Retry-After`), a Conditional Access claims challenge on On-Behalf-Of, and
//! `refresh_in` in token responses.

use std::time::Duration;

use axum::http::StatusCode;

use super::errors::AadError;

/// A fault the token endpoint answers with instead of a token (counted as a request of its
/// grant first, like every request), for every request or the next `n`
/// ([`times`](Self::times)).
///
/// The body is Entra's `temporarily_unavailable` error (`AADSTS90033`).
///
/// ```
/// use std::time::Duration;
/// use auth_testkit::emulator::TokenFault;
///
/// let throttled = TokenFault::throttled(Duration::from_secs(2)); // 429, Retry-After: 2
/// let outage = TokenFault::status(500).times(1);                 // the next request only
/// assert_eq!(throttled.http_status(), 429);
/// assert_eq!(outage.retry_after(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFault {
    status: u16,
    retry_after: Option<Duration>,
    remaining: Option<usize>,
}

impl TokenFault {
    /// `429 Too Many Requests` with `Retry-After` (whole seconds).
    pub fn throttled(retry_after: Duration) -> Self {
        TokenFault {
            status: 429,
            retry_after: Some(retry_after),
            remaining: None,
        }
    }

    /// `503 Service Unavailable`, with `Retry-After` when given.
    pub fn unavailable(retry_after: Option<Duration>) -> Self {
        TokenFault {
            status: 503,
            retry_after,
            remaining: None,
        }
    }

    /// Any status (e.g. 500), without `Retry-After`.
    pub fn status(status: u16) -> Self {
        TokenFault {
            status,
            retry_after: None,
            remaining: None,
        }
    }

    /// Only for the next `n` token requests; then the endpoint is healthy again.
    #[must_use]
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }

    /// The HTTP status answered.
    pub fn http_status(&self) -> u16 {
        self.status
    }

    /// The `Retry-After` sent, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The error for one request, and whether the fault stays in place after it.
    pub(crate) fn fire(&mut self) -> (AadError, bool) {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = AadError::new(
            status,
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again. (A fault injected into the \
             emulator's token endpoint.)",
        );
        if let Some(after) = self.retry_after {
            error = error.with_retry_after(after.as_secs());
        }
        let stays = match &mut self.remaining {
            None => true,
            Some(n) => {
                *n = n.saturating_sub(1);
                *n > 0
            }
        };
        (error, stays)
    }
}

/// The On-Behalf-Of answer while a claims challenge is configured: `interaction_required`,
/// `AADSTS50076` (MFA required by Conditional Access) and the `claims` to satisfy.
pub(crate) fn obo_claims_challenge(claims: &str, resource: &str) -> AadError {
    AadError::bad(
        "interaction_required",
        50076,
        format!(
            "Due to a configuration change made by your administrator, or because you moved to \
             a new location, you must use multi-factor authentication to access '{resource}'."
        ),
    )
    .with_claims(claims)
}
