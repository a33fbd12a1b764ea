//! On-Behalf-Of against the emulator: the exchange, its errors (AADSTS50013, 65001, a
//! Conditional Access claims challenge), the cache, and single-flight.

mod common;

use std::sync::Arc;

use auth_client::{CacheKey, Error};
use auth_testkit::emulator::{Emulator, Grant};
use base64::Engine as _;
use common::*;

async fn emulator() -> Emulator {
    Emulator::builder().auto_login(ALICE).start().await.unwrap()
}

fn obo_requests(idp: &Emulator) -> usize {
    idp.token_requests(Grant::OnBehalfOf)
}

#[tokio::test]
async fn the_user_token_is_exchanged_for_one_addressed_to_the_downstream_api() {
    let idp = emulator().await;
    let token_a = token_a(&idp).await;
    assert_eq!(claims(&token_a)["aud"], "api://obo-example-internal-api");

    let middle = client(&idp, "obo-example-internal-api");
    let token_b = middle
        .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
        .await
        .unwrap();
    let b = claims(token_b.secret());
    assert_eq!(b["aud"], idp.app("obo-example-shared-api").client_id());
    assert_eq!(b["scp"], "Documents.Read");
    assert_eq!(b["oid"], auth_testkit::ids::USER_OID);
    assert_eq!(b["azp"], idp.app("obo-example-internal-api").client_id());
    assert_eq!(b["name"], "Alice Example");
    assert_eq!(token_b.scopes(), [SHARED_READ]);

    // Cached per inbound assertion: the same token A is served from the cache…
    let again = middle
        .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!(again.secret(), token_b.secret());
    assert_eq!(obo_requests(&idp), 1);
    // … another user token (another sign-in) is exchanged anew, and so is another scope.
    let other_a = common::token_a(&idp).await;
    middle
        .acquire_token_on_behalf_of(&other_a, &[SHARED_READ])
        .await
        .unwrap();
    middle
        .acquire_token_on_behalf_of(&token_a, &["api://shared-documents/Documents.Write"])
        .await
        .unwrap();
    assert_eq!(obo_requests(&idp), 3);
    assert!(matches!(
        middle.acquire_token_on_behalf_of(" ", &[SHARED_READ]).await,
        Err(Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn a_token_addressed_to_another_api_is_an_invalid_user_assertion() {
    let idp = emulator().await;
    // The web app's token for the auth-code API, presented to the internal API's client.
    let web = client(&idp, "auth-code-client");
    let foreign = sign_in(&web, WEB_REDIRECT, &[CASE_CREATE])
        .await
        .access_token;
    let middle = client(&idp, "obo-example-internal-api");
    let err = middle
        .acquire_token_on_behalf_of(foreign.secret(), &[SHARED_READ])
        .await
        .unwrap_err();
    assert!(
        err.is_invalid_grant() && !err.is_consent_required(),
        "{err}"
    );
    // Entra answers AADSTS500131 (audience mismatch); older emulators answered 50013.
    assert!(err.is_invalid_user_assertion(), "{err}");
    assert!(
        err.aadsts_codes() == [500131] || err.aadsts_codes() == [50013],
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("on_behalf_of token request of app 7708b120"),
        "{text}"
    );
    assert!(
        text.contains("addressed to this API") || text.contains("addressed to another app"),
        "{text}"
    );
    assert!(!text.contains(foreign.secret()));
}

#[tokio::test]
async fn without_consent_for_the_downstream_scope_it_is_aadsts65001() {
    let idp = extended_emulator().await;
    // Alice signs in to the middle tier itself; it has no admin consent for the shared API.
    let middle = client(&idp, "unconsented-middle-tier");
    let token = sign_in(
        &middle,
        "http://localhost:4000/redirect",
        &["api://unconsented-middle-tier/user_impersonation"],
    )
    .await
    .access_token;
    let err = middle
        .acquire_token_on_behalf_of(token.secret(), &[SHARED_READ])
        .await
        .unwrap_err();
    assert!(err.is_consent_required() && err.is_invalid_grant(), "{err}");
    assert_eq!(err.aadsts_codes(), [65001]);
    assert_eq!(
        err.server_error().unwrap().suberror(),
        Some("consent_required")
    );
    assert!(err.claims_challenge().is_none());
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "Grant admin consent for {SHARED_READ} to app {}",
            idp.app("unconsented-middle-tier").client_id()
        )),
        "{text}"
    );
}

#[tokio::test]
async fn conditional_access_yields_a_claims_challenge_to_pass_back() {
    let idp = emulator().await;
    let token_a = token_a(&idp).await;
    let claims_json = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    idp.set_obo_claims_challenge(Some(claims_json));
    let middle = client(&idp, "obo-example-internal-api");
    let err = middle
        .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
        .await
        .unwrap_err();
    assert!(
        err.is_interaction_required() && !err.is_consent_required(),
        "{err}"
    );
    assert_eq!(err.aadsts_codes(), [50076]);
    assert_eq!(err.claims(), Some(claims_json));
    let challenge = err.claims_challenge().unwrap();
    let header = challenge.www_authenticate();
    let header = header.to_str().unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(claims_json);
    assert!(header.contains("error=\"insufficient_claims\""), "{header}");
    assert!(
        header.contains(&format!("claims=\"{encoded}\"")),
        "{header}"
    );
    assert!(err.to_string().contains("Conditional Access"), "{err}");

    // Errors are not cached: once the policy is satisfied the exchange works.
    idp.set_obo_claims_challenge(None);
    middle
        .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_identical_requests_share_one_token_request() {
    let idp = emulator().await;
    let token_a = Arc::new(token_a(&idp).await);
    let middle = client(&idp, "obo-example-internal-api");
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (middle, token_a) = (middle.clone(), Arc::clone(&token_a));
        calls.spawn(async move {
            middle
                .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
                .await
                .map(auth_client::AccessToken::into_secret)
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(result) = calls.join_next().await {
        tokens.insert(result.unwrap().unwrap());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        obo_requests(&idp),
        1,
        "single-flight: one token-endpoint call"
    );
    let stats = middle.stats();
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.coalesced + stats.cache_hits, 999, "{stats:?}");
    println!(
        "1000 concurrent identical OBO requests -> {} token request(s); {stats:?}",
        obo_requests(&idp)
    );
}

#[tokio::test]
async fn obo_cache_keys_hash_the_assertion() {
    let key = CacheKey::on_behalf_of(
        "https://login.microsoftonline.com/t",
        "c",
        &CacheKey::assertion_hash("header.payload.signature"),
        &[SHARED_READ],
    );
    assert!(!key.as_str().contains("payload"));
    assert_eq!(key.inbound_assertion_hash().map(str::len), Some(43));
}

#[tokio::test]
async fn a_token_the_downstream_api_rejected_is_replaced_not_served_until_it_expires() {
    let idp = emulator().await;
    let token_a = token_a(&idp).await;
    let middle = builder(&idp, "obo-example-internal-api")
        .client_capabilities(["cp1"])
        .build()
        .unwrap();
    let first = middle
        .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
        .await
        .unwrap();
    // The downstream API refused `first` (revocation): drop it, the next call exchanges again.
    middle
        .remove_cached_obo_token(&token_a, &[SHARED_READ])
        .await
        .unwrap();
    let second = middle
        .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!(obo_requests(&idp), 2);
    // Or in one step, with the API's claims challenge (CAE): the cache is bypassed.
    let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let third = middle
        .acquire_token_on_behalf_of_with(
            &token_a,
            &auth_client::TokenRequest::new([SHARED_READ]).claims(challenge),
        )
        .await
        .unwrap();
    assert_eq!(obo_requests(&idp), 3);
    let cached = middle
        .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!(
        cached.secret(),
        third.secret(),
        "the fresh token replaced the cached one"
    );
    assert_eq!(obo_requests(&idp), 3);
    let _ = (first, second);
}
