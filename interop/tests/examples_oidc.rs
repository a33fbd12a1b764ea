//! The example services pointed at panva's `oidc-provider` by configuration alone (the
//! variables of `examples/README.md`): `s2s-example-consumer` → provider → `s2s-example-api`.

mod support;

use examples::config::Vars;
use examples::{s2s_api, s2s_consumer, server};
use support::{OidcProvider, ProviderOptions};

const CONSUMER_SECRET: &str = "s2s-example-consumer-secret-0123456789";

async fn start_api(idp: &OidcProvider, permissions: &str) -> server::Running {
    let pairs = [
        ("OIDC_ISSUER", idp.issuer.as_str()),
        ("AZURE_CLIENT_ID", "s2s-example-api"),
        ("ACCEPTED_AUDIENCES", "api://s2s-example-api"),
        ("REQUIRED_PERMISSIONS", permissions),
        ("LISTEN_ADDR", "127.0.0.1:0"),
    ];
    let config = s2s_api::Config::from_vars(&Vars::from_pairs(&pairs), s2s_api::DEFAULTS).unwrap();
    let router = s2s_api::router(&config).await.unwrap();
    let listener = server::bind(config.listen).await.unwrap();
    server::spawn(listener, router)
}

fn consumer(idp: &OidcProvider, api: &server::Running) -> s2s_consumer::Config {
    let url = api.url();
    let pairs = [
        ("OIDC_ISSUER", idp.issuer.as_str()),
        ("AZURE_CLIENT_ID", "s2s-example-consumer"),
        ("AZURE_CLIENT_SECRET", CONSUMER_SECRET),
        ("S2S_API_URL", url.as_str()),
        ("S2S_API_SCOPE", "files.write"),
        ("S2S_API_RESOURCE", "api://s2s-example-api"),
    ];
    s2s_consumer::Config::from_vars(&Vars::from_pairs(&pairs)).unwrap()
}

#[tokio::test]
async fn s2s_consumer_through_the_provider_uploads_to_s2s_api_with_required_permissions() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let api = start_api(&idp, "files.write").await;
    let upload = s2s_consumer::run_once(&consumer(&idp, &api)).await.unwrap();
    assert_eq!(upload.status, 200, "{upload:?}");
    assert_eq!(
        upload.body,
        "File uploaded successfully by Service: s2s-example-consumer"
    );
}

#[tokio::test]
async fn s2s_api_refuses_a_provider_token_without_the_required_permission() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    // The consumer's token carries `files.write`; the API now wants `files.read`.
    let api = start_api(&idp, "files.read").await;
    let upload = s2s_consumer::run_once(&consumer(&idp, &api)).await.unwrap();
    assert_eq!(upload.status, 403, "{upload:?}");
    let challenge = upload.challenge.unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert!(challenge.contains("files.read"), "{challenge}");
}

#[tokio::test]
async fn a_resource_variable_without_oidc_issuer_is_a_configuration_error() {
    let pairs = [
        ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ("AZURE_CLIENT_ID", "s2s-example-consumer"),
        ("AZURE_CLIENT_SECRET", "x"),
        ("S2S_API_RESOURCE", "api://s2s-example-api"),
    ];
    let err = s2s_consumer::Config::from_vars(&Vars::from_pairs(&pairs)).unwrap_err();
    assert!(err.to_string().contains("S2S_API_RESOURCE"), "{err}");
}

#[tokio::test]
async fn accepted_audiences_has_no_entra_default_under_oidc_issuer() {
    let pairs = [
        ("OIDC_ISSUER", "https://idp.example.com"),
        ("AZURE_CLIENT_ID", "s2s-example-api"),
    ];
    let config = s2s_api::Config::from_vars(&Vars::from_pairs(&pairs), s2s_api::DEFAULTS).unwrap();
    assert!(config.resource.accepted_audiences.is_empty());
    assert_eq!(config.resource.permissions("Files.Write"), ["Files.Write"]);

    let pairs = [
        ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ("AZURE_CLIENT_ID", "s2s-example-api"),
        ("REQUIRED_PERMISSIONS", "files.write, files.admin"),
    ];
    let config = s2s_api::Config::from_vars(&Vars::from_pairs(&pairs), s2s_api::DEFAULTS).unwrap();
    assert_eq!(
        config.resource.accepted_audiences,
        ["api://s2s-example-api"]
    );
    assert_eq!(
        config.resource.permissions("Files.Write"),
        ["files.write", "files.admin"]
    );
}

/// Alice's token for the middle tier (`aud` = `api://middle-api`, scope `middle.call`).
async fn alice_for_the_middle_tier(idp: &OidcProvider) -> String {
    let web = auth_client::ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id("web-app")
        .client_secret("web-app-secret-0123456789abcdef")
        .build()
        .unwrap();
    let redirect = "http://127.0.0.1:8080/callback";
    let start = web
        .authorization_url(
            auth_client::AuthorizationRequest::new(redirect)
                .scopes(["middle.call"])
                .resource("api://middle-api"),
        )
        .await
        .unwrap();
    let callback = support::follow_to_callback(&start.url, redirect).await;
    let response = auth_client::AuthorizationResponse::from_uri(&callback.parse().unwrap());
    web.redeem_code(&start.session, &response)
        .await
        .unwrap()
        .access_token
        .into_secret()
}

#[tokio::test]
async fn obo_internal_api_exchanges_alices_token_by_rfc8693_and_reads_the_shared_api() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let shared_pairs = [
        ("OIDC_ISSUER", idp.issuer.as_str()),
        ("AZURE_CLIENT_ID", "shared-api"),
        ("ACCEPTED_AUDIENCES", "api://shared-api"),
        ("REQUIRED_PERMISSIONS", "documents.read"),
        ("LISTEN_ADDR", "127.0.0.1:0"),
    ];
    let shared =
        examples::obo_shared_api::Config::from_vars(&Vars::from_pairs(&shared_pairs)).unwrap();
    let shared = server::spawn(
        server::bind(shared.listen).await.unwrap(),
        examples::obo_shared_api::router(&shared).await.unwrap(),
    );
    let shared_url = shared.url();
    let middle_pairs = [
        ("OIDC_ISSUER", idp.issuer.as_str()),
        ("AZURE_CLIENT_ID", "middle-tier"),
        ("AZURE_CLIENT_SECRET", "middle-tier-secret-0123456789abcdef"),
        ("ACCEPTED_AUDIENCES", "api://middle-api"),
        ("REQUIRED_PERMISSIONS", "middle.call"),
        ("SHARED_API_URL", shared_url.as_str()),
        ("SHARED_API_SCOPE", "documents.read"),
        ("SHARED_API_RESOURCE", "api://shared-api"),
        ("LISTEN_ADDR", "127.0.0.1:0"),
    ];
    let middle =
        examples::obo_internal_api::Config::from_vars(&Vars::from_pairs(&middle_pairs)).unwrap();
    let middle = server::spawn(
        server::bind(middle.listen).await.unwrap(),
        examples::obo_internal_api::router(&middle).await.unwrap(),
    );

    let token = alice_for_the_middle_tier(&idp).await;
    let answer = reqwest::Client::new()
        .get(format!("{}/process-documents", middle.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body = answer.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    // The shared API accepted Token B: only an RFC 8693 token for `api://shared-api` with
    // `documents.read` passes its configuration.
    assert_eq!(body, examples::obo_internal_api::CHAINED);
}
