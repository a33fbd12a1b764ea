//! `s2s-example-consumer`: the daemon of the service-to-service pattern. Gets an app-only token
//! with its client credentials and uploads a file to `s2s-example-api`: once (exit status 0 when
//! the API accepted it), or every `INTERVAL_SECS` until Ctrl-C.
//!
//! Configured by environment variables (see `examples/README.md`).

use std::process::ExitCode;

use examples::s2s_consumer::{self as service, Consumer};

#[tokio::main]
async fn main() -> ExitCode {
    examples::init_logging();
    let result = async {
        let config = service::Config::from_env()?;
        let consumer = Consumer::new(&config)?;
        loop {
            let upload = consumer.run_once().await;
            match (&upload, config.interval) {
                (Ok(upload), _) => match &upload.challenge {
                    Some(challenge) => println!("{} {challenge}", upload.status),
                    None => println!("{} {}", upload.status, upload.body),
                },
                (Err(err), Some(_)) => tracing::error!(app = service::NAME, "{err}"),
                (Err(_), None) => {}
            }
            let Some(interval) = config.interval else {
                let upload = upload?;
                if !upload.is_success() {
                    return Err(format!("the API answered {}", upload.status).into());
                }
                return Ok(());
            };
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = examples::server::shutdown_signal() => return Ok(()),
            }
        }
    }
    .await;
    examples::exit_code(service::NAME, result)
}
