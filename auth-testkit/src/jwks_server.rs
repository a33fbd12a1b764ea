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

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use crate::TestKey;
use crate::emulator::discovery::{Endpoint, KeyServing};
use crate::emulator::server::{self, ServerHandle};
use crate::emulator::sync::lock;
use crate::keys::{default_jwks, jwks};

/// A fault the server injects into one endpoint's responses until cleared (shared with the
/// [`Emulator`](crate::emulator::Emulator)).
pub use crate::emulator::Fault;

/// A loopback OIDC provider serving discovery and a JWKS, with counters and faults.
///
/// See the [module documentation](self) for the routes.
pub struct JwksServer {
    state: Arc<KeyServing>,
    _server: ServerHandle,
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
        let state = Arc::new(KeyServing::new(format!("http://{addr}"), document));
        let server = server::spawn(listener, router(Arc::clone(&state)), None);
        JwksServer {
            state,
            _server: server,
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
        self.state.set_fault(Endpoint::Jwks, fault);
    }

    /// Injects `fault` into discovery responses (`None`: healthy).
    pub fn set_discovery_fault(&self, fault: Option<Fault>) {
        self.state.set_fault(Endpoint::Discovery, fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.set_jwks_fault(None);
        self.set_discovery_fault(None);
    }

    /// Discovery requests received so far (counted on arrival, faults included).
    pub fn discovery_hits(&self) -> usize {
        self.state.hits(Endpoint::Discovery)
    }

    /// Key-set requests received so far (counted on arrival, faults included).
    pub fn jwks_hits(&self) -> usize {
        self.state.hits(Endpoint::Jwks)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.state.closed.send_replace(true);
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

fn router(state: Arc<KeyServing>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .with_state(state)
}

async fn discovery(State(state): State<Arc<KeyServing>>, Path(tenant): Path<String>) -> Response {
    let document = state.jwks_server_document(&tenant);
    state.serve_discovery(document).await
}

async fn keys(State(state): State<Arc<KeyServing>>) -> Response {
    state.serve_jwks(|_| {}).await
}
