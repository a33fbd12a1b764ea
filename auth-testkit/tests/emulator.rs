//! The Entra emulator end to end: real HTTP (reqwest) against the in-process emulator on
//! `127.0.0.1:0`, tokens checked with auth-layer's validator and JWKS cache, and the
//! `entra-emulator` binary spawned.

use std::time::Duration;

use auth_layer::{Authenticator, TokenKind};
use auth_testkit::emulator::{
    AppRegistration, DEFAULT_TENANT_TOML, Emulator, Fault, Grant, TenantConfig,
};
use auth_testkit::{TestKey, base64url, base64url_decode, ids};
use aws_lc_rs::digest;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE: &str = "alice@example.onmicrosoft.com";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64url_decode(payload).unwrap()).unwrap()
}

fn header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&base64url_decode(header).unwrap()).unwrap()
}

async fn token(idp: &Emulator, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client()
        .post(idp.token_endpoint())
        .header("client-request-id", "7f0c5b7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Asserts an Entra-shaped error with this status, `error` and AADSTS code.
fn assert_aad(status: StatusCode, body: &Value, expected: (u16, &str, u64)) {
    let (code, error, aadsts) = expected;
    assert_eq!(status.as_u16(), code, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([aadsts]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{aadsts}: ")),
        "{description}"
    );
    for member in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[member].is_string(), "{member} in {body}");
    }
}

async fn client_credentials(idp: &Emulator, consumer: &str, scope: &str) -> (StatusCode, Value) {
    let app = idp.app(consumer);
    token(
        idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id()),
            ("client_secret", app.secret()),
            ("scope", scope),
        ],
    )
    .await
}

/// An authenticator for `api`, its keys fetched from the emulator by discovery.
async fn authenticator(idp: &Emulator, api: &AppRegistration) -> Authenticator {
    let mut builder = Authenticator::builder()
        .tenant_id(idp.tenant_id())
        .client_id(api.client_id())
        .instance(idp.base_url())
        .min_refresh_interval(Duration::ZERO)
        .http_client(idp.http_client());
    for uri in api.identifier_uris() {
        builder = builder.audience(uri);
    }
    builder.build_and_fetch().await.unwrap()
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_url(idp: &Emulator, client: &AppRegistration, redirect: &str, scope: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("client_id", client.client_id()),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("client_info", "1"),
        ("x-client-SKU", "msal.js.node"),
        ("client-request-id", "c0ffee"),
    ])
    .unwrap();
    format!("{}?{query}", idp.authorization_endpoint())
}

fn location_params(response: &reqwest::Response) -> Vec<(String, String)> {
    let location = response.headers()["location"].to_str().unwrap();
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    serde_urlencoded::from_str(query).unwrap()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Signs in through the HTML form and returns the code.
async fn sign_in(idp: &Emulator, client_app: &str, redirect: &str, scope: &str) -> String {
    let http = client();
    let app = idp.app(client_app);
    let page = http
        .get(authorize_url(idp, app, redirect, scope))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let tx = html
        .split("name=\"login_tx\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let response = http
        .post(idp.authorization_endpoint())
        .form(&[
            ("login_tx", tx.as_str()),
            ("username", ALICE),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let params = location_params(&response);
    assert_eq!(param(&params, "state"), Some("st4te"));
    param(&params, "code").unwrap().to_owned()
}

async fn redeem(
    idp: &Emulator,
    client_app: &str,
    code: &str,
    redirect: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    let app = idp.app(client_app);
    token(
        idp,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", app.client_id()),
            ("client_secret", app.secret()),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await
}

const AUTH_CODE_REDIRECT: &str = "http://127.0.0.1:8080/callback";
const FRONTEND_REDIRECT: &str = "http://127.0.0.1:3000/redirect";

// ---------------------------------------------------------------------------------------------
// Discovery and keys

#[tokio::test]
async fn discovery_documents_point_at_the_emulator_and_match_the_tenant_case_insensitively() {
    let idp = Emulator::start().await;
    let http = client();
    let upper = idp.tenant_id().to_ascii_uppercase();
    let v2: Value = http
        .get(format!(
            "{}/{upper}/v2.0/.well-known/openid-configuration?appid=x",
            idp.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v2["issuer"], idp.issuer());
    assert_eq!(v2["token_endpoint"], idp.token_endpoint());
    assert_eq!(v2["authorization_endpoint"], idp.authorization_endpoint());
    assert_eq!(v2["jwks_uri"], idp.jwks_uri());
    assert_eq!(
        v2["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert!(idp.issuer().starts_with(idp.base_url()));

    let v1: Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            idp.authority()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1["issuer"], idp.v1_issuer());
    assert_eq!(
        idp.v1_issuer(),
        format!("https://sts.windows.net/{}/", idp.tenant_id())
    );

    for multi in ["common", "organizations"] {
        let doc: Value = http
            .get(format!(
                "{}/{multi}/v2.0/.well-known/openid-configuration",
                idp.base_url()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["issuer"],
            format!("{}/{{tenantid}}/v2.0", idp.base_url())
        );
    }

    let instance: Value = http
        .get(format!(
            "{}/common/discovery/instance?api-version=1.1",
            idp.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(instance["tenant_discovery_endpoint"], idp.metadata_url());

    let response = http
        .get(format!(
            "{}/contoso.example/v2.0/.well-known/openid-configuration",
            idp.base_url()
        ))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_aad(
        status,
        &response.json().await.unwrap(),
        (400, "invalid_tenant", 90002),
    );
    assert_eq!(idp.discovery_hits(), 4);
}

#[tokio::test]
async fn jwks_publishes_entra_shaped_keys_with_certificates_and_issuer() {
    let idp = Emulator::start().await;
    let http = client();
    let keys: Value = http
        .get(idp.jwks_uri())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &keys["keys"][0];
    for member in ["kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"] {
        assert!(!key[member].is_null(), "{member}: {key}");
    }
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], key["x5t"]);
    assert_eq!(key["kid"], idp.signing_kid());
    assert_eq!(key["issuer"], idp.issuer());
    // x5t is the SHA-1 thumbprint of the x5c certificate.
    use base64::Engine as _;
    let cert = base64::engine::general_purpose::STANDARD
        .decode(key["x5c"][0].as_str().unwrap())
        .unwrap();
    let thumb = base64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &cert));
    assert_eq!(key["x5t"], thumb);

    let common: Value = http
        .get(format!("{}/common/discovery/keys", idp.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        common["keys"][0]["issuer"],
        format!("{}/{{tenantid}}/v2.0", idp.base_url())
    );
}

// ---------------------------------------------------------------------------------------------
// Client credentials

#[tokio::test]
async fn client_credentials_token_carries_admin_consented_roles_and_validates() {
    let idp = Emulator::start().await;
    let api = idp.app("s2s-example-api");
    let consumer = idp.app("s2s-example-consumer");
    let (status, body) =
        client_credentials(&idp, "s2s-example-consumer", &api.default_scope()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["ext_expires_in"], 3600);
    let access = body["access_token"].as_str().unwrap();
    let c = claims(access);
    assert_eq!(c["roles"], json!(["Files.Write"]));
    assert!(c.get("idtyp").is_none(), "Entra's default: no idtyp: {c}");
    assert_eq!(c["oid"], consumer.service_principal_id());
    assert_eq!(c["sub"], c["oid"]);
    assert_eq!(c["azp"], consumer.client_id());
    assert_eq!(c["azpacr"], "1");
    assert_eq!(
        c["aud"],
        api.client_id(),
        "v2 resource: aud is the client id"
    );
    assert_eq!(c["iss"], idp.issuer());
    assert_eq!(header(access)["typ"], "JWT");
    assert_eq!(header(access)["kid"], idp.signing_kid());

    let auth = authenticator(&idp, api).await;
    let principal = auth.authenticate(access).await.unwrap();
    assert_eq!(principal.kind(), TokenKind::App);
    assert!(principal.has_role("Files.Write"));
    assert_eq!(idp.token_requests(Grant::ClientCredentials), 1);
}

#[tokio::test]
async fn client_credentials_without_admin_consent_gets_a_token_without_roles() {
    let idp = Emulator::start().await;
    let api = idp.app("s2s-example-api");
    let (status, body) = client_credentials(
        &idp,
        "s2s-example-consumer-unconsented",
        &api.default_scope(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert!(c.get("roles").is_none(), "{c}");
    assert!(c.get("idtyp").is_none(), "Entra's default: no idtyp: {c}");
}

#[tokio::test]
async fn client_credentials_needs_exactly_one_default_scope() {
    let idp = Emulator::start().await;
    for scope in [
        "api://s2s-example-api/Files.Write",
        "api://s2s-example-api/.default api://backend-api-id/.default",
        "openid",
    ] {
        let (status, body) = client_credentials(&idp, "s2s-example-consumer", scope).await;
        assert_aad(status, &body, (400, "invalid_scope", 1002012));
    }
    let (status, body) =
        client_credentials(&idp, "s2s-example-consumer", "api://nope/.default").await;
    assert_aad(status, &body, (400, "invalid_resource", 500011));
}

#[tokio::test]
async fn v1_resource_gets_v1_tokens_with_the_sts_issuer() {
    let idp = Emulator::start().await;
    // obo-example-internal-api takes v1 tokens; s2s-example-consumer has no access to it, so
    // the token has no roles but is still a v1 app token.
    let api = idp.app("obo-example-internal-api");
    let (status, body) =
        client_credentials(&idp, "s2s-example-consumer", &api.default_scope()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let c = claims(access);
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["iss"], idp.v1_issuer());
    assert_eq!(c["aud"], "api://obo-example-internal-api");
    assert_eq!(c["appid"], idp.app("s2s-example-consumer").client_id());
    assert_eq!(c["appidacr"], "1");
    assert_eq!(header(access)["x5t"], header(access)["kid"]);
    let auth = authenticator(&idp, api).await;
    auth.authenticate(access).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Client authentication

#[tokio::test]
async fn unknown_client_and_bad_secret_are_refused_like_entra() {
    let idp = Emulator::start().await;
    let scope = idp.app("s2s-example-api").default_scope();
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "11111111-2222-3333-4444-555555555555"),
            ("client_secret", "x"),
            ("scope", &scope),
        ],
    )
    .await;
    assert_aad(status, &body, (400, "unauthorized_client", 700016));
    assert_eq!(
        body["correlation_id"],
        "7f0c5b7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
    );

    let consumer = idp.app("s2s-example-consumer");
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", consumer.client_id()),
            ("client_secret", "wrong"),
            ("scope", &scope),
        ],
    )
    .await;
    assert_aad(status, &body, (401, "invalid_client", 7000215));

    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", consumer.client_id()),
            ("scope", &scope),
        ],
    )
    .await;
    assert_aad(status, &body, (401, "invalid_client", 7000218));
}

#[tokio::test]
async fn http_basic_client_authentication_works() {
    let idp = Emulator::start().await;
    let consumer = idp.app("s2s-example-consumer");
    let response = client()
        .post(idp.token_endpoint())
        .basic_auth(consumer.client_id(), Some(consumer.secret()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", &idp.app("s2s-example-api").default_scope()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// A tenant adding an app that authenticates with a certificate (the public half of
/// `rsa-b`), and a middle tier without admin consent for its downstream API.
fn extended_tenant() -> TenantConfig {
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &TestKey::rsa_b().pkcs8_der().to_vec().into(),
        &rcgen::PKCS_RSA_SHA256,
    )
    .unwrap();
    let cert = rcgen::CertificateParams::new(vec!["cert-client".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    let text = format!(
        r#"{DEFAULT_TENANT_TOML}
[[apps]]
name = "cert-client"
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

fn assertion(idp: &Emulator, alg: &str, claims_edit: impl FnOnce(&mut Value)) -> String {
    let app = idp.app("cert-client");
    let cert = &app.certificates()[0];
    let header = match alg {
        "PS256" => json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()}),
        _ => json!({"alg": alg, "typ": "JWT", "x5t": cert.x5t()}),
    };
    let now = idp.now();
    let mut c = json!({
        "aud": idp.token_endpoint(),
        "iss": app.client_id(),
        "sub": app.client_id(),
        "jti": base64url(digest::digest(&digest::SHA256, format!("{alg}{now}{}", rand_suffix()).as_bytes())),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    });
    claims_edit(&mut c);
    let input = format!(
        "{}.{}",
        base64url(header.to_string()),
        base64url(c.to_string())
    );
    let sig = TestKey::rsa_b().sign(alg, input.as_bytes());
    format!("{input}.{}", base64url(sig))
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn assertion_request(idp: &Emulator, assertion: &str) -> (StatusCode, Value) {
    token(
        idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", idp.app("cert-client").client_id()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", "api://s2s-example-api/.default"),
        ],
    )
    .await
}

#[tokio::test]
async fn client_assertions_with_rs256_and_ps256_authenticate_and_bad_ones_are_refused_like_entra() {
    let idp = Emulator::builder()
        .tenant(extended_tenant())
        .start()
        .await
        .unwrap();
    for alg in ["RS256", "PS256"] {
        let (status, body) = assertion_request(&idp, &assertion(&idp, alg, |_| {})).await;
        assert_eq!(status, StatusCode::OK, "{alg}: {body}");
        let c = claims(body["access_token"].as_str().unwrap());
        assert_eq!(c["azpacr"], "2", "certificate authentication");
        assert_eq!(c["roles"], json!(["Files.Write"]));
    }
    // Replayed jti.
    let once = assertion(&idp, "RS256", |_| {});
    assert_eq!(assertion_request(&idp, &once).await.0, StatusCode::OK);
    let (status, body) = assertion_request(&idp, &once).await;
    assert_aad(status, &body, (401, "invalid_client", 700027));
    // Wrong audience, wrong issuer, tampered signature.
    let bad_aud = assertion(&idp, "RS256", |c| {
        c["aud"] = json!("https://elsewhere/token")
    });
    let (status, body) = assertion_request(&idp, &bad_aud).await;
    assert_aad(status, &body, (401, "invalid_client", 700023));
    let bad_iss = assertion(&idp, "RS256", |c| c["iss"] = json!(ids::CLIENT_APP_ID));
    let (status, body) = assertion_request(&idp, &bad_iss).await;
    assert_aad(status, &body, (401, "invalid_client", 700021));
    let mut tampered = assertion(&idp, "RS256", |_| {});
    tampered.replace_range(tampered.len() - 6.., "AAAAAA");
    let (status, body) = assertion_request(&idp, &tampered).await;
    assert_aad(status, &body, (401, "invalid_client", 700027));
    // Expired, or far too long-lived.
    let expired = assertion(&idp, "RS256", |c| c["exp"] = json!(idp.now() - 3600));
    let (status, body) = assertion_request(&idp, &expired).await;
    assert_aad(status, &body, (401, "invalid_client", 700024));
    let long = assertion(&idp, "RS256", |c| c["exp"] = json!(idp.now() + 86_400));
    let (status, body) = assertion_request(&idp, &long).await;
    assert_aad(status, &body, (401, "invalid_client", 700024));
}

// ---------------------------------------------------------------------------------------------
// Authorization code + PKCE

#[tokio::test]
async fn sign_in_page_is_accessible_and_reports_bad_credentials() {
    let idp = Emulator::start().await;
    let http = client();
    let app = idp.app("auth-code-client");
    let html = http
        .get(authorize_url(
            &idp,
            app,
            AUTH_CODE_REDIRECT,
            "openid api://backend-api-id/Case.Create",
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<label for=\"username\">"), "{html}");
    assert!(html.contains("<label for=\"password\">"), "{html}");
    assert!(html.contains("lang=\"en\""));
    assert!(html.contains("auth-code-client"));
    let tx = html
        .split("name=\"login_tx\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let retry = http
        .post(idp.authorization_endpoint())
        .form(&[("login_tx", tx), ("username", ALICE), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), StatusCode::OK);
    let html = retry.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("AADSTS50126"), "{html}");
    assert!(
        html.contains(&format!("value=\"{ALICE}\"")),
        "username kept: {html}"
    );
}

#[tokio::test]
async fn authorization_code_with_pkce_issues_tokens_that_validate() {
    let idp = Emulator::start().await;
    let api = idp.app("auth-code-api");
    let client_app = idp.app("auth-code-client");
    let scope = "openid profile offline_access api://backend-api-id/Case.Create";
    let code = sign_in(&idp, "auth-code-client", AUTH_CODE_REDIRECT, scope).await;
    let (status, body) = redeem(
        &idp,
        "auth-code-client",
        &code,
        AUTH_CODE_REDIRECT,
        VERIFIER,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 300);
    assert!(body["refresh_token"].is_string());
    assert!(
        body["scope"]
            .as_str()
            .unwrap()
            .contains("api://backend-api-id/Case.Create"),
        "{body}"
    );
    let access = body["access_token"].as_str().unwrap();
    let c = claims(access);
    assert_eq!(c["aud"], api.client_id());
    assert_eq!(c["scp"], "Case.Create");
    assert_eq!(c["azp"], client_app.client_id());
    assert_eq!(c["oid"], ids::USER_OID);
    assert_eq!(c["preferred_username"], ALICE);
    assert_eq!(c["roles"], json!(["Case.Approver"]), "alice's app role");

    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], client_app.client_id());
    assert_eq!(id["nonce"], "n0nce");
    assert_eq!(id["iss"], idp.issuer());
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["name"], "Alice Example");

    let info: Value =
        serde_json::from_slice(&base64url_decode(body["client_info"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(info, json!({"uid": ids::USER_OID, "utid": idp.tenant_id()}));

    let auth = authenticator(&idp, api).await;
    let principal = auth.authenticate(access).await.unwrap();
    assert_eq!(principal.kind(), TokenKind::Delegated);
    assert!(principal.scopes().contains("Case.Create"));
    assert_eq!(idp.token_requests(Grant::AuthorizationCode), 1);
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_pkce_and_redirect_uri() {
    let idp = Emulator::start().await;
    let scope = "openid api://backend-api-id/Case.Create";
    let code = sign_in(&idp, "auth-code-client", AUTH_CODE_REDIRECT, scope).await;
    let (status, body) = redeem(
        &idp,
        "auth-code-client",
        &code,
        AUTH_CODE_REDIRECT,
        "wrong-verifier",
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 501481));
    let (status, body) = redeem(
        &idp,
        "auth-code-client",
        &code,
        "http://127.0.0.1:8080/other",
        VERIFIER,
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 50011));
    let (status, _) = redeem(
        &idp,
        "auth-code-client",
        &code,
        AUTH_CODE_REDIRECT,
        VERIFIER,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = redeem(
        &idp,
        "auth-code-client",
        &code,
        AUTH_CODE_REDIRECT,
        VERIFIER,
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 54005));
    let (status, body) = redeem(
        &idp,
        "auth-code-client",
        "made-up",
        AUTH_CODE_REDIRECT,
        VERIFIER,
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 70008));

    // Codes expire after ten minutes.
    let code = sign_in(&idp, "auth-code-client", AUTH_CODE_REDIRECT, scope).await;
    idp.advance_clock(Duration::from_secs(11 * 60));
    let (status, body) = redeem(
        &idp,
        "auth-code-client",
        &code,
        AUTH_CODE_REDIRECT,
        VERIFIER,
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 70008));
}

#[tokio::test]
async fn authorize_refuses_unknown_clients_and_unregistered_redirect_uris_without_redirecting() {
    let idp = Emulator::start().await;
    let http = client();
    let app = idp.app("auth-code-client");
    let response = http
        .get(authorize_url(
            &idp,
            app,
            "https://evil.example/callback",
            "openid",
        ))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_aad(
        status,
        &response.json().await.unwrap(),
        (400, "invalid_request", 50011),
    );

    // Loopback redirect URIs match on any port.
    let response = http
        .get(authorize_url(
            &idp,
            app,
            "http://127.0.0.1:49152/callback",
            "openid",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let url = authorize_url(&idp, app, AUTH_CODE_REDIRECT, "openid")
        .replace(app.client_id(), "99999999-9999-4999-8999-999999999999");
    let response = http.get(url).send().await.unwrap();
    let status = response.status();
    assert_aad(
        status,
        &response.json().await.unwrap(),
        (400, "unauthorized_client", 700016),
    );
}

#[tokio::test]
async fn authorize_redirects_scope_errors_back_to_the_client() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let http = client();
    let app = idp.app("auth-code-client");
    let response = http
        .get(authorize_url(
            &idp,
            app,
            AUTH_CODE_REDIRECT,
            "api://backend-api-id/Case.Delete",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let params = location_params(&response);
    assert_eq!(param(&params, "error"), Some("invalid_client"));
    assert!(
        param(&params, "error_description")
            .unwrap()
            .starts_with("AADSTS650053")
    );
    assert_eq!(param(&params, "state"), Some("st4te"));

    let url = authorize_url(&idp, app, AUTH_CODE_REDIRECT, "openid")
        .replace("response_type=code", "response_type=id_token");
    let params = location_params(&http.get(url).send().await.unwrap());
    assert!(
        param(&params, "error_description")
            .unwrap()
            .starts_with("AADSTS700054")
    );
}

#[tokio::test]
async fn a_token_request_for_two_resources_or_an_unexposed_scope_fails_like_entra() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let scope = "openid api://backend-api-id/Case.Create";
    let code = sign_in_auto(&idp, "auth-code-client", AUTH_CODE_REDIRECT, scope).await;
    let app = idp.app("auth-code-client");
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", app.client_id()),
            ("client_secret", app.secret()),
            ("code", &code),
            ("redirect_uri", AUTH_CODE_REDIRECT),
            ("code_verifier", VERIFIER),
            (
                "scope",
                "api://backend-api-id/Case.Create api://shared-documents/Documents.Read",
            ),
        ],
    )
    .await;
    assert_aad(status, &body, (400, "invalid_scope", 28000));
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", app.client_id()),
            ("client_secret", app.secret()),
            ("code", &code),
            ("redirect_uri", AUTH_CODE_REDIRECT),
            ("code_verifier", VERIFIER),
            ("scope", "api://backend-api-id/Case.Destroy"),
        ],
    )
    .await;
    assert_aad(status, &body, (400, "invalid_client", 650053));
}

/// Signs in with auto-login (no page) and returns the code.
async fn sign_in_auto(idp: &Emulator, client_app: &str, redirect: &str, scope: &str) -> String {
    let response = client()
        .get(authorize_url(idp, idp.app(client_app), redirect, scope))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let params = location_params(&response);
    assert_eq!(param(&params, "state"), Some("st4te"));
    assert!(param(&params, "client_info").is_some());
    param(&params, "code").unwrap().to_owned()
}

#[tokio::test]
async fn form_post_response_mode_posts_the_code_back() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let app = idp.app("auth-code-client");
    let url = format!(
        "{}&response_mode=form_post",
        authorize_url(&idp, app, AUTH_CODE_REDIRECT, "openid")
    );
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("action=\"{AUTH_CODE_REDIRECT}\"")),
        "{html}"
    );
    assert!(html.contains("name=\"code\""), "{html}");
    assert!(html.contains("name=\"state\" value=\"st4te\""), "{html}");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let idp = Emulator::start().await;
    let app = idp.app("auth-code-client");
    let url = format!(
        "{}&prompt=none",
        authorize_url(&idp, app, AUTH_CODE_REDIRECT, "openid")
    );
    let params = location_params(&client().get(url).send().await.unwrap());
    assert_eq!(param(&params, "error"), Some("login_required"));
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens

#[tokio::test]
async fn refresh_tokens_rotate_and_can_ask_for_another_resource_with_consent() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let app = idp.app("auth-code-client");
    let scope = "openid offline_access api://backend-api-id/Case.Create";
    let code = sign_in_auto(&idp, "auth-code-client", AUTH_CODE_REDIRECT, scope).await;
    let (_, first) = redeem(
        &idp,
        "auth-code-client",
        &code,
        AUTH_CODE_REDIRECT,
        VERIFIER,
    )
    .await;
    let rt = first["refresh_token"].as_str().unwrap();
    let refresh = |scope: &'static str, rt: String| {
        let idp = &idp;
        async move {
            token(
                idp,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", app.client_id()),
                    ("client_secret", app.secret()),
                    ("refresh_token", &rt),
                    ("scope", scope),
                ],
            )
            .await
        }
    };
    let (status, body) = refresh(
        "api://backend-api-id/Case.Create offline_access",
        rt.to_owned(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = body["refresh_token"].as_str().unwrap();
    assert_ne!(rotated, rt);
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scp"],
        "Case.Create"
    );

    // Another resource: Microsoft Graph's User.Read, which every app holds.
    let (status, body) = refresh("User.Read openid", rotated.to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], "00000003-0000-0000-c000-000000000000");
    assert!(body["id_token"].is_string());

    // The Graph token reads the OIDC UserInfo endpoint; `sub` matches the ID token's.
    let userinfo: Value = client()
        .get(format!("{}/oidc/userinfo", idp.base_url()))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["name"], "Alice Example");
    assert_eq!(
        userinfo["sub"],
        claims(body["id_token"].as_str().unwrap())["sub"]
    );
    let refused = client()
        .get(format!("{}/oidc/userinfo", idp.base_url()))
        .bearer_auth(first["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "not a Graph token"
    );

    // A scope the user never consented to and no admin granted.
    let (status, body) = refresh("api://backend-api-id/Case.Read", rotated.to_owned()).await;
    assert_aad(status, &body, (400, "invalid_grant", 65001));
    assert_eq!(body["suberror"], "consent_required");

    let (status, body) = refresh("api://backend-api-id/Case.Create", "garbage".to_owned()).await;
    assert_aad(status, &body, (400, "invalid_grant", 9002313));
    assert_eq!(idp.token_requests(Grant::RefreshToken), 4);
}

// ---------------------------------------------------------------------------------------------
// On-Behalf-Of

/// Alice's token for the internal API, obtained by the frontend (v1: the internal API's format).
async fn frontend_token(idp: &Emulator) -> String {
    let scope = "openid api://obo-example-internal-api/user_impersonation";
    let code = sign_in_auto(idp, "obo-example-frontend", FRONTEND_REDIRECT, scope).await;
    let (status, body) = redeem(
        idp,
        "obo-example-frontend",
        &code,
        FRONTEND_REDIRECT,
        VERIFIER,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn obo(
    idp: &Emulator,
    middle: &str,
    secret: &str,
    assertion: &str,
    scope: &str,
) -> (StatusCode, Value) {
    token(
        idp,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", idp.app(middle).client_id()),
            ("client_secret", secret),
            ("assertion", assertion),
            ("scope", scope),
            ("requested_token_use", "on_behalf_of"),
        ],
    )
    .await
}

#[tokio::test]
async fn on_behalf_of_exchanges_a_user_token_for_the_downstream_api() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let incoming = frontend_token(&idp).await;
    let c = claims(&incoming);
    assert_eq!(c["aud"], "api://obo-example-internal-api");
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["scp"], "user_impersonation");

    let middle = idp.app("obo-example-internal-api");
    let (status, body) = obo(
        &idp,
        "obo-example-internal-api",
        middle.secret(),
        &incoming,
        "api://shared-documents/Documents.Read",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let downstream = body["access_token"].as_str().unwrap();
    let d = claims(downstream);
    let shared_api = idp.app("obo-example-shared-api");
    assert_eq!(d["aud"], shared_api.client_id());
    assert_eq!(d["azp"], middle.client_id());
    assert_eq!(d["scp"], "Documents.Read");
    assert_eq!(d["oid"], ids::USER_OID);
    assert_eq!(d["tid"], idp.tenant_id());
    assert_eq!(d["name"], "Alice Example");
    assert_eq!(d["preferred_username"], ALICE);

    let auth = authenticator(&idp, shared_api).await;
    let principal = auth.authenticate(downstream).await.unwrap();
    assert!(principal.scopes().contains("Documents.Read"));
    assert_eq!(idp.token_requests(Grant::OnBehalfOf), 1);
}

#[tokio::test]
async fn on_behalf_of_refuses_foreign_expired_and_app_assertions() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let incoming = frontend_token(&idp).await;
    let scope = "api://shared-documents/Documents.Read";
    // The shared API presenting a token addressed to the internal API.
    let shared_api = idp.app("obo-example-shared-api");
    let (status, body) = obo(
        &idp,
        "obo-example-shared-api",
        shared_api.secret(),
        &incoming,
        scope,
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 500131));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("audience"),
        "{body}"
    );

    let middle = idp.app("obo-example-internal-api");
    let (status, body) = obo(
        &idp,
        "obo-example-internal-api",
        middle.secret(),
        "not.a.token",
        scope,
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 50013));

    // An app-only token cannot be exchanged.
    let (_, app) = client_credentials(
        &idp,
        "s2s-example-consumer",
        "api://obo-example-internal-api/.default",
    )
    .await;
    let (status, body) = obo(
        &idp,
        "obo-example-internal-api",
        middle.secret(),
        app["access_token"].as_str().unwrap(),
        scope,
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 90083));

    // A scope the downstream API does not expose.
    let (status, body) = obo(
        &idp,
        "obo-example-internal-api",
        middle.secret(),
        &incoming,
        "api://shared-documents/Documents.Delete",
    )
    .await;
    assert_aad(status, &body, (400, "invalid_client", 650053));

    idp.advance_clock(Duration::from_secs(2 * 3600));
    let (status, body) = obo(
        &idp,
        "obo-example-internal-api",
        middle.secret(),
        &incoming,
        scope,
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 500133));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("time range"),
        "{body}"
    );
}

#[tokio::test]
async fn on_behalf_of_without_consent_for_the_downstream_scope_is_65001() {
    let idp = Emulator::builder()
        .tenant(extended_tenant())
        .auto_login(ALICE)
        .start()
        .await
        .unwrap();
    // The middle tier signs alice in for itself, then tries OBO without admin consent.
    let redirect = "http://localhost:4000/redirect";
    let code = sign_in_auto(
        &idp,
        "unconsented-middle-tier",
        redirect,
        "api://unconsented-middle-tier/user_impersonation",
    )
    .await;
    let (status, body) = redeem(&idp, "unconsented-middle-tier", &code, redirect, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let incoming = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = obo(
        &idp,
        "unconsented-middle-tier",
        "middle-secret",
        &incoming,
        "api://shared-documents/Documents.Read",
    )
    .await;
    assert_aad(status, &body, (400, "invalid_grant", 65001));
    assert_eq!(body["suberror"], "consent_required");
}

// ---------------------------------------------------------------------------------------------
// Handles and the admin API

#[tokio::test]
async fn key_rollover_steps_publish_sign_and_withdraw() {
    let idp = Emulator::start().await;
    let api = idp.app("s2s-example-api");
    let auth = authenticator(&idp, api).await;
    let old = idp.signing_kid();
    let new = idp.publish_new_key();
    assert_eq!(idp.published_kids(), [old.clone(), new.clone()]);
    let (_, body) = client_credentials(&idp, "s2s-example-consumer", &api.default_scope()).await;
    assert_eq!(
        header(body["access_token"].as_str().unwrap())["kid"],
        old,
        "still signs with the old key"
    );

    assert!(idp.sign_with(&new));
    let (_, body) = client_credentials(&idp, "s2s-example-consumer", &api.default_scope()).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(header(token)["kid"], new);
    auth.authenticate(token).await.unwrap();

    assert!(idp.withdraw_key(&old));
    let keys: Value = client()
        .get(idp.jwks_uri())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert_eq!(keys["keys"][0]["kid"], new);
    assert!(!idp.sign_with("no-such-kid"));

    let rotated = idp.rotate_keys();
    assert_eq!(idp.published_kids(), std::slice::from_ref(&rotated));
    assert_eq!(idp.signing_kid(), rotated);
}

#[tokio::test]
async fn jwks_faults_and_token_lifetime_are_switchable() {
    let idp = Emulator::start().await;
    let http = client();
    idp.set_jwks_fault(Some(Fault::Status(503)));
    assert_eq!(
        http.get(idp.jwks_uri()).send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    idp.set_jwks_fault(Some(Fault::Hang(Duration::from_secs(60))));
    let hung = http
        .get(idp.jwks_uri())
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(hung.is_err(), "the key set hangs");
    idp.clear_faults();
    assert_eq!(
        http.get(idp.jwks_uri()).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(idp.jwks_hits(), 3);

    assert!(idp.set_token_lifetime(Duration::from_secs(300)).is_err());
    idp.set_token_lifetime(Duration::from_secs(900)).unwrap();
    let (_, body) = client_credentials(
        &idp,
        "s2s-example-consumer",
        "api://s2s-example-api/.default",
    )
    .await;
    assert_eq!(body["expires_in"], 900);
    let c = claims(body["access_token"].as_str().unwrap());
    // Entra back-dates iat by 5 minutes: exp - iat is the lifetime + 300 s.
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        900 + 300
    );

    let before = idp.now();
    idp.advance_clock(Duration::from_secs(7200));
    assert!(idp.now() >= before + 7200);
}

#[tokio::test]
async fn admin_api_mirrors_the_handles_for_loopback_clients() {
    let idp = Emulator::start().await;
    let http = client();
    let base = idp.base_url();
    let rotated: Value = http
        .post(format!("{base}/_admin/keys/rotate"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rotated["kid"], idp.signing_kid());
    let published: Value = http
        .post(format!("{base}/_admin/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = published["kid"].as_str().unwrap();
    assert_eq!(idp.published_kids().len(), 2);
    let signed = http
        .post(format!("{base}/_admin/keys/{new}/sign"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::OK);
    assert_eq!(idp.signing_kid(), new);
    let old = rotated["kid"].as_str().unwrap();
    assert_eq!(
        http.delete(format!("{base}/_admin/keys/{old}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(idp.published_kids(), [new.to_owned()]);

    let fault = http
        .put(format!("{base}/_admin/faults/jwks"))
        .json(&json!({"kind": "status", "status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        http.get(idp.jwks_uri()).send().await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    http.delete(format!("{base}/_admin/faults/jwks"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        http.get(idp.jwks_uri()).send().await.unwrap().status(),
        StatusCode::OK
    );

    let lifetime = http
        .put(format!("{base}/_admin/token-lifetime"))
        .json(&json!({"seconds": 1200}))
        .send()
        .await
        .unwrap();
    assert_eq!(lifetime.status(), StatusCode::OK);
    assert_eq!(idp.token_lifetime(), Duration::from_secs(1200));
    let bad = http
        .put(format!("{base}/_admin/token-lifetime"))
        .json(&json!({"seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let before = idp.now();
    http.post(format!("{base}/_admin/clock/advance"))
        .json(&json!({"seconds": 600}))
        .send()
        .await
        .unwrap();
    assert!(idp.now() >= before + 600);

    client_credentials(
        &idp,
        "s2s-example-consumer",
        "api://s2s-example-api/.default",
    )
    .await;
    let stats: Value = http
        .get(format!("{base}/_admin/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["token_requests"]["client_credentials"], 1);
}

#[tokio::test]
async fn every_error_is_entra_json_even_for_wrong_methods_paths_and_bodies() {
    let idp = Emulator::start().await;
    let http = client();
    let response = http.get(idp.token_endpoint()).send().await.unwrap();
    let status = response.status();
    assert_aad(
        status,
        &response.json().await.unwrap(),
        (405, "invalid_request", 900561),
    );
    let response = http
        .get(format!("{}/nope", idp.base_url()))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_aad(
        status,
        &response.json().await.unwrap(),
        (404, "invalid_request", 9002313),
    );
    let response = http
        .post(idp.token_endpoint())
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_aad(
        status,
        &response.json().await.unwrap(),
        (400, "invalid_request", 900144),
    );
    let (status, body) = token(&idp, &[("grant_type", "password")]).await;
    assert_aad(status, &body, (400, "unsupported_grant_type", 70003));
    let (status, body) = token(&idp, &[("client_id", "x")]).await;
    assert_aad(status, &body, (400, "invalid_request", 900144));
    let response = http
        .post(idp.token_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_aad(
        status,
        &response.json().await.unwrap(),
        (400, "invalid_request", 9000411),
    );
    let response = http
        .post(idp.token_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x80])
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_aad(
        status,
        &response.json().await.unwrap(),
        (400, "invalid_request", 900144),
    );
    assert_eq!(idp.token_requests(Grant::Other), 5);
}

#[tokio::test]
async fn concurrent_token_requests_are_counted_per_grant() {
    let idp = Emulator::start().await;
    let consumer = idp.app("s2s-example-consumer");
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", consumer.client_id().to_owned()),
        ("client_secret", consumer.secret().to_owned()),
        ("scope", idp.app("s2s-example-api").default_scope()),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = client().post(idp.token_endpoint()).form(&form);
        tasks.spawn(async move { request.send().await.map(|r| r.status()) });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap().unwrap(), StatusCode::OK);
    }
    assert_eq!(idp.token_requests(Grant::ClientCredentials), 20);
    assert_eq!(idp.token_requests_total(), 20);
}

#[tokio::test]
async fn tls_emulator_serves_https_that_auth_layer_trusts_with_the_ca() {
    let idp = Emulator::builder().tls(true).start().await.unwrap();
    assert!(idp.base_url().starts_with("https://127.0.0.1:"));
    let api = idp.app("s2s-example-api");
    let ca = reqwest::Certificate::from_pem(idp.ca_pem().unwrap().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let response = http
        .post(idp.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", idp.app("s2s-example-consumer").client_id()),
            ("client_secret", "s2s-consumer-secret"),
            ("scope", &api.default_scope()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let auth = authenticator(&idp, api).await;
    auth.authenticate(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    // Without the CA, the certificate is not trusted.
    assert!(reqwest::get(idp.metadata_url()).await.is_err());
}

#[tokio::test]
async fn the_emulator_stops_when_dropped() {
    let idp = Emulator::start().await;
    let url = idp.metadata_url();
    drop(idp);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(url).send().await.is_err());
}

// ---------------------------------------------------------------------------------------------
// Tenant file and docs

#[test]
fn default_tenant_and_its_documented_copy_stay_in_sync() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/emulator.md"))
        .unwrap();
    let start = docs
        .find("<!-- default-tenant:start -->")
        .expect("docs/emulator.md marks the default tenant");
    let rest = &docs[start..];
    let block = rest
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .unwrap();
    assert_eq!(
        block.trim_end(),
        DEFAULT_TENANT_TOML.trim_end(),
        "docs/emulator.md's copy of auth-testkit/tenants/default.toml is out of date"
    );
}

#[test]
fn tenant_files_with_unknown_keys_fail_with_the_line_number() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("emulator-bad-tenant.toml");
    std::fs::write(&path, "tenant_id = \"8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10\"\n[[apps]]\nname = \"a\"\nsecret = \"x\"\n").unwrap();
    let err = TenantConfig::from_file(&path).unwrap_err();
    assert_eq!(err.line(), Some(4), "{err}");
    assert!(
        err.to_string().contains("emulator-bad-tenant.toml, line 4"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// The binary

// Runs the `entra-emulator` binary, built only with the `cli` feature.
#[cfg(feature = "cli")]
mod binary {
    use super::*;
    use std::io::{BufRead as _, BufReader};
    use std::process::{Child, Command, Stdio};

    struct Running(Child);

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn spawn_emulator(args: &[&str]) -> (Running, Value) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let running = Running(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        (running, ready)
    }

    #[tokio::test]
    async fn binary_prints_and_serves_the_managed_identity_endpoints() {
        let (_child, ready) = spawn_emulator(&["--quiet", "--identity-header", "s3cret"]);
        assert_eq!(ready["identity_header"], "s3cret");
        let response = reqwest::Client::new()
            .get(ready["identity_endpoint"].as_str().unwrap())
            .query(&[
                ("api-version", "2019-08-01"),
                ("resource", "api://s2s-example-api"),
            ])
            .header("X-IDENTITY-HEADER", "s3cret")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let response = reqwest::Client::new()
            .get(ready["imds_endpoint"].as_str().unwrap())
            .query(&[
                ("api-version", "2018-02-01"),
                ("resource", "api://s2s-example-api"),
            ])
            .header("Metadata", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            claims(body["access_token"].as_str().unwrap())["roles"],
            json!(["Files.Write"])
        );
    }

    #[tokio::test]
    async fn binary_prints_one_json_line_and_serves_discovery() {
        let (_child, ready) = spawn_emulator(&["--quiet"]);
        for member in [
            "authority",
            "issuer",
            "jwks_uri",
            "token_endpoint",
            "authorization_endpoint",
            "tenant_id",
        ] {
            assert!(ready[member].is_string(), "{member}: {ready}");
        }
        assert_eq!(ready["tenant_id"], ids::TENANT_ID);
        let metadata = format!(
            "{}/.well-known/openid-configuration",
            ready["issuer"].as_str().unwrap()
        );
        let doc: Value = reqwest::get(metadata).await.unwrap().json().await.unwrap();
        assert_eq!(doc["issuer"], ready["issuer"]);
        assert_eq!(doc["token_endpoint"], ready["token_endpoint"]);
    }

    #[tokio::test]
    async fn binary_serves_https_with_the_ca_it_writes() {
        let ca_file = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emulator-ca.pem");
        let key_file =
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emulator-signing.pem");
        std::fs::write(&key_file, TestKey::rsa_a().private_key_pem()).unwrap();
        let (_child, ready) = spawn_emulator(&[
            "--tls",
            "--ca-out",
            ca_file.to_str().unwrap(),
            "--signing-key",
            key_file.to_str().unwrap(),
            "--auto-login",
            ALICE,
        ]);
        assert_eq!(ready["ca_file"], ca_file.to_str().unwrap());
        assert!(
            ready["authority"]
                .as_str()
                .unwrap()
                .starts_with("https://127.0.0.1:")
        );
        let pem = std::fs::read(&ca_file).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap();
        let keys: Value = http
            .get(ready["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // Signed with the given key: its modulus is published.
        assert_eq!(keys["keys"][0]["n"], TestKey::rsa_a().jwk()["n"]);
    }

    #[test]
    fn binary_refuses_a_bad_tenant_file_with_the_line() {
        let path =
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emulator-bad-cli.toml");
        std::fs::write(
            &path,
            "[[users]]\nusername = \"a\"\nname = \"A\"\npassword = \"p\"\nrole = 1\n",
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
            .args(["--config", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("line 5"), "{stderr}");
    }
}
