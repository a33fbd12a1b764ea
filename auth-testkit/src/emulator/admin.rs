//! The loopback-only admin API under `/_admin/`: key rollover steps, faults, token lifetime,
//! the clock, counters. Requests from non-loopback peers get `403`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde_json::{Value, json};

use super::discovery::{Endpoint, Fault};
use super::errors::AadError;
use super::grant::Grant;
use super::keys::SigningKey;
use super::state::Shared;
use super::sync::lock;

pub(crate) fn routes(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/_admin/keys", get(list_keys).post(publish))
        .route("/_admin/keys/rotate", post(rotate))
        .route("/_admin/keys/{kid}/sign", post(activate))
        .route("/_admin/keys/{kid}", delete(withdraw))
        .route(
            "/_admin/faults/{endpoint}",
            put(set_fault).delete(clear_fault),
        )
        .route("/_admin/token-lifetime", put(token_lifetime))
        .route("/_admin/clock/advance", post(advance_clock))
        .route("/_admin/stats", get(stats))
        .route_layer(axum::middleware::from_fn_with_state(shared, loopback_only))
}

/// Whether a peer may use the admin API: loopback only (an unknown peer is refused).
fn allowed(peer: Option<IpAddr>) -> bool {
    peer.is_some_and(|ip| ip.is_loopback())
}

async fn loopback_only(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if allowed(peer) {
        return next.run(request).await;
    }
    let headers = request.headers().clone();
    AadError::new(
        StatusCode::FORBIDDEN,
        "access_denied",
        50105,
        "The admin API answers loopback clients only.",
    )
    .response(&shared.base_url, &headers, shared.now())
}

fn admin_error(
    shared: &Shared,
    headers: &HeaderMap,
    status: StatusCode,
    message: impl Into<String>,
) -> Response {
    AadError::new(status, "invalid_request", 900144, message).response(
        &shared.base_url,
        headers,
        shared.now(),
    )
}

fn keys_body(shared: &Shared) -> Value {
    let ring = lock(&shared.ring);
    json!({
        "signing_kid": ring.active.kid,
        "published": ring.published.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
    })
}

pub(crate) fn publish_new_key(shared: &Shared) -> Result<String, String> {
    let key = Arc::new(SigningKey::generate()?);
    let kid = key.kid.clone();
    let mut ring = lock(&shared.ring);
    ring.published.push(key);
    shared.republish(&ring);
    Ok(kid)
}

pub(crate) fn sign_with(shared: &Shared, kid: &str) -> bool {
    let mut ring = lock(&shared.ring);
    let Some(key) = ring.published.iter().find(|k| k.kid == kid).cloned() else {
        return false;
    };
    ring.active = key;
    true
}

pub(crate) fn withdraw_key(shared: &Shared, kid: &str) -> bool {
    let mut ring = lock(&shared.ring);
    let before = ring.published.len();
    ring.published.retain(|k| k.kid != kid);
    let removed = ring.published.len() != before;
    shared.republish(&ring);
    removed
}

pub(crate) fn rotate_keys(shared: &Shared) -> Result<String, String> {
    let key = Arc::new(SigningKey::generate()?);
    let kid = key.kid.clone();
    let mut ring = lock(&shared.ring);
    ring.published = vec![Arc::clone(&key)];
    ring.active = key;
    shared.republish(&ring);
    Ok(kid)
}

pub(crate) fn set_token_lifetime(shared: &Shared, seconds: u64) -> Result<(), String> {
    if seconds <= 300 || seconds > 86_400 {
        return Err(format!(
            "a token lifetime must be more than 300 s (MSAL treats tokens expiring within 5 \
             minutes as expired) and at most a day; {seconds} s was asked"
        ));
    }
    shared
        .token_lifetime
        .store(i64::try_from(seconds).unwrap_or(3600), Ordering::SeqCst);
    Ok(())
}

async fn list_keys(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(keys_body(&shared)).into_response()
}

async fn publish(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match publish_new_key(&shared) {
        Ok(kid) => axum::Json(json!({"kid": kid, "keys": keys_body(&shared)})).into_response(),
        Err(e) => admin_error(&shared, &headers, StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn rotate(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match rotate_keys(&shared) {
        Ok(kid) => axum::Json(json!({"kid": kid, "keys": keys_body(&shared)})).into_response(),
        Err(e) => admin_error(&shared, &headers, StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn activate(
    State(shared): State<Arc<Shared>>,
    Path(kid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if sign_with(&shared, &kid) {
        axum::Json(keys_body(&shared)).into_response()
    } else {
        admin_error(
            &shared,
            &headers,
            StatusCode::NOT_FOUND,
            format!("no published key has kid '{kid}'"),
        )
    }
}

async fn withdraw(
    State(shared): State<Arc<Shared>>,
    Path(kid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if withdraw_key(&shared, &kid) {
        axum::Json(keys_body(&shared)).into_response()
    } else {
        admin_error(
            &shared,
            &headers,
            StatusCode::NOT_FOUND,
            format!("no published key has kid '{kid}'"),
        )
    }
}

fn endpoint(name: &str) -> Option<Endpoint> {
    match name {
        "jwks" => Some(Endpoint::Jwks),
        "discovery" => Some(Endpoint::Discovery),
        _ => None,
    }
}

/// `{"kind": "status", "status": 503}`, `{"kind": "hang", "seconds": 30}`, `{"kind": "garbage"}`,
/// `{"kind": "oversized", "bytes": 2000000}`, `{"kind": "duplicate_kids"}`, `{"kind": "none"}`.
fn parse_fault(body: &[u8]) -> Result<Option<Fault>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let number = |name: &str| {
        value[name]
            .as_u64()
            .ok_or_else(|| format!("the fault needs a number '{name}'"))
    };
    match value["kind"].as_str() {
        Some("none") => Ok(None),
        Some("status") => Ok(Some(Fault::Status(
            u16::try_from(number("status")?).map_err(|_| "status is not an HTTP status")?,
        ))),
        Some("hang") => Ok(Some(Fault::Hang(Duration::from_secs(number("seconds")?)))),
        Some("garbage") => Ok(Some(Fault::Garbage)),
        Some("oversized") => Ok(Some(Fault::Oversized(
            usize::try_from(number("bytes")?).map_err(|_| "bytes is too large")?,
        ))),
        Some("duplicate_kids") => Ok(Some(Fault::DuplicateKids)),
        _ => Err(
            "'kind' must be none, status, hang, garbage, oversized or duplicate_kids".to_owned(),
        ),
    }
}

async fn set_fault(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(endpoint) = endpoint(&name) else {
        return admin_error(
            &shared,
            &headers,
            StatusCode::NOT_FOUND,
            "faults apply to 'jwks' or 'discovery'",
        );
    };
    match parse_fault(&body) {
        Ok(fault) => {
            shared.keys.set_fault(endpoint, fault);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => admin_error(&shared, &headers, StatusCode::BAD_REQUEST, e),
    }
}

async fn clear_fault(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(endpoint) = endpoint(&name) else {
        return admin_error(
            &shared,
            &headers,
            StatusCode::NOT_FOUND,
            "faults apply to 'jwks' or 'discovery'",
        );
    };
    shared.keys.set_fault(endpoint, None);
    StatusCode::NO_CONTENT.into_response()
}

fn seconds(body: &[u8]) -> Result<u64, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    value["seconds"]
        .as_u64()
        .ok_or_else(|| "the body needs a number 'seconds'".to_owned())
}

async fn token_lifetime(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match seconds(&body).and_then(|s| set_token_lifetime(&shared, s)) {
        Ok(()) => axum::Json(json!({"seconds": shared.token_lifetime.load(Ordering::SeqCst)}))
            .into_response(),
        Err(e) => admin_error(&shared, &headers, StatusCode::BAD_REQUEST, e),
    }
}

async fn advance_clock(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match seconds(&body) {
        Ok(s) => {
            let s = i64::try_from(s).unwrap_or(i64::MAX);
            shared.clock.0.fetch_add(s, Ordering::SeqCst);
            axum::Json(json!({"now": shared.now()})).into_response()
        }
        Err(e) => admin_error(&shared, &headers, StatusCode::BAD_REQUEST, e),
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let mut requests = serde_json::Map::new();
    for grant in Grant::ALL {
        requests.insert(
            grant.as_str().to_owned(),
            json!(shared.counters[grant.index()].load(Ordering::SeqCst)),
        );
    }
    axum::Json(json!({
        "token_requests": requests,
        "jwks_hits": shared.keys.hits(Endpoint::Jwks),
        "discovery_hits": shared.keys.hits(Endpoint::Discovery),
        "now": shared.now(),
        "token_lifetime": shared.token_lifetime.load(Ordering::SeqCst),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_may_administer() {
        assert!(allowed(Some(IpAddr::from([127, 0, 0, 1]))));
        assert!(allowed(Some("::1".parse().unwrap())));
        assert!(!allowed(Some(IpAddr::from([10, 0, 0, 7]))));
        assert!(!allowed(Some(IpAddr::from([0, 0, 0, 0]))));
        assert!(!allowed(None));
    }

    #[test]
    fn faults_parse_from_json() {
        assert_eq!(
            parse_fault(br#"{"kind":"status","status":503}"#),
            Ok(Some(Fault::Status(503)))
        );
        assert_eq!(
            parse_fault(br#"{"kind":"hang","seconds":2}"#),
            Ok(Some(Fault::Hang(Duration::from_secs(2))))
        );
        assert_eq!(parse_fault(br#"{"kind":"none"}"#), Ok(None));
        assert!(parse_fault(br#"{"kind":"status"}"#).is_err());
        assert!(parse_fault(b"nope").is_err());
    }
}
