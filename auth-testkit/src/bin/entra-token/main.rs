//! `entra-token`: inspect, verify and mint Entra ID access tokens.
//!
//! The tool people reach for when a token is rejected in production:
//!
//! ```text
//! entra-token inspect TOKEN            # header, claims, and an Entra reading with warnings
//! entra-token verify --jwks keys.json --tenant TID --audience AUD [--at UNIX] TOKEN
//! entra-token verify --authority https://login.microsoftonline.com/TID --audience AUD TOKEN
//! entra-token mint --scopes Case.Create  # a test token from the testkit keys
//! entra-token jwks                     # the testkit's public keys, for verify --jwks
//! entra-token demo                     # mint and verify a few tokens, good and bad
//! ```
//! `TOKEN` may be the token, a file holding it, or `-` (or omitted) for standard input.
//! A leading `Bearer ` is ignored.
// The clap argument docs below are `--help` text, where a URL is plain text, not a link.
#![allow(rustdoc::bare_urls)]

mod reading;

use std::io::Read as _;
use std::process::ExitCode;

use auth_layer::authority::{Authority, Guid};
use auth_layer::jwks::JwksCache;
use auth_layer::{Algorithm, Authenticator, BuildError, FixedClock, KeySet, Profile, Validator};
use auth_testkit::{TestKey, TokenBuilder, ids};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "entra-token",
    version,
    about = "Inspect, verify and mint Entra ID access tokens"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a token's header and claims, with an Entra reading and warnings. Verifies nothing.
    Inspect {
        /// The token, a file holding it, or `-` for standard input.
        token: Option<String>,
        /// Print the Entra reading only, without the raw header and claims.
        #[arg(long)]
        brief: bool,
    },
    /// Fully validate a token with auth-layer's validator (exit 0 valid, 1 rejected, 2 usage).
    Verify(VerifyArgs),
    /// Mint a test token signed by a testkit key (never trusted outside tests). By default it is
    /// addressed to the testkit's API (aud = its client id c4e8a2d1-7b3f-4e9a-8d56-1f0b9c3e7a24,
    /// or its App ID URI with --v1) in the testkit tenant; --audience and --tenant change that.
    Mint(MintArgs),
    /// Print the testkit's public JWKS (rsa-a, rsa-b, ec-p256).
    Jwks,
    /// Mint and verify a few tokens, good and bad, and show what the validator says.
    Demo,
}

#[derive(Args)]
struct VerifyArgs {
    /// A JWKS file (`{"keys": [...]}`).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "authority",
        conflicts_with = "authority"
    )]
    jwks: Option<String>,
    /// An OIDC authority (e.g. https://login.microsoftonline.com/{tenant-id}): discovery, then
    /// the JWKS over the network, through auth-layer's JWKS cache. Sets the instance and, when
    /// its last segment is a tenant id, the tenant, unless given.
    #[arg(long, value_name = "URL")]
    authority: Option<String>,
    /// An accepted tenant id (repeatable). Accepts both its v1 and v2 Entra issuers.
    #[arg(long = "tenant", value_name = "TID")]
    tenants: Vec<String>,
    /// Accept any Entra tenant (multi-tenant apps).
    #[arg(long)]
    any_tenant: bool,
    /// An accepted audience (repeatable): a client-id GUID (also accepts `api://{guid}`) or an
    /// App ID URI.
    #[arg(
        long = "audience",
        value_name = "AUD",
        required_unless_present = "client_id"
    )]
    audiences: Vec<String>,
    /// This API's own client id (accepted as an audience; a GUID also accepts `api://{guid}`).
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// The provider profile that reads the token's kind: entra, rfc9068, okta, auth0, keycloak.
    /// Default: entra for Entra issuers (--tenant, --any-tenant, --authority), rfc9068 for
    /// --issuer alone.
    #[arg(long, value_name = "NAME", value_parser = ["entra", "rfc9068", "okta", "auth0", "keycloak"])]
    provider: Option<String>,
    /// An exact accepted issuer (repeatable), e.g. for a non-Entra OIDC provider.
    #[arg(long = "issuer", value_name = "ISS")]
    issuers: Vec<String>,
    /// The Entra instance (v2 issuer host), default https://login.microsoftonline.com.
    #[arg(long)]
    instance: Option<String>,
    /// The v1 issuer base, default https://sts.windows.net.
    #[arg(long)]
    v1_issuer_base: Option<String>,
    /// Validate as if the time were this Unix time (for expired reference tokens).
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<i64>,
    /// Allowed algorithms (repeatable; default RS256).
    #[arg(long = "alg", value_name = "ALG")]
    algorithms: Vec<String>,
    /// The token, a file holding it, or `-` for standard input.
    token: Option<String>,
}

#[derive(Args)]
struct MintArgs {
    /// An app-only token (client credentials) instead of a delegated one.
    #[arg(long)]
    app: bool,
    /// The v1 token shape (sts.windows.net issuer, App ID URI audience, appid).
    #[arg(long)]
    v1: bool,
    /// Delegated scopes, space-separated (`scp`).
    #[arg(long)]
    scopes: Option<String>,
    /// App roles, comma-separated (`roles`).
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    /// The tenant id (`tid` and `iss`).
    #[arg(long)]
    tenant: Option<String>,
    /// The audience (`aud`).
    #[arg(long)]
    audience: Option<String>,
    /// Lifetime in seconds from now (negative: already expired).
    #[arg(long, allow_hyphen_values = true)]
    expires_in: Option<i64>,
    /// The signing key: rsa-a (default), rsa-b, ec-p256, rsa-untrusted.
    #[arg(long)]
    key: Option<String>,
    /// Extra or overriding claims, `name=JSON` (or `name=text` when not JSON); repeatable.
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    claims: Vec<String>,
    /// Claims to remove; repeatable.
    #[arg(long = "remove", value_name = "NAME")]
    removed: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("entra-token: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Inspect { token, brief } => {
            let token = read_token(token)?;
            let reading = reading::Reading::of(&token)?;
            print!("{}", reading.render(!brief, now()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(args) => verify(args),
        Command::Mint(args) => {
            println!("{}", mint(args)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Jwks => {
            let jwks = auth_testkit::default_jwks();
            println!(
                "{}",
                serde_json::to_string_pretty(&jwks).map_err(|e| e.to_string())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => Ok(demo()),
    }
}

fn now() -> i64 {
    auth_testkit::now()
}

fn read_token(arg: Option<String>) -> Result<String, String> {
    let raw = match arg.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
            s
        }
        Some(path) if std::path::Path::new(path).is_file() => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the token from {path:?}: {e}"))?,
        Some(t) => t.to_owned(),
    };
    let t = raw.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t)
        .trim();
    if t.is_empty() {
        return Err("no token given (pass it as an argument or on standard input)".into());
    }
    Ok(t.to_owned())
}

fn build_validator(args: &VerifyArgs) -> Result<Validator, String> {
    let mut b = Validator::builder();
    let from_authority = match args.authority.as_deref().map(Authority::parse) {
        Some(Err(e)) => return Err(format!("--authority: {e}")),
        Some(Ok(a)) => Some(a),
        None => None,
    };
    if let Some(instance) = args
        .instance
        .as_deref()
        .or(from_authority.as_ref().map(Authority::instance))
    {
        b = b.instance(instance);
    }
    if args.tenants.is_empty()
        && !args.any_tenant
        && args.issuers.is_empty()
        && let Some(tid) = from_authority.as_ref().and_then(|a| a.tenant().guid())
    {
        b = b.tenant_id(tid.as_str());
    }
    if let Some(base) = &args.v1_issuer_base {
        b = b.v1_issuer_base(base.as_str());
    }
    b = b.tenant_ids(args.tenants.iter().map(String::as_str));
    if args.any_tenant {
        b = b.any_tenant();
    }
    for issuer in &args.issuers {
        b = b.issuer(issuer.as_str());
    }
    for aud in args.client_id.iter().chain(&args.audiences) {
        b = if Guid::parse(aud).is_ok() {
            b.client_id(aud.as_str())
        } else {
            b.audience(aud.as_str())
        };
    }
    if !args.algorithms.is_empty() {
        let mut algs = Vec::new();
        for name in &args.algorithms {
            algs.push(
                Algorithm::from_name(name).ok_or_else(|| format!("unknown algorithm {name:?}"))?,
            );
        }
        b = b.algorithms(algs);
    }
    if let Some(at) = args.at {
        b = b.clock(FixedClock::at(at));
    }
    if let Some(name) = &args.provider {
        // clap's value_parser admits only the built-in names.
        let profile =
            Profile::from_name(name).ok_or_else(|| format!("unknown provider {name:?}"))?;
        b = b.profile(profile);
    }
    b.build().map_err(|e| match e {
        // Name the flags, not the library calls behind them.
        BuildError::NoIssuer => {
            "no issuer: give --tenant TID, --any-tenant, --authority URL or --issuer ISS".to_owned()
        }
        BuildError::NoAudience => "no audience: give --audience AUD or --client-id ID".to_owned(),
        BuildError::ConflictingTenants => "--tenant and --any-tenant exclude each other".to_owned(),
        other => format!("invalid configuration: {other}"),
    })
}

fn verify(args: VerifyArgs) -> Result<ExitCode, String> {
    let validator = build_validator(&args)?;
    let token = read_token(args.token.clone())?;
    let outcome = match (&args.jwks, &args.authority) {
        (Some(path), _) => {
            let document = std::fs::read(path)
                .map_err(|e| format!("cannot read the JWKS file {path:?}: {e}"))?;
            let keys = KeySet::from_jwks_json(&document)
                .map_err(|e| format!("the JWKS file {path:?} is not usable: {e}"))?;
            report_dropped(&keys);
            validator.validate(&token, &keys)
        }
        (None, Some(authority)) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start an async runtime: {e}"))?;
            runtime.block_on(async {
                let cache = JwksCache::builder()
                    .authority(authority.as_str())
                    .build()
                    .await
                    .map_err(|e| format!("cannot load the signing keys from {authority}: {e}"))?;
                report_dropped(&cache.current());
                let outcome = Authenticator::from_parts(validator, cache)
                    .authenticate(&token)
                    .await
                    .map(|principal| principal.claims().clone());
                Ok::<_, String>(outcome)
            })?
        }
        (None, None) => return Err("give --jwks FILE or --authority URL".into()),
    };
    match outcome {
        Ok(claims) => {
            println!("{}", reading::summary(&claims));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            println!("invalid: {err}");
            Ok(ExitCode::from(1))
        }
    }
}

fn report_dropped(keys: &KeySet) {
    for dropped in keys.dropped() {
        eprintln!(
            "note: key {} dropped at load: {}",
            dropped.kid.as_deref().unwrap_or("(no kid)"),
            dropped.reason
        );
    }
}

fn key_by_name(name: &str) -> Result<&'static TestKey, String> {
    Ok(match name {
        "rsa-a" => TestKey::rsa_a(),
        "rsa-b" => TestKey::rsa_b(),
        "ec-p256" => TestKey::ec_p256(),
        "rsa-untrusted" => TestKey::rsa_untrusted(),
        other => {
            return Err(format!(
                "unknown key {other:?} (rsa-a, rsa-b, ec-p256, rsa-untrusted)"
            ));
        }
    })
}

fn mint(args: MintArgs) -> Result<String, String> {
    let mut b = if args.app {
        TokenBuilder::app()
    } else {
        TokenBuilder::delegated()
    };
    if args.v1 {
        b = b.v1();
    }
    if let Some(key) = &args.key {
        b = b.key(key_by_name(key)?);
    }
    if let Some(tid) = &args.tenant {
        b = b.tenant(tid);
    }
    if let Some(aud) = &args.audience {
        b = b.audience(aud);
    }
    if let Some(scopes) = &args.scopes {
        b = b.scopes(scopes);
    }
    if !args.roles.is_empty() {
        b = b.roles(args.roles.iter().map(String::as_str));
    }
    if let Some(secs) = args.expires_in {
        b = b.expires_in(secs);
    }
    for claim in &args.claims {
        let (name, value) = claim
            .split_once('=')
            .ok_or_else(|| format!("--claim {claim:?}: expected NAME=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::from(value));
        b = b.claim(name, value);
    }
    for name in &args.removed {
        b = b.remove(name);
    }
    Ok(b.sign())
}

/// Mints good and bad tokens, validates each, and prints what happened. Exits 0 only when every
/// outcome is the expected one, so it doubles as a smoke test.
fn demo() -> ExitCode {
    let validator = match Validator::builder()
        .tenant_id(ids::TENANT_ID)
        .client_id(ids::API_CLIENT_ID)
        .audience(ids::API_APP_ID_URI)
        .build()
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("entra-token: {e}");
            return ExitCode::from(2);
        }
    };
    let keys = auth_testkit::default_keyset();
    println!(
        "API: tenant {}, client id {}, App ID URI {}",
        ids::TENANT_ID,
        ids::API_CLIENT_ID,
        ids::API_APP_ID_URI
    );
    println!(
        "keys: {}\n",
        keys.keys()
            .iter()
            .map(|k| k.id())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cases: Vec<(&str, String, bool)> = vec![
        (
            "v2 delegated token (auth code / OBO)",
            TokenBuilder::delegated().scopes("Case.Create").sign(),
            true,
        ),
        (
            "v1 delegated token, key named by x5t only",
            TokenBuilder::delegated().v1().remove_header("kid").sign(),
            true,
        ),
        (
            "v2 app-only token (client credentials)",
            TokenBuilder::app().roles(["Files.Write"]).sign(),
            true,
        ),
        (
            "token from another tenant",
            TokenBuilder::delegated()
                .tenant(ids::OTHER_TENANT_ID)
                .sign(),
            false,
        ),
        (
            "token for Microsoft Graph",
            TokenBuilder::graph_token().sign(),
            false,
        ),
        (
            "ID token sent as an access token",
            TokenBuilder::id_token().sign(),
            false,
        ),
        (
            "expired token",
            TokenBuilder::delegated()
                .issued_at(now() - 7200)
                .expires_in(3600)
                .sign(),
            false,
        ),
        (
            "token signed by an unknown key",
            TokenBuilder::delegated()
                .key(TestKey::rsa_untrusted())
                .sign(),
            false,
        ),
        (
            "alg none",
            auth_testkit::dangerous::alg_none(
                &TokenBuilder::delegated().claims_json(),
                "none",
                false,
            ),
            false,
        ),
    ];
    let mut all_as_expected = true;
    for (what, token, expect_valid) in cases {
        let outcome = validator.validate(&token, &keys);
        let ok = outcome.is_ok() == expect_valid;
        all_as_expected &= ok;
        println!("{} {what}", if ok { "✔" } else { "✘ UNEXPECTED:" });
        match outcome {
            Ok(claims) => println!("    {}", reading::summary(&claims)),
            Err(err) => println!("    rejected (401 invalid_token): {err}"),
        }
    }
    println!(
        "\n{}",
        if all_as_expected {
            "every token was judged as expected"
        } else {
            "SOME TOKENS WERE JUDGED WRONGLY"
        }
    );
    if all_as_expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
