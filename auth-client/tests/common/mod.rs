//! Helpers shared by the test binaries: clients of the emulator's apps, a signed-in user, a
//! client certificate registered in the tenant, a test clock.
#![allow(dead_code)]

use std::time::Duration;

use auth_client::{
    AuthorizationRequest, AuthorizationResponse, ConfidentialClient, ConfidentialClientBuilder,
    UserTokens,
};
use auth_testkit::emulator::{DEFAULT_TENANT_TOML, Emulator, TenantConfig};
use auth_testkit::{TestKey, base64url};
use serde_json::{Value, json};

pub(crate) const ALICE: &str = "alice@example.onmicrosoft.com";
pub(crate) const WEB_REDIRECT: &str = "http://127.0.0.1:8080/callback";
pub(crate) const FRONTEND_REDIRECT: &str = "http://127.0.0.1:3000/redirect";
pub(crate) const S2S_SCOPE: &str = "api://s2s-example-api/.default";
pub(crate) const SHARED_READ: &str = "api://shared-documents/Documents.Read";
pub(crate) const INTERNAL_SCOPE: &str = "api://obo-example-internal-api/user_impersonation";
pub(crate) const CASE_CREATE: &str = "api://backend-api-id/Case.Create";

/// A builder for the emulator app `app`, authenticating with its secret.
pub(crate) fn builder(idp: &Emulator, app: &str) -> ConfidentialClientBuilder {
    let app = idp.app(app);
    ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(app.client_id())
        .client_secret(app.secret())
        .retry_delay(Duration::from_millis(20))
}

pub(crate) fn client(idp: &Emulator, app: &str) -> ConfidentialClient {
    builder(idp, app).build().unwrap()
}

/// A browser that does not follow redirects.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens `url` (the emulator auto-logs in) and returns the callback's parameters.
pub(crate) async fn follow(url: &str) -> AuthorizationResponse {
    let response = browser().get(url).send().await.unwrap();
    assert_eq!(response.status(), 302, "{:?}", response.text().await);
    let location: http::Uri = response.headers()["location"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    AuthorizationResponse::from_uri(&location)
}

/// Signs Alice in to `client` for `scopes` (the emulator must auto-login).
pub(crate) async fn sign_in(
    client: &ConfidentialClient,
    redirect: &str,
    scopes: &[&str],
) -> UserTokens {
    let start = client
        .authorization_url(AuthorizationRequest::new(redirect).scopes(scopes.iter().copied()))
        .await
        .unwrap();
    let callback = follow(&start.url).await;
    client.redeem_code(&start.session, &callback).await.unwrap()
}

/// Alice's token for the internal API (Token A), obtained by the frontend.
pub(crate) async fn token_a(idp: &Emulator) -> String {
    let frontend = client(idp, "obo-example-frontend");
    sign_in(&frontend, FRONTEND_REDIRECT, &[INTERNAL_SCOPE])
        .await
        .access_token
        .into_secret()
}

/// The payload of a JWT, unverified.
pub(crate) fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&auth_testkit::base64url_decode(payload).unwrap()).unwrap()
}

/// A self-signed certificate for the testkit's `rsa-b` key, and the key (PKCS#8 PEM).
pub(crate) fn certificate() -> (String, String) {
    let key_pem = TestKey::rsa_b().private_key_pem();
    let key = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["cert-daemon".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    (cert, key_pem)
}

/// The default tenant plus `cert-daemon` (authenticates with [`certificate`], holds
/// `Files.Write` on the S2S API) and `unconsented-middle-tier` (no admin consent for the
/// shared API).
pub(crate) fn extended_tenant() -> TenantConfig {
    let (cert, _) = certificate();
    let text = format!(
        r#"{DEFAULT_TENANT_TOML}
[[apps]]
name = "cert-daemon"
certificates = ['''{cert}''']
[[apps.required_resource_access]]
resource = "s2s-example-api"
roles = ["Files.Write"]
admin_consent = true

[[apps]]
name = "unconsented-middle-tier"
identifier_uris = ["api://unconsented-middle-tier"]
secrets = ["middle-secret"]
scopes = ["user_impersonation"]
redirect_uris = ["http://localhost:4000/redirect"]
[[apps.required_resource_access]]
resource = "api://shared-documents"
scopes = ["Documents.Read"]
admin_consent = false
"#
    );
    TenantConfig::from_toml_str(&text).unwrap()
}

pub(crate) async fn extended_emulator() -> Emulator {
    Emulator::builder()
        .tenant(extended_tenant())
        .auto_login(ALICE)
        .start()
        .await
        .unwrap()
}

/// A client assertion for `cert-daemon` signed outside the client (PS256, `x5t#S256`): what a
/// federated credential file or callback would hold.
pub(crate) fn external_assertion(idp: &Emulator) -> String {
    let app = idp.app("cert-daemon");
    let cert = &app.certificates()[0];
    let header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()});
    let now = idp.now();
    let jti = base64url(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            .to_le_bytes(),
    );
    let claims = json!({
        "aud": idp.token_endpoint(),
        "iss": app.client_id(),
        "sub": app.client_id(),
        "jti": jti,
        "nbf": now,
        "exp": now + 600,
    });
    let input = format!(
        "{}.{}",
        base64url(header.to_string()),
        base64url(claims.to_string())
    );
    let sig = TestKey::rsa_b().sign("PS256", input.as_bytes());
    format!("{input}.{}", base64url(sig))
}
