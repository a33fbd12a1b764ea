//! Finding the caller of a request: the [`Principal`] an authentication layer (or an earlier
//! extractor) put into the request's extensions, or the bearer token validated here once.

use auth_layer::{AuthError, Authenticator, Principal, bearer_token_from_parts};
use axum_core::extract::FromRef;
use http::request::Parts;

use crate::rejection::AuthRejection;

/// The caller, or `None` when the request carries no credentials (no `Authorization` header,
/// or another scheme). A malformed request or an invalid token is refused.
///
/// A token validated here is inserted into the extensions as a [`Principal`], so every later
/// extractor (and layer) of the request reuses it.
pub(crate) async fn optional<S>(
    parts: &mut Parts,
    state: &S,
) -> Result<Option<Principal>, AuthRejection>
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    let auth = Authenticator::from_ref(state);
    // Only a principal of the state's own authenticator is trusted; one made by another
    // (another tenant set, audience or profile) means the token is validated again here.
    if let Some(principal) = parts
        .extensions
        .get::<Principal>()
        .filter(|p| p.is_from(&auth))
    {
        return Ok(Some(principal.clone()));
    }
    let token = match bearer_token_from_parts(parts) {
        Ok(token) => token,
        Err(AuthError::MissingCredentials) => return Ok(None),
        Err(err) => return Err(AuthRejection::new(err, auth.challenge().clone())),
    };
    match auth.authenticate(token).await {
        Ok(principal) => {
            parts.extensions.insert(principal.clone());
            Ok(Some(principal))
        }
        Err(err) => Err(AuthRejection::new(
            AuthError::InvalidToken(err),
            auth.challenge().clone(),
        )),
    }
}

/// The caller; a request without credentials is refused (401, bare `Bearer` challenge).
pub(crate) async fn required<S>(parts: &mut Parts, state: &S) -> Result<Principal, AuthRejection>
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    match optional(parts, state).await? {
        Some(principal) => Ok(principal),
        None => Err(refuse(state, AuthError::MissingCredentials)),
    }
}

/// A rejection rendered with the challenge of the state's [`Authenticator`].
pub(crate) fn refuse<S>(state: &S, error: AuthError) -> AuthRejection
where
    Authenticator: FromRef<S>,
{
    AuthRejection::new(error, Authenticator::from_ref(state).challenge().clone())
}
