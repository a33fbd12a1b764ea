//! `s2s-example-consumer`: the daemon of the service-to-service pattern. Gets an app-only token
//! with its client credentials and uploads a file to `s2s-example-api`: once (exit status 0 when
//! the API accepted it), or every `INTERVAL_SECS` until Ctrl-C.
//!
//! Configured by environment variables (see `examples/README.md`). With `HEALTH_LISTEN_ADDR`
//! (e.g. `0.0.0.0:8080`) it also serves `/healthz`, `/readyz` (ready once its client
//! credential has worked, not ready while it fails) and `/metrics` there.

use std::process::ExitCode;

use examples::s2s_consumer::{self as service, Consumer};

#[tokio::main]
async fn main() -> ExitCode {
    examples::init_logging();
    let result = async {
        let config = service::Config::from_env()?;
        let consumer = Consumer::new(&config)?;
        let probe = examples::ops::CredentialProbe::new();
        let _health = match examples::Vars::env().get("HEALTH_LISTEN_ADDR") {
            Some(_) => {
                let addr = examples::Vars::env().listen_addr_named("HEALTH_LISTEN_ADDR", "")?;
                let listener = examples::server::bind(addr).await?;
                let routes = examples::ops::Health::new().check(probe.clone()).routes();
                tracing::info!(app = service::NAME, "health endpoints on http://{addr}");
                Some(examples::server::spawn(listener, routes))
            }
            None => None,
        };
        loop {
            let upload = consumer.run_once().await;
            // Readiness: did the client credential work (an upload refused by the API still
            // means it did)?
            match &upload {
                Err(service::ConsumerError::Token(err)) => probe.record::<(), _>(&Err(err)),
                Ok(_) => probe.record::<(), String>(&Ok(())),
                Err(_) => {}
            }
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
