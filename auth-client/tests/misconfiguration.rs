//! Misconfigurations whose messages name the fix: a tenant Entra does not know (AADSTS90002),
//! a redirect URI that is not the one the code was issued for (AADSTS50011).

mod common;

use auth_client::{AuthorizationRequest, AuthorizationResponse, ConfidentialClient};
use common::*;

#[tokio::test]
async fn a_tenant_entra_does_not_know_names_the_variables_to_check() {
    let idp = extended_emulator().await;
    let consumer = idp.app("s2s-example-consumer");
    // One digit off the tenant id.
    let client = ConfidentialClient::builder()
        .authority(format!(
            "{}/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e11",
            idp.base_url()
        ))
        .client_id(consumer.client_id())
        .client_secret(consumer.secret())
        .build()
        .unwrap();
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert_eq!(err.aadsts_codes(), [90002], "{err}");
    let text = err.to_string();
    for fix in [
        "tenant was not found",
        "AZURE_TENANT_ID",
        "AZURE_AUTHORITY_HOST",
    ] {
        assert!(text.contains(fix), "{fix}: {text}");
    }
    assert!(!text.contains(consumer.secret()));
}

#[tokio::test]
async fn a_redirect_uri_mismatch_says_which_uri_to_register_where() {
    let idp = extended_emulator().await;
    let client = client(&idp, "auth-code-client");
    // The code is issued for the registered redirect URI…
    let first = client
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let callback = follow(&first.url).await;
    // …and redeemed by a deployment configured with another one.
    let other = "https://cases.example.com/signin-oidc";
    let second = client
        .authorization_url(AuthorizationRequest::new(other).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let response = AuthorizationResponse::new(callback.code().unwrap(), second.session.state());
    let err = client
        .redeem_code(&second.session, &response)
        .await
        .unwrap_err();
    assert_eq!(err.aadsts_codes(), [50011], "{err}");
    let text = err.to_string();
    let register = format!("Register {other:?} on app {}", client.client_id());
    for fix in [
        register.as_str(),
        "App registrations",
        "Redirect URIs",
        "REDIRECT_URI",
    ] {
        assert!(text.contains(fix), "{fix}: {text}");
    }
}
