//! The authenticated caller, as layers put it into request extensions.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::{Claims, TokenKind};

/// The caller of a request whose bearer token was validated: its [`Claims`] behind an `Arc`, so
/// cloning is a reference-count increment.
///
/// The authentication layers insert it into the request's extensions, where handlers (or
/// `auth-extract`'s extractors) find it. It dereferences to [`Claims`].
///
/// ```
/// use auth_layer::{Principal, TokenKind};
/// fn who(principal: &Principal) -> String {
///     match principal.kind() {
///         TokenKind::Delegated => format!("user {}", principal.name().unwrap_or("?")),
///         TokenKind::App => format!("app {}", principal.client_id().unwrap_or("?")),
///     }
/// }
/// ```
///
/// A principal records which [`Authenticator`](crate::Authenticator) produced it (a cheap id).
/// Every layer, extractor and interceptor trusts only principals of its own authenticator: one
/// built on another authenticator (another tenant set, audience or profile) validates the
/// request's token itself.
#[derive(Clone)]
pub struct Principal {
    claims: Arc<Claims>,
    /// The producing authenticator's id; 0 for none.
    issued_by: u64,
}

impl Principal {
    /// Wraps validated claims. The principal is produced by no authenticator, so no layer or
    /// extractor trusts it in place of validating the request's token (see
    /// [`Principal::is_from`]).
    pub fn new(claims: Claims) -> Self {
        Self::issued_by(claims, 0)
    }

    pub(crate) fn issued_by(claims: Claims, authenticator: u64) -> Self {
        Self {
            claims: Arc::new(claims),
            issued_by: authenticator,
        }
    }

    /// Whether `auth` (or a clone of it) produced this principal.
    pub fn is_from(&self, auth: &crate::Authenticator) -> bool {
        self.issued_by != 0 && self.issued_by == auth.id()
    }

    /// The validated claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// Delegated (a user is present) or app-only.
    pub fn kind(&self) -> TokenKind {
        self.claims.kind()
    }
}

impl Deref for Principal {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.claims
    }
}

impl From<Claims> for Principal {
    fn from(claims: Claims) -> Self {
        Self::new(claims)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Principal").field(&*self.claims).finish()
    }
}
