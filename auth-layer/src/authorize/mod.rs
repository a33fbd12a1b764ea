//! The service behind every authentication layer: find the principal (in the request's
//! extensions, or by validating its bearer token once), apply the layer's policy, then call
//! the inner service or refuse.

mod future;
mod service;

use std::sync::Arc;

pub use future::AuthorizeFuture;
pub use service::Authorize;

use crate::challenge::{AuthError, Insufficient};
use crate::{Principal, TokenKind};

/// What a layer requires of the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// A valid token (of either kind); with `optional`, no credentials at all is fine too.
    Authenticated { optional: bool },
    /// A delegated token with any (or all) of these scopes.
    Scopes { scopes: Arc<[String]>, all: bool },
    /// An app-only token (or, with `allow_delegated`, any token) with any (or all) of these roles.
    Roles {
        roles: Arc<[String]>,
        all: bool,
        allow_delegated: bool,
    },
    /// A delegated token with one of `scopes`, or an app-only token with one of `roles`.
    ScopeOrRole {
        scopes: Arc<[String]>,
        roles: Arc<[String]>,
    },
}

fn grants(have: impl Fn(&str) -> bool, wanted: &[String], all: bool) -> bool {
    if all {
        wanted.iter().all(|w| have(w))
    } else {
        wanted.iter().any(|w| have(w))
    }
}

fn refuse(required: &[String], reason: &'static str) -> AuthError {
    AuthError::InsufficientScope(Insufficient {
        required: required.to_vec(),
        reason,
    })
}

impl Policy {
    pub(crate) fn optional(&self) -> bool {
        matches!(self, Policy::Authenticated { optional: true })
    }

    pub(crate) fn check(&self, principal: &Principal) -> Result<(), AuthError> {
        match self {
            Policy::Authenticated { .. } => Ok(()),
            Policy::Scopes { scopes, all } => {
                if principal.kind() != TokenKind::Delegated {
                    return Err(refuse(
                        scopes,
                        "this route needs a delegated (user) token; an app-only token has no scopes",
                    ));
                }
                if grants(|s| principal.scopes().contains(s), scopes, *all) {
                    Ok(())
                } else {
                    Err(refuse(scopes, "the token lacks a required scope"))
                }
            }
            Policy::Roles {
                roles,
                all,
                allow_delegated,
            } => {
                if principal.kind() != TokenKind::App && !allow_delegated {
                    return Err(refuse(
                        roles,
                        "this route needs an app-only token; a delegated (user) token is not accepted",
                    ));
                }
                if grants(|r| principal.has_role(r), roles, *all) {
                    Ok(())
                } else {
                    Err(refuse(roles, "the token lacks a required role"))
                }
            }
            Policy::ScopeOrRole { scopes, roles } => match principal.kind() {
                TokenKind::Delegated
                    if grants(|s| principal.scopes().contains(s), scopes, false) =>
                {
                    Ok(())
                }
                TokenKind::App if grants(|r| principal.has_role(r), roles, false) => Ok(()),
                TokenKind::Delegated => Err(refuse(scopes, "the token lacks a required scope")),
                TokenKind::App => Err(refuse(roles, "the token lacks a required role")),
            },
        }
    }
}

/// Collects names into the shared list a policy holds.
pub(crate) fn names<I, S>(names: I) -> Arc<[String]>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    names.into_iter().map(Into::into).collect()
}
