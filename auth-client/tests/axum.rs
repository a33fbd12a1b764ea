//! The `OnBehalfOf<Api>` extractor in an axum middle tier protected by auth-layer, against the
//! emulator: the exchange, and every refusal.

mod common;

use std::time::Duration;

use auth_client::{ConfidentialClient, OnBehalfOf, downstream_api};
use auth_layer::{AuthenticateLayer, Authenticator};
use auth_testkit::emulator::{Emulator, Grant, TokenFault};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use common::*;
use http::{Request, StatusCode};
use tower::ServiceExt as _;

downstream_api!(
    /// The shared documents API.
    SharedApi = ["api://shared-documents/Documents.Read"];
    /// An API the middle tier has no consent for.
    BackendApi = ["api://backend-api-id/Case.Read"]
);

async fn documents(token: OnBehalfOf<SharedApi>) -> String {
    claims(token.secret())["aud"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn cases(token: OnBehalfOf<BackendApi>) -> String {
    token.token().token_type().to_owned()
}

async fn middle_tier(idp: &Emulator) -> (Router, ConfidentialClient) {
    let internal = idp.app("obo-example-internal-api");
    let auth = Authenticator::builder()
        .instance(idp.base_url())
        .tenant_id(idp.tenant_id())
        .client_id(internal.client_id())
        .audience("api://obo-example-internal-api")
        .build_and_fetch()
        .await
        .unwrap();
    let client = builder(idp, "obo-example-internal-api").build().unwrap();
    let router = Router::new()
        .route("/documents", get(documents))
        .route("/cases", get(cases))
        .layer(AuthenticateLayer::new(auth))
        .with_state(client.clone());
    (router, client)
}

fn get_with(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

async fn body(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn emulator() -> Emulator {
    Emulator::builder().auto_login(ALICE).start().await.unwrap()
}

#[tokio::test]
async fn a_handler_gets_a_token_for_the_downstream_api_in_one_argument() {
    let idp = emulator().await;
    let (app, client) = middle_tier(&idp).await;
    let token_a = token_a(&idp).await;
    for _ in 0..3 {
        let response = app
            .clone()
            .oneshot(get_with("/documents", Some(&token_a)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            body(response).await,
            idp.app("obo-example-shared-api").client_id()
        );
    }
    assert_eq!(idp.token_requests(Grant::OnBehalfOf), 1, "cached");
    assert_eq!(client.stats().cache_hits, 2);
}

#[tokio::test]
async fn without_a_validated_caller_the_extractor_refuses_with_401() {
    let idp = emulator().await;
    let client = client(&idp, "obo-example-internal-api");
    // A route without authentication: the extractor never exchanges an unvalidated token.
    let unprotected = Router::new()
        .route("/documents", get(documents))
        .with_state(client);
    let token_a = token_a(&idp).await;
    let response = unprotected
        .oneshot(get_with("/documents", Some(&token_a)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(idp.token_requests(Grant::OnBehalfOf), 0);

    let (app, _) = middle_tier(&idp).await;
    let response = app.oneshot(get_with("/documents", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_app_only_caller_is_refused_with_403() {
    let idp = emulator().await;
    let (app, _) = middle_tier(&idp).await;
    let daemon = client(&idp, "s2s-example-consumer");
    let app_token = daemon
        .acquire_token_for_client(&["api://obo-example-internal-api/.default"])
        .await
        .unwrap();
    let response = app
        .oneshot(get_with("/documents", Some(app_token.secret())))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body(response).await.contains("on behalf of a user"));
    assert_eq!(idp.token_requests(Grant::OnBehalfOf), 0);
}

#[tokio::test]
async fn a_claims_challenge_is_passed_back_as_401_insufficient_claims() {
    let idp = emulator().await;
    let (app, _) = middle_tier(&idp).await;
    let token_a = token_a(&idp).await;
    let claims_json = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    idp.set_obo_claims_challenge(Some(claims_json));
    let response = app
        .oneshot(get_with("/documents", Some(&token_a)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let header = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let encoded = base64::engine::general_purpose::STANDARD.encode(claims_json);
    assert!(
        header.starts_with("Bearer authorization_uri=\""),
        "{header}"
    );
    assert!(header.contains(&idp.authorization_endpoint()), "{header}");
    assert!(header.contains("error=\"insufficient_claims\""), "{header}");
    assert!(
        header.contains(&format!("claims=\"{encoded}\"")),
        "{header}"
    );
    let json: serde_json::Value = serde_json::from_str(&body(response).await).unwrap();
    assert_eq!(json["claims"], encoded);
}

#[tokio::test]
async fn other_failures_map_to_safe_500_502_503_and_401_responses() {
    let idp = emulator().await;
    let (app, _) = middle_tier(&idp).await;
    let token_a = token_a(&idp).await;

    // No consent for the backend API: the service is misconfigured.
    let response = app
        .clone()
        .oneshot(get_with("/cases", Some(&token_a)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = body(response).await;
    assert!(
        text.contains("cannot obtain a token") && !text.contains("AADSTS"),
        "{text}"
    );

    // It throttles: 503 with Retry-After.
    idp.set_token_fault(Some(TokenFault::throttled(Duration::from_secs(30))));
    let response = app
        .clone()
        .oneshot(get_with("/documents", Some(&token_a)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "30");

    // The identity provider fails (another middle tier: the first holds /documents back).
    let (app, _) = middle_tier(&idp).await;
    idp.set_token_fault(Some(TokenFault::status(500)));
    let response = app
        .clone()
        .oneshot(get_with("/documents", Some(&token_a)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    idp.set_token_fault(None);
    // MSAL's rule: a 5xx without Retry-After holds the identical request back 60 s.
    let response = app
        .clone()
        .oneshot(get_with("/documents", Some(&token_a)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((59..=60).contains(&after), "{after}");

    // The user's token expired on the identity provider's clock meanwhile: 401 invalid_token.
    idp.advance_clock(Duration::from_secs(2 * 3600));
    let response = app
        .clone()
        .oneshot(get_with("/cases", Some(&token_a)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}
