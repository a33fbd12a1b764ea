//! Why an extractor refused a request, and the RFC 6750 response that says so.

use std::fmt;

use auth_layer::{AuthError, Challenge, Insufficient};
use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};

use http::StatusCode;

/// The rejection of every authentication extractor of this crate
/// ([`DelegatedUser`](crate::DelegatedUser), [`AppPrincipal`](crate::AppPrincipal),
/// [`Caller`](crate::Caller), [`Authenticated`](crate::Authenticated),
/// [`Scope`](crate::Scope), [`Role`](crate::Role)).
///
/// It holds the [`AuthError`] and the [`Challenge`] of the [`Authenticator`] in the router's
/// state, and responds exactly as the `auth-layer` layers do:
///
/// | outcome                                          | status | `WWW-Authenticate`                      |
/// |--------------------------------------------------|--------|-----------------------------------------|
/// | no `Authorization: Bearer` header                | 401    | `Bearer`                                |
/// | malformed request (e.g. two `Authorization`s)    | 400    | `Bearer error="invalid_request", …`     |
/// | invalid token (expired, other tenant, …)         | 401    | `Bearer error="invalid_token", …`       |
/// | valid token of the wrong kind, or lacking a scope or role | 403 | `Bearer error="insufficient_scope", …, scope="…"` |
///
/// The body is empty, or an RFC 9457 problem document when the [`Authenticator`] was built
/// with `problem_json()`. [`body_text`](Self::body_text) is the fixed, client-safe description
/// (the `error_description`); it never contains token content.
///
/// [`Authenticator`]: auth_layer::Authenticator
///
/// ```
/// use auth_extract::{AuthRejection, DelegatedUser};
/// use auth_layer::{AuthError, Authenticator};
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum_core::extract::FromRequestParts;
/// use axum_core::response::IntoResponse;
/// use http::{Request, StatusCode};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
///
/// // An app-only token where a user is required.
/// let token = TokenBuilder::app().sign();
/// let (mut parts, ()) = Request::get("/me")
///     .header("authorization", format!("Bearer {token}"))
///     .body(())?
///     .into_parts();
/// let rejection: AuthRejection = DelegatedUser::from_request_parts(&mut parts, &auth)
///     .await
///     .unwrap_err();
/// assert_eq!(rejection.status(), StatusCode::FORBIDDEN);
/// assert!(matches!(rejection.error(), AuthError::InsufficientScope(_)));
/// assert_eq!(rejection.body_text(), "this route needs a token issued to a signed-in user; an application's own token is not accepted");
///
/// let res = rejection.into_response();
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// assert!(res.headers()["www-authenticate"].to_str()?.contains("error=\"insufficient_scope\""));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthRejection {
    error: AuthError,
    challenge: Challenge,
}

impl AuthRejection {
    /// A rejection for `error`, rendered with `challenge` (realm, `resource_metadata`, body
    /// style). Useful to refuse in the same format from your own extractors.
    pub fn new(error: AuthError, challenge: Challenge) -> Self {
        Self { error, challenge }
    }

    /// Why the request was refused.
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// How the refusal is rendered.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The error, without the rendering.
    pub fn into_error(self) -> AuthError {
        self.error
    }

    /// The response body text: the fixed, client-safe description of the refusal.
    pub fn body_text(&self) -> String {
        self.error.description().to_owned()
    }

    /// The HTTP status: 400, 401 or 403.
    pub fn status(&self) -> StatusCode {
        self.error.status()
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        // The same operator line the layers log (never the token).
        tracing::debug!(status = %self.error.status(), reason = %self.error, "request refused");
        refusal(&self.error, &self.challenge)
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<AuthRejection> for AuthError {
    fn from(rejection: AuthRejection) -> Self {
        rejection.error
    }
}

/// The fixed description of [`ClaimsMismatch`].
const CLAIMS_MISMATCH: &str = "the token lacks claims this route needs";

/// The token is valid, but its claims do not fit the type a [`CustomClaims<T>`](crate::CustomClaims)
/// extractor asked for (a required claim is missing, or has another type).
///
/// Responds 403 `insufficient_scope` with the description "the token lacks claims this route
/// needs" (no `scope` parameter): the caller is authenticated, re-sending the same token cannot
/// help, and nothing about the claims is disclosed to the client. Not a 401 (the token is
/// valid) and not a 500 (the application is fine; the token lacks what it needs, e.g. an
/// optional claim not configured on the app registration).
///
/// [`detail`](Self::detail) says which claim, for server-side logs.
///
/// ```
/// use auth_extract::{CustomClaims, CustomClaimsRejection};
/// use auth_layer::Authenticator;
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum_core::extract::FromRequestParts;
/// use http::{Request, StatusCode};
///
/// #[derive(serde::Deserialize)]
/// struct Employee {
///     employee_id: String,
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let token = TokenBuilder::delegated().sign(); // no employee_id claim
/// let (mut parts, ()) = Request::get("/")
///     .header("authorization", format!("Bearer {token}"))
///     .body(())?
///     .into_parts();
/// let Err(CustomClaimsRejection::Mismatch(mismatch)) =
///     CustomClaims::<Employee>::from_request_parts(&mut parts, &auth).await
/// else {
///     panic!("expected a claims mismatch");
/// };
/// assert_eq!(mismatch.status(), StatusCode::FORBIDDEN);
/// assert_eq!(mismatch.body_text(), "the token lacks claims this route needs");
/// assert_eq!(mismatch.detail(), "missing field `employee_id`");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClaimsMismatch {
    detail: String,
    challenge: Challenge,
}

impl ClaimsMismatch {
    pub(crate) fn new(err: &serde_json::Error, challenge: Challenge) -> Self {
        Self {
            detail: sanitized(err),
            challenge,
        }
    }

    /// Which claim did not fit, for logs: "missing field `x`" when a claim is absent,
    /// otherwise a generic text (serde's other messages quote claim values, which may be
    /// personal data, so they are not kept).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// How the refusal is rendered.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The response body text: "the token lacks claims this route needs".
    pub fn body_text(&self) -> String {
        CLAIMS_MISMATCH.to_owned()
    }

    /// Always 403 Forbidden.
    pub fn status(&self) -> StatusCode {
        StatusCode::FORBIDDEN
    }

    /// The equivalent [`AuthError`]: `insufficient_scope`, with no required scope.
    pub fn to_auth_error(&self) -> AuthError {
        insufficient(Vec::new(), CLAIMS_MISMATCH)
    }
}

impl IntoResponse for ClaimsMismatch {
    fn into_response(self) -> Response {
        refusal(&self.to_auth_error(), &self.challenge)
    }
}

impl fmt::Display for ClaimsMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CLAIMS_MISMATCH}: {}", self.detail)
    }
}

impl std::error::Error for ClaimsMismatch {}

/// Keeps serde's "missing field `x`" (it names a field of the application's type), and
/// nothing else (other messages can quote claim values).
fn sanitized(err: &serde_json::Error) -> String {
    let text = err.to_string();
    text.strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map_or_else(
            || "a claim does not have the type the application expects".to_owned(),
            |(field, _)| format!("missing field `{field}`"),
        )
}

/// The rejection of [`CustomClaims<T>`](crate::CustomClaims): the caller could not be authenticated, or
/// its claims do not fit `T`.
///
/// ```
/// use auth_extract::{CustomClaims, CustomClaimsRejection};
/// use auth_layer::Authenticator;
/// use auth_testkit::{default_keyset, ids};
/// use axum_core::extract::FromRequestParts;
/// use http::{Request, StatusCode};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let (mut parts, ()) = Request::get("/").body(())?.into_parts(); // no token
/// let rejection = CustomClaims::<serde_json::Value>::from_request_parts(&mut parts, &auth)
///     .await
///     .unwrap_err();
/// assert!(matches!(rejection, CustomClaimsRejection::Auth(_)));
/// assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum CustomClaimsRejection {
    /// No caller: no token, a malformed request, or an invalid token.
    Auth(AuthRejection),
    /// A valid token whose claims do not fit the requested type.
    Mismatch(ClaimsMismatch),
}

impl CustomClaimsRejection {
    /// The response body text (the client-safe description).
    pub fn body_text(&self) -> String {
        match self {
            CustomClaimsRejection::Auth(r) => r.body_text(),
            CustomClaimsRejection::Mismatch(r) => r.body_text(),
        }
    }

    /// The HTTP status: 400, 401 or 403.
    pub fn status(&self) -> StatusCode {
        match self {
            CustomClaimsRejection::Auth(r) => r.status(),
            CustomClaimsRejection::Mismatch(r) => r.status(),
        }
    }
}

impl IntoResponse for CustomClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            CustomClaimsRejection::Auth(r) => r.into_response(),
            CustomClaimsRejection::Mismatch(r) => r.into_response(),
        }
    }
}

impl fmt::Display for CustomClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomClaimsRejection::Auth(r) => fmt::Display::fmt(r, f),
            CustomClaimsRejection::Mismatch(r) => fmt::Display::fmt(r, f),
        }
    }
}

impl std::error::Error for CustomClaimsRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CustomClaimsRejection::Auth(r) => Some(r),
            CustomClaimsRejection::Mismatch(r) => Some(r),
        }
    }
}

impl From<AuthRejection> for CustomClaimsRejection {
    fn from(rejection: AuthRejection) -> Self {
        CustomClaimsRejection::Auth(rejection)
    }
}

impl From<ClaimsMismatch> for CustomClaimsRejection {
    fn from(rejection: ClaimsMismatch) -> Self {
        CustomClaimsRejection::Mismatch(rejection)
    }
}

/// A 403 `insufficient_scope` error.
pub(crate) fn insufficient(required: Vec<String>, reason: &'static str) -> AuthError {
    AuthError::InsufficientScope(Insufficient { required, reason })
}

/// The RFC 6750 response for `error` (an `insufficient_scope` refusal that names no scope,
/// such as a wrong token kind, carries no `scope` parameter).
fn refusal(error: &AuthError, challenge: &Challenge) -> Response {
    error.to_response::<Body>(challenge, false)
}

#[cfg(test)]
mod tests {
    use http::header::WWW_AUTHENTICATE;

    use super::*;

    fn www(res: &Response) -> &str {
        res.headers()[WWW_AUTHENTICATE].to_str().unwrap()
    }

    #[test]
    fn insufficient_scope_without_a_scope_has_no_scope_parameter() {
        let c = Challenge::new()
            .realm("api")
            .resource_metadata("https://api.example.com/prm");
        let res = AuthRejection::new(insufficient(Vec::new(), "needs a user"), c).into_response();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            www(&res),
            "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"needs a user\", resource_metadata=\"https://api.example.com/prm\""
        );
    }

    #[test]
    fn insufficient_scope_with_a_scope_names_it() {
        let res = AuthRejection::new(
            insufficient(
                vec!["Case.Create".into()],
                "the token lacks a required scope",
            ),
            Challenge::default(),
        )
        .into_response();
        assert!(
            www(&res).ends_with("scope=\"Case.Create\""),
            "{}",
            www(&res)
        );
    }

    #[test]
    fn a_realm_that_looks_like_an_empty_scope_is_left_alone() {
        let c = Challenge::new().realm(", scope=\"\"");
        let res = AuthRejection::new(insufficient(Vec::new(), "x"), c).into_response();
        assert_eq!(
            www(&res),
            "Bearer realm=\", scope=\\\"\\\"\", error=\"insufficient_scope\", error_description=\"x\""
        );
    }

    #[test]
    fn claims_mismatch_detail_keeps_only_missing_field_names() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Mine {
            department: String,
        }
        let missing = serde_json::from_str::<Mine>("{}").unwrap_err();
        assert_eq!(
            ClaimsMismatch::new(&missing, Challenge::default()).detail(),
            "missing field `department`"
        );
        let typed = serde_json::from_str::<Mine>(r#"{"department":42}"#).unwrap_err();
        let detail = ClaimsMismatch::new(&typed, Challenge::default())
            .detail()
            .to_owned();
        assert!(!detail.contains("42"), "{detail}");
    }
}
