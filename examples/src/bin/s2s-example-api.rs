//! `s2s-example-api`: the resource API of the service-to-service pattern (`POST /upload`, app role `Files.Write`).
//!
//! Configured by environment variables (see `examples/README.md`); serves until Ctrl-C.

use std::process::ExitCode;

use examples::s2s_api as service;

#[tokio::main]
async fn main() -> ExitCode {
    examples::init_logging();
    let result = async {
        let config = service::Config::from_env(service::DEFAULTS)?;
        let router = service::router(&config).await?;
        let listener = examples::server::bind(config.listen).await?;
        tracing::info!(app = service::NAME, "listening on http://{}", config.listen);
        examples::server::serve_until_signal(listener, router).await?;
        Ok(())
    }
    .await;
    examples::exit_code(service::NAME, result)
}
