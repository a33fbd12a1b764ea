//! # examples
//!
//! The three Microsoft Entra ID patterns of the seed as runnable services, written with
//! `auth-layer`, `auth-extract` and `auth-client`, plus a gRPC example and **the tour**:
//! `cargo run -p examples --bin tour` starts the Entra emulator and every service in-process
//! and walks the patterns, the refusals included.
//!
//! | module | binary | pattern |
//! |---|---|---|
//! | [`auth_code_client`] | `auth-code-client` | authorization code + PKCE: the web app |
//! | [`auth_code_api`] | `auth-code-api` | authorization code: the API (scope `Case.Create`) |
//! | [`obo_frontend`] | `obo-example-frontend` | On-Behalf-Of: the web app |
//! | [`obo_internal_api`] | `obo-example-internal-api` | On-Behalf-Of: the middle tier |
//! | [`obo_shared_api`] | `obo-example-shared-api` | On-Behalf-Of: the downstream API |
//! | [`s2s_consumer`] | `s2s-example-consumer` | service to service: the daemon |
//! | [`s2s_api`] | `s2s-example-api` | service to service: the API (role `Files.Write`) |
//! | [`grpc`] | `grpc-cases-server`, `grpc-cases-client` | tonic, a scope and a role |
//! | [`tour`] | `tour` | all of the above against the emulator |
//! | [`local`] | — | the emulator and every service in-process (the tour, the tests) |
//!
//! Each service's logic lives here (`router(..)`, `run_once(..)`), so that the binaries are
//! thin and the tour and the tests start every service in-process on `127.0.0.1:0`. Every
//! service reads its configuration from environment variables named after the Azure SDK's
//! (`AZURE_AUTHORITY_HOST`, `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`):
//! `examples/README.md` lists them and the values for a real tenant.

pub mod access_log;
pub mod auth_code_api;
pub mod auth_code_client;
pub mod config;
pub mod grpc;
pub mod html;
pub mod local;
pub mod logging;
pub mod obo_frontend;
pub mod obo_internal_api;
pub mod obo_shared_api;
pub mod ops;
pub mod permissions;
pub mod resource_api;
pub mod s2s_api;
pub mod s2s_consumer;
pub mod server;
pub mod tour;
pub mod trace;
mod web;

mod guide;

pub use config::{ClientConfig, ConfigError, ResourceConfig, Vars};
pub use server::Running;
pub use trace::{Event, TokenSummary, Trace};
pub use web::{Sessions, WebAppConfig, WebAppDefaults};

/// Sets up `tracing` for a binary: `RUST_LOG` filter directives (e.g. `info,auth_layer=debug`;
/// `LOG_LEVEL` as a bare level when `RUST_LOG` is unset), `LOG_FORMAT=json` for one JSON object
/// per line, on stderr. See [`logging`].
pub fn init_logging() {
    logging::init();
}

/// The exit of a binary: logs the error (operator text, never a token or secret) and returns
/// 1, or 0. Call [`init_logging`] first.
pub fn exit_code(
    name: &str,
    result: Result<(), Box<dyn std::error::Error>>,
) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(app = name, "{err}");
            std::process::ExitCode::FAILURE
        }
    }
}
