//! The gRPC example: a scope (interceptor) and a role (layer), over a real tonic channel.

mod common;

use common::user_token;
use examples::grpc::{approve_case, connect, create_case};
use examples::local::{ALICE, BOB, CASE_CREATE, CASE_READ, Local};
use tonic::Code;

#[tokio::test]
async fn create_needs_the_scope_and_approve_the_role() {
    let local = Local::start().await.unwrap();
    let channel = connect(&local.grpc.url()).await.unwrap();
    let redirect = format!("{}/callback", local.auth_code_client.url());
    let alice = user_token(&local, "auth-code-client", &redirect, &[CASE_CREATE], ALICE).await;
    let bob = user_token(&local, "auth-code-client", &redirect, &[CASE_CREATE], BOB).await;
    let read_only = user_token(&local, "auth-code-client", &redirect, &[CASE_READ], ALICE).await;

    let reply = create_case(&channel, &alice, "Broken chair").await.unwrap();
    assert!(
        reply.message.contains("created by Alice Example"),
        "{reply:?}"
    );
    let reply = create_case(&channel, &bob, "Broken desk").await.unwrap();
    assert!(
        reply.message.contains("created by Bob Example"),
        "{reply:?}"
    );

    let refused = create_case(&channel, &read_only, "x").await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    let reply = approve_case(&channel, &alice, 1).await.unwrap();
    assert_eq!(reply.message, "Case 1 approved by Alice Example");
    let refused = approve_case(&channel, &bob, 1).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.metadata().get("www-authenticate").is_some());
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let local = Local::start().await.unwrap();
    let channel = connect(&local.grpc.url()).await.unwrap();
    let garbage = create_case(&channel, "not-a-token", "x").await.unwrap_err();
    assert_eq!(garbage.code(), Code::Unauthenticated);
    let expired = local
        .mint_for_alice("auth-code-api")
        .scopes("Case.Create")
        .issued_at(auth_testkit::now() - 7200)
        .expires_in(3600)
        .sign();
    let refused = approve_case(&channel, &expired, 1).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}
