//! Discovery (v1 and v2), the key set and instance discovery, for the tenant path segment.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::discovery::{v1_document, v2_document};
use super::request::tenant_not_found;
use super::state::{Shared, TenantPath};
use super::sync::lock;

/// The key set with `{tenantid}` filled in for a concrete tenant.
pub(crate) fn jwks_for(shared: &Shared, tenant: Option<&str>) -> Value {
    let mut document = lock(&shared.keys.jwks).clone();
    if let Some(tid) = tenant {
        fill_issuer(&mut document, tid);
    }
    document
}

fn fill_issuer(document: &mut Value, tid: &str) {
    if let Some(Value::Array(keys)) = document.get_mut("keys") {
        for key in keys {
            if let Some(Value::String(issuer)) = key.get_mut("issuer") {
                *issuer = issuer.replace("{tenantid}", tid);
            }
        }
    }
}

pub(crate) async fn discovery_v2(
    State(shared): State<Arc<Shared>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let base = &shared.base_url;
    let tid = shared.tenant.tenant_id();
    let document = match shared.tenant_path(&segment) {
        None => return tenant_not_found(&segment).response(base, &headers, shared.now()),
        Some(TenantPath::Tenant) => v2_document(
            base,
            tid,
            &shared.v2_issuer(),
            &format!("{base}/{tid}/discovery/v2.0/keys"),
        ),
        Some(TenantPath::Multi) => {
            let segment = segment.to_ascii_lowercase();
            v2_document(
                base,
                &segment,
                &format!("{base}/{{tenantid}}/v2.0"),
                &format!("{base}/{segment}/discovery/v2.0/keys"),
            )
        }
    };
    shared.keys.serve_discovery(document).await
}

pub(crate) async fn discovery_v1(
    State(shared): State<Arc<Shared>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let base = &shared.base_url;
    let tid = shared.tenant.tenant_id();
    let document = match shared.tenant_path(&segment) {
        None => return tenant_not_found(&segment).response(base, &headers, shared.now()),
        Some(TenantPath::Tenant) => v1_document(base, tid, &crate::ids::v1_issuer(tid)),
        Some(TenantPath::Multi) => v1_document(
            base,
            &segment.to_ascii_lowercase(),
            "https://sts.windows.net/{tenantid}/",
        ),
    };
    shared.keys.serve_discovery(document).await
}

pub(crate) async fn jwks(
    State(shared): State<Arc<Shared>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = shared.tenant.tenant_id().to_owned();
    match shared.tenant_path(&segment) {
        None => tenant_not_found(&segment).response(&shared.base_url, &headers, shared.now()),
        Some(TenantPath::Tenant) => {
            shared
                .keys
                .serve_jwks(|document| fill_issuer(document, &tid))
                .await
        }
        Some(TenantPath::Multi) => shared.keys.serve_jwks(|_| {}).await,
    }
}

/// `GET /common/discovery/instance`: Entra's instance discovery, which MSAL calls for
/// authorities it does not know (unless configured with `knownAuthorities`).
pub(crate) async fn instance_discovery(
    State(shared): State<Arc<Shared>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    if shared.tenant_path(&segment).is_none() {
        return tenant_not_found(&segment).response(&shared.base_url, &headers, shared.now());
    }
    let base = &shared.base_url;
    let host = base
        .split_once("://")
        .map_or(base.as_str(), |(_, host)| host);
    let mut response = axum::Json(json!({
        "tenant_discovery_endpoint": format!(
            "{base}/{}/v2.0/.well-known/openid-configuration",
            shared.tenant.tenant_id()
        ),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }],
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(super::discovery::ENTRA_METADATA_CACHE_CONTROL),
    );
    response
}
