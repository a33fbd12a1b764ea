//! `grpc-cases-client`: calls the gRPC example with a user's token: `cases.Cases/Create`,
//! then `cases.Approvals/Approve` for the new case.
//!
//! The token: `ACCESS_TOKEN` if set; otherwise the client signs the user in with the
//! authorization code flow + PKCE on a loopback redirect (`http://127.0.0.1:{port}/callback`,
//! any port: register `http://127.0.0.1/callback` or use the seed's `auth-code-client`
//! registration) as the confidential client `AZURE_*`, printing the URL to open.
//!
//! | variable | default |
//! |---|---|
//! | `GRPC_URL` | `http://127.0.0.1:50051` |
//! | `GRPC_SCOPE` | `api://backend-api-id/Case.Create` |
//! | `CASE_TITLE` | `Printer on fire` |
//! | `ACCESS_TOKEN`, or `AZURE_AUTHORITY_HOST`, `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` | |

use std::error::Error;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_client::{AuthorizationRequest, AuthorizationResponse};
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use examples::{ClientConfig, Vars};
use http::Uri;
use tokio::sync::oneshot;

const NAME: &str = "grpc-cases-client";

#[tokio::main]
async fn main() -> ExitCode {
    examples::init_logging();
    let result = run().await;
    examples::exit_code(NAME, result)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let vars = Vars::env();
    let url = vars.url("GRPC_URL", "http://127.0.0.1:50051")?;
    let token = match vars.get("ACCESS_TOKEN") {
        Some(token) => token,
        None => sign_in(&vars).await?,
    };
    let channel = examples::grpc::connect(&url).await?;
    let title = vars.or("CASE_TITLE", "Printer on fire");
    let created = examples::grpc::create_case(&channel, &token, &title).await;
    match &created {
        Ok(reply) => println!("Create: OK: {}", reply.message),
        Err(status) => println!("Create: {:?}: {}", status.code(), status.message()),
    }
    match examples::grpc::approve_case(&channel, &token, 1).await {
        Ok(reply) => println!("Approve: OK: {}", reply.message),
        Err(status) => println!("Approve: {:?}: {}", status.code(), status.message()),
    }
    created
        .map(|_| ())
        .map_err(|status| status.message().to_owned().into())
}

/// The authorization code flow on a loopback redirect: prints the URL, waits for the callback.
async fn sign_in(vars: &Vars<'_>) -> Result<String, Box<dyn Error>> {
    let client = ClientConfig::from_vars(vars)?.client()?;
    let scope = vars.or("GRPC_SCOPE", "api://backend-api-id/Case.Create");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let redirect = format!("http://{}/callback", listener.local_addr()?);
    let start = client
        .authorization_url(AuthorizationRequest::new(&redirect).scopes([scope]))
        .await?;
    let (tx, rx) = oneshot::channel::<Uri>();
    let slot = Arc::new(Mutex::new(Some(tx)));
    let router = Router::new().route(
        "/callback",
        get(move |uri: Uri| async move {
            let sender = slot.lock().ok().and_then(|mut s| s.take());
            if let Some(sender) = sender {
                let _ = sender.send(uri);
            }
            Html("<!DOCTYPE html><title>Signed in</title><p>Signed in. You can close this tab.</p>")
        }),
    );
    let _server = examples::server::spawn(listener, router);
    eprintln!(
        "Open this URL in a browser to sign in:\n\n  {}\n",
        start.url
    );
    let uri = tokio::time::timeout(Duration::from_secs(300), rx)
        .await
        .map_err(|_| "no sign-in within 5 minutes")??;
    let tokens = client
        .redeem_code(&start.session, &AuthorizationResponse::from_uri(&uri))
        .await?;
    if let Some(id) = &tokens.id_token {
        eprintln!(
            "Signed in as {}",
            id.claims().username().unwrap_or("(unknown)")
        );
    }
    Ok(tokens.access_token.into_secret())
}
