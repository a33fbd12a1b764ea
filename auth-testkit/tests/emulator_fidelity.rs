//! The emulator held to real Entra ID: the claim names and JSON types of the tokens it mints,
//! per flow and version, against a table derived from real Entra tokens; the header members
//! in Entra's order; Entra's defaults (no `idtyp` unless the registration lists it); the v1
//! `aud` exactly as requested; the discovery documents' fields against Entra's published ones;
//! `Cache-Control` on metadata; and the AADSTS codes Entra returns.
//!
//! The shape tables below were written from real Entra access tokens (their claim names and
//! JSON types only; no token is in the repository). With `ENTRA_REAL_FIXTURES=dir` set to a
//! folder of real tokens in the `{header, claims, kind}` JSON form, the test also compares the
//! emulator's tokens with those files directly.

use std::collections::BTreeMap;
use std::time::Duration;

use auth_testkit::base64url_decode;
use auth_testkit::emulator::{AppRegistration, DEFAULT_TENANT_TOML, Emulator, TenantConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE: &str = "alice@example.onmicrosoft.com";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const AUTH_CODE_REDIRECT: &str = "http://127.0.0.1:8080/callback";
const FRONTEND_REDIRECT: &str = "http://127.0.0.1:3000/redirect";

// ---------------------------------------------------------------------------------------------
// The expected shapes, from real Entra tokens.

/// A v1 app-only (client credentials) access token.
const V1_APP: Shape = Shape {
    header: &["typ", "alg", "x5t", "kid"],
    claims: &[
        ("aud", "string"),
        ("iss", "string"),
        ("iat", "number"),
        ("nbf", "number"),
        ("exp", "number"),
        ("aio", "string"),
        ("appid", "string"),
        ("appidacr", "string"),
        ("idp", "string"),
        ("oid", "string"),
        ("rh", "string"),
        ("sub", "string"),
        ("tid", "string"),
        ("uti", "string"),
        ("ver", "string"),
    ],
};

/// A v2 delegated access token.
const V2_DELEGATED: Shape = Shape {
    header: &["typ", "alg", "kid"],
    claims: &[
        ("aud", "string"),
        ("iss", "string"),
        ("iat", "number"),
        ("nbf", "number"),
        ("exp", "number"),
        ("aio", "string"),
        ("azp", "string"),
        ("azpacr", "string"),
        ("name", "string"),
        ("oid", "string"),
        ("preferred_username", "string"),
        ("rh", "string"),
        ("scp", "string"),
        ("sub", "string"),
        ("tid", "string"),
        ("uti", "string"),
        ("ver", "string"),
    ],
};

/// A v1 delegated access token (the real one, from 2014, names its key by `x5t` only and shows
/// a groups overage).
const V1_DELEGATED: Shape = Shape {
    header: &["typ", "alg", "x5t"],
    claims: &[
        ("aud", "string"),
        ("iss", "string"),
        ("iat", "number"),
        ("nbf", "number"),
        ("exp", "number"),
        ("ver", "string"),
        ("tid", "string"),
        ("amr", "array"),
        ("oid", "string"),
        ("upn", "string"),
        ("unique_name", "string"),
        ("sub", "string"),
        ("puid", "string"),
        ("family_name", "string"),
        ("given_name", "string"),
        ("_claim_names", "object"),
        ("_claim_sources", "object"),
        ("appid", "string"),
        ("appidacr", "string"),
        ("scp", "string"),
        ("acr", "string"),
    ],
};

/// Claims real tokens carry that the emulator does not model, with the reason.
const NOT_MODELLED: &[(&str, &str)] = &[
    (
        "puid",
        "an internal Microsoft account id; resources must not use it",
    ),
    (
        "_claim_names",
        "groups overage: the emulator has no groups (auth-layer's tests mint overage tokens)",
    ),
    ("_claim_sources", "groups overage, as _claim_names"),
];

/// Claims (and header members) the emulator adds beyond an older real token, because Entra adds
/// them today: `kid` beside `x5t` in v1 headers (the v1 app token shows both); `aio`, `rh`,
/// `uti`, `name` in every current token
/// (<https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference>); an
/// opaque `xms_ftd` after `ver` (seen in 2025 Entra tokens; resources must not read it).
const NEWER_THAN_FIXTURE: &[&str] = &["kid", "aio", "rh", "uti", "name", "xms_ftd"];

/// Claims present only in some tokens of a flow (role assignments).
const CONDITIONAL: &[&str] = &["roles"];

struct Shape {
    header: &'static [&'static str],
    claims: &'static [(&'static str, &'static str)],
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn decode_segment(token: &str, index: usize) -> (String, Value) {
    let segment = token.split('.').nth(index).unwrap();
    let text = String::from_utf8(base64url_decode(segment).unwrap()).unwrap();
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

/// The member names of a JSON object in the order they appear in its text (serde_json's
/// `Value` would sort them).
fn member_order(text: &str) -> Vec<String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let order: OrderedKeys = serde::Deserialize::deserialize(&mut deserializer).unwrap();
    order.0
}

struct OrderedKeys(Vec<String>);

impl<'de> serde::Deserialize<'de> for OrderedKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    keys.push(key);
                }
                Ok(OrderedKeys(keys))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Compares a minted token with an expected shape: every expected claim is present with its
/// JSON type (or is in [`NOT_MODELLED`]); every extra claim is explained; the header members
/// are in Entra's order.
fn assert_shape(what: &str, token: &str, expected: &Shape) {
    assert_shape_of(what, token, expected.header, expected.claims);
}

fn assert_shape_of(what: &str, token: &str, expected_header: &[&str], expected: &[(&str, &str)]) {
    let (header_text, _) = decode_segment(token, 0);
    let header = member_order(&header_text);
    let comparable: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|m| expected_header.contains(m) || !NEWER_THAN_FIXTURE.contains(m))
        .collect();
    assert_eq!(
        comparable, expected_header,
        "{what}: header members {header:?}"
    );
    assert_eq!(
        &header[..2],
        ["typ", "alg"],
        "{what}: Entra's header begins typ, alg"
    );

    let (_, claims) = decode_segment(token, 1);
    let claims = claims.as_object().unwrap();
    for (name, kind) in expected {
        match claims.get(*name) {
            Some(value) => assert_eq!(json_type(value), *kind, "{what}: type of {name}"),
            None => assert!(
                NOT_MODELLED.iter().any(|(n, _)| n == name),
                "{what}: Entra's token has {name}, the emulator's has not: {claims:?}"
            ),
        }
    }
    for name in claims.keys() {
        assert!(
            expected.iter().any(|(n, _)| n == name)
                || NEWER_THAN_FIXTURE.contains(&name.as_str())
                || CONDITIONAL.contains(&name.as_str()),
            "{what}: the emulator adds {name}, which Entra's token of this flow has not"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Getting tokens.

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post(url: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client().post(url).form(form).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn client_credentials(idp: &Emulator, client_app: &str, scope: &str) -> (StatusCode, Value) {
    let app = idp.app(client_app);
    post(
        &idp.token_endpoint(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id()),
            ("client_secret", app.secret()),
            ("scope", scope),
        ],
    )
    .await
}

/// Alice's delegated token for `scope`, by authorization code with auto-login.
async fn delegated(idp: &Emulator, client_app: &str, redirect: &str, scope: &str) -> Value {
    let app: &AppRegistration = idp.app(client_app);
    let query = serde_urlencoded::to_string([
        ("client_id", app.client_id()),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let response = client()
        .get(format!("{}?{query}", idp.authorization_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    let code = params.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let (status, body) = post(
        &idp.token_endpoint(),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", app.client_id()),
            ("client_secret", app.secret()),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn access_token(body: &Value) -> &str {
    body["access_token"].as_str().unwrap()
}

fn claims(token: &str) -> Value {
    decode_segment(token, 1).1
}

/// The three real flows: (name, token, shape).
async fn emulator_tokens(idp: &Emulator) -> Vec<(&'static str, String, &'static Shape)> {
    let (status, v1_app) = client_credentials(
        idp,
        "s2s-example-consumer",
        "api://obo-example-internal-api/.default",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v1_app}");
    let v2_delegated = delegated(
        idp,
        "auth-code-client",
        AUTH_CODE_REDIRECT,
        "api://backend-api-id/Case.Create",
    )
    .await;
    let v1_delegated = delegated(
        idp,
        "obo-example-frontend",
        FRONTEND_REDIRECT,
        "api://obo-example-internal-api/user_impersonation",
    )
    .await;
    vec![
        ("v1 app", access_token(&v1_app).to_owned(), &V1_APP),
        (
            "v2 delegated",
            access_token(&v2_delegated).to_owned(),
            &V2_DELEGATED,
        ),
        (
            "v1 delegated",
            access_token(&v1_delegated).to_owned(),
            &V1_DELEGATED,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[tokio::test]
async fn tokens_have_the_claim_names_types_and_header_order_of_real_entra_tokens() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    for (what, token, shape) in emulator_tokens(&idp).await {
        assert_shape(what, &token, shape);
        let (_, claims) = decode_segment(&token, 1);
        let order = member_order(&decode_segment(&token, 1).0);
        assert_eq!(
            &order[..5],
            ["aud", "iss", "iat", "nbf", "exp"],
            "{what}: Entra's tokens begin aud, iss, iat, nbf, exp: {claims}"
        );
        for opaque in ["aio", "rh", "uti", "xms_ftd"] {
            assert!(
                !claims[opaque].as_str().unwrap().is_empty(),
                "{what}: {opaque}"
            );
        }
        assert!(claims["rh"].as_str().unwrap().starts_with("0.A"));
        assert_eq!(claims["uti"].as_str().unwrap().len(), 22);
    }
}

#[tokio::test]
async fn opaque_claims_are_fresh_for_every_token() {
    let idp = Emulator::start().await;
    let scope = "api://s2s-example-api/.default";
    let (_, a) = client_credentials(&idp, "s2s-example-consumer", scope).await;
    let (_, b) = client_credentials(&idp, "s2s-example-consumer", scope).await;
    let (a, b) = (claims(access_token(&a)), claims(access_token(&b)));
    for opaque in ["aio", "rh", "uti", "xms_ftd"] {
        assert_ne!(a[opaque], b[opaque], "{opaque}");
    }
}

#[tokio::test]
async fn issued_at_is_back_dated_five_minutes_as_entra_does() {
    let idp = Emulator::start().await;
    idp.set_token_lifetime(Duration::from_secs(3600)).unwrap();
    let before = idp.now();
    let (_, body) = client_credentials(
        &idp,
        "s2s-example-consumer",
        "api://s2s-example-api/.default",
    )
    .await;
    let c = claims(access_token(&body));
    assert_eq!(body["expires_in"], 3600);
    let (iat, nbf, exp) = (
        c["iat"].as_i64().unwrap(),
        c["nbf"].as_i64().unwrap(),
        c["exp"].as_i64().unwrap(),
    );
    assert_eq!(iat, nbf);
    assert_eq!(
        exp - iat,
        3600 + 300,
        "real tokens: exp - iat = lifetime + 5 min"
    );
    assert!(exp >= before + 3600);
}

/// A tenant whose API lists `idtyp` in `optional_claims`.
fn tenant_with_idtyp() -> TenantConfig {
    let text = DEFAULT_TENANT_TOML.replace(
        "name = \"s2s-example-api\"\n",
        "name = \"s2s-example-api\"\noptional_claims = [\"idtyp\"]\n",
    );
    TenantConfig::from_toml_str(&text).unwrap()
}

#[tokio::test]
async fn idtyp_is_absent_by_default_and_present_when_the_registration_lists_it() {
    let scope = "api://s2s-example-api/.default";
    let idp = Emulator::start().await;
    let (_, body) = client_credentials(&idp, "s2s-example-consumer", scope).await;
    let c = claims(access_token(&body));
    assert!(c.get("idtyp").is_none(), "Entra's default: {c}");

    let idp = Emulator::builder()
        .tenant(tenant_with_idtyp())
        .start()
        .await
        .unwrap();
    assert_eq!(idp.app("s2s-example-api").optional_claims(), ["idtyp"]);
    let (_, body) = client_credentials(&idp, "s2s-example-consumer", scope).await;
    assert_eq!(claims(access_token(&body))["idtyp"], "app");
    // Only the API that opted in: another API's tokens stay without it.
    let (_, body) = client_credentials(
        &idp,
        "s2s-example-consumer",
        "api://obo-example-internal-api/.default",
    )
    .await;
    assert!(claims(access_token(&body)).get("idtyp").is_none());
}

#[test]
fn optional_claims_the_emulator_does_not_model_are_refused() {
    let err = TenantConfig::from_toml_str("[[apps]]\nname = \"a\"\noptional_claims = [\"ctry\"]\n")
        .unwrap_err();
    assert!(err.message().contains("ctry"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// v1 audience as requested

/// The default tenant plus a v1 API with two identifier URIs and a v1 API without any.
fn tenant_with_v1_apis() -> TenantConfig {
    let text = format!(
        "{DEFAULT_TENANT_TOML}
[[apps]]
name = \"two-uris\"
identifier_uris = [\"api://two-uris\", \"https://two-uris.example.com\"]
app_roles = [{{ value = \"Do\", allowed_member_types = [\"Application\"] }}]

[[apps]]
name = \"no-uri\"
access_token_version = 1

[[apps]]
name = \"caller\"
secrets = [\"caller-secret\"]
[[apps.required_resource_access]]
resource = \"two-uris\"
roles = [\"Do\"]
admin_consent = true
"
    );
    TenantConfig::from_toml_str(&text).unwrap()
}

#[tokio::test]
async fn v1_aud_is_the_resource_exactly_as_requested() {
    let idp = Emulator::builder()
        .tenant(tenant_with_v1_apis())
        .start()
        .await
        .unwrap();
    let api = idp.app("two-uris");
    let guid = api.client_id().to_owned();
    for requested in [
        "api://two-uris",
        "https://two-uris.example.com",
        "https://two-uris.example.com/",
        guid.as_str(),
    ] {
        let (status, body) =
            client_credentials(&idp, "caller", &format!("{requested}/.default")).await;
        assert_eq!(status, StatusCode::OK, "{requested}: {body}");
        let c = claims(access_token(&body));
        assert_eq!(c["aud"], requested, "v1 aud as requested");
        assert_eq!(c["roles"], json!(["Do"]));
    }
    // The v1 endpoint's `resource` parameter, with a trailing slash.
    let caller = idp.app("caller");
    let (status, body) = post(
        &format!("{}/oauth2/token", idp.authority()),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", caller.client_id()),
            ("client_secret", caller.secret()),
            ("resource", "https://two-uris.example.com/"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(access_token(&body))["aud"],
        "https://two-uris.example.com/"
    );
}

#[tokio::test]
async fn an_app_without_identifier_uri_gets_no_invented_api_uri() {
    let idp = Emulator::builder()
        .tenant(tenant_with_v1_apis())
        .start()
        .await
        .unwrap();
    let api = idp.app("no-uri");
    assert_eq!(api.identifier_uri(), api.client_id());
    assert_eq!(api.default_scope(), format!("{}/.default", api.client_id()));
    let (status, body) = client_credentials(&idp, "caller", &api.default_scope()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(claims(access_token(&body))["aud"], api.client_id());
    let invented = format!("api://{}/.default", api.client_id());
    let (status, body) = client_credentials(&idp, "caller", &invented).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error_codes"], json!([500011]), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Errors Entra returns

#[tokio::test]
async fn the_resource_parameter_on_the_v2_endpoint_is_aadsts901002() {
    let idp = Emulator::start().await;
    let app = idp.app("s2s-example-consumer");
    let (status, body) = post(
        &idp.token_endpoint(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id()),
            ("client_secret", app.secret()),
            ("scope", "api://s2s-example-api/.default"),
            ("resource", "api://s2s-example-api"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_codes"], json!([901002]));
}

// ---------------------------------------------------------------------------------------------
// Metadata

#[tokio::test]
async fn discovery_keys_and_instance_discovery_carry_entras_cache_control() {
    let idp = Emulator::start().await;
    for url in [
        idp.metadata_url(),
        format!("{}/.well-known/openid-configuration", idp.authority()),
        idp.jwks_uri(),
        format!("{}/discovery/keys", idp.authority()),
        format!("{}/common/discovery/instance", idp.base_url()),
    ] {
        let response = client().get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(
            response.headers()["cache-control"],
            "max-age=86400, private",
            "{url}"
        );
    }
    // Token responses are never cached.
    let (status, _) = client_credentials(
        &idp,
        "s2s-example-consumer",
        "api://s2s-example-api/.default",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// The members of Entra's published v2 discovery document
/// (`https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration`, see
/// <https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri>)
/// and their JSON types.
const V2_DISCOVERY: &[(&str, &str)] = &[
    ("token_endpoint", "string"),
    ("token_endpoint_auth_methods_supported", "array"),
    ("jwks_uri", "string"),
    ("response_modes_supported", "array"),
    ("subject_types_supported", "array"),
    ("id_token_signing_alg_values_supported", "array"),
    ("response_types_supported", "array"),
    ("scopes_supported", "array"),
    ("issuer", "string"),
    ("request_uri_parameter_supported", "boolean"),
    ("userinfo_endpoint", "string"),
    ("authorization_endpoint", "string"),
    ("device_authorization_endpoint", "string"),
    ("http_logout_supported", "boolean"),
    ("frontchannel_logout_supported", "boolean"),
    ("end_session_endpoint", "string"),
    ("claims_supported", "array"),
    ("kerberos_endpoint", "string"),
    ("tenant_region_scope", "string"),
    ("cloud_instance_name", "string"),
    ("cloud_graph_host_name", "string"),
    ("msgraph_host", "string"),
    ("rbac_url", "string"),
];

/// The members of Entra's published v1 discovery document
/// (`https://login.microsoftonline.com/{tenant}/.well-known/openid-configuration`).
const V1_DISCOVERY: &[(&str, &str)] = &[
    ("token_endpoint", "string"),
    ("token_endpoint_auth_methods_supported", "array"),
    ("jwks_uri", "string"),
    ("response_modes_supported", "array"),
    ("subject_types_supported", "array"),
    ("id_token_signing_alg_values_supported", "array"),
    ("response_types_supported", "array"),
    ("scopes_supported", "array"),
    ("issuer", "string"),
    ("microsoft_multi_refresh_token", "boolean"),
    ("authorization_endpoint", "string"),
    ("device_authorization_endpoint", "string"),
    ("http_logout_supported", "boolean"),
    ("frontchannel_logout_supported", "boolean"),
    ("end_session_endpoint", "string"),
    ("claims_supported", "array"),
    ("check_session_iframe", "string"),
    ("userinfo_endpoint", "string"),
    ("kerberos_endpoint", "string"),
    ("tenant_region_scope", "string"),
    ("cloud_instance_name", "string"),
    ("cloud_graph_host_name", "string"),
    ("msgraph_host", "string"),
    ("rbac_url", "string"),
];

#[tokio::test]
async fn discovery_documents_have_exactly_the_fields_of_entras_published_ones() {
    let idp = Emulator::start().await;
    for (url, expected) in [
        (idp.metadata_url(), V2_DISCOVERY),
        (
            format!("{}/.well-known/openid-configuration", idp.authority()),
            V1_DISCOVERY,
        ),
    ] {
        let document: Value = client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let actual: BTreeMap<&str, &str> = document
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), json_type(v)))
            .collect();
        let expected: BTreeMap<&str, &str> = expected.iter().copied().collect();
        assert_eq!(actual, expected, "{url}");
    }
    let v2: Value = client()
        .get(idp.metadata_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v2["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(v2["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(
        v2["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic"
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Against real tokens on disk, when given.

/// With `ENTRA_REAL_FIXTURES=dir`, compares each `*.json` there (`{header, claims, kind}`) with
/// the emulator's token of the same kind and version.
#[tokio::test]
async fn optionally_matches_real_token_files() {
    let Some(dir) = std::env::var_os("ENTRA_REAL_FIXTURES") else {
        return;
    };
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let tokens = emulator_tokens(&idp).await;
    let mut compared = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let (Some(real_token), Some(real), Some(kind)) = (
            file["token"].as_str(),
            file["claims"].as_object(),
            file["kind"].as_str(),
        ) else {
            continue;
        };
        // The header's member order, from the token itself (serde_json's Value sorts).
        let header = member_order(&decode_segment(real_token, 0).0);
        let version = real["ver"].as_str().unwrap_or("1.0");
        let what = match (kind, version, header.iter().any(|m| m == "kid")) {
            ("app", "1.0", _) => "v1 app",
            ("delegated", "2.0", _) => "v2 delegated",
            ("delegated", "1.0", false) => "v1 delegated",
            _ => continue,
        };
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let shape: Vec<(&str, &str)> = real
            .iter()
            .map(|(k, v)| (k.as_str(), json_type(v)))
            .collect();
        let (_, token, _) = tokens.iter().find(|(w, _, _)| *w == what).unwrap();
        assert_shape_of(
            &format!("{what} vs {}", path.display()),
            token,
            &header,
            &shape,
        );
        compared += 1;
    }
    assert!(
        compared > 0,
        "no comparable token file in ENTRA_REAL_FIXTURES"
    );
}

#[tokio::test]
async fn a_graph_token_requested_by_uri_has_that_aud_and_works_at_userinfo() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let body = delegated(
        &idp,
        "auth-code-client",
        AUTH_CODE_REDIRECT,
        "openid https://graph.microsoft.com/User.Read",
    )
    .await;
    let token = access_token(&body);
    let c = claims(token);
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["ver"], "1.0");
    let response = client()
        .get(format!("{}/oidc/userinfo", idp.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
