//! The [`Validator`]: decides whether a bearer token is genuine and what it says.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::authority::{Authority, Cloud, Guid, is_guid};
use crate::claims::{AppPermissions, Claims, TokenKind};
use crate::clock::{Clock, SystemClock};
use crate::error::{BuildError, IssuerVersion, TokenPart, ValidationError};
use crate::jws::{self, TypPolicy};
use crate::key_set::{KeySet, VerifyingKey};
use crate::profile::Profile;
use crate::url::normalise_base_url;

/// Entra's public-cloud instance (the v2 issuer host).
pub const DEFAULT_INSTANCE: &str = "https://login.microsoftonline.com";
/// Entra's v1 issuer base in the public cloud.
pub const DEFAULT_V1_ISSUER_BASE: &str = "https://sts.windows.net";
/// The default token-size cap: 32 KiB.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 32 * 1024;
/// The default clock-skew leeway: 60 s.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The largest leeway [`ValidatorBuilder::leeway`] accepts; more needs
/// [`DangerousValidatorBuilder::leeway`].
pub const MAX_SAFE_LEEWAY: Duration = Duration::from_secs(300);

type TenantFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Which tenants' Entra issuers are accepted.
#[derive(Clone)]
enum Tenants {
    /// Only Entra issuers of these tenants (lowercase GUIDs).
    List(Vec<String>),
    /// Any tenant the optional filter accepts (multi-tenant apps).
    Any(Option<TenantFilter>),
}

/// Validates compact-JWS bearer tokens against a [`KeySet`]: signature, header rules, issuer,
/// tenant, audience, lifetime and token shape. Cheap to clone and share (`Arc` inside).
///
/// Build one with [`Validator::builder`]:
///
/// ```
/// use auth_layer::{KeySet, Validator, ValidationError};
///
/// let validator = Validator::builder()
///     .tenant_id("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
///     .client_id("6e3c1c43-4b8e-4d2a-9f55-0f7c9d2b1a11")
///     .audience("api://my-api")
///     .build()?;
///
/// // Everything that is not a genuine token is refused with a typed error.
/// let err = validator.validate("not-a-token", &KeySet::empty()).unwrap_err();
/// assert_eq!(err, ValidationError::NotCompactJws);
/// # Ok::<(), auth_layer::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Config>,
}

struct Config {
    tenants: Option<Tenants>,
    instance: String,
    v1_issuer_base: String,
    issuers: Vec<String>,
    client_id: Option<String>,
    /// Accepted audiences with one trailing `/` removed.
    audiences: Vec<String>,
    algorithms: AlgorithmSet,
    leeway: f64,
    clock: Arc<dyn Clock>,
    max_token_size: usize,
    typ: TypPolicy,
    accept_id_tokens: bool,
    /// The configured profile; `None`: by issuer (Entra issuers `entra`, others `rfc9068`).
    profile: Option<Profile>,
}

impl Validator {
    /// Starts a configuration.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder::default()
    }

    /// Validates `token` (the bearer value, without `Bearer `) against `keys`.
    ///
    /// Does no I/O and takes no lock. The checks run in this order: size cap, structure,
    /// header rules, key lookup, signature, then claims, so nothing in the payload is looked at
    /// before the signature is verified.
    ///
    /// # Errors
    /// A [`ValidationError`] naming the first rule the token breaks.
    pub fn validate(&self, token: &str, keys: &KeySet) -> Result<Claims, ValidationError> {
        let cfg = &*self.inner;
        if token.len() > cfg.max_token_size {
            return Err(ValidationError::TooLarge {
                limit: cfg.max_token_size,
            });
        }
        let compact = jws::split(token)?;
        let mut header_stack = [0u8; jws::HEADER_STACK_LEN];
        let mut header_heap = Vec::new();
        let header_json = jws::decode_header(compact.header, &mut header_stack, &mut header_heap)?;
        let header = jws::parse_header(header_json, cfg.algorithms, &cfg.typ)?;
        if compact.signature.is_empty() {
            return Err(ValidationError::MissingSignature);
        }

        let key = keys
            .find(header.kid.as_deref(), header.x5t.as_deref())
            .ok_or(ValidationError::UnknownKey)?;
        if !key.fits(header.alg) {
            return Err(ValidationError::KeyAlgorithmMismatch(header.alg));
        }
        let mut signature_stack = [0u8; jws::SIGNATURE_STACK_LEN];
        let mut signature_heap = Vec::new();
        let signature =
            jws::decode_signature(compact.signature, &mut signature_stack, &mut signature_heap)?;
        // Decoding is not parsing: the payload's JSON is read only after the signature verifies.
        let payload = jws::decode(compact.payload, TokenPart::Payload)?;
        if !key.verify(header.alg, compact.signing_input, signature) {
            return Err(ValidationError::InvalidSignature);
        }

        // UTF-8 is checked once here; the claims borrow their strings from the payload.
        let payload = String::from_utf8(payload)
            .map_err(|_| ValidationError::InvalidJson(TokenPart::Payload))?;
        let mut claims = Claims::parse(payload, key.shared_id())?;
        self.check_claims(&claims, key)?;
        self.classify(&mut claims, header.at_jwt)?;
        Ok(claims)
    }

    /// The profile that classifies tokens of `issuer`: the configured one, else `entra` for
    /// Entra issuers and `rfc9068` for every other.
    pub fn profile_for(&self, issuer: &str) -> Profile {
        match &self.inner.profile {
            Some(profile) => profile.clone(),
            None if self.entra_issuer(issuer).is_some() => Profile::entra(),
            None => Profile::rfc9068(),
        }
    }

    /// Refuses ID tokens, then lets the profile decide the token's kind and client.
    fn classify(&self, claims: &mut Claims, at_jwt: bool) -> Result<(), ValidationError> {
        let cfg = &*self.inner;
        if cfg.accept_id_tokens {
            // An ID token proves a user's sign-in to this client.
            claims.set_kind(TokenKind::Delegated, AppPermissions::Scopes, "id_token");
            return Ok(());
        }
        if claims.id_token_claims {
            return Err(ValidationError::IdToken);
        }
        match &cfg.profile {
            Some(profile) => profile.classify(claims, at_jwt),
            None => self.profile_for(claims.issuer()).classify(claims, at_jwt),
        }
    }

    /// The claim rules of [`validate`](Self::validate), after the signature: issuer and tenant
    /// (including a tenant filter, which may change its mind), the key's issuer, audience and
    /// lifetime. The verified-token cache runs these on a hit after a key refresh, and
    /// [`recheck_claims`](Self::recheck_claims) otherwise, so a cached answer is the answer a
    /// full validation would give at the same instant.
    pub(crate) fn check_claims(
        &self,
        claims: &Claims,
        key: &VerifyingKey,
    ) -> Result<(), ValidationError> {
        self.check_issuer(claims, key.issuer())?;
        self.check_audience(claims)?;
        self.check_lifetime(claims)
    }

    /// The rules of [`check_claims`](Self::check_claims) whose answer can change while the
    /// token, this configuration and `key` do not: the lifetime (the clock moves) and, when one
    /// is configured, the tenant filter (it may change its mind; the whole issuer rule is run
    /// again then). The verified-token cache runs these on a hit whose key is the very one that
    /// verified the token.
    pub(crate) fn recheck_claims(
        &self,
        claims: &Claims,
        key: &VerifyingKey,
    ) -> Result<(), ValidationError> {
        if matches!(self.inner.tenants, Some(Tenants::Any(Some(_)))) {
            self.check_issuer(claims, key.issuer())?;
        }
        self.check_lifetime(claims)
    }

    /// The configured client id, if any.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// The v2 issuer this configuration expects for `tenant`
    /// (`{instance}/{tenant}/v2.0`).
    pub fn v2_issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.inner.instance)
    }

    /// The v1 issuer this configuration expects for `tenant` (`{v1 base}/{tenant}/`).
    pub fn v1_issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/", self.inner.v1_issuer_base)
    }

    /// Splits an Entra issuer into its version and tenant segment, if it has one of the two
    /// shapes on the configured hosts. Compared byte for byte.
    fn entra_issuer<'i>(&self, iss: &'i str) -> Option<(IssuerVersion, &'i str)> {
        let cfg = &*self.inner;
        if let Some(rest) = iss.strip_prefix(cfg.v1_issuer_base.as_str())
            && let Some(tenant) = rest.strip_prefix('/').and_then(|r| r.strip_suffix('/'))
            && is_guid(tenant)
        {
            return Some((IssuerVersion::V1, tenant));
        }
        if let Some(rest) = iss.strip_prefix(cfg.instance.as_str())
            && let Some(tenant) = rest.strip_prefix('/').and_then(|r| r.strip_suffix("/v2.0"))
            && is_guid(tenant)
        {
            return Some((IssuerVersion::V2, tenant));
        }
        None
    }

    fn check_issuer(
        &self,
        claims: &Claims,
        key_issuer: Option<&str>,
    ) -> Result<(), ValidationError> {
        let cfg = &*self.inner;
        let iss = claims.issuer();
        let entra = cfg
            .tenants
            .as_ref()
            .and_then(|t| self.entra_issuer(iss).map(|e| (t, e)));
        let Some((tenants, (version, tenant))) = entra else {
            if cfg.issuers.iter().any(|i| i == iss) {
                return self.check_key_issuer(claims, key_issuer);
            }
            return Err(ValidationError::UntrustedIssuer);
        };
        // Entra signing keys are shared by every tenant: the tenant must be checked, and `tid`
        // must agree with the issuer.
        match claims.tenant_id() {
            Some(tid) if tid == tenant => {}
            _ => return Err(ValidationError::TenantMismatch),
        }
        let allowed = match tenants {
            Tenants::List(list) => list.iter().any(|t| t == tenant),
            Tenants::Any(None) => true,
            Tenants::Any(Some(filter)) => filter(tenant),
        };
        if !allowed {
            return Err(ValidationError::TenantNotAllowed {
                tenant: tenant.to_owned(),
                version,
                allowed: match tenants {
                    Tenants::List(list) => list.clone(),
                    Tenants::Any(_) => Vec::new(),
                },
            });
        }
        self.check_key_issuer(claims, key_issuer)
    }

    /// When the JWK carries Entra's `issuer` member, its `{tenantid}`-substituted value must be
    /// the token's issuer. A v1 token (`sts.windows.net`) is compared with the v2 issuer of its
    /// tenant, because v2 key sets publish v2 issuers only (as Microsoft.IdentityModel does).
    fn check_key_issuer(
        &self,
        claims: &Claims,
        key_issuer: Option<&str>,
    ) -> Result<(), ValidationError> {
        let Some(template) = key_issuer else {
            return Ok(());
        };
        let tid = claims.tenant_id().unwrap_or("");
        let templated = template.contains(TENANT_PLACEHOLDER);
        if templated && !is_guid(tid) {
            return Err(ValidationError::KeyIssuerMismatch);
        }
        let iss = claims.issuer();
        // The common case, compared without building the substituted issuer.
        if substitutes_to(template, tid, iss) {
            return Ok(());
        }
        if let Some((IssuerVersion::V1, tenant)) = self.entra_issuer(iss) {
            let expected = template.replace(TENANT_PLACEHOLDER, tid);
            if expected == self.v2_issuer(tenant) {
                return Ok(());
            }
        }
        Err(ValidationError::KeyIssuerMismatch)
    }

    fn check_audience(&self, claims: &Claims) -> Result<(), ValidationError> {
        let cfg = &*self.inner;
        let accepted = claims.audiences().iter().any(|aud| {
            let aud = aud.strip_suffix('/').unwrap_or(aud);
            cfg.audiences.iter().any(|a| a == aud)
        });
        if !accepted {
            return Err(ValidationError::AudienceMismatch {
                accepted: cfg.audiences.clone(),
            });
        }
        Ok(())
    }

    fn check_lifetime(&self, claims: &Claims) -> Result<(), ValidationError> {
        let cfg = &*self.inner;
        let now = cfg.clock.now();
        let late = now - (claims.expires_at() + cfg.leeway);
        if late >= 0.0 {
            return Err(ValidationError::Expired {
                seconds_ago: late as u64,
            });
        }
        if let Some(nbf) = claims.not_before() {
            let early = nbf - (now + cfg.leeway);
            if early > 0.0 {
                return Err(ValidationError::NotYetValid {
                    seconds_ahead: early.ceil() as u64,
                });
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cfg = &*self.inner;
        let tenants = match &cfg.tenants {
            None => "none".to_owned(),
            Some(Tenants::List(l)) => format!("{l:?}"),
            Some(Tenants::Any(None)) => "any".to_owned(),
            Some(Tenants::Any(Some(_))) => "any (filtered)".to_owned(),
        };
        f.debug_struct("Validator")
            .field("tenants", &tenants)
            .field("instance", &cfg.instance)
            .field("v1_issuer_base", &cfg.v1_issuer_base)
            .field("issuers", &cfg.issuers)
            .field("audiences", &cfg.audiences)
            .field("algorithms", &cfg.algorithms)
            .field("leeway_secs", &cfg.leeway)
            .field("max_token_size", &cfg.max_token_size)
            .finish_non_exhaustive()
    }
}

/// The v1 issuer base of the Microsoft cloud `instance` belongs to ([`Cloud::v1_issuer_base`]:
/// `https://sts.chinacloudapi.cn` for Microsoft Azure operated by 21Vianet); `None` for a host
/// that is no Microsoft cloud's (an emulator).
fn v1_issuer_base_of(instance: &str) -> Option<&'static str> {
    Authority::new(instance, "common")
        .ok()
        .and_then(|a| a.cloud())
        .map(Cloud::v1_issuer_base)
}

/// Configures a [`Validator`], reqwest-style: consuming `#[must_use]` setters; invalid input is
/// remembered and reported once by [`ValidatorBuilder::build`].
///
/// Defaults: RS256 only, 60 s leeway, 32 KiB token cap, `typ` absent / `JWT` / `at+jwt`,
/// the public-cloud hosts, the system clock.
#[must_use]
pub struct ValidatorBuilder {
    tenants: Vec<String>,
    any_tenant: bool,
    tenant_filter: Option<TenantFilter>,
    instance: String,
    v1_issuer_base: String,
    v1_issuer_base_set: bool,
    issuers: Vec<String>,
    client_id: Option<String>,
    audiences: Vec<String>,
    algorithms: AlgorithmSet,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    max_token_size: usize,
    typ: TypPolicy,
    accept_id_tokens: bool,
    profile: Option<Profile>,
    error: Option<BuildError>,
}

impl Default for ValidatorBuilder {
    fn default() -> Self {
        Self {
            tenants: Vec::new(),
            any_tenant: false,
            tenant_filter: None,
            instance: DEFAULT_INSTANCE.to_owned(),
            v1_issuer_base: DEFAULT_V1_ISSUER_BASE.to_owned(),
            v1_issuer_base_set: false,
            issuers: Vec::new(),
            client_id: None,
            audiences: Vec::new(),
            algorithms: AlgorithmSet::only(Algorithm::RS256),
            leeway: DEFAULT_LEEWAY,
            clock: Arc::new(SystemClock),
            max_token_size: DEFAULT_MAX_TOKEN_SIZE,
            typ: TypPolicy::default(),
            accept_id_tokens: false,
            profile: None,
            error: None,
        }
    }
}

impl ValidatorBuilder {
    fn fail(mut self, error: BuildError) -> Self {
        self.error.get_or_insert(error);
        self
    }

    /// Accepts Entra tokens of this tenant: both the v1 issuer `{v1 base}/{tid}/` and the v2
    /// issuer `{instance}/{tid}/v2.0`. Call again to allow several tenants.
    ///
    /// Tokens name their tenant by id, so this takes the tenant's GUID (either case), as
    /// [`Guid::parse`] reads it; a domain name or `organizations`/`common` is refused with
    /// [`BuildError::InvalidTenantId`] (use [`any_tenant`](Self::any_tenant) for those).
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        let tenant_id = tenant_id.into();
        let Ok(tid) = Guid::parse(&tenant_id) else {
            return self.fail(BuildError::InvalidTenantId(tenant_id.to_ascii_lowercase()));
        };
        let tid = tid.as_str().to_owned();
        if !self.tenants.contains(&tid) {
            self.tenants.push(tid);
        }
        self
    }

    /// Accepts Entra tokens of each of these tenants (a multi-tenant allow-list).
    pub fn tenant_ids<I, S>(self, tenant_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        tenant_ids.into_iter().fold(self, |b, t| b.tenant_id(t))
    }

    /// Accepts Entra tokens of **any** tenant (multi-tenant apps that onboard tenants
    /// dynamically). Issuer shape, `tid` = issuer tenant and the key's issuer are still checked.
    /// It excludes [`tenant_id`](Self::tenant_id): [`build`](Self::build) refuses both with
    /// [`BuildError::ConflictingTenants`] (an allow-list plus a callback is a
    /// [`tenant_filter`](Self::tenant_filter) that checks the list).
    /// Narrow it with [`ValidatorBuilder::tenant_filter`].
    pub fn any_tenant(mut self) -> Self {
        self.any_tenant = true;
        self
    }

    /// With [`ValidatorBuilder::any_tenant`]: a callback that decides per tenant id.
    pub fn tenant_filter(mut self, filter: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.any_tenant = true;
        self.tenant_filter = Some(Arc::new(filter));
        self
    }

    /// The Entra instance (v2 issuer and authority host), default
    /// `https://login.microsoftonline.com`; e.g. `https://login.microsoftonline.us` or the
    /// emulator's base URL.
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        let instance = instance.into();
        match normalise_base_url(&instance) {
            Some(base) => {
                self.instance = base;
                self
            }
            None => self.fail(BuildError::InvalidUrl(instance)),
        }
    }

    /// The v1 issuer base. Default: derived from the [`instance`](Self::instance) for the
    /// clouds whose v1 issuer host differs — `https://sts.chinacloudapi.cn` for Microsoft Azure
    /// operated by 21Vianet (`login.chinacloudapi.cn`, `login.partner.microsoftonline.cn`) —
    /// else `https://sts.windows.net` (the public cloud and US Government). Set it for anything
    /// else (the emulator).
    pub fn v1_issuer_base(mut self, base: impl Into<String>) -> Self {
        let base = base.into();
        match normalise_base_url(&base) {
            Some(b) => {
                self.v1_issuer_base = b;
                self.v1_issuer_base_set = true;
                self
            }
            None => self.fail(BuildError::InvalidUrl(base)),
        }
    }

    /// Sets instance and tenant from an authority URL such as
    /// `https://login.microsoftonline.com/{tenant-id}` (a trailing `/v2.0` is allowed), parsed
    /// as [`Authority::parse`] reads it. The tenant must be given by id (tokens carry the id);
    /// for a multi-tenant API use [`instance`](Self::instance) and
    /// [`any_tenant`](Self::any_tenant).
    pub fn authority(self, authority: impl Into<String>) -> Self {
        let authority = authority.into();
        match Authority::parse(&authority) {
            Ok(a) => match a.tenant().guid() {
                Some(tid) => {
                    let tid = tid.to_string();
                    self.instance(a.instance()).tenant_id(tid)
                }
                None => self.fail(BuildError::InvalidTenantId(a.tenant().to_string())),
            },
            Err(_) => self.fail(BuildError::InvalidUrl(authority)),
        }
    }

    /// Accepts tokens whose `iss` is exactly `issuer` (any OIDC provider: Keycloak, Auth0,
    /// Okta…). Call again for several. No Entra tenant rules apply to these issuers.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        if issuer.is_empty() {
            return self.fail(BuildError::InvalidUrl(issuer));
        }
        if !self.issuers.contains(&issuer) {
            self.issuers.push(issuer);
        }
        self
    }

    /// This API's application (client) id: accepts `aud` = the GUID (v2 tokens) and
    /// `api://{client_id}` (the default App ID URI, v1 tokens).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        let client_id = client_id.into();
        let Ok(id) = Guid::parse(&client_id) else {
            return self.fail(BuildError::InvalidClientId(client_id.to_ascii_lowercase()));
        };
        let id = id.as_str().to_owned();
        let uri = format!("api://{id}");
        self.client_id = Some(id.clone());
        self.push_audience(id).push_audience(uri)
    }

    /// Also accepts this audience: an App ID URI such as `api://my-api` or
    /// `https://contoso.com/api` (with or without a trailing slash), or any exact `aud`.
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.push_audience(audience.into())
    }

    /// Accepts each of these audiences.
    pub fn audiences<I, S>(self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        audiences.into_iter().fold(self, |b, a| b.audience(a))
    }

    fn push_audience(mut self, audience: String) -> Self {
        let a = audience.strip_suffix('/').unwrap_or(&audience).to_owned();
        if a.is_empty() {
            return self.fail(BuildError::Invalid("an audience is empty"));
        }
        if !self.audiences.contains(&a) {
            self.audiences.push(a);
        }
        self
    }

    /// The algorithm allow-list (default: RS256 only).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let mut set = AlgorithmSet::empty();
        for alg in algorithms {
            set.insert(alg);
        }
        self.algorithms = set;
        self
    }

    /// Clock-skew leeway for `exp` and `nbf` (default 60 s, at most 5 minutes here).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        if leeway > MAX_SAFE_LEEWAY {
            return self.fail(BuildError::Invalid(
                "leeway above 5 minutes needs dangerous().leeway(...)",
            ));
        }
        self.leeway = leeway;
        self
    }

    /// The clock validation reads (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Tokens longer than this are refused before any decoding (default 32 KiB).
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.max_token_size = bytes;
        self
    }

    /// The accepted header `typ` values (compared case-insensitively) and whether an absent
    /// `typ` is accepted. Default: absent, `JWT`, `at+jwt`, `application/at+jwt`.
    pub fn accepted_types<I, S>(mut self, allow_absent: bool, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.typ = TypPolicy {
            allow_absent,
            accepted: types.into_iter().map(Into::into).collect(),
        };
        self
    }

    /// Validates **ID tokens** instead of access tokens: a client checking the ID token of a
    /// sign-in (issuer, signature, `aud` = its own client id, lifetime) accepts tokens with
    /// `nonce`, `c_hash` or `at_hash` claims and without `scp` or `roles`. The caller checks
    /// `nonce` itself. Never use such a validator to protect an API.
    pub fn accept_id_tokens(mut self) -> Self {
        self.accept_id_tokens = true;
        self
    }

    /// The provider profile that decides each token's kind (user or application), calling
    /// client and permissions; see [`Profile`]. Default: [`Profile::entra`] for Entra issuers,
    /// [`Profile::rfc9068`] for every other issuer.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Options that weaken validation; each is named for what it gives up.
    pub fn dangerous(self) -> DangerousValidatorBuilder {
        DangerousValidatorBuilder { inner: self }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// The first invalid setting, or [`BuildError::NoIssuer`] / [`BuildError::NoAudience`] /
    /// [`BuildError::NoAlgorithms`] when something required is missing.
    pub fn build(self) -> Result<Validator, BuildError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.any_tenant && !self.tenants.is_empty() {
            return Err(BuildError::ConflictingTenants);
        }
        let tenants = if self.any_tenant {
            Some(Tenants::Any(self.tenant_filter))
        } else if !self.tenants.is_empty() {
            Some(Tenants::List(self.tenants))
        } else {
            None
        };
        if tenants.is_none() && self.issuers.is_empty() {
            return Err(BuildError::NoIssuer);
        }
        if self.audiences.is_empty() {
            return Err(BuildError::NoAudience);
        }
        if self.algorithms.is_empty() {
            return Err(BuildError::NoAlgorithms);
        }
        Ok(Validator {
            inner: Arc::new(Config {
                tenants,
                v1_issuer_base: if self.v1_issuer_base_set {
                    self.v1_issuer_base
                } else {
                    v1_issuer_base_of(&self.instance).map_or(self.v1_issuer_base, str::to_owned)
                },
                instance: self.instance,
                issuers: self.issuers,
                client_id: self.client_id,
                audiences: self.audiences,
                algorithms: self.algorithms,
                leeway: self.leeway.as_secs_f64(),
                clock: self.clock,
                max_token_size: self.max_token_size,
                typ: self.typ,
                accept_id_tokens: self.accept_id_tokens,
                profile: self.profile,
            }),
        })
    }
}

impl fmt::Debug for ValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorBuilder")
            .field("tenants", &self.tenants)
            .field("any_tenant", &self.any_tenant)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

/// Options that weaken validation, reached through [`ValidatorBuilder::dangerous`].
#[must_use]
#[derive(Debug)]
pub struct DangerousValidatorBuilder {
    inner: ValidatorBuilder,
}

impl DangerousValidatorBuilder {
    /// A clock-skew leeway above 5 minutes: expired tokens stay usable that much longer.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.inner.leeway = leeway;
        self
    }

    /// Back to the safe options.
    pub fn done(self) -> ValidatorBuilder {
        self.inner
    }

    /// Checks the configuration (see [`ValidatorBuilder::build`]).
    ///
    /// # Errors
    /// As [`ValidatorBuilder::build`].
    pub fn build(self) -> Result<Validator, BuildError> {
        self.inner.build()
    }
}

/// The placeholder in Entra's multi-tenant key issuers.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Whether `template` with every `{tenantid}` replaced by `tid` is `s`
/// (`template.replace("{tenantid}", tid) == s`, without building the string).
fn substitutes_to(template: &str, tid: &str, s: &str) -> bool {
    let mut parts = template.split(TENANT_PLACEHOLDER);
    let Some(mut rest) = parts.next().and_then(|first| s.strip_prefix(first)) else {
        return false;
    };
    for part in parts {
        match rest.strip_prefix(tid).and_then(|r| r.strip_prefix(part)) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_substitution_is_compared_exactly() {
        let tid = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10";
        let templates = [
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://idp/{tenantid}",
            "{tenantid}",
            "{tenantid}{tenantid}/x/{tenantid}",
            "https://idp/{tenantid}tenantid}/",
            "https://idp/{tenant",
            "https://idp/static",
            "",
        ];
        for template in templates {
            let expected = template.replace(TENANT_PLACEHOLDER, tid);
            let mut candidates = vec![
                expected.clone(),
                format!("{expected}/"),
                format!("x{expected}"),
                template.to_owned(),
                template.replace(TENANT_PLACEHOLDER, ""),
                template.replace(TENANT_PLACEHOLDER, "2b7d4c19-3e5a-4f81-b6c2-9d0e1a4f7c63"),
                String::new(),
            ];
            if !expected.is_empty() {
                candidates.push(expected[..expected.len() - 1].to_owned());
            }
            for candidate in candidates {
                assert_eq!(
                    substitutes_to(template, tid, &candidate),
                    expected == candidate,
                    "{template:?} vs {candidate:?}"
                );
            }
        }
    }

    #[test]
    fn builder_reports_the_first_invalid_setting() {
        let err = Validator::builder()
            .tenant_id("common")
            .client_id("nope")
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::InvalidTenantId("common".into()));
        assert_eq!(
            Validator::builder()
                .client_id("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
                .build()
                .unwrap_err(),
            BuildError::NoIssuer
        );
        assert_eq!(
            Validator::builder()
                .issuer("https://idp")
                .build()
                .unwrap_err(),
            BuildError::NoAudience
        );
    }

    #[test]
    fn a_tenant_list_and_any_tenant_are_refused_together() {
        let tid = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10";
        for b in [
            Validator::builder().tenant_id(tid).any_tenant(),
            Validator::builder()
                .tenant_filter(|_| true)
                .tenant_ids([tid]),
        ] {
            assert_eq!(
                b.audience("a").build().unwrap_err(),
                BuildError::ConflictingTenants
            );
        }
    }

    #[test]
    fn authority_sets_instance_and_tenant() {
        let v = Validator::builder()
            .authority("http://127.0.0.1:9/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0")
            .audience("a")
            .build()
            .unwrap();
        assert_eq!(v.v2_issuer("t"), "http://127.0.0.1:9/t/v2.0");
    }
}
