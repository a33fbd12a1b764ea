//! [`WebAuth`]: a web app's sign-in configuration, built once and shared by the routes, the
//! session layer and the extractors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_client::ConfidentialClient;
use http::Uri;
use tokio::sync::OnceCell;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

/// How long a session may sit idle (no request) before it ends: 8 hours by default.
pub const DEFAULT_IDLE_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a sign-in lasts at most, however active the user: 24 hours by default.
pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How many access tokens (one per downstream API and scope set) a session keeps at most.
pub const DEFAULT_MAX_TOKENS_PER_SESSION: usize = 8;

/// Where to send the browser after the local session is cleared at `/logout`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndSession {
    /// The `end_session_endpoint` of the provider's discovery document (the default): tried at
    /// `{authority}/v2.0/.well-known/openid-configuration` (Entra), then
    /// `{authority}/.well-known/openid-configuration` (any OIDC issuer). Without one, the
    /// browser goes to the post-logout redirect URI.
    Discover,
    /// This endpoint.
    Url(String),
    /// Only the local session ends (the user stays signed in at the provider).
    LocalOnly,
}

/// A configuration error, reported by [`WebAuthBuilder::build`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No redirect URI was configured.
    #[error("auth-web: the redirect URI is missing (WebAuthBuilder::redirect_uri)")]
    NoRedirectUri,
    /// The redirect URI is not an absolute `http(s)` URL with a path.
    #[error("auth-web: the redirect URI {0:?} is not an absolute http(s) URL")]
    InvalidRedirectUri(String),
    /// A route path does not start with `/`.
    #[error("auth-web: the path {0:?} must start with '/'")]
    InvalidPath(String),
    /// A lifetime is zero.
    #[error("auth-web: {0}")]
    InvalidLifetime(&'static str),
}

/// The sign-in configuration of a web app: the confidential client (from `auth-client`), the
/// redirect URI, the scopes to sign in for, the session cookie and lifetimes.
///
/// Cheap to clone (one `Arc`). [`routes`](Self::routes) mounts `/login`, the redirect URI's
/// path and `/logout`; [`layer`](Self::layer) adds the session and makes the extractors work.
///
/// ```
/// use auth_web::{BoundedMemoryStore, WebAuth};
/// use axum::Router;
/// use axum::routing::get;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = auth_client::ConfidentialClient::builder()
///     .authority("https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
///     .client_id("c7aef7e0-235d-52a9-a2b5-1575e3d8079b")
///     .client_secret("from the environment")
///     .build()?;
/// let auth = WebAuth::builder(client)
///     .redirect_uri("https://cases.example.com/redirect")
///     .scopes(["api://backend-api-id/Case.Create"])
///     .build()?;
/// let app: Router = Router::new()
///     .route("/", get(|| async { "home" }))
///     .merge(auth.routes())
///     .layer(auth.layer(BoundedMemoryStore::default()));
/// # let _ = app;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebAuth {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: ConfidentialClient,
    pub(crate) redirect_uri: String,
    /// `scheme://host[:port]` of the redirect URI: this site.
    pub(crate) origin: String,
    pub(crate) callback_path: String,
    pub(crate) login_path: String,
    pub(crate) logout_path: String,
    pub(crate) front_channel_logout_path: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) after_sign_in: String,
    pub(crate) post_logout_redirect_uri: String,
    pub(crate) end_session: EndSession,
    pub(crate) end_session_found: OnceCell<Option<String>>,
    pub(crate) allowed_tenants: Option<Vec<String>>,
    pub(crate) cookie_name: String,
    pub(crate) secure: bool,
    pub(crate) idle: Duration,
    pub(crate) absolute: Duration,
    pub(crate) max_tokens: usize,
    pub(crate) http: reqwest::Client,
}

impl fmt::Debug for WebAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("WebAuth")
            .field("client_id", &i.client.client_id())
            .field("authority", &i.client.authority())
            .field("redirect_uri", &i.redirect_uri)
            .field("scopes", &i.scopes)
            .field("cookie_name", &i.cookie_name)
            .field("secure", &i.secure)
            .finish_non_exhaustive()
    }
}

impl WebAuth {
    /// A builder over `client` (the web app's registration: authority, client id, credential).
    pub fn builder(client: ConfidentialClient) -> WebAuthBuilder {
        WebAuthBuilder {
            client,
            redirect_uri: None,
            login_path: "/login".to_owned(),
            logout_path: "/logout".to_owned(),
            front_channel_logout_path: None,
            scopes: Vec::new(),
            after_sign_in: "/".to_owned(),
            post_logout_redirect_uri: None,
            end_session: EndSession::Discover,
            allowed_tenants: None,
            cookie_name: None,
            idle: DEFAULT_IDLE_LIFETIME,
            absolute: DEFAULT_ABSOLUTE_LIFETIME,
            max_tokens: DEFAULT_MAX_TOKENS_PER_SESSION,
            http: None,
        }
    }

    /// The confidential client.
    pub fn client(&self) -> &ConfidentialClient {
        &self.inner.client
    }

    /// The redirect URI.
    pub fn redirect_uri(&self) -> &str {
        &self.inner.redirect_uri
    }

    /// The sign-in path (`/login` by default).
    pub fn login_path(&self) -> &str {
        &self.inner.login_path
    }

    /// The sign-out path (`/logout` by default).
    pub fn logout_path(&self) -> &str {
        &self.inner.logout_path
    }

    /// The name of the session cookie.
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// `tower-sessions`' layer over `store` with this configuration's cookie and idle lifetime
    /// (see [`WebAuth::layer`]).
    pub(crate) fn session_layer<Store: SessionStore>(
        &self,
        store: Store,
    ) -> SessionManagerLayer<Store> {
        let i = &self.inner;
        let idle = time::Duration::try_from(i.idle).unwrap_or(time::Duration::hours(8));
        SessionManagerLayer::new(store)
            .with_name(i.cookie_name.clone())
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(i.secure)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(idle))
    }

    /// `/login?return_to=<path>` for `return_to` (a path on this site, checked by `/login`).
    pub fn login_url(&self, return_to: &str) -> String {
        let query = serde_urlencoded::to_string([("return_to", return_to)]).unwrap_or_default();
        format!("{}?{query}", self.inner.login_path)
    }
}

/// Builds a [`WebAuth`]; errors are reported by [`build`](Self::build).
#[must_use]
pub struct WebAuthBuilder {
    client: ConfidentialClient,
    redirect_uri: Option<String>,
    login_path: String,
    logout_path: String,
    front_channel_logout_path: Option<String>,
    scopes: Vec<String>,
    after_sign_in: String,
    post_logout_redirect_uri: Option<String>,
    end_session: EndSession,
    allowed_tenants: Option<Vec<String>>,
    cookie_name: Option<String>,
    idle: Duration,
    absolute: Duration,
    max_tokens: usize,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for WebAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebAuthBuilder")
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl WebAuthBuilder {
    /// The redirect URI registered on the app (required), e.g.
    /// `https://app.example.com/redirect`. Its path is the route that finishes the sign-in;
    /// an `https` URI makes the session cookie `Secure`.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// The API scopes to ask for at sign-in (`openid profile offline_access` are always added),
    /// e.g. `api://backend-api-id/Case.Create`.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The sign-in path (default `/login`).
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = path.into();
        self
    }

    /// The sign-out path (default `/logout`).
    pub fn logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout_path = path.into();
        self
    }

    /// Serves Entra's front-channel logout URL at `path` (e.g. `/signout-oidc`; register it as
    /// the app's "Front-channel logout URL"): Entra loads it when the user signs out of another
    /// app, and the browser's session here ends.
    pub fn front_channel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.front_channel_logout_path = Some(path.into());
        self
    }

    /// Where a sign-in without `return_to` lands (default `/`).
    pub fn after_sign_in(mut self, path: impl Into<String>) -> Self {
        self.after_sign_in = path.into();
        self
    }

    /// Where the provider sends the browser after signing out (default: the redirect URI's
    /// origin + `/`). Register it on the app.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// How `/logout` ends the provider's session (default [`EndSession::Discover`]).
    pub fn end_session(mut self, end_session: EndSession) -> Self {
        self.end_session = end_session;
        self
    }

    /// Multi-tenant apps (`organizations` / `common` authorities): only users of these tenants
    /// (`tid`) may sign in. The ID token's issuer is checked against its `tid` in any case.
    pub fn allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = self.allowed_tenants.get_or_insert_with(Vec::new);
        list.extend(tenants.into_iter().map(|t| t.into().to_ascii_lowercase()));
        self
    }

    /// The session cookie's name (default `session`, or `__Host-session` behind https).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// How long a session may sit idle (default 8 hours).
    pub fn idle_lifetime(mut self, lifetime: Duration) -> Self {
        self.idle = lifetime;
        self
    }

    /// How long a sign-in lasts at most (default 24 hours); then the user signs in again.
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.absolute = lifetime;
        self
    }

    /// How many access tokens a session keeps (default 8; the oldest go first).
    pub fn max_tokens_per_session(mut self, max: usize) -> Self {
        self.max_tokens = max.max(1);
        self
    }

    /// The HTTP client for the discovery document (default: no redirects, 10 s timeout).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`BuildError`]: a missing or invalid redirect URI, a path without a leading `/`, a zero
    /// lifetime.
    pub fn build(self) -> Result<WebAuth, BuildError> {
        let redirect_uri = self.redirect_uri.ok_or(BuildError::NoRedirectUri)?;
        let parsed: Uri = redirect_uri
            .parse()
            .map_err(|_| BuildError::InvalidRedirectUri(redirect_uri.clone()))?;
        let (Some(scheme), Some(authority)) = (parsed.scheme_str(), parsed.authority()) else {
            return Err(BuildError::InvalidRedirectUri(redirect_uri));
        };
        if scheme != "https" && scheme != "http" {
            return Err(BuildError::InvalidRedirectUri(redirect_uri));
        }
        let secure = scheme == "https";
        let callback_path = match parsed.path() {
            "" | "/" => "/redirect".to_owned(),
            path => path.to_owned(),
        };
        for path in [&self.login_path, &self.logout_path, &self.after_sign_in]
            .into_iter()
            .chain(self.front_channel_logout_path.as_ref())
        {
            if !path.starts_with('/') {
                return Err(BuildError::InvalidPath(path.clone()));
            }
        }
        if self.idle.is_zero() || self.absolute.is_zero() {
            return Err(BuildError::InvalidLifetime("lifetimes must not be zero"));
        }
        let origin = format!("{scheme}://{authority}");
        // `__Host-` cookies must be Secure, Path=/ and without Domain: a subdomain or a plain-http
        // page of the same host cannot overwrite them.
        // https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Set-Cookie#cookie_prefixes
        let cookie_name = self.cookie_name.unwrap_or_else(|| {
            if secure {
                "__Host-session".to_owned()
            } else {
                "session".to_owned()
            }
        });
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        };
        Ok(WebAuth {
            inner: Arc::new(Inner {
                client: self.client,
                post_logout_redirect_uri: self
                    .post_logout_redirect_uri
                    .unwrap_or_else(|| format!("{origin}/")),
                redirect_uri,
                origin,
                callback_path,
                login_path: self.login_path,
                logout_path: self.logout_path,
                front_channel_logout_path: self.front_channel_logout_path,
                scopes: self.scopes,
                after_sign_in: self.after_sign_in,
                end_session: self.end_session,
                end_session_found: OnceCell::new(),
                allowed_tenants: self.allowed_tenants,
                cookie_name,
                secure,
                idle: self.idle,
                absolute: self.absolute,
                max_tokens: self.max_tokens,
                http,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ConfidentialClient {
        ConfidentialClient::builder()
            .authority("https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
            .client_id("c7aef7e0-235d-52a9-a2b5-1575e3d8079b")
            .client_secret("s")
            .build()
            .unwrap()
    }

    #[test]
    fn https_redirect_uris_make_secure_host_prefixed_cookies() {
        let auth = WebAuth::builder(client())
            .redirect_uri("https://app.example.com/auth/callback")
            .build()
            .unwrap();
        assert!(auth.inner.secure);
        assert_eq!(auth.cookie_name(), "__Host-session");
        assert_eq!(auth.inner.callback_path, "/auth/callback");
        assert_eq!(
            auth.inner.post_logout_redirect_uri,
            "https://app.example.com/"
        );
        let plain = WebAuth::builder(client())
            .redirect_uri("http://localhost:8080/redirect")
            .build()
            .unwrap();
        assert!(!plain.inner.secure);
        assert_eq!(plain.cookie_name(), "session");
    }

    #[test]
    fn bad_settings_are_refused_at_build() {
        assert!(matches!(
            WebAuth::builder(client()).build(),
            Err(BuildError::NoRedirectUri)
        ));
        assert!(matches!(
            WebAuth::builder(client()).redirect_uri("/redirect").build(),
            Err(BuildError::InvalidRedirectUri(_))
        ));
        assert!(matches!(
            WebAuth::builder(client())
                .redirect_uri("ftp://x/redirect")
                .build(),
            Err(BuildError::InvalidRedirectUri(_))
        ));
        assert!(matches!(
            WebAuth::builder(client())
                .redirect_uri("http://localhost/redirect")
                .login_path("login")
                .build(),
            Err(BuildError::InvalidPath(_))
        ));
        assert!(matches!(
            WebAuth::builder(client())
                .redirect_uri("http://localhost/redirect")
                .idle_lifetime(Duration::ZERO)
                .build(),
            Err(BuildError::InvalidLifetime(_))
        ));
    }
}
