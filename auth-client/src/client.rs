//! [`ConfidentialClient`]: configuration, the four grants, caching and single-flight.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_layer::jwks::JwksCache;
use auth_layer::{Authenticator, Clock, SystemClock, Validator, ValidatorBuilder};
use aws_lc_rs::digest;
use tokio::sync::{OnceCell, watch};
use tracing::{debug, warn};

use crate::auth_code::{
    AuthCodeSession, AuthorizationRequest, AuthorizationResponse, AuthorizationUrl, ResponseMode,
    with_oidc_scopes,
};
use crate::authority::{Authority, Endpoints};
use crate::cache::{CacheKey, CachedToken, DEFAULT_CACHE_CAPACITY, InMemoryTokenCache, TokenCache};
use crate::credential::{ASSERTION_TYPE, AssertionAlgorithm, ClientCertificate, ClientCredential};
use crate::error::{BuildError, Error, RequestContext, ServerError, Throttled};
use crate::random;
use crate::token::{AccessToken, IdToken, RefreshToken, UserTokens};
use crate::transport::{RawResponse, SendError, Transport};

/// A cached token is served until this long before it expires: 5 minutes (as MSAL).
pub const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Default total timeout of one token-endpoint exchange: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default connect timeout of the default HTTP client: 5 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default base delay before the one retry of a 5xx or connection failure: 500 ms (the actual
/// delay is jittered between half and one and a half times this).
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(500);
/// Entra's public-cloud instance.
pub const DEFAULT_INSTANCE: &str = auth_layer::DEFAULT_INSTANCE;

/// Throttled request identities remembered at once.
const THROTTLE_CAPACITY: usize = 10_000;
const OBO_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How a client secret is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`; Entra's usual
    /// way). The default.
    #[default]
    SecretPost,
    /// HTTP Basic (`client_secret_basic`), both values form-urlencoded first (RFC 6749
    /// §2.3.1).
    SecretBasic,
}

/// Counters of a [`ConfidentialClient`], for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Requests sent to the token endpoint (retries included).
    pub token_requests: u64,
    /// App and On-Behalf-Of tokens served from the cache.
    pub cache_hits: u64,
    /// Calls that waited for an identical in-flight request instead of sending their own.
    pub coalesced: u64,
    /// Calls refused without a request because an identical one is throttled.
    pub throttled: u64,
    /// Proactive refreshes started because the server's `refresh_in` had passed.
    pub background_refreshes: u64,
}

#[derive(Default)]
struct Counters {
    token_requests: AtomicU64,
    cache_hits: AtomicU64,
    coalesced: AtomicU64,
    throttled: AtomicU64,
    background_refreshes: AtomicU64,
}

/// The outcome an in-flight request publishes to everyone waiting for it.
type Outcome = Option<Result<AccessToken, Error>>;

/// A confidential client of Microsoft Entra ID (or any OpenID Connect provider): acquires
/// app tokens (client credentials), On-Behalf-Of tokens, and a user's tokens (authorization
/// code with PKCE, refresh tokens).
///
/// Cheap to clone (an `Arc` inside); build one at startup and share it.
///
/// - **Cache**: app and On-Behalf-Of tokens are kept in a [`TokenCache`] (in memory and
///   bounded by default) and served until [`DEFAULT_EXPIRY_MARGIN`] before they expire. When
///   the server sent `refresh_in`, a refresh starts in the background once it has passed,
///   while the cached token is still served.
/// - **Single-flight**: concurrent identical requests (same key) share one token-endpoint call;
///   different keys never wait for each other.
/// - **Resilience**: 5xx answers and connection failures are retried once after a jittered
///   delay; a 429 (or 503 with `Retry-After`) is returned as [`Error::Throttled`], and no
///   identical request is sent before its `Retry-After` time.
/// - **Secrets**: the credential, tokens and codes never appear in `Debug` output, errors or
///   logs.
///
/// Service to service (client credentials):
///
/// ```
/// use auth_client::ConfidentialClient;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let idp = auth_testkit::Emulator::start().await;
/// let consumer = idp.app("s2s-example-consumer");
///
/// // In production: .authority("https://login.microsoftonline.com/<tenant-id>")
/// let client = ConfidentialClient::builder()
///     .authority(idp.authority())
///     .client_id(consumer.client_id())
///     .client_secret(consumer.secret())
///     .build()?;
///
/// let token = client.acquire_token_for_client(&["api://s2s-example-api/.default"]).await?;
/// let again = client.acquire_token_for_client(&["api://s2s-example-api/.default"]).await?;
/// assert_eq!(token.secret(), again.secret()); // served from the cache
/// assert_eq!(client.stats().token_requests, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConfidentialClient {
    inner: Arc<Inner>,
}

struct Inner {
    authority: Authority,
    authority_key: String,
    client_id: String,
    credential: ClientCredential,
    auth_method: ClientAuthMethod,
    algorithm: AssertionAlgorithm,
    send_chain: bool,
    transport: Transport,
    retry_delay: Duration,
    cache: Arc<dyn TokenCache>,
    /// The same cache when it is the default in-memory one: read without a future.
    memory: Option<Arc<InMemoryTokenCache>>,
    expiry_margin: f64,
    clock: Arc<dyn Clock>,
    resource: Option<String>,
    endpoints: OnceCell<Endpoints>,
    jwks: OnceCell<JwksCache>,
    validator: Validator,
    flights: Mutex<HashMap<String, watch::Receiver<Outcome>>>,
    /// Request identity → time (client clock) before which it is not sent again.
    throttle: quick_cache::sync::Cache<String, f64>,
    counters: Counters,
}

/// One token-endpoint request.
#[derive(Clone)]
enum TokenRequest {
    ClientCredentials {
        scopes: Vec<String>,
    },
    OnBehalfOf {
        assertion: String,
        scopes: Vec<String>,
    },
    AuthorizationCode {
        code: String,
        redirect_uri: String,
        verifier: String,
        scopes: Vec<String>,
        resource: Option<String>,
    },
    Refresh {
        refresh_token: String,
        scopes: Vec<String>,
        resource: Option<String>,
    },
}

impl TokenRequest {
    fn grant(&self) -> &'static str {
        match self {
            TokenRequest::ClientCredentials { .. } => "client_credentials",
            TokenRequest::OnBehalfOf { .. } => "on_behalf_of",
            TokenRequest::AuthorizationCode { .. } => "authorization_code",
            TokenRequest::Refresh { .. } => "refresh_token",
        }
    }

    fn scopes(&self) -> &[String] {
        match self {
            TokenRequest::ClientCredentials { scopes }
            | TokenRequest::OnBehalfOf { scopes, .. }
            | TokenRequest::AuthorizationCode { scopes, .. }
            | TokenRequest::Refresh { scopes, .. } => scopes,
        }
    }

    /// The grant's parameters (client authentication is added by the caller).
    fn params(&self) -> Vec<(&'static str, String)> {
        let scope = self.scopes().join(" ");
        let mut p = Vec::with_capacity(8);
        match self {
            TokenRequest::ClientCredentials { .. } => {
                p.push(("grant_type", "client_credentials".to_owned()));
                p.push(("scope", scope));
            }
            TokenRequest::OnBehalfOf { assertion, .. } => {
                p.push(("grant_type", OBO_GRANT.to_owned()));
                p.push(("assertion", assertion.clone()));
                p.push(("requested_token_use", "on_behalf_of".to_owned()));
                p.push(("scope", scope));
            }
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                verifier,
                resource,
                ..
            } => {
                p.push(("grant_type", "authorization_code".to_owned()));
                p.push(("code", code.clone()));
                p.push(("redirect_uri", redirect_uri.clone()));
                p.push(("code_verifier", verifier.clone()));
                p.push(("scope", scope));
                if let Some(resource) = resource {
                    p.push(("resource", resource.clone()));
                }
            }
            TokenRequest::Refresh {
                refresh_token,
                resource,
                ..
            } => {
                p.push(("grant_type", "refresh_token".to_owned()));
                p.push(("refresh_token", refresh_token.clone()));
                if !scope.is_empty() {
                    p.push(("scope", scope));
                }
                if let Some(resource) = resource {
                    p.push(("resource", resource.clone()));
                }
            }
        }
        p
    }
}

/// A successful token response.
struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    refresh_in: Option<u64>,
    scope: Option<String>,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

impl TokenResponse {
    fn parse(body: &serde_json::Value) -> Result<TokenResponse, &'static str> {
        let text = |name: &str| {
            body.get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        // Entra's v1 endpoint and some providers send numbers as strings.
        let number = |name: &str| {
            body.get(name).and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
        };
        let access_token = text("access_token").ok_or("no access_token")?;
        if !access_token.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
            return Err("the access_token is not visible ASCII");
        }
        Ok(TokenResponse {
            access_token,
            token_type: text("token_type").unwrap_or_else(|| "Bearer".to_owned()),
            expires_in: number("expires_in"),
            refresh_in: number("refresh_in"),
            scope: text("scope"),
            refresh_token: text("refresh_token"),
            id_token: text("id_token"),
        })
    }

    /// The cache entry: expiry from `expires_in` (or the JWT's `exp`), `refresh_in` made
    /// absolute, scopes from the response (or the request).
    fn entry(&self, now: f64, requested: &[String]) -> CachedToken {
        let now_secs = now.max(0.0) as u64;
        let expires_at = match self.expires_in {
            Some(secs) => now_secs.saturating_add(secs),
            None => jwt_exp(&self.access_token).unwrap_or(now_secs),
        };
        let refresh_at = self.refresh_in.map(|secs| now_secs.saturating_add(secs));
        let scopes = match &self.scope {
            Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
            None => requested.to_vec(),
        };
        CachedToken::new(
            self.access_token.clone(),
            self.token_type.clone(),
            expires_at,
            refresh_at,
            scopes,
        )
    }
}

/// The `exp` of a JWT access token, read without verification (only to bound caching when the
/// server sent no `expires_in`).
fn jwt_exp(token: &str) -> Option<u64> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_u64()
}

/// What to do with a response.
enum Classified {
    Token(TokenResponse),
    Fail(Error),
    Retry(Error),
}

/// Whether a flight must deliver a new token or may reuse one another flight just stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A caller needs a token: reuse a fresh cached one.
    Acquire,
    /// Proactive refresh: reuse a cached token only if it is no longer due for refresh.
    Refresh,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded sections never panic; if one did, the map is still consistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn sha256_b64(value: &str) -> String {
    random::b64url(digest::digest(&digest::SHA256, value.as_bytes()))
}

fn unix(now: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(now.max(0.0))
}

/// Compares two secrets in constant time.
fn same_secret(a: &str, b: &str) -> bool {
    #[allow(deprecated)]
    let equal = aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes());
    equal.is_ok()
}

/// The validator needs an owned `Clock`; the client shares one.
#[derive(Clone)]
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> f64 {
        self.0.now()
    }
}

/// Removes a flight from the map when the flight ends, however it ends.
struct FlightGuard<'a> {
    inner: &'a Inner,
    key: &'a str,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        lock(&self.inner.flights).remove(self.key);
    }
}

impl ConfidentialClient {
    /// Starts a configuration.
    pub fn builder() -> ConfidentialClientBuilder {
        ConfidentialClientBuilder::default()
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The authority: `{instance}/{tenant}` for Entra, the issuer otherwise.
    pub fn authority(&self) -> &str {
        &self.inner.authority_key
    }

    /// The authorize endpoint, when known (always for Entra; after discovery otherwise).
    pub fn authorization_endpoint(&self) -> Option<&str> {
        self.inner.endpoints.get().map(|e| e.authorization.as_str())
    }

    /// Counters, for tests and metrics.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            token_requests: c.token_requests.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
            coalesced: c.coalesced.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            background_refreshes: c.background_refreshes.load(Ordering::Relaxed),
        }
    }

    /// An app-only token (client credentials grant) for `scopes`: for Entra exactly one
    /// `{resource}/.default` scope, e.g. `api://s2s-example-api/.default`; the token carries
    /// the app roles an administrator granted (`roles`).
    ///
    /// Served from the cache while fresh; concurrent identical calls share one request.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] without scopes; otherwise what the token endpoint or the
    /// network said (see [`Error`]).
    pub async fn acquire_token_for_client(&self, scopes: &[&str]) -> Result<AccessToken, Error> {
        if scopes.iter().all(|s| s.trim().is_empty()) {
            return Err(Error::InvalidRequest(
                "client credentials needs a scope: {resource}/.default",
            ));
        }
        let inner = &self.inner;
        let key = CacheKey::app(&inner.authority_key, &inner.client_id, scopes);
        if let Some(token) = inner.cached_now(&key) {
            return Ok(token);
        }
        let request = TokenRequest::ClientCredentials {
            scopes: split_scopes(scopes),
        };
        Arc::clone(&self.inner).acquire(key, request).await
    }

    /// A token for a downstream API On-Behalf-Of the user whose access token this API received
    /// (`user_assertion`: the inbound bearer token, already validated, addressed to this app).
    /// Sends the jwt-bearer grant with `requested_token_use=on_behalf_of`.
    ///
    /// Cached per (authority, client, SHA-256 of the assertion, scopes); concurrent identical
    /// calls share one request.
    ///
    /// ```
    /// use auth_client::ConfidentialClient;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let idp = auth_testkit::Emulator::builder()
    ///     .auto_login("alice@example.onmicrosoft.com")
    ///     .start()
    ///     .await?;
    /// # use auth_client::{AuthorizationRequest, AuthorizationResponse};
    /// # let frontend = idp.app("obo-example-frontend");
    /// # let web = ConfidentialClient::builder().authority(idp.authority()).client_id(frontend.client_id()).client_secret(frontend.secret()).build()?;
    /// # let start = web.authorization_url(AuthorizationRequest::new("http://localhost:3000/redirect").scopes(["api://obo-example-internal-api/user_impersonation"])).await?;
    /// # let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    /// # let location = browser.get(&start.url).send().await?.headers()["location"].to_str()?.to_owned();
    /// # let signed_in = web.redeem_code(&start.session, &AuthorizationResponse::from_uri(&location.parse()?)).await?;
    /// # let user_token = signed_in.access_token.secret().to_owned();
    /// // `user_token`: Alice's token for the internal API (Token A), from the Authorization
    /// // header of a request the internal API has validated.
    /// let middle_tier = idp.app("obo-example-internal-api");
    /// let client = ConfidentialClient::builder()
    ///     .authority(idp.authority())
    ///     .client_id(middle_tier.client_id())
    ///     .client_secret(middle_tier.secret())
    ///     .build()?;
    ///
    /// // Token B, for the shared API, on behalf of Alice.
    /// let token = client
    ///     .acquire_token_on_behalf_of(&user_token, &["api://shared-documents/Documents.Read"])
    ///     .await?;
    /// assert_eq!(token.scopes(), ["api://shared-documents/Documents.Read"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] without scopes or assertion; otherwise what the token endpoint
    /// said: `invalid_grant` AADSTS50013 for an assertion addressed to another API or expired,
    /// AADSTS65001 without consent, `interaction_required` with a
    /// [claims challenge](Error::claims_challenge) for Conditional Access.
    pub async fn acquire_token_on_behalf_of(
        &self,
        user_assertion: &str,
        scopes: &[&str],
    ) -> Result<AccessToken, Error> {
        if scopes.iter().all(|s| s.trim().is_empty()) {
            return Err(Error::InvalidRequest(
                "On-Behalf-Of needs the downstream API's scopes",
            ));
        }
        let user_assertion = user_assertion.trim();
        if user_assertion.is_empty() {
            return Err(Error::InvalidRequest("On-Behalf-Of needs the user's token"));
        }
        let inner = &self.inner;
        let key = CacheKey::on_behalf_of(
            &inner.authority_key,
            &inner.client_id,
            &CacheKey::assertion_hash(user_assertion),
            scopes,
        );
        if let Some(token) = inner.cached_now(&key) {
            return Ok(token);
        }
        let request = TokenRequest::OnBehalfOf {
            assertion: user_assertion.to_owned(),
            scopes: split_scopes(scopes),
        };
        Arc::clone(&self.inner).acquire(key, request).await
    }

    /// Starts the authorization code flow: the URL to redirect the user to (with `state`,
    /// `nonce` and an S256 PKCE challenge) and the [`AuthCodeSession`] to keep in the user's
    /// session until the callback.
    ///
    /// ```
    /// use auth_client::{AuthorizationRequest, AuthorizationResponse, ConfidentialClient};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let idp = auth_testkit::Emulator::builder()
    ///     .auto_login("alice@example.onmicrosoft.com") // the emulator signs Alice in
    ///     .start()
    ///     .await?;
    /// let web_app = idp.app("auth-code-client");
    /// let client = ConfidentialClient::builder()
    ///     .authority(idp.authority())
    ///     .client_id(web_app.client_id())
    ///     .client_secret(web_app.secret())
    ///     .build()?;
    ///
    /// // 1. /login: redirect the browser, keep the session.
    /// let start = client
    ///     .authorization_url(
    ///         AuthorizationRequest::new("http://localhost:8080/callback")
    ///             .scopes(["api://backend-api-id/Case.Create"]),
    ///     )
    ///     .await?;
    /// let session_json = serde_json::to_string(&start.session)?; // into the session store
    ///
    /// # let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    /// # let redirect = browser.get(&start.url).send().await?;
    /// # let callback_url = redirect.headers()["location"].to_str()?.to_owned();
    /// // 2. /callback?code=…&state=…: check state, redeem the code, validate the ID token.
    /// let session = serde_json::from_str(&session_json)?;
    /// let callback: http::Uri = callback_url.parse()?;
    /// let tokens = client
    ///     .redeem_code(&session, &AuthorizationResponse::from_uri(&callback))
    ///     .await?;
    ///
    /// let id = tokens.id_token.expect("openid is always requested");
    /// assert_eq!(id.claims().name(), Some("Alice Example"));
    /// assert!(tokens.access_token.scopes().iter().any(|s| s.ends_with("Case.Create")));
    /// assert!(tokens.refresh_token.is_some()); // yours to keep
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] without a redirect URI; discovery errors for OIDC issuers.
    pub async fn authorization_url(
        &self,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationUrl, Error> {
        let inner = &self.inner;
        if request.redirect_uri.trim().is_empty() {
            return Err(Error::InvalidRequest("the redirect URI is empty"));
        }
        let endpoints = inner.endpoints().await?;
        let state = random::token()?;
        let nonce = random::token()?;
        let verifier = random::token()?;
        let challenge = random::b64url(digest::digest(&digest::SHA256, verifier.as_bytes()));
        let scopes = with_oidc_scopes(&request.scopes);
        let scope = scopes.join(" ");
        let resource = request.resource.clone().or_else(|| inner.resource.clone());
        let mut params: Vec<(&str, &str)> = vec![
            ("client_id", &inner.client_id),
            ("response_type", "code"),
            ("redirect_uri", &request.redirect_uri),
            ("scope", &scope),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        if request.response_mode == ResponseMode::FormPost {
            params.push(("response_mode", "form_post"));
        }
        let optional = [
            ("prompt", &request.prompt),
            ("login_hint", &request.login_hint),
            ("domain_hint", &request.domain_hint),
            ("claims", &request.claims),
            ("resource", &resource),
        ];
        for (name, value) in &optional {
            if let Some(value) = value {
                params.push((name, value));
            }
        }
        for (name, value) in &request.extra {
            if !params.iter().any(|(n, _)| n == name) {
                params.push((name, value));
            }
        }
        let query = serde_urlencoded::to_string(&params)
            .map_err(|_| Error::InvalidRequest("a parameter cannot be URL-encoded"))?;
        let sep = if endpoints.authorization.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{sep}{query}", endpoints.authorization);
        let session = AuthCodeSession {
            state,
            nonce,
            code_verifier: verifier,
            redirect_uri: request.redirect_uri,
            scopes,
            resource,
            created_at: inner.clock.now().max(0.0) as u64,
        };
        Ok(AuthorizationUrl { url, session })
    }

    /// Finishes the authorization code flow: checks that the callback's `state` is the
    /// session's, redeems the code with the PKCE verifier, validates the ID token (signature
    /// through the authority's JWKS, issuer, `aud` = this client id, lifetime, `nonce` = the
    /// session's), and returns the access token, the ID token and the refresh token.
    ///
    /// The user's tokens are not cached here: keep the refresh token (and the access token, if
    /// you like) in the user's session. See [`authorization_url`](Self::authorization_url)
    /// for an example.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] (checked first), [`Error::Server`] when the callback carries an
    /// error (e.g. the user declined), [`Error::MissingCode`], the token endpoint's errors
    /// (e.g. `invalid_grant` AADSTS501481 for a wrong PKCE verifier), [`Error::IdToken`],
    /// [`Error::NonceMismatch`], [`Error::MissingIdToken`].
    pub async fn redeem_code(
        &self,
        session: &AuthCodeSession,
        response: &AuthorizationResponse,
    ) -> Result<UserTokens, Error> {
        let inner = &self.inner;
        let state_ok = response
            .state()
            .is_some_and(|state| same_secret(state, &session.state));
        if !state_ok {
            return Err(Error::StateMismatch);
        }
        if let Some(body) = response.error_json() {
            let context = inner.context("authorize", &session.scopes);
            if let Some(err) = ServerError::from_json(None, &body, context) {
                return Err(Error::Server(Box::new(err)));
            }
        }
        let code = response.code().ok_or(Error::MissingCode)?;
        let request = TokenRequest::AuthorizationCode {
            code: code.to_owned(),
            redirect_uri: session.redirect_uri.clone(),
            verifier: session.code_verifier.clone(),
            scopes: session.scopes.clone(),
            resource: session.resource.clone(),
        };
        let throttle_key = format!("auth-client/code/{}", sha256_b64(code));
        let now = inner.clock.now();
        let response = inner.request_token(&request, &throttle_key).await?;
        let Some(raw_id) = response.id_token.clone() else {
            return Err(Error::MissingIdToken);
        };
        let id_token = inner
            .validate_id_token(raw_id, Some(&session.nonce))
            .await?;
        Ok(UserTokens {
            access_token: AccessToken::from_cached(response.entry(now, &session.scopes)),
            id_token: Some(id_token),
            refresh_token: response.refresh_token.map(RefreshToken::new),
        })
    }

    /// Redeems a refresh token for a new access token (for `scopes`, which may name another
    /// resource the user consented to) and, with rotation, a new refresh token: the returned
    /// [`UserTokens::refresh_token`] is the one to keep (the new one, or this one when the
    /// server did not issue another). The ID token in the response, if any, is validated.
    ///
    /// ```
    /// # use auth_client::{AuthorizationRequest, AuthorizationResponse, ConfidentialClient};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let idp = auth_testkit::Emulator::builder().auto_login("alice@example.onmicrosoft.com").start().await?;
    /// # let web_app = idp.app("auth-code-client");
    /// # let client = ConfidentialClient::builder()
    /// #     .authority(idp.authority())
    /// #     .client_id(web_app.client_id())
    /// #     .client_secret(web_app.secret())
    /// #     .build()?;
    /// # let start = client.authorization_url(AuthorizationRequest::new("http://localhost:8080/callback").scopes(["api://backend-api-id/Case.Create"])).await?;
    /// # let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    /// # let location = browser.get(&start.url).send().await?.headers()["location"].to_str()?.to_owned();
    /// # let tokens = client.redeem_code(&start.session, &AuthorizationResponse::from_uri(&location.parse()?)).await?;
    /// // `tokens`: from redeem_code; the refresh token was kept in the session.
    /// let kept = tokens.refresh_token.expect("offline_access is always requested");
    /// let refreshed = client.refresh(&kept, &["api://backend-api-id/Case.Create"]).await?;
    /// let rotated = refreshed.refresh_token.expect("kept or rotated");
    /// assert_ne!(rotated.secret(), kept.secret()); // Entra rotates: store the new one
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The token endpoint's errors (`invalid_grant` for an expired or revoked refresh token:
    /// sign the user in again), [`Error::IdToken`].
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scopes: &[&str],
    ) -> Result<UserTokens, Error> {
        let resource = self.inner.resource.clone();
        self.refresh_inner(refresh_token, scopes, resource).await
    }

    /// [`refresh`](Self::refresh) with an RFC 8707 `resource` indicator (overriding the
    /// client's default).
    ///
    /// # Errors
    /// As [`refresh`](Self::refresh).
    pub async fn refresh_for_resource(
        &self,
        refresh_token: &RefreshToken,
        scopes: &[&str],
        resource: &str,
    ) -> Result<UserTokens, Error> {
        self.refresh_inner(refresh_token, scopes, Some(resource.to_owned()))
            .await
    }

    async fn refresh_inner(
        &self,
        refresh_token: &RefreshToken,
        scopes: &[&str],
        resource: Option<String>,
    ) -> Result<UserTokens, Error> {
        let inner = &self.inner;
        if refresh_token.secret().trim().is_empty() {
            return Err(Error::InvalidRequest("the refresh token is empty"));
        }
        let scopes = with_oidc_scopes(&split_scopes(scopes));
        let throttle_key = format!(
            "auth-client/refresh/{}/{}",
            sha256_b64(refresh_token.secret()),
            scopes.join(" ").to_ascii_lowercase()
        );
        let request = TokenRequest::Refresh {
            refresh_token: refresh_token.secret().to_owned(),
            scopes: scopes.clone(),
            resource,
        };
        let now = inner.clock.now();
        let response = inner.request_token(&request, &throttle_key).await?;
        let id_token = match response.id_token.clone() {
            Some(raw) => Some(inner.validate_id_token(raw, None).await?),
            None => None,
        };
        let rotated = response
            .refresh_token
            .clone()
            .map_or_else(|| refresh_token.clone(), RefreshToken::new);
        Ok(UserTokens {
            access_token: AccessToken::from_cached(response.entry(now, &scopes)),
            id_token,
            refresh_token: Some(rotated),
        })
    }

    /// Removes the cached app token for `scopes` (e.g. after the API refused it).
    ///
    /// # Errors
    /// The cache's error.
    pub async fn remove_cached_app_token(
        &self,
        scopes: &[&str],
    ) -> Result<(), crate::cache::CacheError> {
        let key = CacheKey::app(&self.inner.authority_key, &self.inner.client_id, scopes);
        self.inner.cache.remove(&key).await
    }
}

fn split_scopes(scopes: &[&str]) -> Vec<String> {
    scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect()
}

impl Inner {
    fn context(&self, grant: &'static str, scopes: &[String]) -> RequestContext {
        RequestContext {
            grant,
            client_id: self.client_id.clone(),
            scopes: scopes.to_vec(),
        }
    }

    fn is_fresh(&self, entry: &CachedToken, now: f64) -> bool {
        entry.expires_at() as f64 - self.expiry_margin > now
    }

    fn refresh_due(entry: &CachedToken, now: f64) -> bool {
        entry.refresh_at().is_some_and(|at| at as f64 <= now)
    }

    /// The fast path: a fresh entry of the in-memory cache, without a future. `None` for a
    /// custom cache, a miss, or an entry due for a proactive refresh (the slow path starts it).
    fn cached_now(&self, key: &CacheKey) -> Option<AccessToken> {
        let entry = self.memory.as_ref()?.get_now(key)?;
        let now = self.clock.now();
        if !self.is_fresh(&entry, now) || Self::refresh_due(&entry, now) {
            return None;
        }
        self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        Some(AccessToken::from_cached(entry))
    }

    async fn cached(&self, key: &CacheKey) -> Option<CachedToken> {
        if let Some(memory) = &self.memory {
            return memory.get_now(key);
        }
        match self.cache.get(key).await {
            Ok(entry) => entry,
            Err(e) => {
                warn!(error = %e, "token cache read failed; treated as a miss");
                None
            }
        }
    }

    async fn acquire(
        self: Arc<Self>,
        key: CacheKey,
        request: TokenRequest,
    ) -> Result<AccessToken, Error> {
        let now = self.clock.now();
        if let Some(entry) = self.cached(&key).await
            && self.is_fresh(&entry, now)
        {
            if Self::refresh_due(&entry, now) {
                let _ = self.join_or_start(key, request, Mode::Refresh);
            }
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(AccessToken::from_cached(entry));
        }
        let mut flight = self.join_or_start(key, request, Mode::Acquire);
        let outcome = match flight.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        };
        outcome.unwrap_or(Err(Error::Abandoned))
    }

    /// Joins the in-flight request for `key`, or starts one (in a task of its own, so that a
    /// caller going away does not cancel it for the others).
    fn join_or_start(
        self: &Arc<Self>,
        key: CacheKey,
        request: TokenRequest,
        mode: Mode,
    ) -> watch::Receiver<Outcome> {
        let mut flights = lock(&self.flights);
        if let Some(flight) = flights.get(key.as_str()) {
            if mode == Mode::Acquire {
                self.counters.coalesced.fetch_add(1, Ordering::Relaxed);
            }
            return flight.clone();
        }
        let (tx, rx) = watch::channel(None);
        flights.insert(key.as_str().to_owned(), rx.clone());
        drop(flights);
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            let outcome = {
                let _guard = FlightGuard {
                    inner: &inner,
                    key: key.as_str(),
                };
                inner.fly(&key, &request, mode).await
            };
            if let (Mode::Refresh, Err(e)) = (mode, &outcome) {
                warn!(error = %e, "proactive token refresh failed; the cached token is served until it expires");
            }
            let _ = tx.send(Some(outcome));
        });
        rx
    }

    async fn fly(
        &self,
        key: &CacheKey,
        request: &TokenRequest,
        mode: Mode,
    ) -> Result<AccessToken, Error> {
        // Another flight may have stored a token between this caller's cache miss and now.
        let now = self.clock.now();
        if let Some(entry) = self.cached(key).await
            && self.is_fresh(&entry, now)
            && (mode == Mode::Acquire || !Self::refresh_due(&entry, now))
        {
            return Ok(AccessToken::from_cached(entry));
        }
        if mode == Mode::Refresh {
            self.counters
                .background_refreshes
                .fetch_add(1, Ordering::Relaxed);
            debug!(
                key = key.as_str(),
                "proactive token refresh (refresh_in passed)"
            );
        }
        let response = self.request_token(request, key.as_str()).await?;
        let entry = response.entry(now, request.scopes());
        if let Err(e) = self.cache.set(key, entry.clone()).await {
            warn!(error = %e, "token cache write failed; the token is not cached");
        }
        Ok(AccessToken::from_cached(entry))
    }

    async fn endpoints(&self) -> Result<&Endpoints, Error> {
        self.endpoints
            .get_or_try_init(|| async {
                match &self.authority {
                    Authority::Oidc { issuer } => {
                        Authority::discover(issuer, &self.transport).await
                    }
                    // Entra endpoints are set at build time; unreachable in practice.
                    entra => entra.entra_endpoints().ok_or(Error::Abandoned),
                }
            })
            .await
    }

    async fn jwks(&self) -> Result<&JwksCache, Error> {
        self.jwks
            .get_or_try_init(|| async {
                let endpoints = self.endpoints().await?;
                let builder = JwksCache::builder().http_client(self.transport.client.clone());
                let builder = match &endpoints.jwks_uri {
                    Some(uri) => builder.jwks_uri(uri),
                    None => builder.authority(&self.authority_key),
                };
                builder.build_lazy().map_err(Error::Keys)
            })
            .await
    }

    async fn validate_id_token(&self, raw: String, nonce: Option<&str>) -> Result<IdToken, Error> {
        let jwks = self.jwks().await?;
        let claims = Authenticator::from_parts(self.validator.clone(), jwks.clone())
            .authenticate(&raw)
            .await
            .map_err(Error::IdToken)?
            .claims()
            .clone();
        if let Some(expected) = nonce {
            let matches = match claims.get("nonce") {
                Some(serde_json::Value::String(nonce)) => same_secret(&nonce, expected),
                _ => false,
            };
            if !matches {
                return Err(Error::NonceMismatch);
            }
        }
        Ok(IdToken::new(raw, claims))
    }

    fn throttled(&self, throttle_key: &str) -> Option<Error> {
        let until = self.throttle.get(throttle_key)?;
        let now = self.clock.now();
        if until <= now {
            self.throttle.remove(throttle_key);
            return None;
        }
        self.counters.throttled.fetch_add(1, Ordering::Relaxed);
        Some(Error::Throttled(Box::new(Throttled {
            status: None,
            retry_after: Some(Duration::from_secs_f64(until - now)),
            until: Some(unix(until)),
            server: None,
        })))
    }

    /// Sends one token request: client authentication built fresh for each attempt, one retry
    /// (jittered) for 5xx and connection failures, `Retry-After` remembered.
    async fn request_token(
        &self,
        request: &TokenRequest,
        throttle_key: &str,
    ) -> Result<TokenResponse, Error> {
        if let Some(err) = self.throttled(throttle_key) {
            return Err(err);
        }
        let endpoints = self.endpoints().await?;
        let url = endpoints.token.as_str();
        let grant = request.grant();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut form = request.params();
            let mut basic = None;
            match self.credential.client_secret() {
                Some(secret) if self.auth_method == ClientAuthMethod::SecretBasic => {
                    basic = Some((self.client_id.as_str(), secret));
                }
                Some(secret) => {
                    form.push(("client_id", self.client_id.clone()));
                    form.push(("client_secret", secret.to_owned()));
                }
                None => {
                    let now = self.clock.now().max(0.0) as u64;
                    let assertion = self
                        .credential
                        .assertion(&self.client_id, url, now, self.algorithm, self.send_chain)
                        .await?
                        .ok_or_else(|| Error::Credential("no client assertion".to_owned()))?;
                    form.push(("client_id", self.client_id.clone()));
                    form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
                    form.push(("client_assertion", assertion));
                }
            }
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let request_id = random::guid()?;
            debug!(grant, url, client_request_id = %request_id, attempt, "token request");
            self.counters.token_requests.fetch_add(1, Ordering::Relaxed);
            let outcome = self
                .transport
                .post_form(url, &pairs, basic, &request_id)
                .await;
            let retry = match outcome {
                Err(SendError { error, retryable }) if retryable && attempt == 1 => error,
                Err(SendError { error, .. }) => return Err(error),
                Ok(raw) => match self.classify(raw, url, request, throttle_key) {
                    Classified::Token(token) => {
                        debug!(grant, expires_in = token.expires_in, "token issued");
                        return Ok(token);
                    }
                    Classified::Fail(error) => {
                        debug!(grant, error = %error, "token request refused");
                        return Err(error);
                    }
                    Classified::Retry(error) if attempt == 1 => error,
                    Classified::Retry(error) => return Err(error),
                },
            };
            let delay = self.retry_delay.mul_f64(0.5 + random::fraction());
            debug!(grant, error = %retry, delay_ms = delay.as_millis() as u64, "retrying the token request once");
            tokio::time::sleep(delay).await;
        }
    }

    fn classify(
        &self,
        raw: RawResponse,
        url: &str,
        request: &TokenRequest,
        throttle_key: &str,
    ) -> Classified {
        let status = raw.status;
        let json = raw.json();
        let server = || {
            json.as_ref().and_then(|body| {
                ServerError::from_json(
                    Some(status),
                    body,
                    self.context(request.grant(), request.scopes()),
                )
            })
        };
        if (200..300).contains(&status) {
            let parsed = json
                .as_ref()
                .ok_or("the body is not a JSON object")
                .and_then(TokenResponse::parse);
            return match parsed {
                Ok(token) => Classified::Token(token),
                Err(reason) => Classified::Fail(Error::InvalidResponse {
                    url: url.to_owned(),
                    reason: reason.to_owned(),
                }),
            };
        }
        if status == 429 || (status == 503 && raw.retry_after.is_some()) {
            let now = self.clock.now();
            let until = raw.retry_after.map(|after| now + after.as_secs_f64());
            if let Some(until) = until {
                self.throttle.insert(throttle_key.to_owned(), until);
            }
            warn!(
                grant = request.grant(),
                status,
                retry_after_secs = raw.retry_after.map(|d| d.as_secs()),
                "the token endpoint is throttling"
            );
            return Classified::Fail(Error::Throttled(Box::new(Throttled {
                status: Some(status),
                retry_after: raw.retry_after,
                until: until.map(unix),
                server: server(),
            })));
        }
        let error = match server() {
            Some(server) => Error::Server(Box::new(server)),
            None => Error::Http {
                url: url.to_owned(),
                status,
            },
        };
        if status >= 500 {
            Classified::Retry(error)
        } else {
            Classified::Fail(error)
        }
    }
}

impl fmt::Debug for ConfidentialClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("ConfidentialClient")
            .field("authority", &inner.authority_key)
            .field("client_id", &inner.client_id)
            .field("credential", &inner.credential)
            .field("auth_method", &inner.auth_method)
            .field("expiry_margin_secs", &inner.expiry_margin)
            .field("timeout", &inner.transport.timeout)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

type ValidatorHook = Box<dyn FnOnce(ValidatorBuilder) -> ValidatorBuilder + Send>;

/// Configures a [`ConfidentialClient`], reqwest-style: consuming `#[must_use]` setters; invalid
/// input is remembered and reported once by [`build`](Self::build).
///
/// Required: an authority ([`authority`](Self::authority), or [`instance`](Self::instance) +
/// [`tenant_id`](Self::tenant_id), or [`oidc_issuer`](Self::oidc_issuer)), a
/// [`client_id`](Self::client_id), and one credential ([`client_secret`](Self::client_secret),
/// [`certificate_pem`](Self::certificate_pem) / [`certificate_file`](Self::certificate_file),
/// [`federated_token_file`](Self::federated_token_file),
/// [`client_assertion`](Self::client_assertion), or [`credential`](Self::credential)).
///
/// Entra authorities use `{authority}/oauth2/v2.0/authorize` and `/token` (no discovery); the
/// ID-token keys come from the authority's discovery document through auth-layer's
/// [`JwksCache`]. OIDC issuers are discovered (`{issuer}/.well-known/openid-configuration`),
/// once, on first use.
#[must_use]
pub struct ConfidentialClientBuilder {
    authority_url: Option<String>,
    instance: Option<String>,
    tenant: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    credential: Option<ClientCredential>,
    auth_method: ClientAuthMethod,
    algorithm: AssertionAlgorithm,
    send_chain: bool,
    http_client: Option<reqwest::Client>,
    timeout: Duration,
    connect_timeout: Duration,
    retry_delay: Duration,
    cache: Option<Arc<dyn TokenCache>>,
    cache_capacity: usize,
    expiry_margin: Duration,
    clock: Arc<dyn Clock>,
    resource: Option<String>,
    jwks: Option<JwksCache>,
    validator_hook: Option<ValidatorHook>,
    error: Option<BuildError>,
}

impl Default for ConfidentialClientBuilder {
    fn default() -> Self {
        ConfidentialClientBuilder {
            authority_url: None,
            instance: None,
            tenant: None,
            issuer: None,
            client_id: None,
            credential: None,
            auth_method: ClientAuthMethod::default(),
            algorithm: AssertionAlgorithm::default(),
            send_chain: false,
            http_client: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry_delay: DEFAULT_RETRY_DELAY,
            cache: None,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
            clock: Arc::new(SystemClock),
            resource: None,
            jwks: None,
            validator_hook: None,
            error: None,
        }
    }
}

impl ConfidentialClientBuilder {
    pub(crate) fn fail(mut self, error: BuildError) -> Self {
        self.error.get_or_insert(error);
        self
    }

    fn set_credential(mut self, credential: ClientCredential) -> Self {
        if self.credential.is_some() {
            return self.fail(BuildError::Config("set exactly one client credential"));
        }
        self.credential = Some(credential);
        self
    }

    /// An Entra authority `{instance}/{tenant}`, e.g.
    /// `https://login.microsoftonline.com/<tenant-id>` (in tests, the emulator's
    /// `authority()`). https only, or http to a loopback host.
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority_url = Some(authority.into());
        self
    }

    /// The Entra instance (authority host), default `https://login.microsoftonline.com`; use
    /// with [`tenant_id`](Self::tenant_id).
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The Entra tenant: its id (recommended), a domain name, `organizations` or `common`.
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Any other OpenID Connect provider, by issuer URL (Keycloak realm, Auth0 tenant, Okta
    /// authorization server…): endpoints and keys by discovery; ID tokens must carry exactly
    /// this `iss`.
    pub fn oidc_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The app registration's Application (client) ID.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into().trim().to_owned());
        self
    }

    /// Authenticates with a client secret.
    pub fn client_secret(self, secret: impl Into<String>) -> Self {
        self.set_credential(ClientCredential::secret(secret))
    }

    /// Authenticates with a certificate: PEM certificate (or chain) and PEM private key
    /// (PKCS#8 or PKCS#1 RSA). Client assertions are PS256 with `x5t#S256` by default (see
    /// [`assertion_algorithm`](Self::assertion_algorithm)).
    pub fn certificate_pem(self, cert_pem: &str, key_pem: &str) -> Self {
        match ClientCertificate::from_pem(cert_pem, key_pem) {
            Ok(cert) => self.set_credential(ClientCredential::certificate(cert)),
            Err(e) => self.fail(e),
        }
    }

    /// Authenticates with the certificate and private key in this PEM file (read now).
    pub fn certificate_file(self, path: impl Into<PathBuf>) -> Self {
        match ClientCertificate::from_file(path.into()) {
            Ok(cert) => self.set_credential(ClientCredential::certificate(cert)),
            Err(e) => self.fail(e),
        }
    }

    /// Authenticates with a federated assertion read from this file on every request
    /// (workload identity: `AZURE_FEDERATED_TOKEN_FILE`).
    pub fn federated_token_file(self, path: impl Into<PathBuf>) -> Self {
        self.set_credential(ClientCredential::federated_token_file(path))
    }

    /// Authenticates with an assertion `callback` produces for every request.
    pub fn client_assertion<F, Fut, E>(self, callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, E>> + Send + 'static,
        E: Into<crate::credential::BoxError>,
    {
        self.set_credential(ClientCredential::assertion_callback(callback))
    }

    /// Authenticates with this credential.
    pub fn credential(self, credential: ClientCredential) -> Self {
        self.set_credential(credential)
    }

    /// The signature algorithm of certificate assertions (default PS256 with `x5t#S256`;
    /// RS256 with `x5t` for providers without PS256).
    pub fn assertion_algorithm(mut self, algorithm: AssertionAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sends the certificate chain (`x5c`) in certificate assertions, for Entra's subject name
    /// + issuer authentication (default `false`).
    pub fn send_certificate_chain(mut self, send: bool) -> Self {
        self.send_chain = send;
        self
    }

    /// How a client secret is sent (default `client_secret_post`).
    pub fn client_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// The HTTP client (proxies, extra root certificates such as the emulator's CA…). Its
    /// redirect policy applies (the default client follows none). Also used for the ID-token
    /// keys.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Total timeout of one exchange with the token endpoint, connect to last byte (default
    /// 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout of the default HTTP client (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Base delay before the single retry of a 5xx answer or connection failure (default
    /// 500 ms, jittered ±50 %).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Keeps app and On-Behalf-Of tokens in this store instead of the default in-memory one.
    pub fn cache(mut self, cache: impl TokenCache) -> Self {
        self.cache = Some(Arc::new(cache));
        self
    }

    /// Capacity of the default in-memory cache, in entries (default 10,000).
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// A cached token is served until this long before it expires (default 5 minutes). Tokens
    /// that live less than this are returned but never served from the cache.
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// The clock for expiry decisions, assertion timestamps and ID-token validation (default:
    /// the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// A default RFC 8707 `resource` indicator for authorize, code and refresh requests.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Validates ID tokens with the keys of this cache instead of one built from the authority.
    pub fn jwks(mut self, cache: JwksCache) -> Self {
        self.jwks = Some(cache);
        self
    }

    /// Adjusts the ID-token validator (e.g. `|v| v.algorithms([Algorithm::ES256])` for a
    /// provider signing with ECDSA, or more tenants).
    pub fn id_token_validator(
        mut self,
        configure: impl FnOnce(ValidatorBuilder) -> ValidatorBuilder + Send + 'static,
    ) -> Self {
        self.validator_hook = Some(Box::new(configure));
        self
    }

    /// Checks the configuration and builds the client. Needs no runtime and does no I/O.
    ///
    /// # Errors
    /// The first invalid setting, or [`BuildError::NoAuthority`] / [`BuildError::NoClientId`] /
    /// [`BuildError::NoCredential`].
    pub fn build(self) -> Result<ConfidentialClient, BuildError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let entra_parts = self.instance.is_some() || self.tenant.is_some();
        let authority = match (&self.issuer, &self.authority_url) {
            (Some(_), Some(_)) => {
                return Err(BuildError::Config(
                    "set either an Entra authority or an OIDC issuer, not both",
                ));
            }
            (Some(_), None) | (None, Some(_)) if entra_parts => {
                return Err(BuildError::Config(
                    "instance(...)/tenant_id(...) cannot be combined with authority(...) or \
                     oidc_issuer(...)",
                ));
            }
            (Some(issuer), None) => Authority::oidc(issuer)?,
            (None, Some(url)) => Authority::from_url(url)?,
            (None, None) => match &self.tenant {
                Some(tenant) => {
                    Authority::entra(self.instance.as_deref().unwrap_or(DEFAULT_INSTANCE), tenant)?
                }
                None => return Err(BuildError::NoAuthority),
            },
        };
        let client_id = self
            .client_id
            .filter(|c| !c.is_empty())
            .ok_or(BuildError::NoClientId)?;
        let credential = self.credential.ok_or(BuildError::NoCredential)?;
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(BuildError::Config("timeouts must be greater than zero"));
        }
        let http = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("auth-client/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| BuildError::HttpClient(e.to_string()))?,
        };

        let mut v = Validator::builder().clock(SharedClock(Arc::clone(&self.clock)));
        match &authority {
            Authority::Entra { instance, tenant } => {
                v = v.instance(instance.clone());
                v = if is_guid(tenant) {
                    v.tenant_id(tenant.clone())
                } else {
                    v.any_tenant()
                };
            }
            Authority::Oidc { issuer } => v = v.issuer(issuer.clone()),
        }
        let lower = client_id.to_ascii_lowercase();
        v = if is_guid(&lower) {
            v.client_id(lower)
        } else {
            v.audience(client_id.clone())
        };
        v = v.accept_id_tokens();
        if let Some(hook) = self.validator_hook {
            v = hook(v);
        }
        let validator = v.build()?;

        let (cache, memory): (Arc<dyn TokenCache>, _) = match self.cache {
            Some(cache) => (cache, None),
            None => {
                let memory = Arc::new(InMemoryTokenCache::new(self.cache_capacity));
                (Arc::clone(&memory) as Arc<dyn TokenCache>, Some(memory))
            }
        };
        let authority_key = authority.key();
        Ok(ConfidentialClient {
            inner: Arc::new(Inner {
                endpoints: OnceCell::new_with(authority.entra_endpoints()),
                authority,
                authority_key,
                client_id,
                credential,
                auth_method: self.auth_method,
                algorithm: self.algorithm,
                send_chain: self.send_chain,
                transport: Transport {
                    client: http,
                    timeout: self.timeout,
                },
                retry_delay: self.retry_delay,
                cache,
                memory,
                expiry_margin: self.expiry_margin.as_secs_f64(),
                clock: self.clock,
                resource: self.resource,
                jwks: OnceCell::new_with(self.jwks),
                validator,
                flights: Mutex::new(HashMap::new()),
                throttle: quick_cache::sync::Cache::new(THROTTLE_CAPACITY),
                counters: Counters::default(),
            }),
        })
    }
}

impl fmt::Debug for ConfidentialClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfidentialClientBuilder")
            .field("authority", &self.authority_url)
            .field("instance", &self.instance)
            .field("tenant", &self.tenant)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Whether `s` is a lowercase GUID.
fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_reports_missing_and_conflicting_settings() {
        let err = ConfidentialClient::builder().build().unwrap_err();
        assert_eq!(err, BuildError::NoAuthority);
        let err = ConfidentialClient::builder()
            .tenant_id("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::NoClientId);
        let err = ConfidentialClient::builder()
            .tenant_id("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
            .client_id("c")
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::NoCredential);
        let err = ConfidentialClient::builder()
            .tenant_id("t")
            .client_id("c")
            .client_secret("a")
            .client_secret("b")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::Config(_)));
        let err = ConfidentialClient::builder()
            .authority("http://login.example.com/t")
            .client_id("c")
            .client_secret("a")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidUrl { .. }), "{err}");
        let err = ConfidentialClient::builder()
            .authority("https://login.example.com/t")
            .oidc_issuer("https://idp")
            .client_id("c")
            .client_secret("a")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::Config(_)));
    }

    #[test]
    fn token_responses_accept_string_numbers_and_fall_back_to_the_jwt_exp() {
        let body =
            serde_json::json!({"access_token": "a.b.c", "expires_in": "3599", "refresh_in": 1800});
        let t = TokenResponse::parse(&body).unwrap();
        assert_eq!((t.expires_in, t.refresh_in), (Some(3599), Some(1800)));
        let entry = t.entry(1000.0, &["s".into()]);
        assert_eq!(entry.expires_at(), 4599);
        assert_eq!(entry.refresh_at(), Some(2800));
        assert_eq!(entry.scopes(), ["s"]);

        let payload = random::b64url(r#"{"exp":1234}"#);
        let body = serde_json::json!({"access_token": format!("h.{payload}.s")});
        let t = TokenResponse::parse(&body).unwrap();
        assert_eq!(t.entry(1000.0, &[]).expires_at(), 1234);
        assert!(TokenResponse::parse(&serde_json::json!({"token_type": "Bearer"})).is_err());
        assert!(TokenResponse::parse(&serde_json::json!({"access_token": "a b"})).is_err());
    }
}
