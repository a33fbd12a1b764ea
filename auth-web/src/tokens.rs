//! Per-user tokens for downstream APIs: [`UserTokenAcquisition`] and [`TokenError`].
//!
//! The user's access tokens and refresh token stay in the session store, never in the browser.
//! [`UserTokenAcquisition::acquire_token_for_user`] returns a cached access token, or redeems
//! the refresh token (keeping the rotated one) for a new one. When the provider needs the user
//! again — consent for a scope not yet granted (`AADSTS65001`, `consent_required`),
//! `interaction_required`, an expired or revoked refresh token (`invalid_grant`), a
//! Conditional Access claims challenge — the error is [`TokenError::SignInRequired`]: returned
//! from the handler, it redirects the browser through sign-in asking for those scopes
//! (incremental consent) and back to the page. This is what MSAL calls "acquire token silently,
//! and on `MsalUiRequiredException` go interactive"
//! (<https://learn.microsoft.com/en-us/entra/identity-platform/msal-error-handling-dotnet#msaluirequiredexception>).

use auth_client::{AccessToken, CachedToken, ClaimsChallenge, Error};
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use http::request::Parts;
use tower_sessions::Session;

use crate::account::{ACCOUNT, REAUTH, Reauth, TOKENS, Tokens, now_unix};
use crate::config::WebAuth;
use crate::signed_in::{SignedInRejection, account, context, return_path, wants_html};

/// An access token is refreshed when it has less than this left (seconds): MSAL's rule, which
/// treats tokens expiring within 5 minutes as expired
/// (<https://learn.microsoft.com/en-us/entra/msal/dotnet/acquiring-tokens/acquire-token-silently>).
const REFRESH_MARGIN_SECS: u64 = 300;

/// Gets the signed-in user's tokens for downstream APIs (an extractor; see the module docs).
///
/// ```
/// use auth_web::{SignedIn, TokenError, UserTokenAcquisition};
///
/// async fn cases(_user: SignedIn, tokens: UserTokenAcquisition) -> Result<String, TokenError> {
///     let token = tokens
///         .acquire_token_for_user(&["api://backend-api-id/Case.Read"])
///         .await?; // consent missing: the browser goes through sign-in and comes back
///     Ok(format!("a token for {:?}", token.scopes()))
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(cases);
/// ```
#[derive(Clone, Debug)]
pub struct UserTokenAcquisition {
    auth: WebAuth,
    session: Session,
    return_to: String,
    html: bool,
}

/// Why no token could be had for the user.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenError {
    /// The user must sign in again (consent, interaction, expired refresh token, claims
    /// challenge, no refresh token). As a response: a browser is redirected to `login_url`,
    /// which asks for the missing scopes and comes back; other clients get `401`.
    SignInRequired {
        /// `/login?return_to=…`.
        login_url: String,
        /// The request prefers HTML.
        html: bool,
        /// The provider's error, when there was one.
        cause: Option<Error>,
    },
    /// The provider refused or could not be reached (`503` when transient, else `502`).
    Provider(Error),
    /// No session layer, or the session store failed.
    Session(SignedInRejection),
}

impl TokenError {
    /// Whether the user must sign in again.
    pub fn is_sign_in_required(&self) -> bool {
        matches!(self, TokenError::SignInRequired { .. })
    }

    /// The provider's error, if any.
    pub fn provider_error(&self) -> Option<&Error> {
        match self {
            TokenError::SignInRequired { cause, .. } => cause.as_ref(),
            TokenError::Provider(err) => Some(err),
            TokenError::Session(_) => None,
        }
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        match self {
            TokenError::SignInRequired { html: true, .. } => StatusCode::SEE_OTHER,
            TokenError::SignInRequired { .. } => StatusCode::UNAUTHORIZED,
            TokenError::Provider(err) if err.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            TokenError::Provider(_) => StatusCode::BAD_GATEWAY,
            TokenError::Session(inner) => inner.status(),
        }
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::SignInRequired { .. } => f.write_str("the user must sign in again"),
            TokenError::Provider(err) => write!(f, "the identity provider refused: {err}"),
            TokenError::Session(inner) => f.write_str(&inner.body_text()),
        }
    }
}

impl std::error::Error for TokenError {}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        match self {
            TokenError::SignInRequired {
                login_url,
                html: true,
                ..
            } => Redirect::to(&login_url).into_response(),
            TokenError::SignInRequired { login_url, .. } => SignedInRejection::NotSignedIn {
                login_url,
                html: false,
            }
            .into_response(),
            TokenError::Provider(err) => {
                tracing::warn!(error = %err, "auth-web: token acquisition failed");
                let status = if err.is_transient() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::BAD_GATEWAY
                };
                (
                    status,
                    "The identity provider could not issue a token. Try again later.",
                )
                    .into_response()
            }
            TokenError::Session(inner) => inner.into_response(),
        }
    }
}

/// Errors after which only the user can help (a new interactive sign-in).
fn needs_user(err: &Error) -> bool {
    err.is_consent_required()
        || err.is_interaction_required()
        || err.is_invalid_grant()
        || err.claims().is_some()
}

fn session_error(err: impl std::fmt::Display) -> TokenError {
    TokenError::Session(SignedInRejection::Session(err.to_string()))
}

impl UserTokenAcquisition {
    /// An access token of the signed-in user for `scopes` (one resource, e.g.
    /// `["api://backend-api-id/Case.Create"]`): from the session when one lives at least five
    /// more minutes, else by redeeming the refresh token (the rotated refresh token is kept).
    ///
    /// # Errors
    /// [`TokenError::SignInRequired`] when nobody is signed in or the provider needs the user
    /// (the scopes are remembered for the next sign-in); [`TokenError::Provider`];
    /// [`TokenError::Session`].
    pub async fn acquire_token_for_user(&self, scopes: &[&str]) -> Result<AccessToken, TokenError> {
        let wanted: Vec<String> = scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_owned)
            .collect();
        let Some(mut account) = account(&self.auth, &self.session)
            .await
            .map_err(TokenError::Session)?
        else {
            return Err(self.sign_in_required(None));
        };
        let now = now_unix();
        let mut tokens: Tokens = self
            .session
            .get(TOKENS)
            .await
            .map_err(session_error)?
            .unwrap_or_default();
        if let Some(hit) = tokens.find(&wanted, now + REFRESH_MARGIN_SECS) {
            return Ok(AccessToken::from(hit.clone()));
        }
        let Some(refresh_token) = account.refresh_token.clone() else {
            return Err(self.reauthenticate_with(&wanted, None, None).await);
        };
        let refreshed = self.auth.client().refresh(&refresh_token, scopes).await;
        let fresh = match refreshed {
            Ok(fresh) => fresh,
            Err(err) if needs_user(&err) => {
                let claims = err.claims().map(str::to_owned);
                return Err(self.reauthenticate_with(&wanted, claims, Some(err)).await);
            }
            Err(err) => return Err(TokenError::Provider(err)),
        };
        let token = fresh.access_token;
        let cached = CachedToken::new(
            token.secret(),
            token.token_type(),
            token.expires_at_unix(),
            None,
            if token.scopes().is_empty() {
                wanted.clone()
            } else {
                token.scopes().to_vec()
            },
        );
        tokens.insert(cached, self.auth.inner.max_tokens, now);
        // Rotation: the refresh token the provider returned replaces the redeemed one.
        account.refresh_token = fresh.refresh_token.or(Some(refresh_token));
        self.session
            .insert(TOKENS, &tokens)
            .await
            .map_err(session_error)?;
        self.session
            .insert(ACCOUNT, &account)
            .await
            .map_err(session_error)?;
        Ok(token)
    }

    /// The error that sends the user through sign-in again for `scopes`, e.g. after a
    /// downstream API answered `401` with a Conditional Access claims challenge
    /// (`WWW-Authenticate: Bearer … claims="…"`): return it from the handler.
    pub async fn reauthenticate(
        &self,
        scopes: &[&str],
        challenge: Option<&ClaimsChallenge>,
    ) -> TokenError {
        let wanted: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let claims = challenge.map(|c| c.claims().to_owned());
        self.reauthenticate_with(&wanted, claims, None).await
    }

    async fn reauthenticate_with(
        &self,
        scopes: &[String],
        claims: Option<String>,
        cause: Option<Error>,
    ) -> TokenError {
        let reauth = Reauth {
            scopes: scopes.to_vec(),
            claims,
        };
        if let Err(err) = self.session.insert(REAUTH, &reauth).await {
            return session_error(err);
        }
        TokenError::SignInRequired {
            login_url: self.auth.login_url(&self.return_to),
            html: self.html,
            cause,
        }
    }

    fn sign_in_required(&self, cause: Option<Error>) -> TokenError {
        TokenError::SignInRequired {
            login_url: self.auth.login_url(&self.return_to),
            html: self.html,
            cause,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UserTokenAcquisition {
    type Rejection = SignedInRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let (auth, session) = context(parts)?;
        Ok(UserTokenAcquisition {
            return_to: return_path(&auth, parts),
            html: wants_html(&parts.headers),
            auth,
            session,
        })
    }
}
