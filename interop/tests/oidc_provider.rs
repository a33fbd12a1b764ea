//! auth-layer and auth-client against panva's `oidc-provider` (OpenID Certified), started by
//! the tests from `interop/oidc-provider/provider.js` (see its header for the clients and
//! resource servers it registers).
//!
//! What each test covers is in its name; the provider is the oracle: its tokens are RFC 9068
//! JWT access tokens (`typ: at+jwt`, `client_id`, `scope`), its refresh tokens rotate, and it
//! returns RFC 9207's `iss` on every authorization response.

mod support;

use std::time::Duration;

use auth_client::{
    AssertionAlgorithm, AuthorizationRequest, AuthorizationResponse, ClientAuthMethod,
    ConfidentialClient,
};
use auth_layer::{Authenticator, TokenKind};
use auth_testkit::TestKey;
use support::{OidcProvider, ProviderOptions, claims, follow_to_callback, header};

const S2S_API: &str = "api://s2s-example-api";
const BACKEND_API: &str = "api://backend-api";
const REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";

fn client(idp: &OidcProvider, client_id: &str, secret: &str) -> ConfidentialClient {
    ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id(client_id)
        .client_secret(secret)
        .build()
        .unwrap()
}

fn authenticator(idp: &OidcProvider, audience: &str) -> Authenticator {
    Authenticator::builder()
        .issuer(&idp.issuer)
        .audience(audience)
        // A kid miss refreshes the keys at once (the rotation test).
        .min_refresh_interval(Duration::ZERO)
        .no_verified_token_cache()
        .build()
        .unwrap()
}

/// `s2s-example-consumer`'s JWT for `api://s2s-example-api` (RFC 8707 `resource` sent).
async fn consumer_token(idp: &OidcProvider) -> String {
    ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id("s2s-example-consumer")
        .client_secret("s2s-example-consumer-secret-0123456789")
        .resource(S2S_API)
        .build()
        .unwrap()
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap()
        .into_secret()
}

#[tokio::test]
async fn discovery_and_jwks_validate_its_rfc9068_app_token_with_the_exact_issuer() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let token = consumer_token(&idp).await;
    assert_eq!(header(&token)["typ"], "at+jwt");

    let principal = authenticator(&idp, S2S_API)
        .authenticate(&token)
        .await
        .unwrap();
    let c = principal.claims();
    assert_eq!(c.issuer(), idp.issuer);
    assert_eq!(c.client_id(), Some("s2s-example-consumer"));
    assert!(c.scopes().contains("files.write"));
    // RFC 9068 §2.2: `sub` is the client for client credentials ⇒ an app token.
    assert_eq!(principal.kind(), TokenKind::App);

    // The issuer is compared exactly: a trailing slash is another issuer.
    let other_issuer = Authenticator::builder()
        .issuer(format!("{}/", idp.issuer))
        .jwks_uri(idp.url("/jwks"))
        .audience(S2S_API)
        .build()
        .unwrap();
    assert!(other_issuer.authenticate(&token).await.is_err());
    // Another audience is refused.
    assert!(
        authenticator(&idp, BACKEND_API)
            .authenticate(&token)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn client_secret_post_and_basic_both_authenticate_and_a_wrong_secret_is_invalid_client() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let post = client(&idp, "svc-post", "svc-post-secret-0123456789abcdef");
    post.acquire_token_for_client(&["files.write"])
        .await
        .unwrap();

    let basic = ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id("svc-basic")
        .client_secret("svc-basic-secret-0123456789abcdef")
        .client_auth_method(ClientAuthMethod::SecretBasic)
        .build()
        .unwrap();
    basic
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap();

    // oidc-provider accepts either secret method for a client registered with one of them
    // (lib/shared/client_auth.js: `methods = ['client_secret_basic', 'client_secret_post']`),
    // so the header form is proven by auth-client's own tests; here: both are accepted.

    let wrong = client(&idp, "svc-post", "not-the-secret");
    let err = wrong
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err}");
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
}

/// A self-signed certificate over `TestKey::rsa_b()`, whose public JWK the provider has
/// registered for `svc-jwt`.
fn certificate() -> (String, String) {
    let key_pem = TestKey::rsa_b().private_key_pem();
    let key = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["svc-jwt".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    (cert, key_pem)
}

#[tokio::test]
async fn private_key_jwt_with_an_rs256_registration_authenticates() {
    let Some(idp) = OidcProvider::start(ProviderOptions {
        client_jwks: Some(auth_testkit::jwks(&[TestKey::rsa_b()])),
        client_jwt_alg: Some("RS256"),
    })
    .await
    else {
        return;
    };
    let (cert, key) = certificate();
    let client = ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id("svc-jwt")
        .certificate_pem(&cert, &key)
        .assertion_algorithm(AssertionAlgorithm::Rs256)
        .build()
        .unwrap();
    client
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap();

    // The provider pinned RS256 for this client: a PS256 assertion is refused.
    let ps256 = ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id("svc-jwt")
        .certificate_pem(&cert, &key)
        .assertion_algorithm(AssertionAlgorithm::Ps256)
        .build()
        .unwrap();
    let err = ps256
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err}");
}

fn web_app(idp: &OidcProvider) -> ConfidentialClient {
    client(idp, "web-app", "web-app-secret-0123456789abcdef")
}

/// Signs `alice` in headlessly and redeems the code: PKCE, `resource`, `prompt=consent` (OIDC
/// Core §11: `offline_access` is ignored without it).
async fn sign_in(app: &ConfidentialClient) -> auth_client::UserTokens {
    let start = app
        .authorization_url(
            AuthorizationRequest::new(REDIRECT_URI)
                .scopes(["case.create"])
                .resource(BACKEND_API)
                .prompt("consent"),
        )
        .await
        .unwrap();
    assert!(start.url.contains("code_challenge_method=S256"));
    let callback = follow_to_callback(&start.url, REDIRECT_URI).await;
    let response = AuthorizationResponse::from_uri(&callback.parse().unwrap());
    app.redeem_code(&start.session, &response).await.unwrap()
}

#[tokio::test]
async fn code_with_pkce_and_resource_then_refresh_rotates_and_a_spent_refresh_token_is_invalid_grant()
 {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let app = web_app(&idp);
    let tokens = sign_in(&app).await;

    let access = tokens.access_token.secret();
    assert_eq!(header(access)["typ"], "at+jwt");
    let principal = authenticator(&idp, BACKEND_API)
        .authenticate(access)
        .await
        .unwrap();
    assert_eq!(principal.kind(), TokenKind::Delegated);
    assert_eq!(principal.claims().subject(), Some("alice"));
    assert_eq!(principal.claims().client_id(), Some("web-app"));
    assert!(principal.claims().scopes().contains("case.create"));
    let id_token = tokens.id_token.as_ref().unwrap();
    assert_eq!(id_token.claims().subject(), Some("alice"));

    let first = tokens
        .refresh_token
        .expect("offline_access with prompt=consent");
    let refreshed = app.refresh(&first, &["case.create"]).await.unwrap();
    let second = refreshed.refresh_token.expect("rotated");
    assert_ne!(second.secret(), first.secret());
    assert_eq!(claims(refreshed.access_token.secret())["aud"], BACKEND_API);

    // Reuse of the spent one: invalid_grant, typed.
    let err = app.refresh(&first, &["case.create"]).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    // oidc-provider treats the reuse as theft and revokes the grant: the rotated one dies too.
    let err = app.refresh(&second, &["case.create"]).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
}

#[tokio::test]
async fn rfc9207_iss_on_the_authorization_response_is_the_issuer() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let discovery: serde_json::Value = reqwest::get(idp.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );
    let app = web_app(&idp);
    let start = app
        .authorization_url(AuthorizationRequest::new(REDIRECT_URI).scopes(["case.create"]))
        .await
        .unwrap();
    let callback = follow_to_callback(&start.url, REDIRECT_URI).await;
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(callback.split_once('?').unwrap().1).unwrap();
    let iss = query.iter().find(|(k, _)| k == "iss").map(|(_, v)| v);
    assert_eq!(iss, Some(&idp.issuer));
    let response = AuthorizationResponse::from_uri(&callback.parse().unwrap());
    app.redeem_code(&start.session, &response).await.unwrap();
}

#[tokio::test]
async fn key_rotation_is_picked_up_by_the_jwks_cache() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let auth = authenticator(&idp, S2S_API);
    let before = consumer_token(&idp).await;
    let old_kid = header(&before)["kid"].as_str().unwrap().to_owned();
    assert_eq!(
        auth.authenticate(&before).await.unwrap().claims().key_id(),
        old_kid
    );

    let new_kid = idp.rotate_keys().await;
    assert_ne!(new_kid, old_kid);
    let after = consumer_token(&idp).await;
    assert_eq!(header(&after)["kid"], new_kid.as_str());
    // An unseen kid: the cache refetches the JWKS and the new key verifies.
    assert_eq!(
        auth.authenticate(&after).await.unwrap().claims().key_id(),
        new_kid
    );
    // The old key is still published: its tokens still verify.
    auth.authenticate(&before).await.unwrap();

    // Retired: tokens signed with the old key are refused once the keys are refetched.
    idp.retire_old_keys().await;
    let fresh = Authenticator::builder()
        .issuer(&idp.issuer)
        .audience(S2S_API)
        .no_verified_token_cache()
        .build()
        .unwrap();
    fresh.authenticate(&after).await.unwrap();
    assert!(fresh.authenticate(&before).await.is_err());
}

const MIDDLE_API: &str = "api://middle-api";
const SHARED_API: &str = "api://shared-api";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Alice's token for the middle tier (`aud` = `api://middle-api`), through the web app.
async fn middle_tier_user_token(idp: &OidcProvider) -> String {
    let app = web_app(idp);
    let start = app
        .authorization_url(
            AuthorizationRequest::new(REDIRECT_URI)
                .scopes(["middle.call"])
                .resource(MIDDLE_API),
        )
        .await
        .unwrap();
    let callback = follow_to_callback(&start.url, REDIRECT_URI).await;
    let response = AuthorizationResponse::from_uri(&callback.parse().unwrap());
    let tokens = app.redeem_code(&start.session, &response).await.unwrap();
    tokens.access_token.into_secret()
}

/// The harness's RFC 8693 grant itself, spoken to directly (form fields of RFC 8693 §2.1):
/// proves the provider side the client's token exchange is tested against.
#[tokio::test]
async fn the_harness_serves_rfc8693_token_exchange_for_the_middle_tier() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let subject = middle_tier_user_token(&idp).await;
    assert_eq!(claims(&subject)["aud"], MIDDLE_API);
    let http = reqwest::Client::new();
    let exchange = |subject: String, resource: &'static str| {
        http.post(idp.url("/token")).form(&[
            ("grant_type", TOKEN_EXCHANGE.to_owned()),
            ("client_id", "middle-tier".to_owned()),
            (
                "client_secret",
                "middle-tier-secret-0123456789abcdef".to_owned(),
            ),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE.to_owned()),
            ("resource", resource.to_owned()),
            ("scope", "documents.read".to_owned()),
        ])
    };
    let answer: serde_json::Value = exchange(subject.clone(), SHARED_API)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["issued_token_type"], ACCESS_TOKEN_TYPE, "{answer}");
    let token = answer["access_token"].as_str().unwrap();
    let principal = authenticator(&idp, SHARED_API)
        .authenticate(token)
        .await
        .unwrap();
    assert_eq!(principal.claims().subject(), Some("alice"));
    assert_eq!(principal.claims().client_id(), Some("middle-tier"));
    assert!(principal.claims().scopes().contains("documents.read"));

    // A subject token for another audience is no good: invalid_grant.
    let not_for_middle = consumer_token(&idp).await;
    let refused = exchange(not_for_middle, SHARED_API).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

// --- auth-client's provider-neutral grants: RFC 8707 `resource` on client credentials, RFC 8693
// token exchange behind `acquire_token_on_behalf_of`, RFC 9207 checks, plain-key private_key_jwt.

#[tokio::test]
async fn client_credentials_with_resource_get_a_jwt_for_that_resource_with_post_and_basic() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    for (client_id, secret, method) in [
        (
            "svc-post",
            "svc-post-secret-0123456789abcdef",
            ClientAuthMethod::SecretPost,
        ),
        (
            "svc-basic",
            "svc-basic-secret-0123456789abcdef",
            ClientAuthMethod::SecretBasic,
        ),
    ] {
        let client = ConfidentialClient::builder()
            .issuer(&idp.issuer)
            .client_id(client_id)
            .client_secret(secret)
            .client_auth_method(method)
            .resource(S2S_API)
            .build()
            .unwrap();
        let token = client
            .acquire_token_for_client(&["files.write"])
            .await
            .unwrap();
        assert_eq!(token.scopes(), ["files.write"]);
        let principal = authenticator(&idp, S2S_API)
            .authenticate(token.secret())
            .await
            .unwrap();
        assert_eq!(principal.kind(), TokenKind::App);
        assert_eq!(principal.claims().client_id(), Some(client_id));
    }
    // Without `resource` the provider issues an opaque token (no JWT to validate).
    let opaque = client(&idp, "svc-post", "svc-post-secret-0123456789abcdef")
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap();
    assert_eq!(opaque.secret().split('.').count(), 1);
}

#[tokio::test]
async fn on_behalf_of_is_rfc8693_token_exchange_for_a_plain_oidc_provider() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let subject = middle_tier_user_token(&idp).await;
    let middle = ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id("middle-tier")
        .client_secret("middle-tier-secret-0123456789abcdef")
        .resource(SHARED_API)
        .build()
        .unwrap();
    let token = middle
        .acquire_token_on_behalf_of(&subject, &["documents.read"])
        .await
        .unwrap();
    let principal = authenticator(&idp, SHARED_API)
        .authenticate(token.secret())
        .await
        .unwrap();
    assert_eq!(principal.claims().subject(), Some("alice"));
    assert_eq!(principal.claims().client_id(), Some("middle-tier"));
    // Served from the cache the second time.
    let before = middle.stats().token_requests;
    middle
        .acquire_token_on_behalf_of(&subject, &["documents.read"])
        .await
        .unwrap();
    assert_eq!(middle.stats().token_requests, before);

    // A subject token the provider will not exchange: a typed invalid_grant.
    let err = middle
        .acquire_token_on_behalf_of(&consumer_token(&idp).await, &["documents.read"])
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
}

#[tokio::test]
async fn rfc9207_a_callback_with_another_iss_or_none_is_refused_before_redemption() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let app = web_app(&idp);
    for tamper in [Some("https://evil.example"), None] {
        let start = app
            .authorization_url(AuthorizationRequest::new(REDIRECT_URI).scopes(["case.create"]))
            .await
            .unwrap();
        let callback = follow_to_callback(&start.url, REDIRECT_URI).await;
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(callback.split_once('?').unwrap().1).unwrap();
        let mut kept: Vec<(String, String)> =
            query.into_iter().filter(|(k, _)| k != "iss").collect();
        if let Some(iss) = tamper {
            kept.push(("iss".to_owned(), iss.to_owned()));
        }
        let tampered = serde_urlencoded::to_string(&kept).unwrap();
        let response = AuthorizationResponse::from_query(&tampered);
        let before = app.stats().token_requests;
        let err = app
            .redeem_code(&start.session, &response)
            .await
            .unwrap_err();
        assert!(!err.to_string().is_empty());
        // Refused before any request: the code was never sent.
        assert_eq!(app.stats().token_requests, before, "{tamper:?}: {err}");
    }
}

#[tokio::test]
async fn private_key_jwt_with_a_plain_key_and_kid_picks_the_registered_algorithm() {
    // svc-jwt is registered for ES256 with the EC test key; the client must pick ES256 from
    // discovery's token_endpoint_auth_signing_alg_values_supported and send the kid.
    let Some(idp) = OidcProvider::start(ProviderOptions {
        client_jwks: Some(auth_testkit::jwks(&[TestKey::ec_p256()])),
        client_jwt_alg: Some("ES256"),
    })
    .await
    else {
        return;
    };
    let key = TestKey::ec_p256();
    let client = ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id("svc-jwt")
        .private_key_pem(&key.private_key_pem(), key.kid())
        .assertion_algorithm(AssertionAlgorithm::Es256)
        .build()
        .unwrap();
    client
        .acquire_token_for_client(&["files.write"])
        .await
        .unwrap();
}
