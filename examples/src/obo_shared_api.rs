//! `obo-example-shared-api`: the central API at the end of the On-Behalf-Of chain.
//!
//! | route | needs | answers |
//! |---|---|---|
//! | `GET /docs` (the seed's route) | scope `Documents.Read` | the seed's body: `{"docs": ["Policy1.pdf", "Specs.docx"], "user": name}`, then the names of uploaded documents |
//! | `GET /documents` (ours) | scope `Documents.Read` | `{"documents": [metadata…], "caller": {...}}` |
//! | `POST /documents` (ours) `{"name", "size"}` | scope `Documents.Write` | `201` and the stored metadata: `id`, `name`, `size`, `uploaded_by` (UPN), `oid`, `via_client` |
//!
//! `caller` shows what the API saw in the token it validated (Token B): the user's `oid` and
//! UPN, the calling app (`azp` / `appid`: the middle tier) and the scopes. It is on a route of
//! our own so that `GET /docs` answers exactly what the seed's shared API answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use auth_extract::DelegatedUser;
use auth_layer::Authenticator;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access_log::AccessLog;
use crate::config::{ConfigError, ProviderProfile, ResourceConfig, Vars};
use crate::permissions::{self, Caller};
use crate::trace::Trace;

/// The API's name (and the emulator's app registration).
pub const NAME: &str = "obo-example-shared-api";

/// At most this many documents are kept (the oldest go first).
const MAX_DOCUMENTS: usize = 1000;

/// The settings of `obo-example-shared-api`.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LISTEN_ADDR` (default `127.0.0.1:3002`).
    pub listen: SocketAddr,
    /// Token validation: `AZURE_*` / `OIDC_ISSUER`, `ACCEPTED_AUDIENCES` (default
    /// `api://shared-documents`), `JWKS_MIN_REFRESH_SECS`.
    pub resource: ResourceConfig,
    /// `REQUIRED_WRITE_PERMISSIONS`: what `POST /documents` needs (default `Documents.Write`);
    /// `REQUIRED_PERMISSIONS` is what `GET /docs` needs (default `Documents.Read`).
    pub write_permissions: Vec<String>,
    /// Records the requests (the tour); off by default.
    pub trace: Trace,
}

impl Config {
    /// Reads the environment (see `examples/README.md`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::env())
    }

    /// Reads `vars`.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            listen: vars.listen_addr("127.0.0.1:3002")?,
            resource: ResourceConfig::from_vars(vars, &["api://shared-documents"])?,
            write_permissions: vars
                .list("REQUIRED_WRITE_PERMISSIONS")
                .unwrap_or_else(|| vec!["Documents.Write".to_owned()]),
            trace: Trace::off(),
        })
    }
}

/// A stored document's metadata.
#[derive(Clone, Debug, Serialize)]
struct Document {
    id: u64,
    name: String,
    size: u64,
    /// Who uploaded it: the user's UPN and object id, from the token.
    uploaded_by: String,
    oid: String,
    /// Through which app (the middle tier's client id).
    via_client: String,
}

#[derive(Clone, Debug)]
struct AppState {
    auth: Authenticator,
    docs: Arc<Mutex<Vec<Document>>>,
}

impl axum::extract::FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Authenticator {
        state.auth.clone()
    }
}

/// The router, with the authenticator built (and the keys fetched) from `config`.
pub async fn router(config: &Config) -> Result<Router, ConfigError> {
    let auth = config.resource.authenticator().await?;
    Ok(gated(
        auth,
        config.resource.placement(),
        config.resource.permissions("Documents.Read"),
        config.write_permissions.clone(),
        config.trace.clone(),
    ))
}

/// The router around an existing authenticator, for an Entra tenant (scopes `Documents.Read`,
/// `Documents.Write`).
pub fn router_with(auth: Authenticator, trace: Trace) -> Router {
    gated(
        auth,
        None,
        vec!["Documents.Read".to_owned()],
        vec!["Documents.Write".to_owned()],
        trace,
    )
}

fn gated(
    auth: Authenticator,
    placement: Option<ProviderProfile>,
    read_permissions: Vec<String>,
    write_permissions: Vec<String>,
    trace: Trace,
) -> Router {
    let state = AppState {
        auth: auth.clone(),
        docs: Arc::new(Mutex::new(vec![
            sample(1, "Policy1.pdf"),
            sample(2, "Specs.docx"),
        ])),
    };
    let read = Router::new()
        .route("/docs", get(list))
        .route("/documents", get(list_documents));
    let read = permissions::require_in(read, &auth, placement, Caller::User, read_permissions);
    let write = Router::new().route("/documents", post(store));
    let write = permissions::require_in(write, &auth, placement, Caller::User, write_permissions);
    let routes = read.merge(write).with_state(state);
    AccessLog::new(NAME, auth, trace).wrap(routes)
}

/// One of the seed's two documents (`GET /docs` lists their names; the seed has no sizes).
fn sample(id: u64, name: &str) -> Document {
    Document {
        id,
        name: name.to_owned(),
        size: 0,
        uploaded_by: String::new(),
        oid: String::new(),
        via_client: String::new(),
    }
}

/// What the API saw in the token.
fn caller(user: &DelegatedUser) -> Value {
    let claims = user.claims();
    json!({
        "oid": user.object_id(),
        "upn": user.username(),
        "client_id": user.client_id(),
        "scopes": user.scopes().iter().collect::<Vec<_>>(),
        "audience": claims.audiences().first(),
    })
}

/// `GET /docs`: the seed's answer, `{"docs": [names], "user": the user's name}`.
async fn list(State(state): State<AppState>, user: DelegatedUser) -> Json<Value> {
    let names: Vec<String> = state
        .docs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|doc| doc.name.clone())
        .collect();
    Json(json!({
        "docs": names,
        "user": user.name().or(user.username()).unwrap_or("unknown"),
    }))
}

/// `GET /documents` (not in the seed): every document's metadata and what the API saw in the
/// token.
async fn list_documents(State(state): State<AppState>, user: DelegatedUser) -> Json<Value> {
    let docs = state
        .docs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Json(json!({
        "documents": docs,
        "caller": caller(&user),
    }))
}

/// The body of `POST /documents`.
#[derive(Debug, Deserialize)]
struct NewDocument {
    name: String,
    #[serde(default)]
    size: u64,
}

/// `POST /documents`: stores the metadata with the uploader's UPN and OID.
async fn store(
    State(state): State<AppState>,
    user: DelegatedUser,
    body: Result<Json<NewDocument>, JsonRejection>,
) -> Response {
    let Ok(Json(new)) = body else {
        return bad_request("send JSON: {\"name\": \"…\", \"size\": 123}");
    };
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return bad_request("name must be 1 to 200 printable characters");
    }
    let mut docs = state.docs.lock().unwrap_or_else(PoisonError::into_inner);
    let id = docs.last().map_or(1, |d| d.id + 1);
    let doc = Document {
        id,
        name: name.to_owned(),
        size: new.size,
        uploaded_by: user.username().unwrap_or("unknown").to_owned(),
        oid: user.object_id().unwrap_or_default().to_owned(),
        via_client: user.client_id().unwrap_or_default().to_owned(),
    };
    docs.push(doc.clone());
    if docs.len() > MAX_DOCUMENTS {
        docs.remove(0);
    }
    drop(docs);
    (StatusCode::CREATED, Json(doc)).into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "invalid_request", "message": message })),
    )
        .into_response()
}
