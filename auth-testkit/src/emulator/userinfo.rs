//! The OIDC UserInfo endpoint (Entra serves it on Microsoft Graph).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::metadata::jwks_for;
use super::scopes;
use super::state::Shared;
use super::tokens;

/// `GET|POST /oidc/userinfo`: the OIDC UserInfo endpoint (Entra serves it on Microsoft Graph):
/// a Graph access token from this emulator in, the user's claims out. `sub` is the pairwise
/// subject of the token's client, the same as in its ID tokens.
pub(crate) async fn userinfo(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let unauthorized = |message: &str| {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({"error": {"code": "InvalidAuthenticationToken", "message": message}}),
            ),
        )
            .into_response();
        if let Ok(value) = "Bearer error=\"invalid_token\"".parse() {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    };
    let Ok(token) = auth_layer::bearer_token(&headers, &uri) else {
        return unauthorized("Access token is empty.");
    };
    let tid = shared.tenant.tenant_id();
    let jwks = jwks_for(&shared, Some(tid));
    let Ok(keys) = auth_layer::KeySet::from_jwks_json(jwks.to_string().as_bytes()) else {
        return unauthorized("The emulator's keys cannot be read.");
    };
    let validator = auth_layer::Validator::builder()
        .tenant_id(tid)
        .client_id(scopes::GRAPH_APP_ID)
        // A Graph token's `aud` is the resource as requested: the app id, or Graph's URI.
        .audiences([
            "https://graph.microsoft.com",
            "https://graph.microsoft.com/",
        ])
        .instance(shared.base_url.clone())
        .clock(shared.clock.clone())
        .build();
    let claims = match validator.map(|v| v.validate(token, &keys)) {
        Ok(Ok(claims)) => claims,
        Ok(Err(e)) => return unauthorized(&format!("Access token validation failure: {e}.")),
        Err(e) => return unauthorized(&e.to_string()),
    };
    let user = claims
        .object_id()
        .and_then(|oid| shared.tenant.user_by_oid(oid));
    let (Some(user), Some(client_id)) = (user, claims.client_id()) else {
        return unauthorized("The token is not a user's token.");
    };
    let (given, family) = user.name().split_once(' ').unwrap_or((user.name(), ""));
    axum::Json(json!({
        "sub": tokens::pairwise(user.object_id(), client_id),
        "name": user.name(),
        "given_name": given,
        "family_name": family,
        "email": user.username(),
        "picture": format!("{}/oidc/userinfo/picture", shared.base_url),
    }))
    .into_response()
}
