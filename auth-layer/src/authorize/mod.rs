//! The service behind every authentication layer: find the principal (in the request's
//! extensions, or by validating its bearer token once), apply the layer's policy, then call
//! the inner service or refuse.

mod future;
mod service;

pub use future::AuthorizeFuture;
pub use service::Authorize;

use crate::challenge::AuthError;
use crate::{Principal, Require};

/// What a layer requires of the caller.
#[derive(Clone, Debug)]
pub(crate) enum Policy {
    /// A valid token (of either kind); with `optional`, no credentials at all is fine too.
    Authenticated { optional: bool },
    /// A [`Require`].
    Require(Require),
}

impl Policy {
    pub(crate) fn optional(&self) -> bool {
        matches!(self, Policy::Authenticated { optional: true })
    }

    pub(crate) fn check(&self, principal: &Principal) -> Result<(), AuthError> {
        match self {
            Policy::Authenticated { .. } => Ok(()),
            Policy::Require(require) => require.check(principal),
        }
    }
}
