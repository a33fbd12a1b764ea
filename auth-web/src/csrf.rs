//! CSRF protection for state-changing form posts: the synchronizer token pattern of OWASP's
//! cheat sheet
//! (<https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html#synchronizer-token-pattern>).
//!
//! Each session holds one random token (32 bytes from the system CSPRNG, renewed at sign-in).
//! Pages put it in their forms with [`CsrfToken`]; handlers of state-changing posts take the
//! form through [`CsrfForm`], which compares the `csrf` field (or an `X-CSRF-Token` header,
//! for script) with the session's in constant time and refuses with `403` otherwise. The
//! session cookie's `SameSite=Lax` is the second layer (defence in depth), not the only one:
//! OWASP does not accept SameSite alone.

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use crate::account::CSRF;
use crate::signed_in::{SignedInRejection, context};

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "csrf";
/// The header that may carry it instead (requests made by script).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form body [`CsrfForm`] reads.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// 32 random bytes from the system CSPRNG, base64url.
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The session's CSRF token, created when missing.
pub(crate) async fn session_token(session: &Session) -> Result<String, SignedInRejection> {
    let stored: Option<String> = session
        .get(CSRF)
        .await
        .map_err(|e| SignedInRejection::Session(e.to_string()))?;
    if let Some(token) = stored {
        return Ok(token);
    }
    renew(session).await
}

/// A new CSRF token for the session (at sign-in).
pub(crate) async fn renew(session: &Session) -> Result<String, SignedInRejection> {
    let token = random_token()
        .ok_or_else(|| SignedInRejection::Session("the system CSPRNG failed".to_owned()))?;
    session
        .insert(CSRF, &token)
        .await
        .map_err(|e| SignedInRejection::Session(e.to_string()))?;
    Ok(token)
}

/// The session's CSRF token, to put in forms.
///
/// ```
/// use auth_web::CsrfToken;
/// use axum::response::Html;
///
/// async fn page(csrf: CsrfToken) -> Html<String> {
///     Html(format!(
///         "<form method=\"post\" action=\"/cases\">{}<button>Create</button></form>",
///         csrf.hidden_input()
///     ))
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(page);
/// ```
#[derive(Clone)]
pub struct CsrfToken(String);

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken([redacted])")
    }
}

impl CsrfToken {
    /// The token (base64url: safe in HTML attributes and headers).
    pub fn value(&self) -> &str {
        &self.0
    }

    /// `<input type="hidden" name="csrf" value="…">`.
    pub fn hidden_input(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
            self.0
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = SignedInRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let (_, session) = context(parts)?;
        session_token(&session).await.map(CsrfToken)
    }
}

/// A form (`application/x-www-form-urlencoded`) whose `csrf` field, or `X-CSRF-Token` header,
/// matches the session's CSRF token; `T` is deserialized from the same body (unknown fields,
/// such as `csrf`, are ignored unless `T` forbids them).
///
/// ```
/// use auth_web::{CsrfForm, SignedIn};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct NewCase { title: String }
///
/// async fn create(user: SignedIn, CsrfForm(form): CsrfForm<NewCase>) -> String {
///     format!("{} created {}", user.name().unwrap_or(""), form.title)
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::post(create);
/// ```
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// Why [`CsrfForm`] refused a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// No token in the form or header (`403`).
    Missing,
    /// A token that is not the session's (`403`): stale form, or a cross-site post.
    Mismatch,
    /// The body is not a form `T` accepts (`422`), or too large (`413`).
    InvalidForm(StatusCode, String),
    /// No session layer or the store failed.
    Session(SignedInRejection),
}

impl CsrfRejection {
    /// The response status.
    pub fn status(&self) -> StatusCode {
        match self {
            CsrfRejection::Missing | CsrfRejection::Mismatch => StatusCode::FORBIDDEN,
            CsrfRejection::InvalidForm(status, _) => *status,
            CsrfRejection::Session(inner) => inner.status(),
        }
    }

    /// The response body's text.
    pub fn body_text(&self) -> String {
        match self {
            CsrfRejection::Missing | CsrfRejection::Mismatch => "The form is stale or was not \
                 sent by this site. Reload the page and try again."
                .to_owned(),
            CsrfRejection::InvalidForm(_, text) => text.clone(),
            CsrfRejection::Session(inner) => inner.body_text(),
        }
    }
}

impl IntoResponse for CsrfRejection {
    fn into_response(self) -> Response {
        match self {
            CsrfRejection::Session(inner) => inner.into_response(),
            other => (other.status(), other.body_text()).into_response(),
        }
    }
}

/// Whether `presented` is `expected` (constant time).
pub(crate) fn same_token(presented: &str, expected: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), expected.as_bytes())
        .is_ok()
}

/// Checks `presented` against the session's token.
pub(crate) async fn check(session: &Session, presented: Option<&str>) -> Result<(), CsrfRejection> {
    let expected: Option<String> = session
        .get(CSRF)
        .await
        .map_err(|e| CsrfRejection::Session(SignedInRejection::Session(e.to_string())))?;
    let presented = presented
        .filter(|p| !p.is_empty())
        .ok_or(CsrfRejection::Missing)?;
    match expected {
        Some(expected) if same_token(presented, &expected) => Ok(()),
        _ => Err(CsrfRejection::Mismatch),
    }
}

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = CsrfRejection;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let (_, session) = context(&parts).map_err(CsrfRejection::Session)?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                CsrfRejection::InvalidForm(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form is too large.".to_owned(),
                )
            })?;
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let from_form = fields
            .iter()
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.as_str());
        let from_header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        check(&session, from_form.or(from_header)).await?;
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            CsrfRejection::InvalidForm(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("The form is incomplete: {e}"),
            )
        })?;
        Ok(CsrfForm(form))
    }
}
