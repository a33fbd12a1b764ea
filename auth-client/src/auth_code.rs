//! The authorization code flow with PKCE: the request, the session state a web app keeps
//! between redirect and callback, and the callback's parameters.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::redact::REDACTED;

/// The OIDC scopes every authorization request (and refresh) includes: an ID token (`openid`,
/// `profile`) and a refresh token (`offline_access`).
pub(crate) const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// How the authorization server returns the result to the redirect URI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// In the query string of a GET (the default for `response_type=code`).
    #[default]
    Query,
    /// In a form POSTed to the redirect URI (keeps the code out of browser history and
    /// `Referer`; parse it with [`AuthorizationResponse::from_form`]).
    FormPost,
}

/// What to ask for in an authorization request. Only the redirect URI is required; `openid
/// profile offline_access` are always added to the scopes.
///
/// ```
/// use auth_client::{AuthorizationRequest, ResponseMode};
///
/// let request = AuthorizationRequest::new("https://app.example.com/callback")
///     .scopes(["api://backend-api-id/Case.Create"])
///     .login_hint("alice@example.onmicrosoft.com")
///     .response_mode(ResponseMode::FormPost);
/// # let _ = request;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthorizationRequest {
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) prompt: Option<String>,
    pub(crate) login_hint: Option<String>,
    pub(crate) domain_hint: Option<String>,
    pub(crate) claims: Option<String>,
    pub(crate) resource: Option<String>,
    pub(crate) response_mode: ResponseMode,
    pub(crate) extra: Vec<(String, String)>,
}

impl AuthorizationRequest {
    /// A request redirecting back to `redirect_uri` (registered on the app).
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        AuthorizationRequest {
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            prompt: None,
            login_hint: None,
            domain_hint: None,
            claims: None,
            resource: None,
            response_mode: ResponseMode::Query,
            extra: Vec::new(),
        }
    }

    /// The API scopes, e.g. `api://backend-api-id/Case.Create` (one resource per request, as
    /// Entra requires).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// `prompt`: `login`, `select_account`, `consent` or `none`.
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// `login_hint`: the user's sign-in name, pre-filled.
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// `domain_hint` (Entra): skips home-realm discovery.
    pub fn domain_hint(mut self, hint: impl Into<String>) -> Self {
        self.domain_hint = Some(hint.into());
        self
    }

    /// `claims`: a claims request (JSON), e.g. the decoded claims of a
    /// [`ClaimsChallenge`](crate::ClaimsChallenge) an API answered with, so the new sign-in
    /// satisfies its Conditional Access policy.
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// RFC 8707 `resource` indicator (overrides the client's default), sent on the authorize
    /// request and again when the code is redeemed. Some providers need it to issue JWT access
    /// tokens.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// `response_mode` (default [`ResponseMode::Query`]).
    pub fn response_mode(mut self, mode: ResponseMode) -> Self {
        self.response_mode = mode;
        self
    }

    /// Any other parameter (e.g. `ui_locales`). Parameters this client sets itself (`state`,
    /// `nonce`, `code_challenge`, …) cannot be overridden and are ignored here.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }
}

/// The URL to redirect the user's browser to, and the session state to keep until the
/// callback (see [`AuthCodeSession`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthorizationUrl {
    /// The authorize URL with every parameter.
    pub url: String,
    /// What to keep in the user's session (server-side, or in an encrypted cookie).
    pub session: AuthCodeSession,
}

/// What a web app keeps in the user's session between the redirect to the authorize endpoint
/// and the callback: `state` (checked against the callback), `nonce` (checked against the ID
/// token), the PKCE verifier, the redirect URI, the scopes and the resource.
///
/// Serializable (serde) so it fits any session store. The PKCE verifier is a secret: store the
/// session server-side or in an encrypted cookie, never in plain client-side storage. `Debug`
/// hides the verifier.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthCodeSession {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) code_verifier: String,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resource: Option<String>,
    /// Unix seconds.
    pub(crate) created_at: u64,
}

impl AuthCodeSession {
    /// The `state` sent on the authorize request.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The `nonce` the ID token must carry.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The redirect URI the code will be redeemed with.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The scopes requested (the OIDC scopes included).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// When the sign-in started, Unix seconds.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }
}

impl fmt::Debug for AuthCodeSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCodeSession")
            .field("state", &self.state)
            .field("nonce", &self.nonce)
            .field("code_verifier", &REDACTED)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("resource", &self.resource)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The parameters of the callback to the redirect URI: `code` and `state`, or `error`,
/// `error_description` and `state`.
///
/// Deserializable, so `axum::extract::Query<AuthorizationResponse>` (or `Form<…>` for
/// [`ResponseMode::FormPost`]) reads it; or use [`from_query`](Self::from_query). `Debug`
/// hides the code.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AuthorizationResponse {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    error_uri: Option<String>,
    iss: Option<String>,
}

impl AuthorizationResponse {
    /// A successful response.
    pub fn new(code: impl Into<String>, state: impl Into<String>) -> Self {
        AuthorizationResponse {
            code: Some(code.into()),
            state: Some(state.into()),
            ..AuthorizationResponse::default()
        }
    }

    /// From a query string (with or without the leading `?`). Unknown parameters are ignored;
    /// an unparsable string gives an empty response (redeeming it fails with
    /// [`Error::StateMismatch`](crate::Error::StateMismatch)).
    pub fn from_query(query: &str) -> Self {
        let query = query.strip_prefix('?').unwrap_or(query);
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let mut response = AuthorizationResponse::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "code" => &mut response.code,
                "state" => &mut response.state,
                "error" => &mut response.error,
                "error_description" => &mut response.error_description,
                "error_uri" => &mut response.error_uri,
                "iss" => &mut response.iss,
                _ => continue,
            };
            // The first occurrence wins; a repeated parameter cannot replace it.
            slot.get_or_insert(value);
        }
        response
    }

    /// From a `form_post` body (`application/x-www-form-urlencoded`).
    pub fn from_form(body: &[u8]) -> Self {
        Self::from_query(std::str::from_utf8(body).unwrap_or(""))
    }

    /// From the callback URL (its query).
    pub fn from_uri(uri: &http::Uri) -> Self {
        Self::from_query(uri.query().unwrap_or(""))
    }

    /// The authorization code.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The `state`.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The RFC 9207 `iss`: the issuer that sent this response (mix-up defence; checked by
    /// [`redeem_code`](crate::ConfidentialClient::redeem_code) when the provider advertises
    /// it).
    pub fn iss(&self) -> Option<&str> {
        self.iss.as_deref()
    }

    /// Sets `iss`, for a response assembled by hand (e.g. from a framework's query extractor
    /// that kept the parameters apart).
    #[must_use]
    pub fn with_iss(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }

    /// The `error`, when the user cancelled or the request was refused.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The error as a JSON object, as the token endpoint would send it.
    pub(crate) fn error_json(&self) -> Option<serde_json::Value> {
        let error = self.error.as_ref()?;
        Some(serde_json::json!({
            "error": error,
            "error_description": self.error_description,
            "error_uri": self.error_uri,
        }))
    }
}

impl fmt::Debug for AuthorizationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationResponse")
            .field("code", &self.code.as_ref().map(|_| REDACTED))
            .field("state", &self.state)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("iss", &self.iss)
            .finish_non_exhaustive()
    }
}

/// `requested` plus the OIDC scopes, in order, without duplicates (case-insensitive).
pub(crate) fn with_oidc_scopes(requested: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(requested.len() + OIDC_SCOPES.len());
    for scope in requested
        .iter()
        .flat_map(|s| s.split_whitespace())
        .chain(OIDC_SCOPES)
    {
        if !out.iter().any(|s| s.eq_ignore_ascii_case(scope)) {
            out.push(scope.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_parse_and_the_first_parameter_wins() {
        let r = AuthorizationResponse::from_query("?code=c1&state=s&code=c2&session_state=x");
        assert_eq!(r.code(), Some("c1"));
        assert_eq!(r.state(), Some("s"));
        assert!(!format!("{r:?}").contains("c1"));
        let e = AuthorizationResponse::from_query(
            "error=access_denied&error_description=AADSTS65004%3A+declined&state=s",
        );
        assert_eq!(e.error(), Some("access_denied"));
        assert_eq!(
            AuthorizationResponse::from_query("%%%"),
            AuthorizationResponse::default()
        );
    }

    #[test]
    fn oidc_scopes_are_added_once() {
        let s = with_oidc_scopes(&["api://x/A openid".into(), "OFFLINE_ACCESS".into()]);
        assert_eq!(s, ["api://x/A", "openid", "OFFLINE_ACCESS", "profile"]);
    }
}
