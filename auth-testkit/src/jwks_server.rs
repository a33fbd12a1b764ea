//! A loopback identity provider for JWKS-cache tests: OIDC discovery and a key set, Entra
//! style, with request counters and faults a test switches on and off.
//!
//! [`JwksServer`] binds `127.0.0.1:0` and serves, for any tenant segment:
//!
//! | path                                              | what                                          |
//! |---------------------------------------------------|-----------------------------------------------|
//! | `/{tenant}/v2.0/.well-known/openid-configuration` | discovery: `issuer` = `{base}/{tenant}/v2.0`, `jwks_uri` |
//! | `/{tenant}/discovery/v2.0/keys`                   | the published key set                         |
//!
//! It stops when dropped (in-flight requests that [hang](Fault::Hang) are released at once).
//! Nothing leaves the machine.
//!
//! ```
//! use auth_testkit::jwks_server::{Fault, JwksServer};
//! use auth_testkit::{TestKey, ids};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
//! assert_eq!(idp.issuer(ids::TENANT_ID), format!("{}/{}/v2.0", idp.base_url(), ids::TENANT_ID));
//!
//! idp.publish(&[TestKey::rsa_a(), TestKey::rsa_b()]); // a key rollover
//! idp.set_jwks_fault(Some(Fault::Status(503)));       // the provider is down
//! idp.clear_faults();
//! assert_eq!(idp.jwks_hits(), 0);
//! # }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use crate::TestKey;
use crate::keys::{default_jwks, jwks};

/// A fault the server injects into one endpoint's responses until cleared.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this HTTP status and a short text body.
    Status(u16),
    /// Wait this long, then answer normally (released early when the server is dropped).
    Hang(Duration),
    /// Answer `200` with an HTML body that is not JSON.
    Garbage,
    /// Answer `200` with the normal document padded to at least this many bytes.
    Oversized(usize),
    /// Answer `200` with a key set whose first key appears twice (the same `kid` twice).
    DuplicateKids,
}

/// Which endpoint a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Discovery,
    Jwks,
}

/// What the server serves and counts; shared with the handlers.
struct ServerState {
    base_url: String,
    jwks: Mutex<Value>,
    jwks_cache_control: Mutex<Option<String>>,
    discovery_issuer: Mutex<Option<String>>,
    discovery_jwks_uri: Mutex<Option<String>>,
    jwks_fault: Mutex<Option<Fault>>,
    discovery_fault: Mutex<Option<Fault>>,
    discovery_hits: AtomicUsize,
    jwks_hits: AtomicUsize,
    /// Becomes `true` when the server is dropped: hanging handlers return.
    closed: watch::Sender<bool>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not cascade into every later request.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ServerState {
    fn fault(&self, endpoint: Endpoint) -> Option<Fault> {
        match endpoint {
            Endpoint::Discovery => lock(&self.discovery_fault).clone(),
            Endpoint::Jwks => lock(&self.jwks_fault).clone(),
        }
    }

    fn discovery_document(&self, tenant: &str) -> Value {
        let base = &self.base_url;
        let issuer = lock(&self.discovery_issuer)
            .clone()
            .unwrap_or_else(|| format!("{base}/{tenant}/v2.0"));
        let jwks_uri = lock(&self.discovery_jwks_uri)
            .clone()
            .unwrap_or_else(|| format!("{base}/{tenant}/discovery/v2.0/keys"));
        json!({
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": jwks_uri,
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": false,
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "oid", "tid", "preferred_username"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com"
        })
    }
}

/// A loopback OIDC provider serving discovery and a JWKS, with counters and faults.
///
/// See the [module documentation](self) for the routes.
pub struct JwksServer {
    state: Arc<ServerState>,
    stop: Option<oneshot::Sender<()>>,
}

impl JwksServer {
    /// Starts a server publishing [`default_jwks`] (`rsa-a`, `rsa-b`, `ec-p256`).
    ///
    /// # Panics
    /// If no loopback port can be bound (test code: the test cannot run anyway).
    pub async fn start() -> JwksServer {
        JwksServer::with_jwks(default_jwks()).await
    }

    /// Starts a server publishing the JWKS of `keys`.
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub async fn with_keys(keys: &[&TestKey]) -> JwksServer {
        JwksServer::with_jwks(jwks(keys)).await
    }

    /// Starts a server publishing `document` as its key set.
    ///
    /// # Panics
    /// As [`start`](Self::start); must be called inside a Tokio runtime.
    pub async fn with_jwks(document: Value) -> JwksServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|err| panic!("the test IdP cannot bind 127.0.0.1:0: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("the test IdP has no local address: {err}"));
        let (closed, _) = watch::channel(false);
        let state = Arc::new(ServerState {
            base_url: format!("http://{addr}"),
            jwks: Mutex::new(document),
            jwks_cache_control: Mutex::new(None),
            discovery_issuer: Mutex::new(None),
            discovery_jwks_uri: Mutex::new(None),
            jwks_fault: Mutex::new(None),
            discovery_fault: Mutex::new(None),
            discovery_hits: AtomicUsize::new(0),
            jwks_hits: AtomicUsize::new(0),
            closed,
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(Arc::clone(&state));
        tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                // Dropping the sender stops the server as surely as sending.
                let _ = stopped.await;
            });
            if let Err(err) = server.await {
                eprintln!("test IdP stopped with an error: {err}");
            }
        });
        JwksServer {
            state,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:{port}`, without a trailing slash: the instance to configure.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// `{base}/{tenant}`: the authority of `tenant`.
    pub fn authority(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.state.base_url)
    }

    /// `{base}/{tenant}/v2.0`: the issuer the discovery document names (unless overridden
    /// with [`set_discovery_issuer`](Self::set_discovery_issuer)).
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.state.base_url)
    }

    /// `{base}/{tenant}/v2.0/.well-known/openid-configuration`.
    pub fn metadata_url(&self, tenant: &str) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer(tenant))
    }

    /// `{base}/{tenant}/discovery/v2.0/keys`.
    pub fn jwks_uri(&self, tenant: &str) -> String {
        format!("{}/{tenant}/discovery/v2.0/keys", self.state.base_url)
    }

    /// Publishes the JWKS of `keys` from now on (a key rollover).
    pub fn publish(&self, keys: &[&TestKey]) {
        self.set_jwks(jwks(keys));
    }

    /// Publishes `document` as the key set from now on (any JSON, valid or not).
    pub fn set_jwks(&self, document: Value) {
        *lock(&self.state.jwks) = document;
    }

    /// The key set currently published.
    pub fn jwks(&self) -> Value {
        lock(&self.state.jwks).clone()
    }

    /// Sends this `Cache-Control` header with the key set (`None`: no header).
    pub fn set_jwks_cache_control(&self, value: Option<&str>) {
        *lock(&self.state.jwks_cache_control) = value.map(str::to_owned);
    }

    /// Makes discovery name this `issuer` (`None`: `{base}/{tenant}/v2.0`).
    pub fn set_discovery_issuer(&self, issuer: Option<&str>) {
        *lock(&self.state.discovery_issuer) = issuer.map(str::to_owned);
    }

    /// Makes discovery name this `jwks_uri` (`None`: the server's own key-set URL).
    pub fn set_discovery_jwks_uri(&self, uri: Option<&str>) {
        *lock(&self.state.discovery_jwks_uri) = uri.map(str::to_owned);
    }

    /// Injects `fault` into key-set responses (`None`: healthy).
    pub fn set_jwks_fault(&self, fault: Option<Fault>) {
        *lock(&self.state.jwks_fault) = fault;
    }

    /// Injects `fault` into discovery responses (`None`: healthy).
    pub fn set_discovery_fault(&self, fault: Option<Fault>) {
        *lock(&self.state.discovery_fault) = fault;
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.set_jwks_fault(None);
        self.set_discovery_fault(None);
    }

    /// Discovery requests received so far (counted on arrival, faults included).
    pub fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }

    /// Key-set requests received so far (counted on arrival, faults included).
    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.state.closed.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl std::fmt::Debug for JwksServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksServer")
            .field("base_url", &self.state.base_url)
            .field("discovery_hits", &self.discovery_hits())
            .field("jwks_hits", &self.jwks_hits())
            .finish_non_exhaustive()
    }
}

fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .with_state(state)
}

async fn discovery(State(state): State<Arc<ServerState>>, Path(tenant): Path<String>) -> Response {
    state.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let document = state.discovery_document(&tenant);
    respond(&state, Endpoint::Discovery, document, None).await
}

async fn keys(State(state): State<Arc<ServerState>>) -> Response {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let document = lock(&state.jwks).clone();
    let cache_control = lock(&state.jwks_cache_control).clone();
    respond(&state, Endpoint::Jwks, document, cache_control).await
}

/// The normal response, or the endpoint's fault.
async fn respond(
    state: &ServerState,
    endpoint: Endpoint,
    mut document: Value,
    cache_control: Option<String>,
) -> Response {
    match state.fault(endpoint) {
        None => {}
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "injected fault").into_response();
        }
        Some(Fault::Hang(duration)) => {
            let mut closed = state.closed.subscribe();
            tokio::select! {
                () = tokio::time::sleep(duration) => {}
                _ = closed.wait_for(|closed| *closed) => {
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
            }
        }
        Some(Fault::Garbage) => {
            return (
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Service Unavailable</body></html>",
            )
                .into_response();
        }
        Some(Fault::Oversized(bytes)) => {
            if let Value::Object(members) = &mut document {
                members.insert("padding".to_owned(), Value::String("x".repeat(bytes)));
            }
        }
        Some(Fault::DuplicateKids) => {
            if let Some(Value::Array(keys)) = document.get_mut("keys")
                && let Some(first) = keys.first().cloned()
            {
                keys.push(first);
            }
        }
    }
    let mut response = axum::Json(document).into_response();
    if let Some(value) = cache_control.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}
