//! `entra-emulator`: a local Microsoft Entra ID for tests, examples and demos.
//!
//! ```text
//! entra-emulator [--config tenant.toml] [--listen 127.0.0.1:0] [--tls [--ca-out ca.pem]]
//!                [--tls-cert cert.pem --tls-key key.pem] [--signing-key key.pem]
//!                [--auto-login alice@example.onmicrosoft.com] [--quiet]
//! ```
//!
//! On startup it prints one line of JSON to stdout (`authority`, `issuer`, `jwks_uri`,
//! `token_endpoint`, `authorization_endpoint`, `tenant_id`, …), then serves until killed.
//! Logs go to stderr. `docs/emulator.md` documents the tenant file and the endpoints.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use auth_testkit::emulator::Emulator;
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "entra-emulator",
    version,
    about = "A local Microsoft Entra ID: discovery, keys, authorize (sign-in page) and token \
             endpoints for the app registrations of a tenant file"
)]
struct Cli {
    /// The tenant file (TOML). Without it: the embedded default tenant with the seed's apps.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Serve https with a freshly generated self-signed CA and a certificate for
    /// 127.0.0.1 / localhost.
    #[arg(long)]
    tls: bool,
    /// With --tls: write the generated CA certificate (PEM) to this file.
    #[arg(long, value_name = "FILE", requires = "tls")]
    ca_out: Option<PathBuf>,
    /// Serve https with this certificate chain (PEM) instead of a generated one.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Sign tokens with this RSA key (PKCS#8 PEM) instead of a generated one.
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
    /// The authorize endpoint signs this user in without showing the sign-in page.
    #[arg(long, value_name = "USERNAME")]
    auto_login: Option<String>,
    /// The secret the App Service identity endpoint expects in X-IDENTITY-HEADER (default:
    /// random; printed as `identity_header`).
    #[arg(long, value_name = "SECRET")]
    identity_header: Option<String>,
    /// Do not log requests to stderr.
    #[arg(long)]
    quiet: bool,
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

async fn run(cli: Cli) -> Result<Emulator, String> {
    let mut builder = Emulator::builder()
        .listen(cli.listen)
        .tls(cli.tls)
        .log_requests(!cli.quiet);
    if let Some(path) = &cli.config {
        builder = builder.tenant_file(path);
    }
    if let (Some(cert), Some(key)) = (&cli.tls_cert, &cli.tls_key) {
        builder = builder.tls_identity(read(cert)?, read(key)?);
    }
    if let Some(path) = &cli.signing_key {
        builder = builder.signing_key_file(path);
    }
    if let Some(user) = &cli.auto_login {
        builder = builder.auto_login(user);
    }
    if let Some(secret) = &cli.identity_header {
        builder = builder.identity_header(secret);
    }
    let emulator = builder.start().await.map_err(|e| e.to_string())?;
    let mut ready = json!({
        "base_url": emulator.base_url(),
        "authority": emulator.authority(),
        "issuer": emulator.issuer(),
        "v1_issuer": emulator.v1_issuer(),
        "metadata_url": emulator.metadata_url(),
        "jwks_uri": emulator.jwks_uri(),
        "token_endpoint": emulator.token_endpoint(),
        "authorization_endpoint": emulator.authorization_endpoint(),
        "tenant_id": emulator.tenant_id(),
        "imds_endpoint": emulator.imds_endpoint(),
        "identity_endpoint": emulator.identity_endpoint(),
        "identity_header": emulator.identity_header(),
    });
    if let Some(path) = &cli.ca_out {
        let pem = emulator.ca_pem().ok_or(
            "--ca-out needs a generated certificate (--tls without --tls-cert)".to_owned(),
        )?;
        std::fs::write(path, pem).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        ready["ca_file"] = json!(path.display().to_string());
    }
    println!("{ready}");
    eprintln!(
        "entra-emulator: serving tenant {} at {} ({} apps, {} users)",
        emulator.tenant_id(),
        emulator.base_url(),
        emulator.tenant().apps().len(),
        emulator.tenant().users().len()
    );
    Ok(emulator)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("entra-emulator: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match run(cli).await {
            Ok(_emulator) => {
                // Serve until killed.
                std::future::pending::<()>().await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("entra-emulator: {e}");
                ExitCode::from(2)
            }
        }
    })
}
