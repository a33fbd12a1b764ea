//! The emulator's route table: which handler answers which path.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;

use super::errors::AadError;
use super::state::Shared;
use super::{admin, authorize, managed_identity, metadata, token_endpoint, userinfo};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let log = shared.log;
    let router = Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(metadata::discovery_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(metadata::discovery_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(metadata::jwks))
        .route("/{tenant}/discovery/keys", get(metadata::jwks))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize::authorize).post(authorize::sign_in),
        )
        .route(
            "/{tenant}/oauth2/authorize",
            get(authorize::authorize).post(authorize::sign_in),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint::token))
        .route("/{tenant}/oauth2/token", post(token_endpoint::token))
        .route(
            "/{tenant}/discovery/instance",
            get(metadata::instance_discovery),
        )
        .route(managed_identity::IMDS_PATH, get(managed_identity::imds))
        .route(
            managed_identity::APP_SERVICE_PATH,
            get(managed_identity::app_service),
        )
        .route(
            "/oidc/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .merge(admin::routes(Arc::clone(&shared)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared);
    if log {
        router.layer(axum::middleware::from_fn(log_request))
    } else {
        router
    }
}

async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status: StatusCode = response.status();
    eprintln!("entra-emulator: {method} {path} -> {}", status.as_u16());
    response
}

pub(crate) async fn not_found(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    AadError::new(
        StatusCode::NOT_FOUND,
        "invalid_request",
        9002313,
        format!(
            "Invalid request. Request is malformed or invalid: the emulator has no endpoint at \
             '{}'.",
            uri.path()
        ),
    )
    .response(&shared.base_url, &headers, shared.now())
}

pub(crate) async fn method_not_allowed(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    AadError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        900561,
        format!("The endpoint does not accept {method} requests."),
    )
    .response(&shared.base_url, &headers, shared.now())
}
