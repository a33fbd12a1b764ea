//! What an operator needs from every example service: liveness (`GET /healthz`), readiness
//! (`GET /readyz`) and metrics (`GET /metrics`, Prometheus text format).
//!
//! | route | answers |
//! |---|---|
//! | `GET /healthz` | `200 {"status":"ok"}` while the process serves requests (liveness) |
//! | `GET /readyz` | `200 {"status":"ready"}` once every [`ReadinessCheck`] passes — the signing keys are loaded and not past `max_staleness`, and a client credential has worked where the service has one; else `503 {"status":"not ready","reasons":{…}}` |
//! | `GET /metrics` | the process's metrics in the Prometheus text format |
//!
//! In Kubernetes, point the liveness probe at `/healthz` and the readiness probe at `/readyz`:
//! a pod whose identity provider is unreachable at start-up runs, reports not ready (so it gets
//! no traffic), retries with backoff, and becomes ready when the provider answers —
//! [`spawn_key_loader`] does the retrying.
//!
//! ```
//! use examples::ops::Health;
//! use auth_layer::{Authenticator, KeySet};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let auth = Authenticator::builder()
//!     .tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47")
//!     .client_id("6e74172b-be56-4843-9ff4-e66a39bb12e3")
//!     .keys(KeySet::empty())
//!     .build()
//!     .unwrap();
//! let app: axum::Router = Health::new().signing_keys(&auth).routes();
//! # let _ = app;
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use auth_client::ConfidentialClient;
use auth_layer::Authenticator;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// One condition for readiness.
pub trait ReadinessCheck: Send + Sync + 'static {
    /// A short name, the key of the reason in `/readyz`'s body (`signing_keys`, `credential`).
    fn name(&self) -> &'static str;
    /// `Ok` when ready; else a short reason an operator can act on (never a secret).
    fn check(&self) -> Result<(), String>;
}

/// Ready once the authenticator's signing keys are loaded and not older than `max_staleness`.
#[derive(Clone, Debug)]
pub struct SigningKeys(Authenticator);

impl ReadinessCheck for SigningKeys {
    fn name(&self) -> &'static str {
        "signing_keys"
    }

    fn check(&self) -> Result<(), String> {
        let jwks = self.0.jwks();
        if jwks.is_ready() {
            return Ok(());
        }
        let stats = jwks.stats();
        Err(match (stats.last_success, stats.last_error) {
            (None, Some(err)) => format!("no signing keys loaded yet: {err}"),
            (None, None) => "no signing keys loaded yet".to_owned(),
            (Some(_), _) => "the signing keys are older than max_staleness".to_owned(),
        })
    }
}

/// The liveness, readiness and metrics routes of a service.
#[derive(Clone, Default)]
pub struct Health {
    checks: Vec<Arc<dyn ReadinessCheck>>,
    /// Key caches whose staleness gauge is brought up to date before each scrape.
    key_caches: Vec<auth_layer::jwks::JwksCache>,
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("Health")
            .field("checks", &names)
            .finish_non_exhaustive()
    }
}

impl Health {
    /// No readiness conditions yet (always ready).
    pub fn new() -> Self {
        Health::default()
    }

    /// Ready only once `auth`'s signing keys are loaded and fresh enough.
    #[must_use]
    pub fn signing_keys(mut self, auth: &Authenticator) -> Self {
        self.key_caches.push(auth.jwks().clone());
        self.check(SigningKeys(auth.clone()))
    }

    /// Adds a readiness condition.
    #[must_use]
    pub fn check(mut self, check: impl ReadinessCheck) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Every failing condition with its reason; empty when ready.
    pub fn not_ready(&self) -> BTreeMap<&'static str, String> {
        self.checks
            .iter()
            .filter_map(|c| c.check().err().map(|reason| (c.name(), reason)))
            .collect()
    }

    /// `GET /healthz`, `GET /readyz` and `GET /metrics` (installs the Prometheus recorder on
    /// first use). Merge them into the service's router *outside* its authentication layers.
    pub fn routes<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let handle = metrics_handle();
        let key_caches = self.key_caches.clone();
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(move || readyz(self.clone())))
            .route(
                "/metrics",
                get(move || {
                    // Gauges computed at scrape time: the signing keys' age.
                    for cache in &key_caches {
                        cache.record_staleness();
                    }
                    render_metrics(handle.clone())
                }),
            )
    }
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

async fn readyz(health: Health) -> Response {
    let failing = health.not_ready();
    if failing.is_empty() {
        return json_response(StatusCode::OK, serde_json::json!({ "status": "ready" }));
    }
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        serde_json::json!({ "status": "not ready", "reasons": failing }),
    )
}

async fn render_metrics(handle: Option<PrometheusHandle>) -> Response {
    let body = handle.map(|h| h.render()).unwrap_or_default();
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Buckets of `auth_client_token_request_duration_seconds`, in seconds: an Entra token request
/// takes tens to hundreds of milliseconds; the top buckets catch the retry and the 10 s timeout.
pub const TOKEN_REQUEST_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The exporter's settings: token-endpoint latency as a Prometheus histogram (buckets, so that
/// `histogram_quantile` aggregates over replicas), other histograms as summaries.
fn prometheus_builder() -> PrometheusBuilder {
    let builder = PrometheusBuilder::new();
    match builder.set_buckets_for_metric(
        Matcher::Full("auth_client_token_request_duration_seconds".to_owned()),
        &TOKEN_REQUEST_BUCKETS,
    ) {
        Ok(builder) => builder,
        // Only an empty bucket list is refused; ours is not empty.
        Err(_) => PrometheusBuilder::new(),
    }
}

/// The process-wide Prometheus recorder behind the `metrics` facade, installed once. `None`
/// when another recorder was installed first (the `/metrics` body is then empty).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match prometheus_builder().install_recorder() {
            Ok(handle) => Some(handle),
            Err(err) => {
                tracing::warn!(%err, "no Prometheus recorder: /metrics will be empty");
                None
            }
        })
        .clone()
}

/// Loads `auth`'s signing keys in the background, retrying with exponential backoff (1 s
/// doubling to 60 s) until the identity provider answers, so that a service starts — and
/// reports not ready — while its authority is unreachable, instead of exiting.
pub fn spawn_key_loader(auth: &Authenticator) -> tokio::task::JoinHandle<()> {
    let jwks = auth.jwks().clone();
    tokio::spawn(async move {
        let mut delay = Duration::from_secs(1);
        loop {
            match jwks.load().await {
                Ok(()) => {
                    tracing::info!("signing keys loaded: ready");
                    return;
                }
                // Entra says the tenant does not exist: a configuration error no retry fixes
                // soon; said at `error`, retried slowly.
                Err(err) if err.is_tenant_not_found() => {
                    delay = Duration::from_secs(60);
                    tracing::error!(
                        retry_in_secs = delay.as_secs(),
                        "signing keys cannot be loaded (not ready): {err}"
                    );
                }
                Err(err) => {
                    tracing::warn!(
                        retry_in_secs = delay.as_secs(),
                        "signing keys not loaded yet (not ready): {err}. Retrying in {} s, \
                         and on until the authority answers (the service stays up and \
                         becomes ready then). Check that the authority is reachable from here \
                         and that AZURE_AUTHORITY_HOST / AZURE_TENANT_ID (or OIDC_ISSUER) are \
                         right",
                        delay.as_secs()
                    );
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(60));
        }
    })
}

const PENDING: u8 = 0;
const WORKED: u8 = 1;
const FAILED: u8 = 2;

/// Ready once a client credential has worked: a token request with it succeeded.
///
/// [`CredentialProbe::spawn`] tries one client-credentials request at start-up, retrying with
/// backoff; [`CredentialProbe::record`] lets the service report later outcomes (a rotated
/// secret that stopped working makes the service not ready).
#[derive(Clone, Debug, Default)]
pub struct CredentialProbe {
    state: Arc<ProbeState>,
}

#[derive(Debug, Default)]
struct ProbeState {
    status: AtomicU8,
    reason: Mutex<String>,
}

impl CredentialProbe {
    /// A probe that has seen no outcome yet (not ready).
    pub fn new() -> Self {
        CredentialProbe::default()
    }

    /// Records the outcome of a token request made with the credential.
    pub fn record<T, E: fmt::Display>(&self, outcome: &Result<T, E>) {
        match outcome {
            Ok(_) => self.state.status.store(WORKED, Ordering::Release),
            Err(err) => {
                *self
                    .state
                    .reason
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = err.to_string();
                self.state.status.store(FAILED, Ordering::Release);
            }
        }
    }

    /// Starts a background task that requests `scopes` with client credentials until it
    /// succeeds once (1 s doubling to 60 s between attempts), recording each outcome.
    pub fn spawn(
        &self,
        client: ConfidentialClient,
        scopes: Vec<String>,
    ) -> tokio::task::JoinHandle<()> {
        let probe = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_secs(1);
            loop {
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                let outcome = client.acquire_token_for_client(&scopes).await;
                probe.record(&outcome);
                match outcome {
                    Ok(_) => return,
                    Err(err) => tracing::warn!(
                        retry_in_secs = delay.as_secs(),
                        "the client credential has not worked yet (not ready): {err}. \
                         Retrying in {} s, and on until it works",
                        delay.as_secs()
                    ),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        })
    }
}

impl ReadinessCheck for CredentialProbe {
    fn name(&self) -> &'static str {
        "credential"
    }

    fn check(&self) -> Result<(), String> {
        match self.state.status.load(Ordering::Acquire) {
            WORKED => Ok(()),
            PENDING => {
                Err("no token request with the client credential has succeeded yet".to_owned())
            }
            _ => Err(format!(
                "the last token request with the client credential failed: {}",
                self.state
                    .reason
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Never;
    impl ReadinessCheck for Never {
        fn name(&self) -> &'static str {
            "never"
        }
        fn check(&self) -> Result<(), String> {
            Err("not today".to_owned())
        }
    }

    #[test]
    fn readiness_lists_every_failing_condition() {
        let health = Health::new().check(Never).check(CredentialProbe::new());
        let failing = health.not_ready();
        assert_eq!(failing.len(), 2);
        assert_eq!(failing["never"], "not today");
        assert!(failing["credential"].contains("no token request"));
    }

    #[test]
    fn a_credential_probe_follows_the_last_outcome() {
        let probe = CredentialProbe::new();
        probe.record::<(), _>(&Err("AADSTS7000215: invalid client secret"));
        assert!(probe.check().unwrap_err().contains("AADSTS7000215"));
        probe.record::<(), String>(&Ok(()));
        assert_eq!(probe.check(), Ok(()));
    }
}
