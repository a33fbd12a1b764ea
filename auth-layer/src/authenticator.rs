//! The [`Authenticator`]: one shared handle that validates bearer tokens for every layer and
//! extractor of a service.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "fetch")]
use std::time::Duration;

use crate::authority::Authority;
use crate::challenge::{BodyStyle, Challenge};
use crate::error::{BuildError, ValidationError};
use crate::jwks::{JwksCache, JwksError, KeysNow, Pending};
use crate::key_set::KeySet;
use crate::principal::Principal;
use crate::validator::{DEFAULT_INSTANCE, Validator, ValidatorBuilder};
use crate::verified_cache::{DEFAULT_VERIFIED_TOKEN_CACHE_CAPACITY, VerifiedTokenCache};

/// Where [`Authenticator::attempt`] stopped.
enum Attempt {
    /// The answer.
    Done(Result<Principal, ValidationError>),
    /// The first key fetch is in flight.
    Loading(Pending),
    /// A refresh for the token's unknown `kid` is in flight.
    Refreshing(Pending),
}

/// Why [`Authenticator::try_authenticate`] gave no principal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TryAuthenticateError {
    /// The token is refused; waiting would not change that.
    #[error(transparent)]
    Refused(ValidationError),
    /// The answer depends on a key fetch now in flight (the first load of the keys, or a
    /// refresh for the token's unknown `kid`). [`Authenticator::authenticate`] waits for it.
    /// The error is the refusal for a caller who cannot wait
    /// ([`ValidationError::KeysUnavailable`] or [`ValidationError::UnknownKey`]); a client
    /// retrying a moment later gets the answer.
    #[error("{0} (a key fetch is in flight)")]
    WouldWait(ValidationError),
}

impl TryAuthenticateError {
    /// Whether waiting for [`Authenticator::authenticate`] could give another answer.
    pub fn is_would_wait(&self) -> bool {
        matches!(self, TryAuthenticateError::WouldWait(_))
    }

    /// The refusal to answer now.
    pub fn into_validation_error(self) -> ValidationError {
        match self {
            TryAuthenticateError::Refused(error) | TryAuthenticateError::WouldWait(error) => error,
        }
    }
}

impl From<TryAuthenticateError> for ValidationError {
    fn from(error: TryAuthenticateError) -> Self {
        error.into_validation_error()
    }
}

/// Validates bearer tokens: a [`Validator`], the [`JwksCache`] that supplies its keys, and a
/// cache of verified tokens. Cheap to clone (`Arc` inside); build one at startup and share it
/// with every layer and extractor.
///
/// ```
/// use auth_layer::Authenticator;
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // In production: .tenant_id(..).client_id(..) and the keys come from Entra's discovery
/// // document. In tests, hand it the testkit's keys.
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let principal = auth.authenticate(&TokenBuilder::delegated().sign()).await?;
/// assert_eq!(principal.name(), Some(ids::USER_NAME));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

/// The next [`Authenticator`]'s id (0 means "no authenticator").
static NEXT_AUTHENTICATOR_ID: AtomicU64 = AtomicU64::new(1);

struct Inner {
    /// Stamped on every principal this authenticator produces (provenance).
    id: u64,
    validator: Validator,
    jwks: JwksCache,
    verified: Option<VerifiedTokenCache>,
    challenge: Challenge,
    full_validations: AtomicU64,
    cache_hits: AtomicU64,
}

/// Counters of an [`Authenticator`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticatorStats {
    /// Full validations run (signature verified), successful or not.
    pub full_validations: u64,
    /// Requests answered from the verified-token cache.
    pub cache_hits: u64,
    /// Entries in the verified-token cache.
    pub cached_tokens: usize,
}

impl Authenticator {
    /// Starts a configuration.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    /// An authenticator over a validator and a key cache built separately: no verified-token
    /// cache, default challenges. For occasional validations, such as an ID token at sign-in;
    /// a service builds one with [`builder`](Self::builder) and shares it.
    ///
    /// ```
    /// use auth_layer::{Authenticator, Validator};
    /// use auth_layer::jwks::JwksCache;
    /// use auth_testkit::{TokenBuilder, default_keyset, ids};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let validator = Validator::builder()
    ///     .tenant_id(ids::TENANT_ID)
    ///     .client_id(ids::API_CLIENT_ID)
    ///     .build()?;
    /// let auth = Authenticator::from_parts(validator, JwksCache::from_static(default_keyset()));
    /// assert!(auth.authenticate(&TokenBuilder::delegated().sign()).await.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn from_parts(validator: Validator, jwks: JwksCache) -> Authenticator {
        Authenticator::assemble(validator, jwks, None, Challenge::default())
    }

    /// A configuration from the Azure SDK's environment variables: `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID` (this API's application id), and `AZURE_AUTHORITY_HOST` (default
    /// `https://login.microsoftonline.com`).
    ///
    /// # Errors
    /// [`AuthenticatorError::MissingVariable`] when `AZURE_TENANT_ID` or `AZURE_CLIENT_ID` is
    /// not set.
    pub fn from_env() -> Result<AuthenticatorBuilder, AuthenticatorError> {
        let var = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or(AuthenticatorError::MissingVariable(name))
        };
        let mut b = Authenticator::builder()
            .tenant_id(var("AZURE_TENANT_ID")?.trim())
            .client_id(var("AZURE_CLIENT_ID")?.trim());
        if let Ok(host) = var("AZURE_AUTHORITY_HOST") {
            b = b.instance(host.trim());
        }
        Ok(b)
    }

    /// Authenticates `token` (the bearer value): from the verified-token cache when it holds
    /// it, otherwise by full validation. Waits when the answer depends on a key fetch: the
    /// first load of a lazy key cache, or one (shared, rate-limited) refresh when the token
    /// names an unknown `kid`, after which the token is validated once more.
    ///
    /// # Errors
    /// The [`ValidationError`] that refused the token.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, ValidationError> {
        let mut loaded_once = false;
        loop {
            match self.attempt(token, true) {
                Attempt::Done(outcome) => return outcome,
                Attempt::Loading(pending) if !loaded_once => {
                    loaded_once = true;
                    // A failure was logged by the fetch; the next attempt reports it.
                    let _ = pending.wait().await;
                }
                Attempt::Loading(_) => return Err(ValidationError::KeysUnavailable),
                Attempt::Refreshing(pending) => {
                    let _ = pending.wait().await;
                    return match self.attempt(token, false) {
                        Attempt::Done(outcome) => outcome,
                        Attempt::Loading(_) | Attempt::Refreshing(_) => {
                            Err(ValidationError::KeysUnavailable)
                        }
                    };
                }
            }
        }
    }

    /// Authenticates `token` without ever waiting: the answer of
    /// [`authenticate`](Self::authenticate) when it needs no key fetch. When it does, the
    /// fetch is started in the background (single-flight, rate-limited) and
    /// [`TryAuthenticateError::WouldWait`] says so: await `authenticate` for the answer, or, in
    /// a synchronous call site such as a tonic interceptor, refuse with
    /// [`TryAuthenticateError::into_validation_error`] and let the client retry.
    ///
    /// Allocation-free when the token is in the verified-token cache.
    ///
    /// # Errors
    /// [`TryAuthenticateError::Refused`] with the [`ValidationError`] that refused the token,
    /// or [`TryAuthenticateError::WouldWait`].
    pub fn try_authenticate(&self, token: &str) -> Result<Principal, TryAuthenticateError> {
        match self.attempt(token, true) {
            Attempt::Done(outcome) => outcome.map_err(TryAuthenticateError::Refused),
            Attempt::Loading(_) => Err(TryAuthenticateError::WouldWait(
                ValidationError::KeysUnavailable,
            )),
            Attempt::Refreshing(_) => {
                Err(TryAuthenticateError::WouldWait(ValidationError::UnknownKey))
            }
        }
    }

    /// One pass of the loop: keys, verified-token cache, full validation; on an unknown `kid`
    /// (when `refresh` allows) a key refresh is started or joined. Dropping the returned
    /// [`Pending`] does not stop the fetch.
    fn attempt(&self, token: &str, refresh: bool) -> Attempt {
        let inner = &*self.inner;
        let keys = match inner.jwks.keys_now() {
            KeysNow::Ready(keys) => keys,
            KeysNow::Loading(pending) => return Attempt::Loading(pending),
            KeysNow::Unavailable => return done(Err(ValidationError::KeysUnavailable), false),
        };
        if let Some(cache) = &inner.verified
            && let Some(principal) = cache.get(token.as_bytes(), &inner.validator, &keys)
        {
            inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            return done(Ok(principal), true);
        }
        inner.full_validations.fetch_add(1, Ordering::Relaxed);
        match inner.validator.validate(token, &keys) {
            Ok(claims) => {
                let principal = Principal::issued_by(claims, inner.id);
                if let Some(cache) = &inner.verified {
                    cache.insert(token, &principal, &keys);
                }
                done(Ok(principal), false)
            }
            Err(ValidationError::UnknownKey) if refresh => {
                match inner.jwks.begin_refresh_for_unknown_kid(&keys) {
                    Some(pending) => Attempt::Refreshing(pending),
                    None => done(Err(ValidationError::UnknownKey), false),
                }
            }
            Err(error) => done(Err(error), false),
        }
    }

    /// The principal of `token` when the verified-token cache holds it and a full validation
    /// would accept it now (the cache's checks on every hit); `None` otherwise, and then
    /// [`try_authenticate`](Self::try_authenticate) has the answer. Never waits, never
    /// validates, never fetches beyond what `try_authenticate` would start.
    ///
    /// The layers' warm path: `token` is the bearer value's bytes as sent, unchecked. Only the
    /// exact text of a token that passed validation hits, and such a token is a JWS compact
    /// serialization (base64url segments and two dots), so it passes every check of
    /// [`bearer_token`](crate::bearer_token) on its characters.
    pub(crate) fn cached(&self, token: &[u8]) -> Option<Principal> {
        let inner = &*self.inner;
        let cache = inner.verified.as_ref()?;
        let KeysNow::Ready(keys) = inner.jwks.keys_now() else {
            return None;
        };
        let principal = cache.get(token, &inner.validator, &keys)?;
        inner.cache_hits.fetch_add(1, Ordering::Relaxed);
        let outcome: Result<Principal, ValidationError> = Ok(principal);
        crate::metrics::validation(&outcome, true);
        outcome.ok()
    }

    /// This authenticator's identity, shared by its clones: stamped on each [`Principal`] it
    /// produces (see [`Principal::is_from`]).
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// How refusals are rendered.
    pub fn challenge(&self) -> &Challenge {
        &self.inner.challenge
    }

    /// The validator.
    pub fn validator(&self) -> &Validator {
        &self.inner.validator
    }

    /// The key cache.
    pub fn jwks(&self) -> &JwksCache {
        &self.inner.jwks
    }

    /// Counters, for tests and metrics.
    pub fn stats(&self) -> AuthenticatorStats {
        let inner = &self.inner;
        AuthenticatorStats {
            full_validations: inner.full_validations.load(Ordering::Relaxed),
            cache_hits: inner.cache_hits.load(Ordering::Relaxed),
            cached_tokens: inner.verified.as_ref().map_or(0, VerifiedTokenCache::len),
        }
    }

    /// The verified-token cache's capacity in entries (0 when disabled).
    pub fn verified_token_cache_capacity(&self) -> u64 {
        self.inner
            .verified
            .as_ref()
            .map_or(0, VerifiedTokenCache::capacity)
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("validator", &self.inner.validator)
            .field("jwks", &self.inner.jwks)
            .field("verified_token_cache", &self.inner.verified.is_some())
            .field("challenge", &self.inner.challenge)
            .finish()
    }
}

/// Why an [`Authenticator`] could not be built.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthenticatorError {
    /// The validator configuration is invalid.
    #[error(transparent)]
    Validator(#[from] BuildError),
    /// The key source is invalid, or (for [`AuthenticatorBuilder::build_and_fetch`]) the first
    /// fetch failed.
    #[error(transparent)]
    Jwks(#[from] JwksError),
    /// An environment variable [`Authenticator::from_env`] needs is not set.
    #[error("the environment variable {0} is not set")]
    MissingVariable(&'static str),
    /// No key source: set a tenant (Entra discovery), `issuer` (OIDC discovery), `jwks_uri`,
    /// `jwks`, or `keys`.
    #[error(
        "no key source: set tenant_id (Entra discovery), issuer (OIDC discovery), jwks_uri, jwks or keys"
    )]
    NoKeySource,
}

enum KeySource {
    Cache(JwksCache),
    Static(KeySet),
    #[cfg(feature = "fetch")]
    JwksUri(String),
    #[cfg(feature = "fetch")]
    Discovery(String),
}

/// Configures an [`Authenticator`].
///
/// The common case is Entra: `tenant_id` + `client_id` (+ App ID URIs with `audience`), and
/// the keys come from `{instance}/{tenant}/v2.0/.well-known/openid-configuration`. For other
/// OIDC providers use [`issuer`](Self::issuer) (keys by discovery from that issuer). Anything
/// the validator offers is reachable through [`validator`](Self::validator); the key cache's
/// settings through [`jwks`](Self::jwks) with your own [`JwksCache`].
#[must_use]
pub struct AuthenticatorBuilder {
    validator: ValidatorBuilder,
    tenants: Vec<String>,
    multi_tenant: bool,
    instance: String,
    keys: Option<KeySource>,
    #[cfg(feature = "fetch")]
    min_refresh_interval: Option<Duration>,
    #[cfg(feature = "fetch")]
    http_client: Option<reqwest::Client>,
    verified_capacity: Option<usize>,
    challenge: Challenge,
}

impl Default for AuthenticatorBuilder {
    fn default() -> Self {
        Self {
            validator: Validator::builder(),
            tenants: Vec::new(),
            multi_tenant: false,
            instance: DEFAULT_INSTANCE.to_owned(),
            keys: None,
            #[cfg(feature = "fetch")]
            min_refresh_interval: None,
            #[cfg(feature = "fetch")]
            http_client: None,
            verified_capacity: Some(DEFAULT_VERIFIED_TOKEN_CACHE_CAPACITY),
            challenge: Challenge::default(),
        }
    }
}

impl AuthenticatorBuilder {
    /// This API's Entra tenant: accepts its v1 and v2 issuers, and fetches its keys by
    /// discovery (unless a key source is set). Call again to allow several tenants.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        let tid = tenant_id.into();
        self.tenants.push(tid.clone());
        self.validator = self.validator.tenant_id(tid);
        self
    }

    /// This API's Entra authority, `{instance}/{tenant}` (a trailing `/v2.0` is allowed), as an
    /// app registration shows it: the instance (authority host, e.g. a sovereign cloud's) and
    /// the tenant in one value. A tenant GUID is [`tenant_id`](Self::tenant_id);
    /// `organizations` or `common` is [`any_tenant`](Self::any_tenant) (tokens carry the user's
    /// home tenant GUID in `iss`, so a tenant *domain name* cannot be checked: use the GUID).
    /// Anything else is refused by [`build`](Self::build).
    ///
    /// Documented authority forms:
    /// <https://learn.microsoft.com/en-us/entra/identity-platform/msal-client-application-configuration#authority>
    ///
    /// ```
    /// use auth_layer::Authenticator;
    /// use auth_testkit::{TokenBuilder, default_keyset, ids};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let auth = Authenticator::builder()
    ///     .authority(format!("https://login.microsoftonline.com/{}/v2.0", ids::TENANT_ID))
    ///     .client_id(ids::API_CLIENT_ID)
    ///     .keys(default_keyset())
    ///     .build()?;
    /// assert!(auth.authenticate(&TokenBuilder::delegated().sign()).await.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        let authority = authority.into();
        match Authority::parse(&authority) {
            Ok(a) if a.tenant().is_multi_tenant() => self.instance(a.instance()).any_tenant(),
            Ok(a) if a.tenant().guid().is_some() => {
                let tid = a.tenant().to_string();
                self.instance(a.instance()).tenant_id(tid)
            }
            // The validator records the refusal (a domain or `consumers` names no tenant id
            // tokens carry; a bad URL); `build` reports it.
            _ => {
                self.validator = self.validator.authority(authority);
                self
            }
        }
    }

    /// Accepts tokens of any Entra tenant (multi-tenant apps), optionally filtered; keys come
    /// from the `organizations` discovery document.
    pub fn any_tenant(mut self) -> Self {
        self.multi_tenant = true;
        self.validator = self.validator.any_tenant();
        self
    }

    /// This API's application (client) id: accepts `aud` = the GUID and `api://{client id}`.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.validator = self.validator.client_id(client_id);
        self
    }

    /// Also accepts this audience (an App ID URI such as `api://my-api`).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.validator = self.validator.audience(audience);
        self
    }

    /// The Entra instance (authority host), default `https://login.microsoftonline.com`;
    /// the emulator's base URL in tests.
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        let instance = instance.into();
        self.instance = instance.trim_end_matches('/').to_owned();
        self.validator = self.validator.instance(instance);
        self
    }

    /// A non-Entra OIDC provider: accepts this exact issuer and fetches keys by discovery from
    /// `{issuer}/.well-known/openid-configuration` (unless a key source is set).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        #[cfg(feature = "fetch")]
        if self.keys.is_none() {
            self.keys = Some(KeySource::Discovery(issuer.clone()));
        }
        self.validator = self.validator.issuer(issuer);
        self
    }

    /// The provider profile that classifies tokens (see [`Profile`](crate::Profile)); default:
    /// `entra` for Entra issuers, `rfc9068` for every other issuer.
    pub fn profile(mut self, profile: crate::Profile) -> Self {
        self.validator = self.validator.profile(profile);
        self
    }

    /// Any other validator setting, e.g. `|v| v.leeway(Duration::from_secs(30))`.
    pub fn validator(
        mut self,
        configure: impl FnOnce(ValidatorBuilder) -> ValidatorBuilder,
    ) -> Self {
        self.validator = configure(self.validator);
        self
    }

    /// Use this key cache (configured as you like).
    pub fn jwks(mut self, cache: JwksCache) -> Self {
        self.keys = Some(KeySource::Cache(cache));
        self
    }

    /// Fetch keys from this JWKS URL (no discovery).
    #[cfg(feature = "fetch")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.keys = Some(KeySource::JwksUri(url.into()));
        self
    }

    /// Use this fixed key set (tests, air-gapped deployments).
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(KeySource::Static(keys));
        self
    }

    /// The kid-miss refresh window of the key cache this builder creates (default 5 minutes; a
    /// cache passed to [`jwks`](Self::jwks) keeps its own).
    #[cfg(feature = "fetch")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = Some(interval);
        self
    }

    /// The HTTP client for metadata and key fetches (proxy, extra root CA, timeouts) of the key
    /// cache this builder creates (a cache passed to [`jwks`](Self::jwks) keeps its own).
    #[cfg(feature = "fetch")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// The verified-token cache's capacity in entries (default 10,000).
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.verified_capacity = Some(capacity);
        self
    }

    /// Validate every request in full (no verified-token cache).
    pub fn no_verified_token_cache(mut self) -> Self {
        self.verified_capacity = None;
        self
    }

    /// The `realm` of `WWW-Authenticate` challenges.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.challenge.realm = Some(realm.into());
        self
    }

    /// Adds RFC 9728's `resource_metadata` parameter to challenges.
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.challenge.resource_metadata = Some(url.into());
        self
    }

    /// The layers built on this authenticator protect a gRPC service (tonic's
    /// `Server::builder().layer(…)`): a request with `content-type: application/grpc*` is then
    /// refused gRPC-style — HTTP 200, trailers-only, `grpc-status` 16 (`Unauthenticated`) or 7
    /// (`PermissionDenied`) with the `www-authenticate` challenge — which is what a gRPC client
    /// reads. Without it (REST services, the default) every refusal is an RFC 6750 HTTP status,
    /// whatever the request's `content-type`. The tonic `AuthInterceptor` is always gRPC.
    pub fn grpc_service(mut self) -> Self {
        self.challenge.grpc_service = true;
        self
    }

    /// Refusals carry an RFC 9457 `application/problem+json` body (default: empty).
    pub fn problem_json(mut self) -> Self {
        self.challenge.body = BodyStyle::ProblemJson;
        self
    }

    /// Builds the authenticator. Remote keys are fetched lazily: the first request waits for
    /// the first fetch. Must run inside a Tokio runtime when keys are remote.
    ///
    /// # Errors
    /// An invalid validator or key-source configuration.
    #[cfg_attr(not(feature = "fetch"), allow(clippy::infallible_destructuring_match))]
    pub fn build(self) -> Result<Authenticator, AuthenticatorError> {
        let parts = self.parts()?;
        let jwks = match parts.keys {
            KeysPlan::Ready(cache) => cache,
            #[cfg(feature = "fetch")]
            KeysPlan::Fetch(builder) => builder.build_lazy()?,
        };
        Ok(Authenticator::assemble(
            parts.validator,
            jwks,
            parts.verified,
            parts.challenge,
        ))
    }

    /// Builds the authenticator and waits for the first key fetch, so configuration and
    /// network errors surface at startup.
    ///
    /// # Errors
    /// An invalid configuration, or the first fetch failing.
    #[cfg_attr(not(feature = "fetch"), allow(clippy::infallible_destructuring_match))]
    pub async fn build_and_fetch(self) -> Result<Authenticator, AuthenticatorError> {
        let parts = self.parts()?;
        let jwks = match parts.keys {
            KeysPlan::Ready(cache) => cache,
            #[cfg(feature = "fetch")]
            KeysPlan::Fetch(builder) => builder.build().await?,
        };
        Ok(Authenticator::assemble(
            parts.validator,
            jwks,
            parts.verified,
            parts.challenge,
        ))
    }

    fn parts(self) -> Result<Parts, AuthenticatorError> {
        let validator = self.validator.build()?;
        let source = match self.keys {
            Some(source) => source,
            #[cfg(feature = "fetch")]
            None if self.multi_tenant => {
                KeySource::Discovery(format!("{}/organizations", self.instance))
            }
            #[cfg(feature = "fetch")]
            None if !self.tenants.is_empty() => KeySource::Discovery(format!(
                "{}/{}",
                self.instance,
                self.tenants[0].to_ascii_lowercase()
            )),
            None => return Err(AuthenticatorError::NoKeySource),
        };
        let parts = |keys| Parts {
            validator,
            keys,
            verified: self.verified_capacity,
            challenge: self.challenge,
        };
        #[cfg(feature = "fetch")]
        let mut b = crate::jwks::JwksCacheBuilder::default();
        #[cfg(feature = "fetch")]
        {
            b = match source {
                KeySource::Cache(cache) => return Ok(parts(KeysPlan::Ready(cache))),
                KeySource::Static(keys) => {
                    return Ok(parts(KeysPlan::Ready(JwksCache::from_static(keys))));
                }
                KeySource::JwksUri(url) => b.jwks_uri(url),
                KeySource::Discovery(authority) if self.multi_tenant => b
                    .authority(authority)
                    .expected_issuer(format!("{}/{{tenantid}}/v2.0", self.instance)),
                KeySource::Discovery(authority) if self.tenants.is_empty() => {
                    // A plain OIDC issuer: discovery sits at {issuer}/.well-known/….
                    let issuer = authority.clone();
                    b.metadata_url(crate::discovery::metadata_url(&authority))
                        .expected_issuer(issuer)
                }
                KeySource::Discovery(authority) => b.authority(authority),
            };
            if let Some(interval) = self.min_refresh_interval {
                b = b.min_refresh_interval(interval);
            }
            if let Some(client) = self.http_client {
                b = b.http_client(client);
            }
            Ok(parts(KeysPlan::Fetch(b)))
        }
        #[cfg(not(feature = "fetch"))]
        match source {
            KeySource::Cache(cache) => Ok(parts(KeysPlan::Ready(cache))),
            KeySource::Static(keys) => Ok(parts(KeysPlan::Ready(JwksCache::from_static(keys)))),
        }
    }
}

/// What [`AuthenticatorBuilder::parts`] checked and assembled.
struct Parts {
    validator: Validator,
    keys: KeysPlan,
    verified: Option<usize>,
    challenge: Challenge,
}

/// The key cache, or the configuration of the one to build.
enum KeysPlan {
    Ready(JwksCache),
    #[cfg(feature = "fetch")]
    Fetch(crate::jwks::JwksCacheBuilder),
}

impl fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorBuilder")
            .field("validator", &self.validator)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// A final answer of [`Authenticator::attempt`], recorded (feature `metrics`).
#[inline]
fn done(outcome: Result<Principal, ValidationError>, cached: bool) -> Attempt {
    crate::metrics::validation(&outcome, cached);
    Attempt::Done(outcome)
}

impl Authenticator {
    fn assemble(
        validator: Validator,
        jwks: JwksCache,
        verified: Option<usize>,
        challenge: Challenge,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_AUTHENTICATOR_ID.fetch_add(1, Ordering::Relaxed),
                validator,
                jwks,
                verified: verified.map(VerifiedTokenCache::new),
                challenge,
                full_validations: AtomicU64::new(0),
                cache_hits: AtomicU64::new(0),
            }),
        }
    }
}
