//! Configuration from environment variables, and a resource API behind a plain OIDC provider.

mod common;

use auth_testkit::jwks_server::JwksServer;
use auth_testkit::{TestKey, TokenBuilder};
use examples::config::{Credential, Issuer};
use examples::local::Local;
use examples::{ClientConfig, ConfigError, ResourceConfig, Vars};
use std::time::Duration;

#[test]
fn resource_apis_read_the_azure_variables_with_defaults() {
    let pairs = [
        ("AZURE_TENANT_ID", "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10"),
        ("AZURE_CLIENT_ID", "ab7b81c6-507e-5ee7-979d-666ac6869a0d"),
        ("JWKS_MIN_REFRESH_SECS", "60"),
    ];
    let config = examples::auth_code_api::Config::from_vars(
        &Vars::from_pairs(&pairs),
        examples::auth_code_api::DEFAULTS,
    )
    .unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8081");
    assert_eq!(
        config.resource.issuer,
        Issuer::Entra {
            authority_host: "https://login.microsoftonline.com".to_owned(),
            tenant_id: "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10".to_owned(),
        }
    );
    assert_eq!(config.resource.accepted_audiences, ["api://backend-api-id"]);
    assert_eq!(
        config.resource.jwks_min_refresh,
        Some(Duration::from_secs(60))
    );

    let pairs = [
        ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/"),
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "c"),
        ("ACCEPTED_AUDIENCES", "api://a, api://b"),
        ("LISTEN_ADDR", "0.0.0.0:9000"),
    ];
    let config = examples::s2s_api::Config::from_vars(
        &Vars::from_pairs(&pairs),
        examples::s2s_api::DEFAULTS,
    )
    .unwrap();
    assert_eq!(config.resource.accepted_audiences, ["api://a", "api://b"]);
    assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
    assert!(matches!(
        config.resource.issuer,
        Issuer::Entra { ref authority_host, .. } if authority_host == "https://login.microsoftonline.us"
    ));
}

#[test]
fn missing_and_invalid_variables_are_named() {
    let err = examples::auth_code_api::Config::from_vars(
        &Vars::from_pairs(&[("AZURE_CLIENT_ID", "c")]),
        examples::auth_code_api::DEFAULTS,
    )
    .unwrap_err();
    assert!(err.to_string().contains("AZURE_TENANT_ID"), "{err}");
    assert!(err.to_string().contains("OIDC_ISSUER"), "{err}");

    let pairs = [
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "c"),
        ("JWKS_MIN_REFRESH_SECS", "soon"),
    ];
    let err = examples::obo_shared_api::Config::from_vars(&Vars::from_pairs(&pairs)).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                name: "JWKS_MIN_REFRESH_SECS",
                ..
            }
        ),
        "{err}"
    );

    let pairs = [
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "c"),
        ("LISTEN_ADDR", "port 80"),
    ];
    let err = examples::s2s_api::Config::from_vars(
        &Vars::from_pairs(&pairs),
        examples::s2s_api::DEFAULTS,
    )
    .unwrap_err();
    assert!(err.to_string().contains("LISTEN_ADDR"), "{err}");

    // No secret, certificate or federated token file: the managed identity, last in the
    // chain (azure-identity's order), user-assigned by AZURE_MANAGED_IDENTITY_CLIENT_ID.
    let pairs = [
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "c"),
        (
            "AZURE_MANAGED_IDENTITY_CLIENT_ID",
            "11111111-2222-3333-4444-555555555555",
        ),
        ("IDENTITY_ENDPOINT", "http://127.0.0.1:41234/msi/token"),
        ("IDENTITY_HEADER", "identity-header-secret"),
    ];
    let config = examples::s2s_consumer::Config::from_vars(&Vars::from_pairs(&pairs)).unwrap();
    let Credential::ManagedIdentity(settings) = &config.client.credential else {
        panic!("{config:?}");
    };
    assert_eq!(
        settings.user_assigned_client_id.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert!(!format!("{config:?}").contains("identity-header-secret"));

    let pairs = [
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "c"),
        ("AZURE_CLIENT_SECRET", "s"),
        ("EXTRA_CA_FILE", "/nonexistent/ca.pem"),
    ];
    let err = examples::s2s_consumer::Config::from_vars(&Vars::from_pairs(&pairs)).unwrap_err();
    assert!(err.to_string().contains("EXTRA_CA_FILE"), "{err}");
}

#[test]
fn clients_read_the_credential_and_never_show_the_secret() {
    let pairs = [
        ("AZURE_TENANT_ID", "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10"),
        ("AZURE_CLIENT_ID", "c7aef7e0-235d-52a9-a2b5-1575e3d8079b"),
        ("AZURE_CLIENT_SECRET", "super-secret-value"),
        ("BACKEND_API_URL", "https://cases.example.com/"),
        ("REDIRECT_URI", "https://app.example.com/redirect"),
    ];
    let config = examples::auth_code_client::Config::from_vars(
        &Vars::from_pairs(&pairs),
        examples::auth_code_client::DEFAULTS,
    )
    .unwrap();
    assert_eq!(config.api_url, "https://cases.example.com");
    assert_eq!(config.api_scope, "api://backend-api-id/Case.Create");
    assert!(matches!(config.client.credential, Credential::Secret(_)));
    assert!(!format!("{config:?}").contains("super-secret-value"));

    let pairs = [
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "c"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
    ];
    let config = ClientConfig::from_vars(&Vars::from_pairs(&pairs)).unwrap();
    assert!(matches!(
        config.credential,
        Credential::FederatedTokenFile(_)
    ));

    let pairs = [
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "c"),
        ("AZURE_CLIENT_SECRET", "s"),
        ("SHARED_API_URL", "ftp://x"),
    ];
    let err = examples::obo_internal_api::Config::from_vars(&Vars::from_pairs(&pairs)).unwrap_err();
    assert!(err.to_string().contains("SHARED_API_URL"), "{err}");
}

#[test]
fn the_emulators_https_ca_is_trusted_through_extra_ca_file() {
    let dir = std::env::temp_dir().join(format!("examples-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, emulator_ca()).unwrap();
    let pairs = [("EXTRA_CA_FILE", path.to_str().unwrap())];
    let http = examples::config::Http::from_vars(&Vars::from_pairs(&pairs)).unwrap();
    assert!(http.has_extra_roots());
    std::fs::remove_dir_all(&dir).ok();
}

/// The emulator's generated CA, as a PEM (started on a throwaway runtime).
fn emulator_ca() -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let idp = auth_testkit::Emulator::builder()
                .tls(true)
                .start()
                .await
                .unwrap();
            idp.ca_pem().unwrap().to_owned()
        })
}

#[tokio::test]
async fn a_resource_api_validates_the_tokens_of_a_plain_oidc_provider() {
    // A Keycloak-like provider: discovery at {issuer}/.well-known/openid-configuration, no
    // tenant, a client id that is not a GUID.
    let provider = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let issuer = provider.issuer("realms-acme");
    let pairs = [
        ("OIDC_ISSUER", issuer.as_str()),
        ("AZURE_CLIENT_ID", "files-api"),
    ];
    let config = examples::s2s_api::Config::from_vars(
        &Vars::from_pairs(&pairs),
        examples::s2s_api::DEFAULTS,
    )
    .unwrap();
    assert_eq!(config.resource.issuer, Issuer::Oidc(issuer.clone()));
    let running = examples::server::spawn(
        examples::server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
        examples::s2s_api::router(&config).await.unwrap(),
    );
    let url = format!("{}/upload", running.url());
    // An RFC 9068 app token (the default OIDC_PROVIDER profile): `client_id`, `sub` = the
    // client, the permission in `scope` (https://www.rfc-editor.org/rfc/rfc9068#section-2.2).
    let token = TokenBuilder::app()
        .claim("iss", issuer.as_str())
        .audience("files-api")
        .remove("tid")
        .remove("azp")
        .remove("appid")
        .remove("idtyp")
        .remove("oid")
        .claim("client_id", "nightly-job")
        .claim("sub", "nightly-job")
        .claim("scope", "Files.Write")
        .header("typ", "at+jwt")
        .sign();
    let answer = common::call("POST", &url, Some(&token), None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.body,
        "File uploaded successfully by Service: nightly-job"
    );

    let other_issuer = TokenBuilder::app()
        .audience("files-api")
        .roles(["Files.Write"])
        .sign();
    assert_eq!(
        common::call("POST", &url, Some(&other_issuer), None)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn an_api_pointed_at_the_emulators_issuer_as_plain_oidc_accepts_its_tokens() {
    let local = Local::start().await.unwrap();
    let api = local.idp.app("auth-code-api").client_id().to_owned();
    let issuer = local.idp.issuer();
    let pairs = [
        ("OIDC_ISSUER", issuer.as_str()),
        // Entra-shaped tokens at an exact issuer: the Entra profile reads them.
        ("OIDC_PROVIDER", "entra"),
        ("AZURE_CLIENT_ID", api.as_str()),
    ];
    let config = examples::auth_code_api::Config::from_vars(
        &Vars::from_pairs(&pairs),
        examples::auth_code_api::DEFAULTS,
    )
    .unwrap();
    let running = examples::server::spawn(
        examples::server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
        examples::auth_code_api::router(&config).await.unwrap(),
    );
    let redirect = format!("{}/callback", local.auth_code_client.url());
    let token = common::user_token(
        &local,
        "auth-code-client",
        &redirect,
        &[examples::local::CASE_CREATE],
        examples::local::ALICE,
    )
    .await;
    let answer = common::call(
        "POST",
        &format!("{}/create-case", running.url()),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[test]
fn resource_configs_build_authenticators_for_entra_and_for_oidc() {
    let entra = ResourceConfig::entra(
        "https://login.microsoftonline.com/",
        "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10",
        "ab7b81c6-507e-5ee7-979d-666ac6869a0d",
    )
    .audience("api://backend-api-id");
    assert!(
        matches!(&entra.issuer, Issuer::Entra { authority_host, .. } if authority_host == "https://login.microsoftonline.com")
    );
    // Building does no I/O (keys are fetched lazily); the configuration is valid.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        entra.authenticator_builder().unwrap().build().unwrap();
        let mut oidc = entra.clone();
        oidc.issuer = Issuer::Oidc("https://keycloak.example.com/realms/acme".to_owned());
        oidc.client_id = "not-a-guid".to_owned();
        oidc.authenticator_builder().unwrap().build().unwrap();
    });
}

/// One redirect-URI story: the web apps' default redirect URIs are `http://127.0.0.1:{port}/…`,
/// and the default tenant registers exactly that host, never `localhost` beside it. For
/// loopback redirect URIs Microsoft documents the port as ignored, and nothing for the host
/// (<https://learn.microsoft.com/en-us/entra/identity-platform/reply-url#localhost-exceptions>):
/// registering both forms would hide a mismatch a real tenant answers with AADSTS50011.
#[test]
fn default_redirect_uris_use_the_host_the_default_tenant_registers() {
    let default =
        examples::config::redirect_uri(None, "127.0.0.1:8080".parse().unwrap(), "/redirect");
    assert_eq!(default.unwrap(), "http://127.0.0.1:8080/redirect");
    let wildcard =
        examples::config::redirect_uri(None, "0.0.0.0:3000".parse().unwrap(), "/redirect");
    assert_eq!(wildcard.unwrap(), "http://127.0.0.1:3000/redirect");

    let tenant = auth_testkit::emulator::TenantConfig::default_tenant();
    let registered: Vec<&String> = tenant
        .apps()
        .iter()
        .flat_map(|app| app.redirect_uris())
        .collect();
    assert!(!registered.is_empty());
    for uri in &registered {
        assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    }
    for (app, path) in [
        ("auth-code-client", "http://127.0.0.1:8080/redirect"),
        ("obo-example-frontend", "http://127.0.0.1:3000/redirect"),
    ] {
        let uris = tenant.app(app).unwrap().redirect_uris();
        assert!(uris.iter().any(|u| u == path), "{app}: {uris:?}");
    }
}
