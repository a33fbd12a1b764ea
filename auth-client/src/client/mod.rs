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

use auth_layer::Validator;
use auth_layer::jwks::JwksCache;
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use crate::cache::{CacheKey, CacheKeyKind, CachedToken, InMemoryTokenCache, TokenCache};
use crate::error::Error;
use crate::metrics::{self, Cache};
use crate::token::AccessToken;
use endpoint::TokenEndpoint;
use flight::{Flights, Joined, Outcome};
use request::{Grant, GrantKind, TokenRequest, split_scopes};
use stats::{ClientStats, Counters};

pub(crate) mod builder;
pub(crate) mod endpoint;
mod flight;
pub(crate) mod request;
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
///   delay; a 429, or any error with `Retry-After`, is returned as [`Error::Throttled`], and
///   no identical request is sent before its `Retry-After` time (60 s when absent, as MSAL;
///   also after a 5xx that persisted through the retry).
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
    /// RFC 8707 `resource` sent on every grant (never set for Entra).
    resource: Option<String>,
    /// Client capabilities (`cp1`…) announced in every token request's `claims`.
    capabilities: Vec<String>,
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
    /// A `claims` request or a forced refresh: never reuse a cached token.
    Fresh,
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
        self.acquire_app(scopes, None).await
    }

    /// [`acquire_token_for_client`](Self::acquire_token_for_client) with options: an RFC 8707
    /// `resource` (providers other than Entra), a `claims` request (bypasses the cache), a
    /// forced refresh.
    ///
    /// ```
    /// use auth_client::{ConfidentialClient, TokenRequest};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let idp = auth_testkit::Emulator::start().await;
    /// let consumer = idp.app("s2s-example-consumer");
    /// let client = ConfidentialClient::builder()
    ///     .authority(idp.authority())
    ///     .client_id(consumer.client_id())
    ///     .client_secret(consumer.secret())
    ///     .build()?;
    /// let first = client.acquire_token_for_client(&["api://s2s-example-api/.default"]).await?;
    /// // The API refused `first` (revoked, CAE): get a new one instead of the cached one.
    /// let request = TokenRequest::new(["api://s2s-example-api/.default"]).force_refresh();
    /// let second = client.acquire_token_for_client_with(&request).await?;
    /// assert_eq!(client.stats().token_requests, 2);
    /// # let _ = (first, second);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`acquire_token_for_client`](Self::acquire_token_for_client);
    /// [`Error::InvalidRequest`] for a `resource` with an Entra authority, or `claims` that are
    /// not a JSON object while client capabilities are set.
    pub async fn acquire_token_for_client_with(
        &self,
        request: &TokenRequest,
    ) -> Result<AccessToken, Error> {
        let scopes: Vec<&str> = request.scopes.iter().map(String::as_str).collect();
        self.acquire_app(&scopes, Some(request)).await
    }

    async fn acquire_app(
        &self,
        scopes: &[&str],
        options: Option<&TokenRequest>,
    ) -> Result<AccessToken, Error> {
        let (result, cache) = match self.try_acquire_app(scopes, options).await {
            Ok(outcome) => outcome,
            Err(e) => (Err(e), Cache::Miss),
        };
        metrics::acquisition("client_credentials", &result, cache);
        result
    }

    /// The token, or an error found before any cache or request (the outer `Err`), and where
    /// the token came from.
    async fn try_acquire_app(
        &self,
        scopes: &[&str],
        options: Option<&TokenRequest>,
    ) -> Result<(Result<AccessToken, Error>, Cache), Error> {
        if scopes.iter().all(|s| s.trim().is_empty()) {
            return Err(Error::InvalidRequest(
                "client credentials needs a scope: {resource}/.default",
            ));
        }
        let inner = &self.inner;
        let resource = inner.resource_for(options)?;
        let key = inner.key(CacheKeyKind::App, None, resource.as_deref(), scopes);
        let fresh = options.is_some_and(TokenRequest::bypasses_cache);
        if !fresh && let Some(token) = inner.cached_now(&key) {
            return Ok((Ok(token), Cache::Hit));
        }
        let mut grant = Grant::new(GrantKind::ClientCredentials, split_scopes(scopes));
        grant.resource = resource;
        grant.claims = inner.claims(options.and_then(|o| o.claims.as_deref()))?;
        Ok(Arc::clone(&self.inner).acquire(key, grant, fresh).await)
    }

    /// A token for a downstream API On-Behalf-Of the user whose access token this API received
    /// (`user_assertion`: the inbound bearer token, already validated, addressed to this app).
    /// With Entra it sends the jwt-bearer grant with `requested_token_use=on_behalf_of`
    /// (<https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-on-behalf-of-flow>);
    /// with any other provider an RFC 8693 token exchange
    /// (<https://www.rfc-editor.org/rfc/rfc8693#section-2.1>: `subject_token` = the user's
    /// token, `subject_token_type` and `requested_token_type` =
    /// `urn:ietf:params:oauth:token-type:access_token`, the builder's `resource`).
    ///
    /// Cached per (authority, client, SHA-256 of the assertion, resource, scopes); concurrent
    /// identical calls share one request.
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
    /// # let start = web.authorization_url(AuthorizationRequest::new("http://127.0.0.1:3000/redirect").scopes(["api://obo-example-internal-api/user_impersonation"])).await?;
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
    /// said: [`Error::is_invalid_user_assertion`] when the user's token is expired
    /// (AADSTS500133), addressed to another app (AADSTS500131) or otherwise refused (AADSTS50013;
    /// a token exchange's `invalid_request`), AADSTS65001 without consent,
    /// `interaction_required` with a [claims challenge](Error::claims_challenge) for
    /// Conditional Access.
    pub async fn acquire_token_on_behalf_of(
        &self,
        user_assertion: &str,
        scopes: &[&str],
    ) -> Result<AccessToken, Error> {
        self.acquire_obo(user_assertion, scopes, None).await
    }

    /// [`acquire_token_on_behalf_of`](Self::acquire_token_on_behalf_of) with options: an RFC
    /// 8707 `resource` or RFC 8693 `audience` (providers other than Entra), a `claims` request
    /// (bypasses the cache), a forced refresh.
    ///
    /// # Errors
    /// As [`acquire_token_on_behalf_of`](Self::acquire_token_on_behalf_of).
    pub async fn acquire_token_on_behalf_of_with(
        &self,
        user_assertion: &str,
        request: &TokenRequest,
    ) -> Result<AccessToken, Error> {
        let scopes: Vec<&str> = request.scopes.iter().map(String::as_str).collect();
        self.acquire_obo(user_assertion, &scopes, Some(request))
            .await
    }

    async fn acquire_obo(
        &self,
        user_assertion: &str,
        scopes: &[&str],
        options: Option<&TokenRequest>,
    ) -> Result<AccessToken, Error> {
        let grant = if self.inner.endpoint.authority.is_entra() {
            "on_behalf_of"
        } else {
            crate::error::TOKEN_EXCHANGE
        };
        let (result, cache) = match self.try_acquire_obo(user_assertion, scopes, options).await {
            Ok(outcome) => outcome,
            Err(e) => (Err(e), Cache::Miss),
        };
        metrics::acquisition(grant, &result, cache);
        result
    }

    /// As [`try_acquire_app`](Self::try_acquire_app), for On-Behalf-Of.
    async fn try_acquire_obo(
        &self,
        user_assertion: &str,
        scopes: &[&str],
        options: Option<&TokenRequest>,
    ) -> Result<(Result<AccessToken, Error>, Cache), Error> {
        let inner = &self.inner;
        let entra = inner.endpoint.authority.is_entra();
        // Entra needs the downstream API's scopes; a token exchange may name the target by
        // resource or audience alone.
        let target = options.is_some_and(|o| o.audience.is_some() || o.resource.is_some())
            || inner.resource.is_some();
        if scopes.iter().all(|s| s.trim().is_empty()) && (entra || !target) {
            return Err(Error::InvalidRequest(
                "On-Behalf-Of needs the downstream API's scopes",
            ));
        }
        let user_assertion = user_assertion.trim();
        if user_assertion.is_empty() {
            return Err(Error::InvalidRequest("On-Behalf-Of needs the user's token"));
        }
        let resource = inner.resource_for(options)?;
        let audience = options.and_then(|o| o.audience.clone()).filter(|_| !entra);
        let target_key = match (&resource, &audience) {
            (None, None) => None,
            (r, a) => {
                let r = r.as_deref().unwrap_or("");
                Some(format!("{}:{r}{}", r.len(), a.as_deref().unwrap_or("")))
            }
        };
        let key = inner.key(
            CacheKeyKind::OnBehalfOf,
            Some(&inner.assertion_hash(user_assertion)),
            target_key.as_deref(),
            scopes,
        );
        let fresh = options.is_some_and(TokenRequest::bypasses_cache);
        if !fresh && let Some(token) = inner.cached_now(&key) {
            return Ok((Ok(token), Cache::Hit));
        }
        let kind = if entra {
            GrantKind::OnBehalfOf {
                assertion: user_assertion.to_owned(),
            }
        } else {
            GrantKind::TokenExchange {
                subject_token: user_assertion.to_owned(),
                audience,
            }
        };
        let mut grant = Grant::new(kind, split_scopes(scopes));
        grant.resource = resource;
        grant.claims = inner.claims(options.and_then(|o| o.claims.as_deref()))?;
        Ok(Arc::clone(&self.inner).acquire(key, grant, fresh).await)
    }

    /// Removes the cached app token for `scopes` (e.g. after the API refused it). A
    /// [`TokenRequest`] with [`claims`](TokenRequest::claims) or
    /// [`force_refresh`](TokenRequest::force_refresh) replaces it in one step.
    ///
    /// # Errors
    /// The cache's error.
    pub async fn remove_cached_app_token(
        &self,
        scopes: &[&str],
    ) -> Result<(), crate::cache::CacheError> {
        let inner = &self.inner;
        let key = inner.key(CacheKeyKind::App, None, inner.resource.as_deref(), scopes);
        inner.cache.remove(&key).await
    }

    /// Removes the cached On-Behalf-Of token for this user's token and `scopes` (e.g. after the
    /// downstream API refused it: revocation, Continuous Access Evaluation), so that the next
    /// call gets a new one.
    ///
    /// # Errors
    /// The cache's error.
    pub async fn remove_cached_obo_token(
        &self,
        user_assertion: &str,
        scopes: &[&str],
    ) -> Result<(), crate::cache::CacheError> {
        let inner = &self.inner;
        let resource = inner
            .resource
            .as_deref()
            .map(|r| format!("{}:{r}", r.len()));
        let key = inner.key(
            CacheKeyKind::OnBehalfOf,
            Some(&inner.assertion_hash(user_assertion.trim())),
            resource.as_deref(),
            scopes,
        );
        inner.cache.remove(&key).await
    }
}

impl Inner {
    /// The hash of an inbound token in On-Behalf-Of keys: keyed per cache when the store is
    /// the default in-memory cache (fast, never leaves the process), else the SHA-256 that a
    /// store shared by several processes needs (see `InMemoryTokenCache::assertion_hash`).
    fn assertion_hash(&self, assertion: &str) -> String {
        match &self.memory {
            Some(memory) => memory.assertion_hash(assertion),
            None => CacheKey::assertion_hash(assertion),
        }
    }

    /// The cache key of a token of this client.
    fn key(
        &self,
        kind: CacheKeyKind,
        assertion_hash: Option<&str>,
        resource: Option<&str>,
        scopes: &[&str],
    ) -> CacheKey {
        let endpoint = &self.endpoint;
        CacheKey::new(
            kind,
            &endpoint.authority_key,
            &endpoint.client_id,
            assertion_hash,
            resource,
            scopes,
            endpoint.authority.is_entra(),
        )
    }

    /// The RFC 8707 `resource` of a request: the call's, or the builder's default. Entra's v2
    /// endpoint refuses the parameter (AADSTS901002), so it is never sent there.
    fn resource_for(&self, options: Option<&TokenRequest>) -> Result<Option<String>, Error> {
        match options.and_then(|o| o.resource.as_deref()) {
            Some(_) if self.endpoint.authority.is_entra() => Err(Error::InvalidRequest(
                "Entra's v2 endpoint refuses the resource parameter: name the resource in the \
                 scope ({resource}/.default)",
            )),
            Some(resource) => Ok(Some(resource.to_owned())),
            None => Ok(self.resource.clone()),
        }
    }

    /// The `claims` parameter: the request's claims with the client capabilities merged in
    /// (`{"access_token":{"xms_cc":{"values":["cp1"]}}}`, as MSAL sends them:
    /// <https://learn.microsoft.com/en-us/entra/identity-platform/claims-challenge>).
    /// Client capabilities are Entra's (`xms_cc`); other providers get the request's claims only.
    fn claims(&self, requested: Option<&str>) -> Result<Option<String>, Error> {
        let capabilities: &[String] = if self.endpoint.authority.is_entra() {
            &self.capabilities
        } else {
            &[]
        };
        merge_capabilities(requested, capabilities)
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

    /// The token for `key`: from the cache, or from a flight (joined or started); and which.
    async fn acquire(
        self: Arc<Self>,
        key: CacheKey,
        request: Grant,
        fresh: bool,
    ) -> (Result<AccessToken, Error>, Cache) {
        if fresh {
            let mut flight = self.join_or_start(key, request, Mode::Fresh);
            return (wait(&mut flight).await, Cache::Miss);
        }
        let now = self.endpoint.clock.now();
        if let Some(entry) = self.cached(&key).await
            && self.is_fresh(&entry, now)
        {
            if Self::refresh_due(&entry, now) {
                let _ = self.join_or_start(key, request, Mode::Refresh);
            }
            Counters::bump(&self.endpoint.counters.cache_hits);
            return (Ok(AccessToken::from_cached(entry)), Cache::Hit);
        }
        let mut flight = self.join_or_start(key, request, Mode::Acquire);
        (wait(&mut flight).await, Cache::Miss)
    }

    /// Joins the in-flight request for `key`, or starts one.
    fn join_or_start(
        self: &Arc<Self>,
        key: CacheKey,
        request: Grant,
        mode: Mode,
    ) -> tokio::sync::watch::Receiver<Outcome> {
        let inner = Arc::clone(self);
        // A fresh flight (claims, forced refresh) never joins one that may answer from the
        // cache; fresh flights with the same claims share one request.
        let name = match (mode, &request.claims) {
            (Mode::Fresh, Some(claims)) => format!(
                "{}#fresh:{}",
                key.as_str(),
                CacheKey::assertion_hash(claims)
            ),
            (Mode::Fresh, None) => format!("{}#fresh", key.as_str()),
            _ => key.as_str().to_owned(),
        };
        let (flight, joined) = self.flights.join_or_start(&name, move || async move {
            let outcome = inner.fly(&key, &request, mode).await;
            if let (Mode::Refresh, Err(e)) = (mode, &outcome) {
                warn!(error = %e, "proactive token refresh failed; the cached token is served until it expires");
            }
            outcome
        });
        if joined == Joined::Existing && mode != Mode::Refresh {
            Counters::bump(&self.endpoint.counters.coalesced);
        }
        flight
    }

    async fn fly(&self, key: &CacheKey, request: &Grant, mode: Mode) -> Result<AccessToken, Error> {
        // Another flight may have stored a token between this caller's cache miss and now.
        let now = self.endpoint.clock.now();
        if let Some(entry) = self.cached(key).await
            && self.is_fresh(&entry, now)
            && (mode == Mode::Acquire || (mode == Mode::Refresh && !Self::refresh_due(&entry, now)))
        {
            if mode == Mode::Acquire {
                // The caller that started this flight is served from the cache after all.
                Counters::bump(&self.endpoint.counters.cache_hits);
            }
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

/// Waits for a flight's outcome.
async fn wait(flight: &mut tokio::sync::watch::Receiver<Outcome>) -> Result<AccessToken, Error> {
    let outcome = match flight.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone(),
        Err(_) => None,
    };
    outcome.unwrap_or(Err(Error::Abandoned))
}

/// Merges client capabilities into a `claims` request: `access_token.xms_cc.values`.
fn merge_capabilities(
    requested: Option<&str>,
    capabilities: &[String],
) -> Result<Option<String>, Error> {
    if capabilities.is_empty() {
        return Ok(requested.map(str::to_owned));
    }
    let mut claims = match requested {
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => {
                return Err(Error::InvalidRequest(
                    "the claims request is not a JSON object",
                ));
            }
        },
        None => serde_json::Map::new(),
    };
    let access_token = claims
        .entry("access_token")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if let serde_json::Value::Object(access_token) = access_token {
        access_token.insert(
            "xms_cc".to_owned(),
            serde_json::json!({ "values": capabilities }),
        );
    }
    Ok(Some(serde_json::Value::Object(claims).to_string()))
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
