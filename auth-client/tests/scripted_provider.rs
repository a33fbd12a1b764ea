//! auth-client against a scripted token endpoint: a small axum server on loopback that records
//! every token request and answers what the test scripts. It stands in for a standards OpenID
//! Connect provider (discovery, RFC 8707, RFC 8693, RFC 9207, private_key_jwt with plain keys)
//! and for Entra answers the emulator does not produce (AADSTS500133, 429 without
//! Retry-After, client capabilities).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_client::{
    AssertionAlgorithm, AuthorizationRequest, AuthorizationResponse, ConfidentialClient, Error,
    TokenRequest,
};
use auth_testkit::TestKey;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

const TENANT: &str = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10";

/// One scripted answer: status, `Retry-After` (seconds), JSON body.
type Answer = (u16, Option<u64>, Value);

struct Script {
    base: String,
    iss_supported: bool,
    algs: Vec<&'static str>,
    requests: Mutex<Vec<Vec<(String, String)>>>,
    answers: Mutex<VecDeque<Answer>>,
}

impl Script {
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn last(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().last().cloned().unwrap()
    }

    fn answer(&self, status: u16, retry_after: Option<u64>, body: Value) {
        self.answers
            .lock()
            .unwrap()
            .push_back((status, retry_after, body));
    }
}

fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn discovery(State(script): State<Arc<Script>>) -> axum::Json<Value> {
    let base = &script.base;
    axum::Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "authorization_response_iss_parameter_supported": script.iss_supported,
        "token_endpoint_auth_signing_alg_values_supported": script.algs,
    }))
}

async fn token(State(script): State<Arc<Script>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let n = {
        let mut requests = script.requests.lock().unwrap();
        requests.push(form);
        requests.len()
    };
    let answer = script.answers.lock().unwrap().pop_front();
    let (status, retry_after, body) = answer.unwrap_or_else(|| {
        (
            200,
            None,
            json!({"access_token": format!("at-{n}"), "token_type": "Bearer", "expires_in": 3600}),
        )
    });
    let mut headers = HeaderMap::new();
    if let Some(after) = retry_after {
        headers.insert("retry-after", HeaderValue::from(after));
    }
    (
        StatusCode::from_u16(status).unwrap(),
        headers,
        axum::Json(body),
    )
        .into_response()
}

/// Starts the scripted provider: an OIDC issuer at its base URL, and an Entra-shaped token
/// endpoint at `{base}/{TENANT}/oauth2/v2.0/token`.
async fn provider(iss_supported: bool, algs: &[&'static str]) -> Arc<Script> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let script = Arc::new(Script {
        base,
        iss_supported,
        algs: algs.to_vec(),
        requests: Mutex::new(Vec::new()),
        answers: Mutex::new(VecDeque::new()),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/token", post(token))
        .route(&format!("/{TENANT}/oauth2/v2.0/token"), post(token))
        .route("/jwks", get(|| async { axum::Json(json!({"keys": []})) }))
        .with_state(Arc::clone(&script));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    script
}

fn oidc_client(script: &Script) -> auth_client::ConfidentialClientBuilder {
    ConfidentialClient::builder()
        .issuer(&script.base)
        .client_id("middle-tier")
        .client_secret("s3cret")
        .retry_delay(Duration::from_millis(10))
}

fn entra_client(script: &Script) -> auth_client::ConfidentialClientBuilder {
    ConfidentialClient::builder()
        .authority(format!("{}/{TENANT}", script.base))
        .client_id("7708b120-d422-57c9-8912-c46d3170a2be")
        .client_secret("s3cret")
        .retry_delay(Duration::from_millis(10))
}

#[tokio::test]
async fn resource_is_sent_on_every_grant_to_other_providers() {
    let script = provider(false, &[]).await;
    let client = oidc_client(&script)
        .resource("https://api.example.com")
        .build()
        .unwrap();
    client
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap();
    assert_eq!(
        param(&script.last(), "resource"),
        Some("https://api.example.com")
    );
    assert_eq!(
        param(&script.last(), "grant_type"),
        Some("client_credentials")
    );

    // Per call: another resource, another cache entry.
    let other = TokenRequest::new(["files.write"]).resource("https://other.example.com");
    client.acquire_token_for_client_with(&other).await.unwrap();
    assert_eq!(
        param(&script.last(), "resource"),
        Some("https://other.example.com")
    );
    client.acquire_token_for_client_with(&other).await.unwrap();
    client
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap();
    assert_eq!(script.count(), 2, "both served from the cache afterwards");

    // Token exchange and refresh carry it too.
    client
        .acquire_token_on_behalf_of("user-token", &["files.read"])
        .await
        .unwrap();
    assert_eq!(
        param(&script.last(), "resource"),
        Some("https://api.example.com")
    );
    let _ = client
        .refresh(&auth_client::RefreshToken::new("rt"), &["files.read"])
        .await;
    assert_eq!(param(&script.last(), "grant_type"), Some("refresh_token"));
    assert_eq!(
        param(&script.last(), "resource"),
        Some("https://api.example.com")
    );
}

#[tokio::test]
async fn on_behalf_of_is_an_rfc8693_token_exchange_with_other_providers() {
    let script = provider(false, &[]).await;
    let client = oidc_client(&script).build().unwrap();
    let request = TokenRequest::new(["documents.read"]).audience("documents-api");
    let token = client
        .acquire_token_on_behalf_of_with("user-token-a", &request)
        .await
        .unwrap();
    let form = script.last();
    assert_eq!(
        param(&form, "grant_type"),
        Some("urn:ietf:params:oauth:grant-type:token-exchange")
    );
    assert_eq!(param(&form, "subject_token"), Some("user-token-a"));
    assert_eq!(
        param(&form, "subject_token_type"),
        Some("urn:ietf:params:oauth:token-type:access_token")
    );
    assert_eq!(
        param(&form, "requested_token_type"),
        Some("urn:ietf:params:oauth:token-type:access_token")
    );
    assert_eq!(param(&form, "audience"), Some("documents-api"));
    assert_eq!(param(&form, "scope"), Some("documents.read"));
    assert_eq!(param(&form, "assertion"), None);
    assert_eq!(param(&form, "requested_token_use"), None);

    // The same cache and single-flight as Entra's On-Behalf-Of.
    let again = client
        .acquire_token_on_behalf_of_with("user-token-a", &request)
        .await
        .unwrap();
    assert_eq!(again.secret(), token.secret());
    let calls = (0..8).map(|_| {
        let client = client.clone();
        async move {
            client
                .acquire_token_on_behalf_of("user-token-b", &["documents.read"])
                .await
                .unwrap()
        }
    });
    let tokens = futures_join_all(calls).await;
    assert!(tokens.iter().all(|t| t.secret() == tokens[0].secret()));
    assert_eq!(script.count(), 2);
}

/// `join_all` without a futures dependency.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn token_exchange_errors_are_typed() {
    let script = provider(false, &[]).await;
    let client = oidc_client(&script).build().unwrap();
    script.answer(
        400,
        None,
        json!({"error": "invalid_target", "error_description": "unknown audience"}),
    );
    let err = client
        .acquire_token_on_behalf_of("user-token", &["x"])
        .await
        .unwrap_err();
    assert!(
        err.is_invalid_target() && !err.is_invalid_user_assertion(),
        "{err}"
    );
    assert!(
        !err.to_string().contains("AADSTS") && !err.to_string().contains("Entra"),
        "{err}"
    );

    // RFC 8693 §2.2.2: an unacceptable subject_token is invalid_request.
    script.answer(
        400,
        None,
        json!({"error": "invalid_request", "error_description": "subject_token is expired"}),
    );
    let err = client
        .acquire_token_on_behalf_of("expired-user-token", &["x"])
        .await
        .unwrap_err();
    assert!(err.is_invalid_user_assertion(), "{err}");
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn obo_assertion_errors_500131_500133_50013_answer_401_so_the_caller_reacquires() {
    use auth_client::OboRejection;
    let script = provider(false, &[]).await;
    let client = entra_client(&script).build().unwrap();
    for (code, text) in [
        (
            500133,
            "AADSTS500133: Assertion is not within its valid time range.",
        ),
        (
            500131,
            "AADSTS500131: Assertion audience does not match the Client app presenting the assertion.",
        ),
        (50013, "AADSTS50013: Assertion failed signature validation."),
    ] {
        script.answer(
            400,
            None,
            json!({"error": "invalid_grant", "error_description": text, "error_codes": [code]}),
        );
        let err = client
            .acquire_token_on_behalf_of(
                &format!("user-token-{code}"),
                &["api://shared/Documents.Read"],
            )
            .await
            .unwrap_err();
        assert!(err.is_invalid_user_assertion(), "{err}");
        let rejection = OboRejection::from_error(err, &client);
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED, "{code}");
        let response = rejection.into_response();
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("invalid_token"), "{challenge}");
    }
    // Consent missing is the service's problem, not the caller's: 500.
    script.answer(
        400,
        None,
        json!({"error": "invalid_grant", "error_codes": [65001], "suberror": "consent_required"}),
    );
    let err = client
        .acquire_token_on_behalf_of("user-token-x", &["api://shared/Documents.Read"])
        .await
        .unwrap_err();
    assert_eq!(
        OboRejection::from_error(err, &client).status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn client_capabilities_and_claims_requests_bypass_the_cache_as_msal_does() {
    let script = provider(false, &[]).await;
    let client = entra_client(&script)
        .client_capabilities(["cp1"])
        .build()
        .unwrap();
    let scope = "api://s2s-example-api/.default";
    let first = client.acquire_token_for_client(&[scope]).await.unwrap();
    let claims: Value = serde_json::from_str(param(&script.last(), "claims").unwrap()).unwrap();
    assert_eq!(
        claims,
        json!({"access_token": {"xms_cc": {"values": ["cp1"]}}})
    );
    client.acquire_token_for_client(&[scope]).await.unwrap();
    assert_eq!(
        script.count(),
        1,
        "capabilities alone do not bypass the cache"
    );

    // The API answered 401 with a CAE claims challenge: a fresh token, merged claims.
    let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let fresh = client
        .acquire_token_for_client_with(&TokenRequest::new([scope]).claims(challenge))
        .await
        .unwrap();
    assert_ne!(fresh.secret(), first.secret());
    let claims: Value = serde_json::from_str(param(&script.last(), "claims").unwrap()).unwrap();
    assert_eq!(
        claims,
        json!({"access_token": {"nbf": {"essential": true, "value": "1700000000"}, "xms_cc": {"values": ["cp1"]}}})
    );
    // The fresh token replaced the cached one.
    let cached = client.acquire_token_for_client(&[scope]).await.unwrap();
    assert_eq!(cached.secret(), fresh.secret());
    assert_eq!(script.count(), 2);

    // A forced refresh, too.
    let forced = client
        .acquire_token_for_client_with(&TokenRequest::new([scope]).force_refresh())
        .await
        .unwrap();
    assert_ne!(forced.secret(), fresh.secret());
    assert_eq!(script.count(), 3);

    // Capabilities are Entra's: another provider gets no `claims` from them.
    let oidc = oidc_client(&script)
        .client_capabilities(["cp1"])
        .build()
        .unwrap();
    oidc.acquire_token_for_client(&["files.read"])
        .await
        .unwrap();
    assert_eq!(param(&script.last(), "claims"), None);

    // Claims that are not JSON cannot be merged.
    let err = client
        .acquire_token_for_client_with(&TokenRequest::new([scope]).claims("not json"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
}

#[tokio::test]
async fn a_rejected_obo_token_can_be_removed_from_the_cache() {
    let script = provider(false, &[]).await;
    let client = entra_client(&script).build().unwrap();
    let scopes = ["api://shared/Documents.Read"];
    let a = client
        .acquire_token_on_behalf_of("user-token", &scopes)
        .await
        .unwrap();
    let b = client
        .acquire_token_on_behalf_of("user-token", &scopes)
        .await
        .unwrap();
    assert_eq!(a.secret(), b.secret());
    client
        .remove_cached_obo_token("user-token", &scopes)
        .await
        .unwrap();
    let c = client
        .acquire_token_on_behalf_of("user-token", &scopes)
        .await
        .unwrap();
    assert_ne!(c.secret(), a.secret());
    assert_eq!(script.count(), 2);
    assert_eq!(
        param(&script.last(), "grant_type"),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    assert_eq!(param(&script.last(), "resource"), None);
}

#[tokio::test]
async fn throttling_429_without_retry_after_holds_the_request_back_60_seconds() {
    let script = provider(false, &[]).await;
    let client = entra_client(&script).build().unwrap();
    script.answer(429, None, json!({"error": "temporarily_unavailable"}));
    let err = client
        .acquire_token_for_client(&["api://a/.default"])
        .await
        .unwrap_err();
    assert!(err.is_throttled(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    let err = client
        .acquire_token_for_client(&["api://a/.default"])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Throttled(t) if !t.was_sent()),
        "{err}"
    );
    assert_eq!(script.count(), 1);

    // A 5xx that persists through the retry holds the request back as well.
    script.answer(500, None, json!({"error": "server_error"}));
    script.answer(500, None, json!({"error": "server_error"}));
    let err = client
        .acquire_token_for_client(&["api://b/.default"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err}");
    assert_eq!(script.count(), 3);
    let err = client
        .acquire_token_for_client(&["api://b/.default"])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Throttled(t) if !t.was_sent()),
        "{err}"
    );
    assert!(err.retry_after().unwrap() <= Duration::from_secs(60));
    assert_eq!(script.count(), 3);

    // Retry-After is honoured on any status that carries it, e.g. a 400.
    script.answer(400, Some(5), json!({"error": "invalid_request"}));
    let err = client
        .acquire_token_for_client(&["api://c/.default"])
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
    let err = client
        .acquire_token_for_client(&["api://c/.default"])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Throttled(t) if !t.was_sent()),
        "{err}"
    );
    assert_eq!(script.count(), 4);
}

#[tokio::test]
async fn scopes_come_from_the_response_or_are_the_requested_ones_when_absent() {
    let script = provider(false, &[]).await;
    let client = oidc_client(&script).build().unwrap();
    script.answer(200, None, json!({"access_token": "t1", "token_type": "Bearer", "expires_in": 600, "scope": "files.read"}));
    let token = client
        .acquire_token_for_client(&["files.read files.write"])
        .await
        .unwrap();
    assert_eq!(token.scopes(), ["files.read"]);
    // RFC 6749 §5.1: no scope in the response means the requested scope was granted.
    let token = client
        .acquire_token_for_client(&["docs.read"])
        .await
        .unwrap();
    assert_eq!(token.scopes(), ["docs.read"]);
}

#[tokio::test]
async fn cache_key_scopes_are_case_sensitive_for_other_providers_and_not_for_entra() {
    let script = provider(false, &[]).await;
    let oidc = oidc_client(&script).build().unwrap();
    oidc.acquire_token_for_client(&["Files.Read"])
        .await
        .unwrap();
    oidc.acquire_token_for_client(&["files.read"])
        .await
        .unwrap();
    assert_eq!(script.count(), 2);
    let entra = entra_client(&script).build().unwrap();
    entra
        .acquire_token_for_client(&["api://X/.default"])
        .await
        .unwrap();
    entra
        .acquire_token_for_client(&["api://x/.default"])
        .await
        .unwrap();
    assert_eq!(script.count(), 3);
}

#[tokio::test]
async fn unknown_entra_hosts_are_refused_unless_trusted() {
    let err = ConfidentialClient::builder()
        .authority(format!(
            "https://login.microsoftonline.com.evil.example/{TENANT}"
        ))
        .client_id("c")
        .client_secret("s")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, auth_client::BuildError::UnknownAuthorityHost(_)),
        "{err}"
    );
    ConfidentialClient::builder()
        .authority(format!("https://entra-proxy.example/{TENANT}"))
        .trust_authority_host("entra-proxy.example")
        .client_id("c")
        .client_secret("s")
        .build()
        .unwrap();
    for sovereign in [
        "https://login.microsoftonline.us",
        "https://login.partner.microsoftonline.cn",
    ] {
        ConfidentialClient::builder()
            .authority(format!("{sovereign}/{TENANT}"))
            .client_id("c")
            .client_secret("s")
            .build()
            .unwrap();
    }
}

fn b64(part: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap()
}

/// The assertion's header and claims, after checking its signature with `key`.
fn verify_assertion(assertion: &str, key: &TestKey) -> (Value, Value) {
    use aws_lc_rs::signature::{self, UnparsedPublicKey};
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    let claims: Value = serde_json::from_slice(&b64(parts[1])).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    let sig = b64(parts[2]);
    let alg: &'static dyn signature::VerificationAlgorithm = match header["alg"].as_str().unwrap() {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        "ES256" => &signature::ECDSA_P256_SHA256_FIXED,
        other => panic!("{other}"),
    };
    let public = match key.public_key_pkcs1_der() {
        Some(pkcs1) => pkcs1.to_vec(),
        None => key.ec_public_point().unwrap().to_vec(),
    };
    UnparsedPublicKey::new(alg, &public)
        .verify(input.as_bytes(), &sig)
        .expect("the assertion's signature verifies with the registered public key");
    (header, claims)
}

#[tokio::test]
async fn private_key_jwt_with_plain_keys_and_the_algorithm_from_discovery() {
    let rsa = TestKey::rsa_a();
    let ec = TestKey::ec_p256();
    // RS256 and PS256 advertised: RS256 (the usual registration) for an RSA key.
    for (algs, key, explicit, expected) in [
        (vec!["RS256", "PS256", "ES256"], rsa, None, "RS256"),
        (vec!["PS256"], rsa, None, "PS256"),
        (
            vec!["RS256", "PS256"],
            rsa,
            Some(AssertionAlgorithm::Ps256),
            "PS256",
        ),
        (vec!["RS256", "ES256"], ec, None, "ES256"),
        (vec![], rsa, None, "RS256"),
    ] {
        let script = provider(false, &algs).await;
        let mut builder = ConfidentialClient::builder()
            .issuer(&script.base)
            .client_id("daemon")
            .private_key_pem(&key.private_key_pem(), "key-1");
        if let Some(alg) = explicit {
            builder = builder.assertion_algorithm(alg);
        }
        let client = builder.build().unwrap();
        client
            .acquire_token_for_client(&["files.write"])
            .await
            .unwrap();
        let form = script.last();
        assert_eq!(
            param(&form, "client_assertion_type"),
            Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        );
        assert_eq!(param(&form, "client_secret"), None);
        let (header, claims) = verify_assertion(param(&form, "client_assertion").unwrap(), key);
        assert_eq!(header["alg"], expected, "{algs:?}");
        assert_eq!(header["kid"], "key-1");
        assert_eq!(claims["aud"], format!("{}/token", script.base));
        assert_eq!(
            (&claims["iss"], &claims["sub"]),
            (&json!("daemon"), &json!("daemon"))
        );
        assert!(claims["jti"].is_string() && claims["exp"].is_u64());
    }

    // An EC key where the provider offers only RSA algorithms: a clear error, no request.
    let script = provider(false, &["RS256"]).await;
    let client = ConfidentialClient::builder()
        .issuer(&script.base)
        .client_id("daemon")
        .private_key_pem(&ec.private_key_pem(), "key-1")
        .build()
        .unwrap();
    let err = client.acquire_token_for_client(&["x"]).await.unwrap_err();
    assert!(matches!(err, Error::Credential(_)), "{err}");
    assert_eq!(script.count(), 0);
    assert!(
        ConfidentialClient::builder()
            .issuer(&script.base)
            .client_id("daemon")
            .private_key_pem(&rsa.private_key_pem(), " ")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn rfc9207_a_callback_without_or_with_another_iss_is_refused_before_any_request() {
    let script = provider(true, &[]).await;
    let client = oidc_client(&script).build().unwrap();
    let start = client
        .authorization_url(AuthorizationRequest::new("http://localhost:8080/callback"))
        .await
        .unwrap();
    let state = start.session.state().to_owned();
    let missing = AuthorizationResponse::new("code-1", &state);
    let err = client
        .redeem_code(&start.session, &missing)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch), "{err}");
    let evil = AuthorizationResponse::from_query(&format!(
        "code=code-1&state={state}&iss=https%3A%2F%2Fevil.example"
    ));
    assert_eq!(evil.iss(), Some("https://evil.example"));
    let err = client.redeem_code(&start.session, &evil).await.unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch), "{err}");
    assert_eq!(script.count(), 0, "refused before any request");

    // The right issuer goes on to the token endpoint (which refuses the made-up code).
    script.answer(400, None, json!({"error": "invalid_grant"}));
    let good = AuthorizationResponse::new("code-1", &state).with_iss(&script.base);
    let err = client.redeem_code(&start.session, &good).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    assert_eq!(script.count(), 1);
    assert_eq!(param(&script.last(), "code"), Some("code-1"));

    // Not advertised: an absent iss is accepted, a wrong one still refused.
    let script = provider(false, &[]).await;
    let client = oidc_client(&script).build().unwrap();
    let start = client
        .authorization_url(AuthorizationRequest::new("http://localhost:8080/callback"))
        .await
        .unwrap();
    let state = start.session.state().to_owned();
    let err = client
        .redeem_code(
            &start.session,
            &AuthorizationResponse::new("c", &state).with_iss("https://evil.example"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch), "{err}");
    script.answer(400, None, json!({"error": "invalid_grant"}));
    let err = client
        .redeem_code(&start.session, &AuthorizationResponse::new("c", &state))
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
}
