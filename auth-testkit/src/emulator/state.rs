//! What the emulator's handlers share: the tenant, keys, clock, codes, refresh tokens, sign-in
//! sessions, consents, counters and switchable faults.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::discovery::KeyServing;
use super::errors::AadError;
use super::grant::Grant;
use super::keys::KeyRing;
use super::sync::lock;
use super::tenant::TenantConfig;
use super::token_faults::TokenFault;

/// How long authorization codes live (Entra: 10 minutes).
pub(crate) const CODE_LIFETIME: i64 = 600;
/// How long refresh tokens live without use (Entra: 90 days).
pub(crate) const REFRESH_LIFETIME: i64 = 90 * 24 * 3600;
/// How long a sign-in page stays usable.
pub(crate) const LOGIN_LIFETIME: i64 = 3600;
/// The default access-token lifetime.
pub(crate) const DEFAULT_TOKEN_LIFETIME: i64 = 3600;

/// A code issued by the authorize endpoint.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) nonce: Option<String>,
    pub(crate) challenge: Option<(String, String)>,
    pub(crate) user_oid: String,
    pub(crate) expires: i64,
    pub(crate) redeemed: bool,
}

/// What a refresh token stands for.
#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    pub(crate) client_id: String,
    pub(crate) user_oid: String,
    pub(crate) scope: String,
    pub(crate) expires: i64,
}

/// An authorize request waiting for the user to sign in.
#[derive(Clone, Debug)]
pub(crate) struct PendingLogin {
    pub(crate) tenant_segment: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) challenge: Option<(String, String)>,
    pub(crate) response_mode: ResponseMode,
    pub(crate) client_info: bool,
    pub(crate) login_hint: Option<String>,
    pub(crate) expires: i64,
}

/// The emulator's clock: the system clock plus an offset tests advance.
#[derive(Clone, Debug)]
pub(crate) struct EmulatorClock(pub(crate) Arc<AtomicI64>);

impl auth_layer::Clock for EmulatorClock {
    fn now(&self) -> f64 {
        crate::now() as f64 + self.0.load(Ordering::SeqCst) as f64
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) base_url: String,
    pub(crate) tenant: TenantConfig,
    pub(crate) keys: KeyServing,
    pub(crate) ring: Mutex<KeyRing>,
    pub(crate) clock: EmulatorClock,
    pub(crate) token_lifetime: AtomicI64,
    pub(crate) auto_login: Option<String>,
    pub(crate) codes: Mutex<HashMap<String, AuthCode>>,
    pub(crate) refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    pub(crate) logins: Mutex<HashMap<String, PendingLogin>>,
    /// (user oid, client id, resource client id) → scopes the user consented to.
    pub(crate) consents: Mutex<HashMap<(String, String, String), BTreeSet<String>>>,
    /// (client id, jti) → expiry of client assertions seen.
    pub(crate) assertion_ids: Mutex<HashMap<(String, String), i64>>,
    pub(crate) counters: [AtomicUsize; 6],
    /// The App Service identity endpoint's `IDENTITY_HEADER` secret.
    pub(crate) identity_header: String,
    pub(crate) log: bool,
    /// A fault the token endpoint answers with (see [`TokenFault`]).
    pub(crate) token_fault: Mutex<Option<TokenFault>>,
    /// While set, On-Behalf-Of answers `interaction_required` with these `claims`.
    pub(crate) obo_claims: Mutex<Option<String>>,
    /// `refresh_in` (seconds) added to token responses; 0: none.
    pub(crate) refresh_in: AtomicI64,
}

impl Shared {
    /// The emulator's current time (Unix seconds).
    pub(crate) fn now(&self) -> i64 {
        crate::now().saturating_add(self.clock.0.load(Ordering::SeqCst))
    }

    /// `{base}/{tenantid}/v2.0`: the issuer template in the key set.
    pub(crate) fn issuer_template(&self) -> String {
        format!("{}/{{tenantid}}/v2.0", self.base_url)
    }

    pub(crate) fn v2_issuer(&self) -> String {
        format!("{}/{}/v2.0", self.base_url, self.tenant.tenant_id())
    }

    /// Which tenant a path segment names.
    pub(crate) fn tenant_path(&self, segment: &str) -> Option<TenantPath> {
        if segment.eq_ignore_ascii_case(self.tenant.tenant_id()) {
            Some(TenantPath::Tenant)
        } else if segment.eq_ignore_ascii_case("common")
            || segment.eq_ignore_ascii_case("organizations")
        {
            Some(TenantPath::Multi)
        } else {
            None
        }
    }

    pub(crate) fn republish(&self, ring: &KeyRing) {
        *lock(&self.keys.jwks) = ring.jwks(&self.issuer_template());
    }

    pub(crate) fn user_consents(
        &self,
        user_oid: &str,
        client_id: &str,
        resource_client_id: &str,
    ) -> BTreeSet<String> {
        lock(&self.consents)
            .get(&(
                user_oid.to_owned(),
                client_id.to_owned(),
                resource_client_id.to_owned(),
            ))
            .cloned()
            .unwrap_or_default()
    }

    /// Drops expired codes, logins, assertion ids and refresh tokens.
    pub(crate) fn sweep(&self, now: i64) {
        lock(&self.codes).retain(|_, c| c.expires > now);
        lock(&self.logins).retain(|_, l| l.expires > now);
        lock(&self.assertion_ids).retain(|_, exp| *exp > now - 600);
        lock(&self.refresh_tokens).retain(|_, r| r.expires > now);
    }

    pub(crate) fn count(&self, grant: Grant) {
        self.counters[grant.index()].fetch_add(1, Ordering::SeqCst);
    }

    /// The error of the configured token fault, if any (consuming one of its `times`).
    pub(crate) fn token_fault(&self) -> Option<AadError> {
        let mut slot = lock(&self.token_fault);
        let fault = slot.as_mut()?;
        let (error, stays) = fault.fire();
        if !stays {
            *slot = None;
        }
        Some(error)
    }
}

/// A tenant path segment the emulator answers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TenantPath {
    /// The tenant id.
    Tenant,
    /// `common` or `organizations`.
    Multi,
}

/// How the authorize endpoint returns its answer (`response_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    /// `?code=…` on the redirect URI.
    Query,
    /// `#code=…`.
    Fragment,
    /// An auto-submitting HTML form.
    FormPost,
}
