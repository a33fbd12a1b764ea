//! [`ConfidentialClient`]: configuration, the four grants, caching and single-flight.

//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | the client, its cache path, client credentials and On-Behalf-Of |
//! | `user.rs` | a user's tokens: authorization code + PKCE, refresh, ID-token validation |
//! | `builder.rs` | [`ConfidentialClientBuilder`] |
//! | `endpoint.rs` | the token endpoint: client authentication, the POST, one retry, reading the answer |
//! | `request.rs` | the wire shapes: grants' form parameters, the token response |
//! | `flight.rs` | single-flight and throttling |
//! | `stats.rs` | [`ClientStats`] |
//!
//! Files import one way: `builder`, `user` → `mod` → `endpoint` → `flight`, `request`, `stats`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_layer::{JwksCache, Validator};
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use crate::cache::{CacheKey, CachedToken, InMemoryTokenCache, TokenCache};
use crate::error::Error;
use crate::token::AccessToken;
use endpoint::TokenEndpoint;
use flight::{Flights, Joined, Outcome};
use request::{Grant, split_scopes};
use stats::{ClientStats, Counters};

pub(crate) mod builder;
pub(crate) mod endpoint;
mod flight;
mod request;
pub(crate) mod stats;
mod user;

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
    endpoint: TokenEndpoint,
    cache: Arc<dyn TokenCache>,
    /// The same cache when it is the default in-memory one: read without a future.
    memory: Option<Arc<InMemoryTokenCache>>,
    expiry_margin: f64,
    resource: Option<String>,
    jwks: OnceCell<JwksCache>,
    validator: Validator,
    flights: Flights,
}

/// Whether a flight must deliver a new token or may reuse one another flight just stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A caller needs a token: reuse a fresh cached one.
    Acquire,
    /// Proactive refresh: reuse a cached token only if it is no longer due for refresh.
    Refresh,
}

impl ConfidentialClient {
    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.endpoint.client_id
    }

    /// The authority: `{instance}/{tenant}` for Entra, the issuer otherwise.
    pub fn authority(&self) -> &str {
        &self.inner.endpoint.authority_key
    }

    /// The authorize endpoint, when known (always for Entra; after discovery otherwise).
    pub fn authorization_endpoint(&self) -> Option<&str> {
        self.inner
            .endpoint
            .endpoints
            .get()
            .map(|e| e.authorization.as_str())
    }

    /// Counters, for tests and metrics.
    pub fn stats(&self) -> ClientStats {
        self.inner.endpoint.counters.snapshot()
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
        let key = CacheKey::app(
            &inner.endpoint.authority_key,
            &inner.endpoint.client_id,
            scopes,
        );
        if let Some(token) = inner.cached_now(&key) {
            return Ok(token);
        }
        let request = Grant::ClientCredentials {
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
            &inner.endpoint.authority_key,
            &inner.endpoint.client_id,
            &CacheKey::assertion_hash(user_assertion),
            scopes,
        );
        if let Some(token) = inner.cached_now(&key) {
            return Ok(token);
        }
        let request = Grant::OnBehalfOf {
            assertion: user_assertion.to_owned(),
            scopes: split_scopes(scopes),
        };
        Arc::clone(&self.inner).acquire(key, request).await
    }

    /// Removes the cached app token for `scopes` (e.g. after the API refused it).
    ///
    /// # Errors
    /// The cache's error.
    pub async fn remove_cached_app_token(
        &self,
        scopes: &[&str],
    ) -> Result<(), crate::cache::CacheError> {
        let key = CacheKey::app(
            &self.inner.endpoint.authority_key,
            &self.inner.endpoint.client_id,
            scopes,
        );
        self.inner.cache.remove(&key).await
    }
}

impl Inner {
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
        let now = self.endpoint.clock.now();
        if !self.is_fresh(&entry, now) || Self::refresh_due(&entry, now) {
            return None;
        }
        Counters::bump(&self.endpoint.counters.cache_hits);
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

    async fn acquire(self: Arc<Self>, key: CacheKey, request: Grant) -> Result<AccessToken, Error> {
        let now = self.endpoint.clock.now();
        if let Some(entry) = self.cached(&key).await
            && self.is_fresh(&entry, now)
        {
            if Self::refresh_due(&entry, now) {
                let _ = self.join_or_start(key, request, Mode::Refresh);
            }
            Counters::bump(&self.endpoint.counters.cache_hits);
            return Ok(AccessToken::from_cached(entry));
        }
        let mut flight = self.join_or_start(key, request, Mode::Acquire);
        let outcome = match flight.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        };
        outcome.unwrap_or(Err(Error::Abandoned))
    }

    /// Joins the in-flight request for `key`, or starts one.
    fn join_or_start(
        self: &Arc<Self>,
        key: CacheKey,
        request: Grant,
        mode: Mode,
    ) -> tokio::sync::watch::Receiver<Outcome> {
        let inner = Arc::clone(self);
        let name = key.as_str().to_owned();
        let (flight, joined) = self.flights.join_or_start(&name, move || async move {
            let outcome = inner.fly(&key, &request, mode).await;
            if let (Mode::Refresh, Err(e)) = (mode, &outcome) {
                warn!(error = %e, "proactive token refresh failed; the cached token is served until it expires");
            }
            outcome
        });
        if joined == Joined::Existing && mode == Mode::Acquire {
            Counters::bump(&self.endpoint.counters.coalesced);
        }
        flight
    }

    async fn fly(&self, key: &CacheKey, request: &Grant, mode: Mode) -> Result<AccessToken, Error> {
        // Another flight may have stored a token between this caller's cache miss and now.
        let now = self.endpoint.clock.now();
        if let Some(entry) = self.cached(key).await
            && self.is_fresh(&entry, now)
            && (mode == Mode::Acquire || !Self::refresh_due(&entry, now))
        {
            return Ok(AccessToken::from_cached(entry));
        }
        if mode == Mode::Refresh {
            Counters::bump(&self.endpoint.counters.background_refreshes);
            debug!(
                key = key.as_str(),
                "proactive token refresh (refresh_in passed)"
            );
        }
        let response = self.endpoint.request_token(request, key.as_str()).await?;
        let entry = response.entry(now, request.scopes());
        if let Err(e) = self.cache.set(key, entry.clone()).await {
            warn!(error = %e, "token cache write failed; the token is not cached");
        }
        Ok(AccessToken::from_cached(entry))
    }
}

impl fmt::Debug for ConfidentialClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("ConfidentialClient")
            .field("authority", &inner.endpoint.authority_key)
            .field("client_id", &inner.endpoint.client_id)
            .field("credential", &inner.endpoint.credential)
            .field("auth_method", &inner.endpoint.auth_method)
            .field("expiry_margin_secs", &inner.expiry_margin)
            .field("timeout", &inner.endpoint.transport.timeout)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
