//! The managed-identity endpoints: Azure IMDS (VMs, AKS nodes, Container Apps) and the App
//! Service / Functions identity endpoint, answering for the tenant file's
//! `[[managed_identities]]` with app tokens of the identity's service principal.
//!
//! - IMDS: `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…` with
//!   `Metadata: true`; `client_id`, `object_id` or `msi_res_id` (alias `mi_res_id`) choose a
//!   user-assigned identity. The answer's members are all strings: `access_token`,
//!   `refresh_token` (empty), `expires_in`, `expires_on`, `not_before`, `resource`, `token_type`
//!   (<https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token>).
//! - App Service: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…` with
//!   `X-IDENTITY-HEADER: {IDENTITY_HEADER}`; `client_id`, `principal_id` (alias `object_id`) or
//!   `mi_res_id`. The answer: `access_token`, `expires_on` (Unix seconds, a string),
//!   `resource`, `token_type`, `client_id`
//!   (<https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference>).
//!
//! `resource=api://AzureADTokenExchange` yields the token an app that trusts the identity (a
//! federated identity credential) presents as its client assertion.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::grant::Grant;
use super::scopes::Resource;
use super::state::Shared;
use super::tenant::{ManagedIdentity, TOKEN_EXCHANGE_AUDIENCE};
use super::tokens::{self, Caller, ClientAuth, ISSUED_AT_BACKDATE, Subject};

/// The IMDS token path.
pub(crate) const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
/// The path the emulator serves App Service's `IDENTITY_ENDPOINT` at.
pub(crate) const APP_SERVICE_PATH: &str = "/msi/token";

/// A refusal in the endpoints' `{"error", "error_description"}` form.
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}

fn refuse(status: StatusCode, error: &'static str, description: &str) -> Refusal {
    Refusal {
        status,
        error,
        description: description.to_owned(),
    }
}

fn bad(error: &'static str, description: &str) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, error, description)
}

fn query(uri: &Uri) -> Vec<(String, String)> {
    serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default()
}

fn param<'q>(query: &'q [(String, String)], names: &[&str]) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| names.contains(&k.as_str()))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The identity a request names: by one of the id parameters, else the system-assigned one,
/// else the only user-assigned one.
fn identity<'t>(
    shared: &'t Shared,
    query: &[(String, String)],
    object_names: &[&str],
    resource_names: &[&str],
) -> Result<&'t ManagedIdentity, Refusal> {
    let all = shared.tenant.managed_identities();
    let by_client = param(query, &["client_id"]);
    let by_object = param(query, object_names);
    let by_resource = param(query, resource_names);
    let chosen = match (by_client, by_object, by_resource) {
        (None, None, None) => all.iter().find(|m| m.is_system_assigned()).or(match all {
            [only] => Some(only),
            _ => None,
        }),
        (Some(id), None, None) => all.iter().find(|m| m.client_id().eq_ignore_ascii_case(id)),
        (None, Some(id), None) => all.iter().find(|m| m.object_id().eq_ignore_ascii_case(id)),
        (None, None, Some(id)) => all
            .iter()
            .find(|m| m.resource_id().eq_ignore_ascii_case(id)),
        _ => {
            return Err(bad(
                "invalid_request",
                "Only one of client_id, object_id and the resource id may be specified.",
            ));
        }
    };
    chosen.ok_or_else(|| bad("invalid_request", "Identity not found"))
}

/// A minted token: the token, its `exp`, and its `nbf`.
struct Minted {
    token: String,
    expires_on: i64,
    not_before: i64,
}

fn mint(shared: &Shared, mi: &ManagedIdentity, resource: &str) -> Result<Minted, Refusal> {
    let now = shared.now();
    let lifetime = shared
        .token_lifetime
        .load(std::sync::atomic::Ordering::SeqCst);
    let caller = Caller {
        client_id: mi.client_id(),
        principal_id: mi.object_id(),
    };
    let trimmed = resource.strip_suffix('/').unwrap_or(resource);
    let token = if trimmed.eq_ignore_ascii_case(TOKEN_EXCHANGE_AUDIENCE) {
        tokens::exchange_token(shared, caller, now, lifetime)
    } else {
        let target = if trimmed.eq_ignore_ascii_case("https://graph.microsoft.com") {
            Resource::Graph
        } else {
            match shared.tenant.requested_resource(resource) {
                Some(app) => Resource::App(app),
                None => {
                    return Err(bad(
                        "invalid_resource",
                        &format!(
                            "AADSTS500011: The resource principal named {resource} was not \
                             found in the tenant named {}. This can happen if the application \
                             has not been installed by the administrator of the tenant or \
                             consented to by any user in the tenant.",
                            shared.tenant.tenant_id()
                        ),
                    ));
                }
            }
        };
        let roles = mi.roles_for(target.client_id());
        tokens::access_token(
            shared,
            caller,
            ClientAuth::Certificate,
            target,
            Some(resource),
            &Subject::App { roles },
            now,
            lifetime,
        )
    };
    Ok(Minted {
        token,
        expires_on: now + lifetime,
        not_before: now - ISSUED_AT_BACKDATE,
    })
}

fn json_response(members: &[(&str, Value)]) -> Response {
    let mut response = tokens::ordered_object(members).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// `GET /metadata/identity/oauth2/token`: Azure IMDS.
pub(crate) async fn imds(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    shared.count(Grant::ManagedIdentity);
    // "This value must be set to "true", in all lower case" (IMDS's SSRF mitigation):
    // `400 bad_request_102` otherwise, as the how-to-use-vm-token error table says.
    let metadata = headers.get("metadata").is_some_and(|v| v == "true");
    if !metadata {
        return bad("bad_request_102", "Required metadata header not specified").into_response();
    }
    let query = query(&uri);
    if param(&query, &["api-version"]).is_none() {
        return bad(
            "invalid_request",
            "Required query variable 'api-version' is missing",
        )
        .into_response();
    }
    let Some(resource) = param(&query, &["resource"]) else {
        return bad(
            "invalid_request",
            "Required query variable 'resource' is missing",
        )
        .into_response();
    };
    let mi = match identity(
        &shared,
        &query,
        &["object_id"],
        &["msi_res_id", "mi_res_id"],
    ) {
        Ok(mi) => mi,
        Err(refusal) => return refusal.into_response(),
    };
    let minted = match mint(&shared, mi, resource) {
        Ok(minted) => minted,
        Err(refusal) => return refusal.into_response(),
    };
    let expires_in = minted.expires_on - shared.now();
    json_response(&[
        ("access_token", json!(minted.token)),
        ("refresh_token", json!("")),
        ("expires_in", json!(expires_in.to_string())),
        ("expires_on", json!(minted.expires_on.to_string())),
        ("not_before", json!(minted.not_before.to_string())),
        ("resource", json!(resource)),
        ("token_type", json!("Bearer")),
    ])
}

/// `GET /msi/token`: the App Service / Functions identity endpoint (`IDENTITY_ENDPOINT`).
pub(crate) async fn app_service(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    shared.count(Grant::ManagedIdentity);
    let presented = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    if presented != Some(shared.identity_header.as_str()) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "The X-IDENTITY-HEADER header is missing or is not this host's IDENTITY_HEADER.",
        )
        .into_response();
    }
    let query = query(&uri);
    if param(&query, &["api-version"]).is_none() {
        return bad(
            "invalid_request",
            "Required query variable 'api-version' is missing",
        )
        .into_response();
    }
    let Some(resource) = param(&query, &["resource"]) else {
        return bad(
            "invalid_request",
            "Required query variable 'resource' is missing",
        )
        .into_response();
    };
    let mi = match identity(
        &shared,
        &query,
        &["principal_id", "object_id"],
        &["mi_res_id"],
    ) {
        Ok(mi) => mi,
        Err(refusal) => return refusal.into_response(),
    };
    let minted = match mint(&shared, mi, resource) {
        Ok(minted) => minted,
        Err(refusal) => return refusal.into_response(),
    };
    json_response(&[
        ("access_token", json!(minted.token)),
        ("expires_on", json!(minted.expires_on.to_string())),
        ("resource", json!(resource)),
        ("token_type", json!("Bearer")),
        ("client_id", json!(mi.client_id())),
    ])
}
