//! RFC 9728 OAuth 2.0 Protected Resource Metadata: tells clients which authorization server
//! issues tokens for this API and which scopes it understands.
//!
//! Serve the document at `/.well-known/oauth-protected-resource` and point challenges at it
//! with [`AuthenticatorBuilder::resource_metadata`](crate::AuthenticatorBuilder::resource_metadata):
//!
//! ```
//! use axum::{Json, Router, routing::get};
//! use auth_layer::ProtectedResourceMetadata;
//!
//! let metadata = ProtectedResourceMetadata::new("api://backend-api-id")
//!     .authorization_server("https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0")
//!     .scopes(["api://backend-api-id/Case.Create"]);
//! let doc = metadata.to_json();
//! assert_eq!(doc["bearer_methods_supported"], serde_json::json!(["header"]));
//! let app: Router = Router::new().route(
//!     ProtectedResourceMetadata::WELL_KNOWN_PATH,
//!     get(move || async move { Json(doc) }),
//! );
//! ```

use serde_json::{Value, json};

/// The metadata document of a protected resource (RFC 9728 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ProtectedResourceMetadata {
    resource: String,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    documentation: Option<String>,
}

impl ProtectedResourceMetadata {
    /// Where the document is served.
    pub const WELL_KNOWN_PATH: &'static str = "/.well-known/oauth-protected-resource";

    /// The resource identifier (for Entra: the App ID URI or the API's URL).
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes: Vec::new(),
            documentation: None,
        }
    }

    /// An issuer that issues tokens for this resource (for Entra, the v2 issuer).
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The scopes clients may request.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// A human-readable documentation URL.
    pub fn documentation(mut self, url: impl Into<String>) -> Self {
        self.documentation = Some(url.into());
        self
    }

    /// The JSON document. Only the `Authorization` header is advertised as a bearer method:
    /// that is the only one the layers accept.
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "resource": self.resource,
            "bearer_methods_supported": ["header"],
        });
        if !self.authorization_servers.is_empty() {
            doc["authorization_servers"] = json!(self.authorization_servers);
        }
        if !self.scopes.is_empty() {
            doc["scopes_supported"] = json!(self.scopes);
        }
        if let Some(url) = &self.documentation {
            doc["resource_documentation"] = json!(url);
        }
        doc
    }
}
