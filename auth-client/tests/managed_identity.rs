//! Managed identity against scripted IMDS and App Service endpoints (axum on loopback): the
//! request shapes, MSAL's IMDS retry rules, caching, and the identity's token as an app's
//! federated client assertion.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_client::{ClientCredential, ConfidentialClient, Error, ManagedIdentity};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

const TENANT: &str = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10";

/// The query pairs and headers of one request.
type Seen = (Vec<(String, String)>, HeaderMap);

#[derive(Default)]
struct Endpoint {
    seen: Mutex<Vec<Seen>>,
    statuses: Mutex<VecDeque<u16>>,
    token_form: Mutex<Vec<Vec<(String, String)>>>,
}

async fn identity(
    State(e): State<Arc<Endpoint>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&query.unwrap_or_default()).unwrap_or_default();
    let n = {
        let mut seen = e.seen.lock().unwrap();
        seen.push((pairs, headers));
        seen.len()
    };
    if let Some(status) = e.statuses.lock().unwrap().pop_front() {
        let body = json!({"error": "unavailable", "error_description": "scripted"});
        return (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    }
    let expires_on = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    // Both endpoints send numbers as strings.
    axum::Json(json!({
        "access_token": format!("mi-token-{n}"),
        "expires_on": expires_on.to_string(),
        "resource": "r",
        "token_type": "Bearer",
    }))
    .into_response()
}

async fn token(State(e): State<Arc<Endpoint>>, body: axum::body::Bytes) -> axum::Json<Value> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    e.token_form.lock().unwrap().push(form);
    axum::Json(json!({"access_token": "app-token", "token_type": "Bearer", "expires_in": 3600}))
}

async fn server() -> (String, Arc<Endpoint>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Endpoint::default());
    let app = Router::new()
        .route("/metadata/identity/oauth2/token", get(identity))
        .route("/msi/token", get(identity))
        .route(&format!("/{TENANT}/oauth2/v2.0/token"), post(token))
        .with_state(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

fn q<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn imds_requests_carry_metadata_true_and_the_identity_and_tokens_are_cached() {
    let (base, e) = server().await;
    let identity = ManagedIdentity::builder()
        .imds_endpoint(format!("{base}/metadata/identity/oauth2/token"))
        .user_assigned_client_id("11111111-2222-3333-4444-555555555555")
        .build()
        .unwrap();
    let token = identity
        .acquire_token("https://vault.azure.net/.default")
        .await
        .unwrap();
    assert_eq!(token.secret(), "mi-token-1");
    let again = identity
        .acquire_token("https://vault.azure.net")
        .await
        .unwrap();
    assert_eq!(again.secret(), "mi-token-1", "served from memory");
    let seen = e.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (query, headers) = &seen[0];
    assert_eq!(headers["metadata"], "true");
    assert_eq!(q(query, "api-version"), Some("2018-02-01"));
    assert_eq!(q(query, "resource"), Some("https://vault.azure.net"));
    assert_eq!(
        q(query, "client_id"),
        Some("11111111-2222-3333-4444-555555555555")
    );
}

#[tokio::test]
async fn app_service_requests_carry_the_identity_header_and_resource_ids() {
    let (base, e) = server().await;
    let identity = ManagedIdentity::builder()
        .app_service(format!("{base}/msi/token"), "header-secret")
        .user_assigned_resource_id("/subscriptions/s/resourcegroups/g/providers/x/y")
        .build()
        .unwrap();
    identity
        .acquire_token("https://storage.azure.com")
        .await
        .unwrap();
    assert!(!format!("{identity:?}").contains("header-secret"));
    let seen = e.seen.lock().unwrap();
    let (query, headers) = &seen[0];
    assert_eq!(headers["x-identity-header"], "header-secret");
    assert_eq!(q(query, "api-version"), Some("2019-08-01"));
    assert_eq!(
        q(query, "mi_res_id"),
        Some("/subscriptions/s/resourcegroups/g/providers/x/y")
    );
}

#[tokio::test]
async fn imds_retries_follow_msal_404_429_5xx_three_times_410_for_seventy_seconds() {
    let (base, e) = server().await;
    let identity = ManagedIdentity::builder()
        .imds_endpoint(format!("{base}/metadata/identity/oauth2/token"))
        .retry_delay(Duration::from_millis(1))
        .build()
        .unwrap();
    e.statuses.lock().unwrap().extend([404, 429, 503]);
    identity.acquire_token("https://a").await.unwrap();
    assert_eq!(
        e.seen.lock().unwrap().len(),
        4,
        "three retries, then success"
    );

    e.statuses.lock().unwrap().extend([500, 500, 500, 500]);
    let err = identity.acquire_token("https://b").await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err}");
    assert_eq!(
        e.seen.lock().unwrap().len(),
        8,
        "no more than three retries"
    );

    e.statuses.lock().unwrap().extend([410; 7]);
    identity.acquire_token("https://c").await.unwrap();
    assert_eq!(e.seen.lock().unwrap().len(), 16, "410 retried seven times");

    e.statuses.lock().unwrap().extend([400]);
    let err = identity.acquire_token("https://d").await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err}");
    assert_eq!(e.seen.lock().unwrap().len(), 17, "400 is not retried");
}

#[tokio::test]
async fn a_managed_identity_is_an_apps_federated_credential() {
    let (base, e) = server().await;
    let identity = ManagedIdentity::builder()
        .imds_endpoint(format!("{base}/metadata/identity/oauth2/token"))
        .build()
        .unwrap();
    let client = ConfidentialClient::builder()
        .authority(format!("{base}/{TENANT}"))
        .client_id("3cf5bd16-b241-5dac-9ff4-414b25bed2f2")
        .credential(ClientCredential::managed_identity(identity))
        .build()
        .unwrap();
    client
        .acquire_token_for_client(&["api://s2s-example-api/.default"])
        .await
        .unwrap();
    let seen = e.seen.lock().unwrap();
    assert_eq!(
        q(&seen[0].0, "resource"),
        Some("api://AzureADTokenExchange")
    );
    let form = e.token_form.lock().unwrap();
    assert_eq!(q(&form[0], "client_assertion"), Some("mi-token-1"));
    assert_eq!(
        q(&form[0], "client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
}
