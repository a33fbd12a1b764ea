//! `obo-example-internal-api`: the middle tier of the On-Behalf-Of pattern.
//!
//! It validates the user's Token A (audience: itself, scope `user_impersonation`), exchanges it
//! On-Behalf-Of the user for Token B (audience: the shared API), and calls the shared API with
//! Token B.
//!
//! | route | calls | answers |
//! |---|---|---|
//! | `GET /process-documents` (the seed's route) | `GET {SHARED_API_URL}/docs` with `SHARED_API_SCOPE` (default `Documents.Read`) | the seed's text, `Successfully chained identity to Shared API!` |
//! | `POST /upload` (ours) `{"name", "content"}` | `POST {SHARED_API_URL}/documents` `{"name", "size"}` with `SHARED_API_WRITE_SCOPE` (default `Documents.Write`) | `201` `{"processed_by", "user", "shared_api": the stored metadata}` |
//!
//! A refused exchange is answered as auth-client's [`OboRejection`] says (401 when Entra
//! refuses Token A, 401 `insufficient_claims` for a Conditional Access challenge, 503 when
//! throttled, 502/500 otherwise).

use std::net::SocketAddr;

use auth_client::{ConfidentialClient, OboRejection};
use auth_extract::DelegatedUser;
use auth_layer::{Authenticator, bearer_token};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, StatusCode, Uri};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access_log::AccessLog;
use crate::config::{ClientConfig, ConfigError, ResourceConfig, Vars};
use crate::permissions::{self, Caller};
use crate::trace::{Trace, excerpt};

/// The API's name (and the emulator's app registration).
pub const NAME: &str = "obo-example-internal-api";

/// The settings of `obo-example-internal-api`.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LISTEN_ADDR` (default `127.0.0.1:3001`).
    pub listen: SocketAddr,
    /// Validating Token A: `AZURE_*` / `OIDC_ISSUER`, `ACCEPTED_AUDIENCES` (default
    /// `api://obo-example-internal-api`), `JWKS_MIN_REFRESH_SECS`.
    pub resource: ResourceConfig,
    /// The On-Behalf-Of exchange: the same app registration's credential (`AZURE_*`).
    pub client: ClientConfig,
    /// `SHARED_API_URL` (default `http://127.0.0.1:3002`).
    pub shared_api_url: String,
    /// `SHARED_API_SCOPE` (default `api://shared-documents/Documents.Read`), for reads.
    pub shared_api_scope: String,
    /// `SHARED_API_WRITE_SCOPE` (default `api://shared-documents/Documents.Write`), for
    /// uploads.
    pub shared_api_write_scope: String,
    /// Records the calls (the tour); off by default.
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
            listen: vars.listen_addr("127.0.0.1:3001")?,
            resource: ResourceConfig::from_vars(vars, &["api://obo-example-internal-api"])?,
            // `SHARED_API_RESOURCE`: the shared API's RFC 8707 resource indicator (OIDC_ISSUER
            // only; the exchange is then RFC 8693 token exchange).
            client: ClientConfig::from_vars(vars)?.resource_from(vars, "SHARED_API_RESOURCE")?,
            shared_api_url: vars.url("SHARED_API_URL", "http://127.0.0.1:3002")?,
            shared_api_scope: vars.or("SHARED_API_SCOPE", "api://shared-documents/Documents.Read"),
            shared_api_write_scope: vars.or(
                "SHARED_API_WRITE_SCOPE",
                "api://shared-documents/Documents.Write",
            ),
            trace: Trace::off(),
        })
    }
}

#[derive(Clone, Debug)]
struct AppState {
    auth: Authenticator,
    client: ConfidentialClient,
    http: reqwest::Client,
    shared_api_url: String,
    read_scopes: Vec<String>,
    write_scopes: Vec<String>,
    trace: Trace,
}

impl axum::extract::FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Authenticator {
        state.auth.clone()
    }
}

fn split(scopes: &str) -> Vec<String> {
    scopes.split_whitespace().map(str::to_owned).collect()
}

/// The router, with the authenticator built (and the keys fetched) from `config`.
pub async fn router(config: &Config) -> Result<Router, ConfigError> {
    let auth = config.resource.authenticator().await?;
    router_with(config, auth)
}

/// The router around an existing authenticator.
pub fn router_with(config: &Config, auth: Authenticator) -> Result<Router, ConfigError> {
    let state = AppState {
        auth: auth.clone(),
        client: config.client.client()?,
        http: config.client.http.client()?,
        shared_api_url: config.shared_api_url.clone(),
        read_scopes: split(&config.shared_api_scope),
        write_scopes: split(&config.shared_api_write_scope),
        trace: config.trace.clone(),
    };
    let routes = Router::new()
        .route("/process-documents", get(process_documents))
        .route("/upload", post(upload));
    let routes = permissions::require(
        routes,
        &auth,
        &config.resource,
        Caller::User,
        "user_impersonation",
    )
    .with_state(state);
    Ok(AccessLog::new(NAME, auth, config.trace.clone()).wrap(routes))
}

/// Token B for `scopes`, On-Behalf-Of the user whose (validated) Token A the request carries.
async fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    scopes: &[String],
) -> Result<auth_client::AccessToken, Response> {
    // The layer validated this token; it is read again only to send it to Entra.
    let token_a =
        bearer_token(headers, uri).map_err(|e| OboRejection::Credentials(e).into_response())?;
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let before = state.client.stats().token_requests;
    let hop = state.trace.call(
        NAME,
        "Entra token endpoint",
        format!("on_behalf_of (Token A → Token B for {})", scopes.join(" ")),
        None,
    );
    match state
        .client
        .acquire_token_on_behalf_of(token_a, &scopes)
        .await
    {
        Ok(token_b) => {
            let cached = state.client.stats().token_requests == before;
            hop.finish_with(
                if cached {
                    "Token B (from the cache)"
                } else {
                    "Token B"
                },
                Some(token_b.secret()),
            );
            Ok(token_b)
        }
        Err(err) => {
            hop.finish(format!("refused: {}", err.summary()));
            tracing::warn!(service = NAME, error = %err, "On-Behalf-Of exchange failed");
            Err(OboRejection::from_error(err, &state.client).into_response())
        }
    }
}

/// Calls the shared API with Token B; its answer as JSON (status, body).
async fn call_shared(
    state: &AppState,
    method: Method,
    path: &str,
    token: &auth_client::AccessToken,
    body: Option<Value>,
) -> Result<(StatusCode, Value), Response> {
    let url = format!("{}{path}", state.shared_api_url);
    let hop = state
        .trace
        .call(NAME, &url, format!("{method} {path}"), Some(token.secret()));
    let mut request = state
        .http
        .request(method, &url)
        .header(AUTHORIZATION, token.authorization_header());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => {
            hop.finish(format!("failed: {err}"));
            return Err(bad_gateway("the shared API could not be reached"));
        }
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    hop.finish(format!("{} {}", status.as_u16(), excerpt(&text)));
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, json))
}

fn bad_gateway(message: &str) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        Json(json!({ "error": "bad_gateway", "message": message })),
    )
        .into_response()
}

/// What `GET /process-documents` answers once the shared API accepted Token B: the seed's text.
pub const CHAINED: &str = "Successfully chained identity to Shared API!";

/// A 502 when the shared API refused the middle tier, with its answer under `shared_api`.
fn refused_by_shared(status: StatusCode, shared: Value) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        Json(json!({
            "error": "bad_gateway",
            "message": format!("the shared API answered {}", status.as_u16()),
            "shared_api": shared,
        })),
    )
        .into_response()
}

/// Passes the shared API's answer on: its body under `shared_api`; a 400 as is; a 502 when it
/// refused the middle tier.
fn answer(user: &DelegatedUser, status: StatusCode, shared: Value, ok: StatusCode) -> Response {
    if status == StatusCode::BAD_REQUEST {
        // The caller's input was refused: say so, as the shared API did.
        return (status, Json(shared)).into_response();
    }
    if !status.is_success() {
        return refused_by_shared(status, shared);
    }
    (
        ok,
        Json(json!({
            "processed_by": NAME,
            "user": user.name().or(user.username()).unwrap_or("unknown"),
            "shared_api": shared,
        })),
    )
        .into_response()
}

/// `GET /process-documents`: the seed's route and text ([`CHAINED`]) once the shared API
/// accepted Token B. The extractor refuses app-only tokens: there is no user to act for.
async fn process_documents(
    State(state): State<AppState>,
    _user: DelegatedUser,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let token_b = match exchange(&state, &headers, &uri, &state.read_scopes).await {
        Ok(token) => token,
        Err(refused) => return refused,
    };
    match call_shared(&state, Method::GET, "/docs", &token_b, None).await {
        Ok((status, _)) if status.is_success() => (StatusCode::OK, CHAINED).into_response(),
        Ok((status, shared)) => refused_by_shared(status, shared),
        Err(response) => response,
    }
}

/// The body of `POST /upload`.
#[derive(Debug, Deserialize)]
struct Upload {
    name: String,
    #[serde(default)]
    content: String,
}

/// `POST /upload`: forwards the document's metadata to the shared API.
async fn upload(
    State(state): State<AppState>,
    user: DelegatedUser,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Json<Upload>, JsonRejection>,
) -> Response {
    let Ok(Json(upload)) = body else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": "invalid_request",
                "message": "send JSON: {\"name\": \"…\", \"content\": \"…\"}",
            })),
        )
            .into_response();
    };
    let token_b = match exchange(&state, &headers, &uri, &state.write_scopes).await {
        Ok(token) => token,
        Err(refused) => return refused,
    };
    let metadata = json!({ "name": upload.name, "size": upload.content.len() });
    match call_shared(&state, Method::POST, "/documents", &token_b, Some(metadata)).await {
        Ok((status, shared)) => answer(&user, status, shared, StatusCode::CREATED),
        Err(response) => response,
    }
}
