//! `auth-code-client`: the web app of the authorization code pattern (sign-in with PKCE, then `POST /cases` calls `auth-code-api`).
//!
//! Configured by environment variables (see `examples/README.md`); serves until Ctrl-C.

use std::process::ExitCode;

use examples::auth_code_client as service;

#[tokio::main]
async fn main() -> ExitCode {
    examples::init_logging();
    let result = async {
        let config = service::Config::from_env(service::DEFAULTS)?;
        let listener = examples::server::bind(config.listen).await?;
        let bound = listener.local_addr()?;
        let router = service::router(&config, bound)?;
        tracing::info!(app = service::NAME, "open http://{bound}/ in a browser");
        examples::server::serve_until_signal(listener, router).await?;
        Ok(())
    }
    .await;
    examples::exit_code(service::NAME, result)
}
