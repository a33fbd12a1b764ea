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
#[derive(Clone)]
pub struct Principal(Arc<Claims>);

impl Principal {
    /// Wraps validated claims.
    pub fn new(claims: Claims) -> Self {
        Self(Arc::new(claims))
    }

    /// The validated claims.
    pub fn claims(&self) -> &Claims {
        &self.0
    }

    /// Delegated (a user is present) or app-only.
    pub fn kind(&self) -> TokenKind {
        self.0.kind()
    }
}

impl Deref for Principal {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl From<Claims> for Principal {
    fn from(claims: Claims) -> Self {
        Self::new(claims)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Principal").field(&*self.0).finish()
    }
}
