//! `obo-example-frontend`: the web app of the On-Behalf-Of pattern (sign-in, then `POST /upload` through the internal API).
//!
//! Configured by environment variables (see `examples/README.md`); serves until Ctrl-C.

use std::process::ExitCode;

use examples::obo_frontend as service;

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
