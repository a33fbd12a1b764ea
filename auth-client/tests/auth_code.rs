//! Authorization code + PKCE and refresh tokens against the emulator (auto-login, a browser
//! that does not follow redirects): state, verifier and nonce checks, ID-token validation,
//! rotation, OIDC discovery and the RFC 8707 resource parameter.

mod common;

use auth_client::{
    AuthCodeSession, AuthorizationRequest, AuthorizationResponse, ConfidentialClient, Error,
    RefreshToken, ResponseMode,
};
use auth_testkit::emulator::{Emulator, Grant};
use common::*;

async fn emulator() -> Emulator {
    Emulator::builder().auto_login(ALICE).start().await.unwrap()
}

fn query(url: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(url.split_once('?').unwrap().1).unwrap()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The session with one field replaced, as an attacker or a bug would.
fn tampered(session: &AuthCodeSession, field: &str, value: &str) -> AuthCodeSession {
    let mut json = serde_json::to_value(session).unwrap();
    json[field] = value.into();
    serde_json::from_value(json).unwrap()
}

#[tokio::test]
async fn the_code_flow_with_pkce_returns_validated_tokens_and_the_refresh_token() {
    let idp = emulator().await;
    let client = client(&idp, "auth-code-client");
    let start = client
        .authorization_url(
            AuthorizationRequest::new(WEB_REDIRECT)
                .scopes([CASE_CREATE])
                .login_hint(ALICE)
                .prompt("select_account"),
        )
        .await
        .unwrap();
    assert!(start.url.starts_with(&idp.authorization_endpoint()));
    let p = query(&start.url);
    assert_eq!(param(&p, "client_id"), Some(client.client_id()));
    assert_eq!(param(&p, "response_type"), Some("code"));
    assert_eq!(param(&p, "redirect_uri"), Some(WEB_REDIRECT));
    assert_eq!(param(&p, "code_challenge_method"), Some("S256"));
    assert_eq!(param(&p, "state"), Some(start.session.state()));
    assert_eq!(param(&p, "nonce"), Some(start.session.nonce()));
    assert_eq!(param(&p, "login_hint"), Some(ALICE));
    assert_eq!(
        param(&p, "scope"),
        Some("api://backend-api-id/Case.Create openid profile offline_access")
    );
    assert_eq!(param(&p, "code_challenge").map(str::len), Some(43));
    assert!(!start.url.contains("code_verifier"));

    let callback = follow(&start.url).await;
    let tokens = client.redeem_code(&start.session, &callback).await.unwrap();

    let id = tokens.id_token.as_ref().unwrap();
    assert_eq!(id.claims().audiences().first(), Some(client.client_id()));
    assert_eq!(
        id.claims().get("nonce"),
        Some(serde_json::Value::String(start.session.nonce().to_owned()))
    );
    assert_eq!(id.claims().name(), Some("Alice Example"));
    assert_eq!(id.claims().object_id(), Some(auth_testkit::ids::USER_OID));
    let access = claims(tokens.access_token.secret());
    assert_eq!(access["aud"], idp.app("auth-code-api").client_id());
    assert_eq!(access["scp"], "Case.Create");
    assert_eq!(access["roles"], serde_json::json!(["Case.Approver"]));
    assert!(tokens.refresh_token.is_some());

    // A code is single-use.
    let err = client
        .redeem_code(&start.session, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.aadsts_codes(), [54005]);
    assert!(err.is_invalid_grant());
}

#[tokio::test]
async fn a_wrong_state_is_refused_before_any_request() {
    let idp = emulator().await;
    let client = client(&idp, "auth-code-client");
    let start = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let callback = follow(&start.url).await;
    let forged = AuthorizationResponse::new(callback.code().unwrap(), "another-state");
    let err = client
        .redeem_code(&start.session, &forged)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StateMismatch), "{err}");
    let no_state = AuthorizationResponse::from_query(&format!("code={}", callback.code().unwrap()));
    assert!(matches!(
        client.redeem_code(&start.session, &no_state).await,
        Err(Error::StateMismatch)
    ));
    assert_eq!(idp.token_requests(Grant::AuthorizationCode), 0);
    // The genuine callback still works.
    client.redeem_code(&start.session, &callback).await.unwrap();
}

#[tokio::test]
async fn a_wrong_verifier_is_aadsts501481() {
    let idp = emulator().await;
    let client = client(&idp, "auth-code-client");
    let start = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let callback = follow(&start.url).await;
    let other = tampered(
        &start.session,
        "code_verifier",
        "an-attacker-chosen-verifier-0123456789abcdef",
    );
    let err = client.redeem_code(&other, &callback).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    assert_eq!(err.aadsts_codes(), [501481]);
    assert!(err.to_string().contains("PKCE"), "{err}");
}

#[tokio::test]
async fn a_nonce_mismatch_is_refused() {
    let idp = emulator().await;
    let client = client(&idp, "auth-code-client");
    let start = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let callback = follow(&start.url).await;
    let other = tampered(&start.session, "nonce", "another-nonce");
    let err = client.redeem_code(&other, &callback).await.unwrap_err();
    assert!(matches!(err, Error::NonceMismatch), "{err}");
}

#[tokio::test]
async fn an_error_callback_is_reported_with_its_aadsts_code() {
    let idp = emulator().await;
    let client = client(&idp, "auth-code-client");
    let start = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let callback = AuthorizationResponse::from_query(&format!(
        "error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent.&state={}",
        start.session.state()
    ));
    let err = client
        .redeem_code(&start.session, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.aadsts_codes(), [65004]);
    assert_eq!(err.server_error().unwrap().error(), "access_denied");
    assert!(
        err.to_string()
            .starts_with("the authorization request of app"),
        "{err}"
    );
    // Scope errors are redirected back too.
    let bad = client
        .authorization_url(
            AuthorizationRequest::new(WEB_REDIRECT).scopes(["api://backend-api-id/Nope"]),
        )
        .await
        .unwrap();
    let callback = follow(&bad.url).await;
    let err = client
        .redeem_code(&bad.session, &callback)
        .await
        .unwrap_err();
    // A scope the API does not expose: AADSTS650053, as Entra answers at the authorize
    // endpoint (docs/emulator.md lists the sources).
    assert_eq!(err.aadsts_codes(), [650053]);
    assert!(matches!(
        client
            .redeem_code(
                &bad.session,
                &AuthorizationResponse::new("", bad.session.state())
            )
            .await,
        Err(Error::MissingCode | Error::Server(_))
    ));
}

#[tokio::test]
async fn refresh_tokens_are_redeemed_with_rotation() {
    let idp = emulator().await;
    let client = client(&idp, "auth-code-client");
    let tokens = sign_in(&client, WEB_REDIRECT, &[CASE_CREATE]).await;
    let first = tokens.refresh_token.unwrap();

    let refreshed = client.refresh(&first, &[CASE_CREATE]).await.unwrap();
    let second = refreshed.refresh_token.unwrap();
    assert_ne!(second.secret(), first.secret(), "rotated");
    assert_eq!(
        claims(refreshed.access_token.secret())["scp"],
        "Case.Create"
    );
    let id = refreshed.id_token.unwrap();
    assert_eq!(id.claims().name(), Some("Alice Example"));
    assert_eq!(idp.token_requests(Grant::RefreshToken), 1);

    // The rotated token works; an unknown one is invalid_grant (sign in again).
    client.refresh(&second, &[CASE_CREATE]).await.unwrap();
    let err = client
        .refresh(&RefreshToken::new("1.emulator.unknown"), &[CASE_CREATE])
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    assert!(err.to_string().contains("sign the user in again"), "{err}");
}

#[tokio::test]
async fn the_session_survives_serialization_and_hides_the_verifier() {
    let idp = emulator().await;
    let client = client(&idp, "auth-code-client");
    let start = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let stored = serde_json::to_string(&start.session).unwrap();
    let restored: AuthCodeSession = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored, start.session);
    let verifier = serde_json::from_str::<serde_json::Value>(&stored).unwrap()["code_verifier"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!format!("{restored:?}").contains(&verifier));
    let callback = follow(&start.url).await;
    client.redeem_code(&restored, &callback).await.unwrap();
}

#[tokio::test]
async fn resource_claims_and_form_post_are_sent_on_the_authorize_request() {
    let idp = emulator().await;
    // RFC 8707 resource is for providers other than Entra: the emulator's issuer, discovered.
    let web = idp.app("auth-code-client");
    let client = ConfidentialClient::builder()
        .issuer(idp.issuer())
        .client_id(web.client_id())
        .client_secret(web.secret())
        .resource("api://backend-api-id")
        .build()
        .unwrap();
    let start = client
        .authorization_url(
            AuthorizationRequest::new(WEB_REDIRECT)
                .scopes([CASE_CREATE])
                .claims(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#)
                .response_mode(ResponseMode::FormPost)
                .param("ui_locales", "fr")
                .param("state", "ignored"),
        )
        .await
        .unwrap();
    let p = query(&start.url);
    assert_eq!(param(&p, "resource"), Some("api://backend-api-id"));
    assert_eq!(param(&p, "response_mode"), Some("form_post"));
    assert_eq!(param(&p, "ui_locales"), Some("fr"));
    assert_eq!(param(&p, "state"), Some(start.session.state()));
    assert!(param(&p, "claims").unwrap().contains("acrs"));

    // The resource is remembered for the code redemption (query mode here) — and the emulator,
    // like Entra's v2 token endpoint, refuses it with AADSTS901002: RFC 8707 `resource` is for
    // other providers (interop/tests/oidc_provider.rs redeems it against a real one).
    let start = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let callback = follow(&start.url).await;
    let err = client
        .redeem_code(&start.session, &callback)
        .await
        .unwrap_err();
    assert_eq!(err.aadsts_codes(), [901002], "{err}");
    let refreshed = client
        .refresh_for_resource(
            &RefreshToken::new("1.emulator.unknown"),
            &[CASE_CREATE],
            "api://backend-api-id",
        )
        .await;
    assert!(refreshed.is_err());
}

#[tokio::test]
async fn resource_is_never_sent_to_entra() {
    let idp = emulator().await;
    let err = builder(&idp, "auth-code-client")
        .resource("api://backend-api-id")
        .build()
        .unwrap_err();
    assert!(matches!(err, auth_client::BuildError::Config(_)), "{err}");
    let client = client(&idp, "auth-code-client");
    let err = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).resource("api://backend-api-id"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    let err = client
        .refresh_for_resource(
            &RefreshToken::new("rt"),
            &[CASE_CREATE],
            "api://backend-api-id",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
}

#[tokio::test]
async fn a_generic_oidc_provider_is_discovered_and_its_id_tokens_validated() {
    let idp = emulator().await;
    let web = idp.app("auth-code-client");
    let client = ConfidentialClient::builder()
        .issuer(idp.issuer())
        .client_id(web.client_id())
        .client_secret(web.secret())
        .build()
        .unwrap();
    let tokens = sign_in(&client, WEB_REDIRECT, &[CASE_CREATE]).await;
    let id = tokens.id_token.unwrap();
    assert_eq!(id.claims().issuer(), idp.issuer());
    assert_eq!(idp.discovery_hits(), 1, "the authority's discovery, once");
    assert!(idp.jwks_hits() >= 1);
}

#[tokio::test]
async fn id_tokens_signed_by_another_key_are_refused() {
    let idp = emulator().await;
    let client = client(&idp, "auth-code-client");
    let start = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let callback = follow(&start.url).await;
    // The emulator signs with a key it does not publish.
    let rogue = idp.publish_new_key();
    assert!(idp.sign_with(&rogue));
    assert!(idp.withdraw_key(&rogue));
    let err = client
        .redeem_code(&start.session, &callback)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IdToken(_)), "{err}");
}
