//! `grpc-cases-server`: the gRPC example. `cases.Cases/Create` needs the delegated scope
//! `Case.Create` (an interceptor), `cases.Approvals/Approve` the user-assigned app role
//! `Case.Approver` (a Tower layer). Tokens are those of `auth-code-api`'s registration.
//!
//! Configured by environment variables (see `examples/README.md`); serves until Ctrl-C.

use std::process::ExitCode;

use examples::grpc as service;

#[tokio::main]
async fn main() -> ExitCode {
    examples::init_logging();
    let result = async {
        let config = service::Config::from_env()?;
        let auth = config.resource.grpc_authenticator().await?;
        let listener = examples::server::bind(config.listen).await?;
        tracing::info!(app = service::NAME, "gRPC on http://{}", config.listen);
        let routes = service::routes_for(&auth, &config.resource);
        service::serve_routes_until_signal(listener, routes).await?;
        Ok(())
    }
    .await;
    examples::exit_code(service::NAME, result)
}
