//! The emulator's managed-identity endpoints (Azure IMDS and the App Service identity
//! endpoint) and a managed identity's token as an app's federated client credential, over HTTP
//! with reqwest.

use std::time::Duration;

use auth_layer::{Authenticator, TokenKind};
use auth_testkit::base64url_decode;
use auth_testkit::emulator::{DEFAULT_TENANT_TOML, Emulator, Grant, TenantConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN_EXCHANGE: &str = "api://AzureADTokenExchange";

/// The default tenant plus a second user-assigned identity with a role, an identity with
/// nothing, and an app whose only credential trusts a managed identity.
fn tenant() -> TenantConfig {
    let text = format!(
        "{DEFAULT_TENANT_TOML}
[[managed_identities]]
name = \"worker\"
kind = \"user_assigned\"
client_id = \"5d3f4c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6\"
app_roles = [{{ resource = \"api://s2s-example-api\", role = \"Files.Read\" }}]

[[apps]]
name = \"fic-app\"
[[apps.federated_credentials]]
managed_identity = \"worker\"
[[apps.required_resource_access]]
resource = \"api://s2s-example-api\"
roles = [\"Files.Write\"]
admin_consent = true
"
    );
    TenantConfig::from_toml_str(&text).unwrap()
}

async fn start() -> Emulator {
    Emulator::builder()
        .tenant(tenant())
        .identity_header("the-identity-header")
        .start()
        .await
        .unwrap()
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64url_decode(payload).unwrap()).unwrap()
}

async fn imds(idp: &Emulator, query: &[(&str, &str)], metadata: bool) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(idp.imds_endpoint()).query(query);
    if metadata {
        request = request.header("Metadata", "true");
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn app_service(idp: &Emulator, query: &[(&str, &str)], secret: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(idp.identity_endpoint())
        .query(query)
        .header("X-IDENTITY-HEADER", secret)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn authenticator(idp: &Emulator, api: &str) -> Authenticator {
    let api = idp.app(api);
    let mut builder = Authenticator::builder()
        .tenant_id(idp.tenant_id())
        .client_id(api.client_id())
        .instance(idp.base_url())
        .http_client(idp.http_client());
    for uri in api.identifier_uris() {
        builder = builder.audience(uri);
    }
    builder.build_and_fetch().await.unwrap()
}

#[tokio::test]
async fn imds_issues_the_system_assigned_identitys_app_token_in_imds_shape() {
    let idp = start().await;
    let host = idp.managed_identity("s2s-example-host");
    let (status, body) = imds(
        &idp,
        &[
            ("api-version", "2018-02-01"),
            ("resource", "api://s2s-example-api"),
        ],
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Every member a string, as IMDS answers.
    let members: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for member in [
        "access_token",
        "refresh_token",
        "expires_in",
        "expires_on",
        "not_before",
        "resource",
        "token_type",
    ] {
        assert!(body[member].is_string(), "{member} in {body}");
    }
    assert_eq!(members.len(), 7, "{body}");
    assert_eq!(body["refresh_token"], "");
    assert_eq!(body["resource"], "api://s2s-example-api");
    assert_eq!(body["token_type"], "Bearer");
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let not_before: i64 = body["not_before"].as_str().unwrap().parse().unwrap();
    let expires_in: i64 = body["expires_in"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on - not_before, expires_in + 300);

    let token = body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["azp"], host.client_id());
    assert_eq!(c["oid"], host.object_id());
    assert_eq!(c["sub"], host.object_id());
    assert_eq!(c["azpacr"], "2");
    assert_eq!(c["roles"], json!(["Files.Write"]));
    assert_eq!(c["exp"].as_i64().unwrap(), expires_on);
    let principal = authenticator(&idp, "s2s-example-api")
        .await
        .authenticate(token)
        .await
        .unwrap();
    assert_eq!(principal.kind(), TokenKind::App);
    assert!(principal.has_role("Files.Write"));
    assert_eq!(idp.token_requests(Grant::ManagedIdentity), 1);
}

#[tokio::test]
async fn imds_requires_the_metadata_header_and_its_parameters() {
    let idp = start().await;
    let query = [
        ("api-version", "2018-02-01"),
        ("resource", "api://s2s-example-api"),
    ];
    let (status, body) = imds(&idp, &query, false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "bad_request_102", "{body}");
    assert_eq!(
        body["error_description"],
        "Required metadata header not specified"
    );
    // "true" in lower case only.
    let response = reqwest::Client::new()
        .get(idp.imds_endpoint())
        .query(&query)
        .header("Metadata", "True")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, body) = imds(&idp, &[("resource", "api://s2s-example-api")], true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request", "{body}");
    let (status, body) = imds(&idp, &[("api-version", "2018-02-01")], true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = imds(
        &idp,
        &[("api-version", "2018-02-01"), ("resource", "api://nope")],
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_resource", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS500011")
    );
}

#[tokio::test]
async fn imds_chooses_user_assigned_identities_by_client_object_or_resource_id() {
    let idp = start().await;
    let worker = idp.managed_identity("worker");
    for (name, value) in [
        ("client_id", worker.client_id()),
        ("object_id", worker.object_id()),
        ("msi_res_id", worker.resource_id()),
        ("mi_res_id", worker.resource_id()),
    ] {
        let (status, body) = imds(
            &idp,
            &[
                ("api-version", "2018-02-01"),
                ("resource", "api://s2s-example-api"),
                (name, value),
            ],
            true,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        let c = claims(body["access_token"].as_str().unwrap());
        assert_eq!(c["oid"], worker.object_id(), "{name}");
        assert_eq!(c["roles"], json!(["Files.Read"]), "{name}");
    }
    let (status, body) = imds(
        &idp,
        &[
            ("api-version", "2018-02-01"),
            ("resource", "api://s2s-example-api"),
            ("client_id", "00000000-0000-0000-0000-000000000001"),
        ],
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "Identity not found");
}

#[tokio::test]
async fn a_v1_resource_gets_a_v1_token_with_the_resource_as_requested() {
    let idp = start().await;
    let (status, body) = imds(
        &idp,
        &[
            ("api-version", "2018-02-01"),
            ("resource", "api://obo-example-internal-api/"),
        ],
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["aud"], "api://obo-example-internal-api/");
    assert_eq!(c["appidacr"], "2");
}

#[tokio::test]
async fn app_service_endpoint_requires_its_header_and_answers_in_its_shape() {
    let idp = start().await;
    assert_eq!(idp.identity_header(), "the-identity-header");
    let query = [
        ("api-version", "2019-08-01"),
        ("resource", "api://s2s-example-api"),
    ];
    let (status, _) = app_service(&idp, &query, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = app_service(&idp, &query, "the-identity-header").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let host = idp.managed_identity("s2s-example-host");
    let members: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(members.len(), 5, "{body}");
    assert!(body["access_token"].is_string());
    assert!(body["expires_on"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(body["resource"], "api://s2s-example-api");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["client_id"], host.client_id());

    let worker = idp.managed_identity("worker");
    for (name, value) in [
        ("client_id", worker.client_id()),
        ("principal_id", worker.object_id()),
        ("object_id", worker.object_id()),
        ("mi_res_id", worker.resource_id()),
    ] {
        let mut query = query.to_vec();
        query.push((name, value));
        let (status, body) = app_service(&idp, &query, "the-identity-header").await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert_eq!(body["client_id"], worker.client_id(), "{name}");
    }
}

/// A managed identity's token for api://AzureADTokenExchange, from IMDS.
async fn exchange_token(idp: &Emulator, identity: &str) -> String {
    let mi = idp.managed_identity(identity);
    let (status, body) = imds(
        idp,
        &[
            ("api-version", "2018-02-01"),
            ("resource", TOKEN_EXCHANGE),
            ("client_id", mi.client_id()),
        ],
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn client_credentials_with_assertion(
    idp: &Emulator,
    app: &str,
    assertion: &str,
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", idp.app(app).client_id()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", "api://s2s-example-api/.default"),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_managed_identitys_exchange_token_is_a_federated_client_credential() {
    let idp = start().await;
    let worker = idp.managed_identity("worker");
    let assertion = exchange_token(&idp, "worker").await;
    let c = claims(&assertion);
    assert_eq!(c["sub"], worker.object_id());
    assert_eq!(c["iss"], idp.issuer());
    assert_eq!(c["ver"], "2.0");

    let (status, body) = client_credentials_with_assertion(&idp, "fic-app", &assertion).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["azp"], idp.app("fic-app").client_id());
    assert_eq!(c["azpacr"], "2");
    assert_eq!(c["roles"], json!(["Files.Write"]));

    // The default tenant: the OBO middle tier trusts obo-example-middle-tier.
    let middle = idp.app("obo-example-internal-api");
    assert_eq!(
        middle.federated_credentials()[0].subject,
        idp.managed_identity("obo-example-middle-tier").object_id()
    );
}

#[tokio::test]
async fn federated_assertions_are_refused_with_entras_codes() {
    let idp = start().await;
    // Another identity's token: no credential with that subject.
    let host = {
        let (_, body) = imds(
            &idp,
            &[("api-version", "2018-02-01"), ("resource", TOKEN_EXCHANGE)],
            true,
        )
        .await;
        body["access_token"].as_str().unwrap().to_owned()
    };
    let (status, body) = client_credentials_with_assertion(&idp, "fic-app", &host).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([700213]));

    // The right identity's token, but for another audience.
    let worker = idp.managed_identity("worker");
    let (_, body) = imds(
        &idp,
        &[
            ("api-version", "2018-02-01"),
            ("resource", "api://s2s-example-api"),
            ("client_id", worker.client_id()),
        ],
        true,
    )
    .await;
    let wrong_audience = body["access_token"].as_str().unwrap();
    let (status, body) = client_credentials_with_assertion(&idp, "fic-app", wrong_audience).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error_codes"], json!([700212]));

    // Tampered.
    let mut tampered = exchange_token(&idp, "worker").await;
    tampered.replace_range(tampered.len() - 6.., "AAAAAA");
    let (_, body) = client_credentials_with_assertion(&idp, "fic-app", &tampered).await;
    assert_eq!(body["error_codes"], json!([700027]), "{body}");

    // Expired.
    let assertion = exchange_token(&idp, "worker").await;
    idp.advance_clock(Duration::from_secs(2 * 3600));
    let (_, body) = client_credentials_with_assertion(&idp, "fic-app", &assertion).await;
    assert_eq!(body["error_codes"], json!([700024]), "{body}");
}

#[test]
fn the_tenant_file_checks_managed_identities() {
    let err = TenantConfig::from_toml_str(
        "[[managed_identities]]\nname = \"a\"\nkind = \"system_assigned\"\n\
         [[managed_identities]]\nname = \"b\"\nkind = \"system_assigned\"\n",
    )
    .unwrap_err();
    assert!(err.message().contains("at most one"), "{err}");
    let err = TenantConfig::from_toml_str("[[managed_identities]]\nname = \"a\"\nkind = \"vm\"\n")
        .unwrap_err();
    assert!(err.message().contains("kind"), "{err}");
    let err = TenantConfig::from_toml_str(
        "[[apps]]\nname = \"x\"\n[[apps.federated_credentials]]\nmanaged_identity = \"ghost\"\n",
    )
    .unwrap_err();
    assert!(err.message().contains("ghost"), "{err}");
}

/// Alice's token for the internal API, obtained by the frontend (authorization code + PKCE).
async fn alice_token_for_the_middle_tier(idp: &Emulator) -> String {
    let frontend = idp.app("obo-example-frontend");
    let redirect = "http://127.0.0.1:3000/redirect";
    let query = serde_urlencoded::to_string([
        ("client_id", frontend.client_id()),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", "api://obo-example-internal-api/user_impersonation"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(format!("{}?{query}", idp.authorization_endpoint()))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    let code = params.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let body: Value = http
        .post(idp.token_endpoint())
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", frontend.client_id()),
            ("client_secret", frontend.secret()),
            ("code", &code),
            ("redirect_uri", redirect),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_obo_middle_tier_authenticates_with_its_managed_identity_instead_of_a_secret() {
    let idp = Emulator::builder()
        .tenant(tenant())
        .auto_login("alice@example.onmicrosoft.com")
        .start()
        .await
        .unwrap();
    let user_token = alice_token_for_the_middle_tier(&idp).await;
    let assertion = exchange_token(&idp, "obo-example-middle-tier").await;
    let middle = idp.app("obo-example-internal-api");
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", middle.client_id()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
            ("assertion", &user_token),
            ("scope", "api://shared-documents/Documents.Read"),
            ("requested_token_use", "on_behalf_of"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["azp"], middle.client_id());
    assert_eq!(c["azpacr"], "2", "the middle tier used a client assertion");
    assert_eq!(c["scp"], "Documents.Read");
    assert_eq!(idp.token_requests(Grant::OnBehalfOf), 1);
}
