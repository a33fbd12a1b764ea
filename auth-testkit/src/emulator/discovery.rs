//! OIDC discovery documents and the key set, with the counters and faults tests switch on and
//! off. Shared by the [`Emulator`](super::Emulator) and the
//! [`JwksServer`](crate::jwks_server::JwksServer), which is this part alone.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::sync::lock;

/// A fault the server injects into one endpoint's responses until cleared.
///
/// ```
/// use std::time::Duration;
/// use auth_testkit::emulator::Fault;
///
/// let down = Fault::Status(503);
/// let slow = Fault::Hang(Duration::from_secs(30));
/// assert_ne!(down, slow);
/// ```
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
pub(crate) enum Endpoint {
    Discovery,
    Jwks,
}

/// What the key-serving part serves and counts.
pub(crate) struct KeyServing {
    pub(crate) base_url: String,
    pub(crate) jwks: Mutex<Value>,
    pub(crate) jwks_cache_control: Mutex<Option<String>>,
    /// The `Cache-Control` header of discovery responses (`None`: no header).
    pub(crate) discovery_cache_control: Mutex<Option<String>>,
    pub(crate) discovery_issuer: Mutex<Option<String>>,
    pub(crate) discovery_jwks_uri: Mutex<Option<String>>,
    jwks_fault: Mutex<Option<Fault>>,
    discovery_fault: Mutex<Option<Fault>>,
    discovery_hits: AtomicUsize,
    jwks_hits: AtomicUsize,
    /// Becomes `true` when the server is dropped: hanging handlers return.
    pub(crate) closed: watch::Sender<bool>,
}

impl KeyServing {
    pub(crate) fn new(base_url: String, jwks: Value) -> KeyServing {
        let (closed, _) = watch::channel(false);
        KeyServing {
            base_url,
            jwks: Mutex::new(jwks),
            jwks_cache_control: Mutex::new(None),
            discovery_cache_control: Mutex::new(None),
            discovery_issuer: Mutex::new(None),
            discovery_jwks_uri: Mutex::new(None),
            jwks_fault: Mutex::new(None),
            discovery_fault: Mutex::new(None),
            discovery_hits: AtomicUsize::new(0),
            jwks_hits: AtomicUsize::new(0),
            closed,
        }
    }

    pub(crate) fn set_fault(&self, endpoint: Endpoint, fault: Option<Fault>) {
        match endpoint {
            Endpoint::Discovery => *lock(&self.discovery_fault) = fault,
            Endpoint::Jwks => *lock(&self.jwks_fault) = fault,
        }
    }

    fn fault(&self, endpoint: Endpoint) -> Option<Fault> {
        match endpoint {
            Endpoint::Discovery => lock(&self.discovery_fault).clone(),
            Endpoint::Jwks => lock(&self.jwks_fault).clone(),
        }
    }

    pub(crate) fn hits(&self, endpoint: Endpoint) -> usize {
        match endpoint {
            Endpoint::Discovery => self.discovery_hits.load(Ordering::SeqCst),
            Endpoint::Jwks => self.jwks_hits.load(Ordering::SeqCst),
        }
    }

    /// Serves a discovery document: counts the hit, applies the fault.
    pub(crate) async fn serve_discovery(&self, document: Value) -> Response {
        self.discovery_hits.fetch_add(1, Ordering::SeqCst);
        let cache_control = lock(&self.discovery_cache_control).clone();
        self.respond(Endpoint::Discovery, document, cache_control)
            .await
    }

    /// Serves the key set, `edit`ed (e.g. issuer templates filled in): counts the hit,
    /// applies the fault and the `Cache-Control` header.
    pub(crate) async fn serve_jwks(&self, edit: impl FnOnce(&mut Value)) -> Response {
        self.jwks_hits.fetch_add(1, Ordering::SeqCst);
        let mut document = lock(&self.jwks).clone();
        edit(&mut document);
        let cache_control = lock(&self.jwks_cache_control).clone();
        self.respond(Endpoint::Jwks, document, cache_control).await
    }

    /// The v2 discovery document of the tenant path segment `tenant`, as the JWKS server
    /// publishes it (overrides applied).
    pub(crate) fn jwks_server_document(&self, tenant: &str) -> Value {
        let base = &self.base_url;
        let issuer = lock(&self.discovery_issuer)
            .clone()
            .unwrap_or_else(|| format!("{base}/{tenant}/v2.0"));
        let jwks_uri = lock(&self.discovery_jwks_uri)
            .clone()
            .unwrap_or_else(|| format!("{base}/{tenant}/discovery/v2.0/keys"));
        v2_document(base, tenant, &issuer, &jwks_uri)
    }

    /// The normal response, or the endpoint's fault.
    async fn respond(
        &self,
        endpoint: Endpoint,
        mut document: Value,
        cache_control: Option<String>,
    ) -> Response {
        match self.fault(endpoint) {
            None => {}
            Some(Fault::Status(code)) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return (status, "injected fault").into_response();
            }
            Some(Fault::Hang(duration)) => {
                let mut closed = self.closed.subscribe();
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
}

/// The `Cache-Control` Entra sends with discovery documents, key sets and instance discovery
/// (recorded responses of login.microsoftonline.com in the Azure SDK for JavaScript's test
/// recordings: `max-age=86400, private`), so caches see what they see in production.
pub(crate) const ENTRA_METADATA_CACHE_CONTROL: &str = "max-age=86400, private";

/// An Entra v2 discovery document for the tenant path segment `tenant`.
pub(crate) fn v2_document(base: &str, tenant: &str, issuer: &str, jwks_uri: &str) -> Value {
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
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/{tenant}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net"
    })
}

/// An Entra v1 discovery document for the tenant path segment `tenant`.
pub(crate) fn v1_document(base: &str, tenant: &str, issuer: &str) -> Value {
    json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": issuer,
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"],
        "check_session_iframe": format!("{base}/{tenant}/oauth2/checksession"),
        "userinfo_endpoint": format!("{base}/{tenant}/openid/userinfo"),
        "kerberos_endpoint": format!("{base}/{tenant}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net"
    })
}
