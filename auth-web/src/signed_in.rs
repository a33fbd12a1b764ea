//! [`SignedIn`]: the signed-in user as an extractor, with its rejection [`SignedInRejection`].

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Redirect, Response};
use http::header::{ACCEPT, REFERER};
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value};
use tower_sessions::Session;

use crate::account::{ACCOUNT, Account, now_unix};
use crate::config::WebAuth;
use crate::return_to::same_origin_path;

/// The signed-in user: who they are, from the ID token validated at sign-in (signature,
/// issuer, audience, lifetime, nonce).
///
/// Extract it in a handler; `Option<SignedIn>` for pages that anonymous visitors see too.
/// Without a signed-in session the request is rejected ([`SignedInRejection`]): a browser
/// (`Accept: text/html`) is redirected to sign-in and back, any other client gets `401`.
///
/// ```
/// use auth_web::SignedIn;
///
/// async fn home(user: Option<SignedIn>) -> String {
///     match user {
///         Some(user) => format!("Hello, {}", user.name().unwrap_or("(no name)")),
///         None => "Hello, stranger".to_owned(),
///     }
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(home);
/// ```
#[derive(Clone, Debug)]
pub struct SignedIn {
    claims: Map<String, Value>,
    signed_in_at: u64,
}

impl SignedIn {
    fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// `name`: the display name.
    pub fn name(&self) -> Option<&str> {
        self.str_claim("name")
    }

    /// The sign-in name: `preferred_username`, else `upn`, else `email`.
    pub fn username(&self) -> Option<&str> {
        self.str_claim("preferred_username")
            .or_else(|| self.str_claim("upn"))
            .or_else(|| self.str_claim("email"))
    }

    /// `oid`: the user's object id (Entra), stable across apps of the tenant.
    pub fn object_id(&self) -> Option<&str> {
        self.str_claim("oid")
    }

    /// `tid`: the user's tenant (Entra).
    pub fn tenant_id(&self) -> Option<&str> {
        self.str_claim("tid")
    }

    /// `sub`: the subject (pairwise per app in Entra).
    pub fn subject(&self) -> Option<&str> {
        self.str_claim("sub")
    }

    /// `iss`: the issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.str_claim("iss")
    }

    /// Every claim of the validated ID token.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// When the user signed in (Unix seconds).
    pub fn signed_in_at(&self) -> u64 {
        self.signed_in_at
    }
}

/// Why [`SignedIn`] (or another `auth-web` extractor) refused a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignedInRejection {
    /// No signed-in session (never signed in, signed out, idle or absolute lifetime over).
    /// Browsers are sent to `login_url`.
    NotSignedIn {
        /// `/login?return_to=…` back to this page.
        login_url: String,
        /// The request prefers HTML (a browser navigating).
        html: bool,
    },
    /// The layer of [`WebAuth::layer`] is missing.
    MissingLayer,
    /// The session store failed.
    Session(String),
}

impl SignedInRejection {
    /// The response status: `303` (browser, to sign-in), `401`, or `500`.
    pub fn status(&self) -> StatusCode {
        match self {
            SignedInRejection::NotSignedIn { html: true, .. } => StatusCode::SEE_OTHER,
            SignedInRejection::NotSignedIn { .. } => StatusCode::UNAUTHORIZED,
            SignedInRejection::MissingLayer | SignedInRejection::Session(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The response body's text.
    pub fn body_text(&self) -> String {
        match self {
            SignedInRejection::NotSignedIn { login_url, .. } => {
                format!("Sign in first: {login_url}")
            }
            SignedInRejection::MissingLayer => "auth-web: no session layer on this route; did you \
                 forget `.layer(web_auth.layer(store))`?"
                .to_owned(),
            SignedInRejection::Session(_) => "The session store is unavailable.".to_owned(),
        }
    }

    /// Whether the user must sign in.
    pub fn is_not_signed_in(&self) -> bool {
        matches!(self, SignedInRejection::NotSignedIn { .. })
    }
}

impl IntoResponse for SignedInRejection {
    fn into_response(self) -> Response {
        match &self {
            SignedInRejection::NotSignedIn {
                login_url,
                html: true,
            } => Redirect::to(login_url).into_response(),
            SignedInRejection::NotSignedIn { login_url, .. } => (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "sign_in_required",
                    "sign_in": login_url,
                })),
            )
                .into_response(),
            SignedInRejection::Session(err) => {
                tracing::error!(error = %err, "auth-web: session store error");
                (self.status(), self.body_text()).into_response()
            }
            SignedInRejection::MissingLayer => (self.status(), self.body_text()).into_response(),
        }
    }
}

/// Whether the request prefers HTML (a browser navigating or posting a form).
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// Where a sign-in should bring this request back: its own path for a `GET`, else the page
/// the form was on (`Referer`, when it is this site), else the after-sign-in page.
pub(crate) fn return_path(auth: &WebAuth, parts: &Parts) -> String {
    if parts.method == Method::GET || parts.method == Method::HEAD {
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        if let Some(path) = same_origin_path(here) {
            return path.to_owned();
        }
    }
    let origin = auth.inner.origin.as_str();
    parts
        .headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix(origin))
        .and_then(same_origin_path)
        .unwrap_or(&auth.inner.after_sign_in)
        .to_owned()
}

/// The request's [`WebAuth`] and session.
pub(crate) fn context(parts: &Parts) -> Result<(WebAuth, Session), SignedInRejection> {
    let auth = parts
        .extensions
        .get::<WebAuth>()
        .cloned()
        .ok_or(SignedInRejection::MissingLayer)?;
    let session = parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or(SignedInRejection::MissingLayer)?;
    Ok((auth, session))
}

/// The signed-in account of `session`, or `None`; a sign-in past its absolute lifetime ends
/// here (the session is flushed).
pub(crate) async fn account(
    auth: &WebAuth,
    session: &Session,
) -> Result<Option<Account>, SignedInRejection> {
    let account: Option<Account> = session
        .get(ACCOUNT)
        .await
        .map_err(|e| SignedInRejection::Session(e.to_string()))?;
    let Some(account) = account else {
        return Ok(None);
    };
    if now_unix() >= account.signed_in_at + auth.inner.absolute.as_secs() {
        session
            .flush()
            .await
            .map_err(|e| SignedInRejection::Session(e.to_string()))?;
        return Ok(None);
    }
    Ok(Some(account))
}

pub(crate) fn not_signed_in(auth: &WebAuth, parts: &Parts) -> SignedInRejection {
    SignedInRejection::NotSignedIn {
        login_url: auth.login_url(&return_path(auth, parts)),
        html: wants_html(&parts.headers),
    }
}

impl From<Account> for SignedIn {
    fn from(account: Account) -> Self {
        SignedIn {
            claims: account.claims,
            signed_in_at: account.signed_in_at,
        }
    }
}

pub(crate) async fn signed_in(parts: &Parts) -> Result<SignedIn, SignedInRejection> {
    let (auth, session) = context(parts)?;
    match account(&auth, &session).await? {
        Some(account) => Ok(account.into()),
        None => Err(not_signed_in(&auth, parts)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = SignedInRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        signed_in(parts).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for SignedIn {
    type Rejection = SignedInRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        match signed_in(parts).await {
            Ok(user) => Ok(Some(user)),
            Err(SignedInRejection::NotSignedIn { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
