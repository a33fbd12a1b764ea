//! `s2s-example-consumer` and `s2s-example-api` against the emulator, in-process.

mod common;

use common::{call, user_token};
use examples::local::{ALICE, CASE_CREATE, Local};
use examples::s2s_consumer;

#[tokio::test]
async fn consumer_uploads_with_its_app_role() {
    let local = Local::start().await.unwrap();
    let upload = s2s_consumer::run_once(&local.consumer_config("s2s-example-consumer"))
        .await
        .unwrap();
    assert_eq!(upload.status, 200);
    assert_eq!(
        upload.body,
        format!(
            "File uploaded successfully by Service: {}",
            local.idp.app("s2s-example-consumer").client_id()
        )
    );
    // The consumer's token client caches the token: a second run asks Entra nothing.
    let consumer =
        s2s_consumer::Consumer::new(&local.consumer_config("s2s-example-consumer")).unwrap();
    consumer.run_once().await.unwrap();
    let before = local.idp.token_requests_total();
    assert!(consumer.run_once().await.unwrap().is_success());
    assert_eq!(local.idp.token_requests_total(), before);
}

#[tokio::test]
async fn consumer_without_admin_consent_gets_a_token_without_roles_and_a_403() {
    let local = Local::start().await.unwrap();
    let upload = s2s_consumer::run_once(&local.consumer_config("s2s-example-consumer-unconsented"))
        .await
        .unwrap();
    assert_eq!(upload.status, 403);
}

#[tokio::test]
async fn consumer_reports_a_refused_credential() {
    let local = Local::start().await.unwrap();
    let mut config = local.consumer_config("s2s-example-consumer");
    config.client = examples::ClientConfig::with_secret(
        local.idp.base_url(),
        local.idp.tenant_id(),
        local.idp.app("s2s-example-consumer").client_id(),
        "wrong-secret",
    );
    let err = s2s_consumer::run_once(&config).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("7000215"), "{text}");
    assert!(!text.contains("wrong-secret"), "the secret leaked: {text}");
}

#[tokio::test]
async fn api_refuses_missing_tokens_user_tokens_and_other_audiences() {
    let local = Local::start().await.unwrap();
    let url = format!("{}/upload", local.s2s_api.url());

    assert_eq!(call("POST", &url, None, None).await.status, 401);

    // A user token carrying the role is still refused: the route is app-only.
    let user = local
        .mint_for_alice("s2s-example-api")
        .scopes("x")
        .roles(["Files.Write"])
        .sign();
    let answer = call("POST", &url, Some(&user), None).await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.challenge.contains("an application's own token"),
        "{answer:?}"
    );

    // An app token without the role.
    let no_role = local
        .mint()
        .audience(local.idp.app("s2s-example-api").client_id())
        .remove("scp")
        .idtyp("app")
        .roles(["Files.Read"])
        .sign();
    let answer = call("POST", &url, Some(&no_role), None).await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.challenge.contains("scope=\"Files.Write\""),
        "{answer:?}"
    );

    // Alice's token for auth-code-api.
    let redirect = format!("{}/callback", local.auth_code_client.url());
    let other = user_token(&local, "auth-code-client", &redirect, &[CASE_CREATE], ALICE).await;
    assert_eq!(call("POST", &url, Some(&other), None).await.status, 401);
}

/// `s2s-example-consumer` as a child process with no secret, certificate or federated token
/// file: its credential is the host's managed identity (the emulator's App Service endpoint, or
/// its IMDS), which the app registration trusts (a federated identity credential).
fn run_consumer_on_managed_identity(local: &Local, endpoint: &[(&str, String)]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_s2s-example-consumer"))
        .env_clear()
        .env("AZURE_AUTHORITY_HOST", local.idp.base_url())
        .env("AZURE_TENANT_ID", local.idp.tenant_id())
        .env(
            "AZURE_CLIENT_ID",
            local.idp.app("s2s-example-consumer").client_id(),
        )
        .env("S2S_API_URL", local.s2s_api.url())
        .env("RUST_LOG", "info")
        .envs(endpoint.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_runs_on_managed_identity_without_any_secret() {
    let local = Local::start().await.unwrap();
    let consumer = local.idp.app("s2s-example-consumer").client_id().to_owned();
    let app_service = [
        ("IDENTITY_ENDPOINT", local.idp.identity_endpoint()),
        ("IDENTITY_HEADER", local.idp.identity_header().to_owned()),
    ];
    let imds = [(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        local.idp.imds_authority().to_owned(),
    )];
    for endpoint in [&app_service[..], &imds[..]] {
        // The child blocks this worker; the emulator and the API run on the other one.
        let (ok, out) =
            tokio::task::block_in_place(|| run_consumer_on_managed_identity(&local, endpoint));
        assert!(ok, "{out}");
        // The API saw the app registration (the managed identity was only its credential).
        assert!(
            out.contains(&format!(
                "File uploaded successfully by Service: {consumer}"
            )),
            "{out}"
        );
        assert!(out.contains("managed identity"), "{out}");
    }
}
