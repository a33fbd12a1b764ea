//! The resource APIs' permission check under `OIDC_ISSUER`, per `OIDC_PROVIDER` profile: an
//! application's own token with the permission where that provider puts it passes; a user's
//! token, or one without the permission, is refused with 403. Token shapes follow the
//! providers' documentation (sources in `docs/oidc-providers.md`).

use auth_layer::{Authenticator, Profile};
use auth_testkit::{TokenBuilder, default_keyset};
use axum::body::Body;
use examples::config::Vars;
use examples::s2s_api;
use examples::trace::Trace;
use http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt as _;

const ISSUER: &str = "https://idp.example.com/oauth2/default";
const API: &str = "https://files.example.com";

async fn upload(provider: &str, token: &str) -> (StatusCode, String) {
    let pairs = [
        ("OIDC_ISSUER", ISSUER),
        ("AZURE_CLIENT_ID", "files-api"),
        ("ACCEPTED_AUDIENCES", API),
        ("REQUIRED_PERMISSIONS", "files.write"),
        ("OIDC_PROVIDER", provider),
    ];
    let config = s2s_api::Config::from_vars(&Vars::from_pairs(&pairs), s2s_api::DEFAULTS).unwrap();
    let auth = Authenticator::builder()
        .issuer(ISSUER)
        .audience(API)
        .profile(Profile::from_name(provider).expect("a built-in profile"))
        .keys(default_keyset())
        .build()
        .unwrap();
    let app = s2s_api::router_for(auth, &config.resource, Trace::off());
    let request = Request::post("/upload")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from("a,b\n"))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// An RFC 9068 access token: `typ: at+jwt` in the header (RFC 9068 §2.1).
fn rfc9068_token() -> TokenBuilder {
    token().header("typ", "at+jwt")
}

/// An Entra-free token: the provider's issuer and audience, none of Entra's claims.
fn token() -> TokenBuilder {
    let mut t = TokenBuilder::app().claim("iss", ISSUER).audience(API);
    for entra_only in [
        "tid", "azp", "azpacr", "appid", "idtyp", "oid", "roles", "ver",
    ] {
        t = t.remove(entra_only);
    }
    t
}

#[tokio::test]
async fn rfc9068_app_token_needs_sub_equal_client_id_and_the_permission_in_scope() {
    let app = rfc9068_token()
        .claim("client_id", "nightly-job")
        .claim("sub", "nightly-job")
        .claim("scope", "files.write")
        .sign();
    assert_eq!(
        upload("rfc9068", &app).await,
        (
            StatusCode::OK,
            "File uploaded successfully by Service: nightly-job".to_owned()
        )
    );
    let user = rfc9068_token()
        .claim("client_id", "web-app")
        .claim("sub", "alice")
        .claim("scope", "files.write")
        .sign();
    assert_eq!(upload("rfc9068", &user).await.0, StatusCode::FORBIDDEN);
    let without = rfc9068_token()
        .claim("client_id", "nightly-job")
        .claim("sub", "nightly-job")
        .claim("scope", "files.read")
        .sign();
    assert_eq!(upload("rfc9068", &without).await.0, StatusCode::FORBIDDEN);
    // An Entra-shaped role is not an RFC 9068 permission.
    let role = rfc9068_token()
        .claim("client_id", "nightly-job")
        .claim("sub", "nightly-job")
        .claim("roles", json!(["files.write"]))
        .sign();
    assert_eq!(upload("rfc9068", &role).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn okta_app_token_is_sub_equal_cid_without_uid_with_permissions_in_scp() {
    let app = token()
        .claim("cid", "0oa-nightly")
        .claim("sub", "0oa-nightly")
        .claim("scp", json!(["files.write"]))
        .sign();
    assert_eq!(
        upload("okta", &app).await,
        (
            StatusCode::OK,
            "File uploaded successfully by Service: 0oa-nightly".to_owned()
        )
    );
    let user = token()
        .claim("cid", "0oa-web")
        .claim("uid", "00u-alice")
        .claim("sub", "alice@example.com")
        .claim("scp", json!(["files.write"]))
        .sign();
    assert_eq!(upload("okta", &user).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn auth0_app_token_is_gty_client_credentials_with_permissions_in_permissions() {
    let app = token()
        .claim("azp", "nightly")
        .claim("sub", "nightly@clients")
        .claim("gty", "client-credentials")
        .claim("permissions", json!(["files.write"]))
        .sign();
    assert_eq!(
        upload("auth0", &app).await,
        (
            StatusCode::OK,
            "File uploaded successfully by Service: nightly".to_owned()
        )
    );
    let user = token()
        .claim("azp", "web")
        .claim("sub", "auth0|alice")
        .claim("permissions", json!(["files.write"]))
        .sign();
    assert_eq!(upload("auth0", &user).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn keycloak_app_token_is_a_service_account_with_permissions_in_realm_roles() {
    let app = token()
        .claim("azp", "nightly")
        .claim("sub", "2f0c8a51-6a4e-4a52-9f4e-3c1c2d1e0b9a")
        .claim("preferred_username", "service-account-nightly")
        .claim("realm_access", json!({"roles": ["files.write"]}))
        .sign();
    assert_eq!(
        upload("keycloak", &app).await,
        (
            StatusCode::OK,
            "File uploaded successfully by Service: nightly".to_owned()
        )
    );
    let user = token()
        .claim("azp", "web")
        .claim("preferred_username", "alice")
        .claim("realm_access", json!({"roles": ["files.write"]}))
        .sign();
    assert_eq!(upload("keycloak", &user).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_unknown_oidc_provider_profile_is_a_configuration_error() {
    let pairs = [
        ("OIDC_ISSUER", ISSUER),
        ("AZURE_CLIENT_ID", "files-api"),
        ("ACCEPTED_AUDIENCES", API),
        ("OIDC_PROVIDER", "ping"),
    ];
    let err = s2s_api::Config::from_vars(&Vars::from_pairs(&pairs), s2s_api::DEFAULTS).unwrap_err();
    assert!(err.to_string().contains("OIDC_PROVIDER"), "{err}");
}

#[tokio::test]
async fn grpc_create_needs_required_permissions_in_a_users_scope_under_oidc_issuer() {
    use examples::grpc;
    let pairs = [
        ("OIDC_ISSUER", ISSUER),
        ("AZURE_CLIENT_ID", "files-api"),
        ("ACCEPTED_AUDIENCES", API),
        ("REQUIRED_PERMISSIONS", "cases.create"),
    ];
    let config = grpc::Config::from_vars(&Vars::from_pairs(&pairs)).unwrap();
    let auth = Authenticator::builder()
        .issuer(ISSUER)
        .audience(API)
        .grpc_service()
        .keys(default_keyset())
        .build()
        .unwrap();
    let listener = examples::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let running = grpc::spawn_routes(listener, grpc::routes_for(&auth, &config.resource));
    let channel = grpc::connect(&running.url()).await.unwrap();
    // An RFC 9068 user token (`sub` is the user, not the client).
    let user = |scope: &str| {
        rfc9068_token()
            .claim("client_id", "web-app")
            .claim("sub", "alice")
            .claim("scope", scope)
            .sign()
    };
    grpc::create_case(&channel, &user("cases.create"), "Broken printer")
        .await
        .unwrap();
    let refused = grpc::create_case(&channel, &user("Case.Create"), "Broken printer")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused}");
}
