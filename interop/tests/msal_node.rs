//! Microsoft's own `@azure/msal-node` (pinned in `interop/msal-node/package-lock.json`) drives
//! the Entra emulator over TLS: client credentials with a secret and with a certificate, the
//! authorization code flow with PKCE (the emulator's auto-login), and On-Behalf-Of. The tokens
//! MSAL got are checked here, in Rust, by auth-layer against the emulator's keys.

mod support;

use auth_layer::{Authenticator, TokenKind};
use auth_testkit::TestKey;
use auth_testkit::emulator::{DEFAULT_TENANT_TOML, TenantConfig};
use auth_testkit::{Emulator, EmulatorBuilder};
use serde_json::{Value, json};
use support::{claims, require_node, spawn_node};

const ALICE: &str = "alice@example.onmicrosoft.com";

/// A self-signed certificate over `TestKey::rsa_b()` for `msal-cert-daemon`.
fn certificate() -> (String, String) {
    let key_pem = TestKey::rsa_b().private_key_pem();
    let key = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["msal-cert-daemon".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    (cert, key_pem)
}

fn tenant(cert: &str) -> TenantConfig {
    let text = format!(
        r#"{DEFAULT_TENANT_TOML}
[[apps]]
name = "msal-cert-daemon"
certificates = ['''{cert}''']
[[apps.required_resource_access]]
resource = "s2s-example-api"
roles = ["Files.Write"]
admin_consent = true
"#
    );
    TenantConfig::from_toml_str(&text).unwrap()
}

async fn run_msal(idp: &Emulator, cert: &str, key: &str) -> Value {
    let ca = std::env::temp_dir().join(format!("interop-msal-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, idp.ca_pem().unwrap()).unwrap();
    let host = idp
        .base_url()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let app = |name: &str| idp.app(name);
    let config = json!({
        "authority": idp.authority(),
        "known_authority": host,
        "s2s": {
            "client_id": app("s2s-example-consumer").client_id(),
            "secret": app("s2s-example-consumer").secret(),
            "scope": "api://s2s-example-api/.default",
        },
        "cert": {
            "client_id": app("msal-cert-daemon").client_id(),
            "cert_pem": cert,
            "key_pem": key,
            "scope": "api://s2s-example-api/.default",
        },
        "web": {
            "client_id": app("obo-example-frontend").client_id(),
            "secret": app("obo-example-frontend").secret(),
            "redirect_uri": "http://127.0.0.1:3000/redirect",
            "scope": "api://obo-example-internal-api/user_impersonation",
        },
        "middle": {
            "client_id": app("obo-example-internal-api").client_id(),
            "secret": app("obo-example-internal-api").secret(),
            "scope": "api://shared-documents/Documents.Read",
        },
    });
    let (_child, line) = spawn_node(
        "msal-node",
        "msal.js",
        &[
            ("MSAL_CONFIG", config.to_string()),
            ("NODE_EXTRA_CA_CERTS", ca.display().to_string()),
        ],
    )
    .await;
    let _ = std::fs::remove_file(&ca);
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("msal.js printed {line:?}: {e}"))
}

fn access_token<'a>(result: &'a Value, flow: &str) -> &'a str {
    result[flow]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{flow}: {}", result[flow]))
}

fn authenticator(idp: &Emulator, api: &str) -> Authenticator {
    let mut builder = Authenticator::builder();
    // v1 tokens carry the App ID URI as `aud`, v2 tokens the client id.
    for uri in idp.app(api).identifier_uris() {
        builder = builder.audience(uri);
    }
    builder
        .instance(idp.base_url())
        .tenant_id(idp.tenant_id())
        .client_id(idp.app(api).client_id())
        .http_client(
            reqwest::Client::builder()
                .add_root_certificate(
                    reqwest::Certificate::from_pem(idp.ca_pem().unwrap().as_bytes()).unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn msal_node_gets_app_user_and_obo_tokens_from_the_emulator() {
    if require_node("msal-node").is_none() {
        return;
    }
    let (cert, key) = certificate();
    let idp = EmulatorBuilder::default()
        .tenant(tenant(&cert))
        .tls(true)
        .auto_login(ALICE)
        .start()
        .await
        .unwrap();
    let result = run_msal(&idp, &cert, &key).await;

    // Client credentials, secret: an app token with the admin-consented role.
    let token = access_token(&result, "client_credentials_secret");
    let app = authenticator(&idp, "s2s-example-api")
        .authenticate(token)
        .await
        .unwrap();
    assert_eq!(app.kind(), TokenKind::App);
    assert!(app.has_role("Files.Write"));
    assert_eq!(
        app.client_id(),
        Some(idp.app("s2s-example-consumer").client_id())
    );
    assert_eq!(claims(token)["azpacr"], "1");

    // Client credentials, certificate: PS256 assertion with x5t#S256 ⇒ azpacr 2.
    let token = access_token(&result, "client_credentials_certificate");
    let app = authenticator(&idp, "s2s-example-api")
        .authenticate(token)
        .await
        .unwrap();
    assert_eq!(
        app.client_id(),
        Some(idp.app("msal-cert-daemon").client_id())
    );
    assert_eq!(claims(token)["azpacr"], "2");

    // Authorization code + PKCE: Alice's delegated token for the internal API (v1 token).
    let token = access_token(&result, "auth_code");
    let user = authenticator(&idp, "obo-example-internal-api")
        .authenticate(token)
        .await
        .unwrap();
    assert_eq!(user.kind(), TokenKind::Delegated);
    assert!(user.scopes().contains("user_impersonation"));
    assert_eq!(user.username(), Some(ALICE));
    let id_token = result["auth_code"]["id_token"].as_str().unwrap();
    assert_eq!(
        claims(id_token)["aud"],
        idp.app("obo-example-frontend").client_id()
    );

    // On-Behalf-Of: the middle tier's token for the shared API, still Alice's.
    let token = access_token(&result, "on_behalf_of");
    let obo = authenticator(&idp, "obo-example-shared-api")
        .authenticate(token)
        .await
        .unwrap();
    assert_eq!(obo.kind(), TokenKind::Delegated);
    assert!(obo.scopes().contains("Documents.Read"));
    assert_eq!(obo.object_id(), user.object_id());
    assert_eq!(
        obo.client_id(),
        Some(idp.app("obo-example-internal-api").client_id())
    );
}
