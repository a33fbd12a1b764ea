//! Starting the Node harnesses: `node` on a free loopback port, ready when it prints its
//! address, killed when the handle drops. Skips (returns `None` with a printed reason) when
//! Node or the harness's `node_modules` is missing and `CI` is unset; panics when `CI` is set.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `interop/{name}`, the folder of a Node harness.
pub fn harness_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// Whether the harness can run here; the reason when not.
pub fn node_ready(harness: &str) -> Result<(), String> {
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| {
            format!("node is not installed ({e}); on Debian: apt-get install nodejs npm")
        })?;
    if !node.status.success() {
        return Err("`node --version` failed".to_owned());
    }
    let modules = harness_dir(harness).join("node_modules");
    if !modules.is_dir() {
        return Err(format!(
            "{} is missing: run `npm ci` in {}",
            modules.display(),
            harness_dir(harness).display()
        ));
    }
    Ok(())
}

/// `Some(())` when the harness can run; otherwise prints why and returns `None` — or panics
/// when `CI` is set (CI installs Node and runs `npm ci`, so a missing harness is a failure).
pub fn require_node(harness: &str) -> Option<()> {
    match node_ready(harness) {
        Ok(()) => Some(()),
        Err(reason) if std::env::var_os("CI").is_some() => {
            panic!("CI is set and the {harness} harness cannot run: {reason}")
        }
        Err(reason) => {
            eprintln!("skipped: the {harness} harness cannot run: {reason}");
            None
        }
    }
}

/// A running `interop/oidc-provider/provider.js`.
pub struct OidcProvider {
    /// `http://127.0.0.1:{port}`: the issuer and the base URL.
    pub issuer: String,
    child: Child,
}

/// What the harness is started with.
#[derive(Default)]
pub struct ProviderOptions {
    /// Public JWKs of the `svc-jwt` client (`private_key_jwt`); no such client without them.
    pub client_jwks: Option<Value>,
    /// `svc-jwt`'s `token_endpoint_auth_signing_alg` (default RS256).
    pub client_jwt_alg: Option<&'static str>,
}

impl OidcProvider {
    /// Starts the provider; `None` when the test must skip.
    pub async fn start(options: ProviderOptions) -> Option<OidcProvider> {
        require_node("oidc-provider")?;
        let mut config = serde_json::json!({ "port": 0 });
        if let Some(jwks) = options.client_jwks {
            config["client_jwks"] = jwks;
        }
        if let Some(alg) = options.client_jwt_alg {
            config["client_jwt_alg"] = alg.into();
        }
        let (child, line) = spawn_node(
            "oidc-provider",
            "provider.js",
            &[("INTEROP_CONFIG", config.to_string())],
        )
        .await;
        let issuer = line
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line from provider.js: {line:?}"))
            .to_owned();
        Some(OidcProvider { issuer, child })
    }

    /// `{issuer}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The harness's admin route: a new signing key first (the old ones stay published).
    /// Returns the new `kid`.
    pub async fn rotate_keys(&self) -> String {
        admin(&self.url("/admin/rotate")).await
    }

    /// The harness's admin route: only the newest signing key stays published.
    pub async fn retire_old_keys(&self) -> String {
        admin(&self.url("/admin/retire")).await
    }
}

async fn admin(url: &str) -> String {
    let body: Value = reqwest::Client::new()
        .post(url)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    body["kid"].as_str().unwrap().to_owned()
}

/// Runs `node {script}` in `interop/{harness}` with stdin piped (the harness exits when the
/// pipe closes) and returns it with its first stdout line (waits up to 20 s).
pub async fn spawn_node(harness: &str, script: &str, env: &[(&str, String)]) -> (Child, String) {
    let mut command = Command::new("node");
    command
        .arg(script)
        .current_dir(harness_dir(harness))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {script}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("node {script} did not start within 20 s"))
        .unwrap()
        .unwrap_or_else(|| panic!("node {script} exited before it was ready"));
    // Keep draining stdout so the harness never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, line)
}

/// The claims of a JWT, unverified (tests assert on them after the crates verified them).
pub fn claims(jwt: &str) -> Value {
    segment(jwt, 1)
}

/// The JOSE header of a JWT.
pub fn header(jwt: &str) -> Value {
    segment(jwt, 0)
}

fn segment(jwt: &str, index: usize) -> Value {
    let part = jwt
        .split('.')
        .nth(index)
        .unwrap_or_else(|| panic!("not a JWT"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A browser without a browser: follows redirects by hand, keeping cookies per path-less jar
/// (the provider's cookies are all on its one origin), and stops at the first redirect to
/// `stop_at` (the client's redirect URI), returning that URL.
pub async fn follow_to_callback(start: &str, stop_at: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut url = start.to_owned();
    for _ in 0..12 {
        let cookie_header = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = http.get(&url);
        if !cookie_header.is_empty() {
            request = request.header(http::header::COOKIE, cookie_header);
        }
        let response = request.send().await.unwrap();
        for set in response.headers().get_all(http::header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                cookies.retain(|(k, _)| k != name);
                if !value.is_empty() {
                    cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        let status = response.status();
        let Some(location) = response.headers().get(http::header::LOCATION) else {
            let body = response.text().await.unwrap_or_default();
            panic!("{url} answered {status} without a redirect: {body}");
        };
        let location = location.to_str().unwrap().to_owned();
        let next = if location.starts_with("http") {
            location
        } else {
            let origin = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            format!("{origin}{location}")
        };
        if next.starts_with(stop_at) {
            return next;
        }
        url = next;
    }
    panic!("more than 12 redirects from {start}");
}
