//! `ConfidentialClient::from_env` with real environment variables.
//!
//! The environment is process-global (and `set_var` is `unsafe` in Rust 2024, which this
//! workspace forbids), so each case runs this test binary again as a child process with its
//! own variables: `child_acquires_a_token_from_the_environment` does the work in the child and
//! passes trivially in a normal run.

mod common;

use std::process::Command;

use auth_client::ConfidentialClient;
use auth_testkit::emulator::Grant;
use common::*;

const CHILD: &str = "AUTH_CLIENT_FROM_ENV_CHILD";
const VARIABLES: [&str; 10] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_MANAGED_IDENTITY_CLIENT_ID",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
];

#[test]
fn child_acquires_a_token_from_the_environment() {
    let Ok(scope) = std::env::var(CHILD) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = ConfidentialClient::from_env()
            .expect("from_env")
            .build()
            .expect("build");
        let token = client
            .acquire_token_for_client(&[&scope])
            .await
            .expect("token");
        println!("child: token of {} bytes", token.secret().len());
    });
}

/// Runs the child with `vars` (and no other AZURE_* variable); returns its success and output.
async fn run_child(vars: Vec<(&'static str, String)>) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "child_acquires_a_token_from_the_environment",
                "--nocapture",
            ])
            .env(CHILD, S2S_SCOPE);
        for name in VARIABLES {
            command.env_remove(name);
        }
        command.envs(vars);
        let output = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_reads_the_azure_sdk_variables() {
    let idp = extended_emulator().await;
    let tenant = idp.tenant_id().to_owned();
    let host = format!("{}/", idp.base_url());

    // A secret.
    let consumer = idp.app("s2s-example-consumer");
    let (ok, out) = run_child(vec![
        ("AZURE_TENANT_ID", tenant.clone()),
        ("AZURE_CLIENT_ID", consumer.client_id().to_owned()),
        ("AZURE_CLIENT_SECRET", consumer.secret().to_owned()),
        ("AZURE_AUTHORITY_HOST", host.clone()),
    ])
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("child: token of"), "{out}");
    assert_eq!(idp.token_requests(Grant::ClientCredentials), 1);

    // A PEM with the certificate and the key.
    let dir = std::env::temp_dir().join(format!("auth-client-from-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = certificate();
    let pem = dir.join("client.pem");
    std::fs::write(&pem, format!("{cert}{key}")).unwrap();
    let daemon = idp.app("cert-daemon").client_id().to_owned();
    let (ok, out) = run_child(vec![
        ("AZURE_TENANT_ID", tenant.clone()),
        ("AZURE_CLIENT_ID", daemon.clone()),
        ("AZURE_CLIENT_CERTIFICATE_PATH", pem.display().to_string()),
        ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "true".to_owned()),
        ("AZURE_AUTHORITY_HOST", host.clone()),
    ])
    .await;
    assert!(ok, "{out}");
    assert_eq!(idp.token_requests(Grant::ClientCredentials), 2);

    // A federated token file.
    let file = dir.join("federated-token");
    std::fs::write(&file, external_assertion(&idp)).unwrap();
    let (ok, out) = run_child(vec![
        ("AZURE_TENANT_ID", tenant.clone()),
        ("AZURE_CLIENT_ID", daemon),
        ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
        ("AZURE_AUTHORITY_HOST", host.clone()),
    ])
    .await;
    assert!(ok, "{out}");
    assert_eq!(idp.token_requests(Grant::ClientCredentials), 3);

    // A missing variable is named.
    let (ok, out) = run_child(vec![
        ("AZURE_TENANT_ID", tenant),
        ("AZURE_AUTHORITY_HOST", host),
    ])
    .await;
    assert!(!ok);
    assert!(out.contains("AZURE_CLIENT_ID"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_uses_the_user_assigned_identity_of_azure_managed_identity_client_id() {
    let idp = extended_emulator().await;
    let tenant = idp.tenant_id().to_owned();
    let host = format!("{}/", idp.base_url());
    // The middle tier's registration trusts the user-assigned identity obo-example-middle-tier
    // (a federated identity credential): no secret anywhere. The App Service endpoint serves
    // the identity's token for api://AzureADTokenExchange.
    let middle_tier = idp.app("obo-example-internal-api").client_id().to_owned();
    let identity = idp
        .managed_identity("obo-example-middle-tier")
        .client_id()
        .to_owned();
    let base = |extra: Vec<(&'static str, String)>| {
        let mut vars = vec![
            ("AZURE_TENANT_ID", tenant.clone()),
            ("AZURE_CLIENT_ID", middle_tier.clone()),
            ("AZURE_AUTHORITY_HOST", host.clone()),
            ("IDENTITY_ENDPOINT", idp.identity_endpoint()),
            ("IDENTITY_HEADER", idp.identity_header().to_owned()),
            (CHILD, "api://shared-documents/.default".to_owned()),
        ];
        vars.extend(extra);
        vars
    };
    let (ok, out) = run_child(base(vec![(
        "AZURE_MANAGED_IDENTITY_CLIENT_ID",
        identity.clone(),
    )]))
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("child: token of"), "{out}");

    // Without it, the system-assigned identity (s2s-example-host) is the assertion: the
    // registration does not trust it, and Entra says so.
    let (ok, out) = run_child(base(vec![])).await;
    assert!(!ok, "{out}");
    // AADSTS700213: no federated identity record matches the assertion's subject.
    assert!(out.contains("AADSTS700213"), "{out}");
}
