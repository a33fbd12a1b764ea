//! What an operator meets: the binaries stop gracefully on SIGTERM with a request in flight,
//! log JSON lines with `LOG_FORMAT=json`, and serve `/healthz`, `/readyz` (across an authority
//! outage) and `/metrics`.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_testkit::Emulator;
use common::{app_token, call};
use examples::ResourceConfig;
use examples::local::{Local, S2S_SCOPE};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `s2s-example-api` as a child process against the in-process emulator of `local`.
fn spawn_s2s_api(local: &Local, listen: SocketAddr, extra: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_s2s-example-api"));
    command
        .env_clear()
        .env("AZURE_AUTHORITY_HOST", local.idp.base_url())
        .env("AZURE_TENANT_ID", local.idp.tenant_id())
        .env(
            "AZURE_CLIENT_ID",
            local.idp.app("s2s-example-api").client_id(),
        )
        .env("LISTEN_ADDR", listen.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in extra {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

fn wait_until_ready(listen: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(listen) {
            let _ =
                stream.write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the service did not become ready at {listen}");
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not exit in {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let local = Local::start().await.unwrap();
    let token = app_token(&local, "s2s-example-consumer", S2S_SCOPE).await;
    let listen = free_addr();
    let mut child = spawn_s2s_api(&local, listen, &[("SHUTDOWN_GRACE_SECS", "10")]);
    let token_for_thread = token.clone();
    let in_flight = tokio::task::spawn_blocking(move || {
        wait_until_ready(listen);
        let mut stream = TcpStream::connect(listen).unwrap();
        // Headers and half the body: the handler waits for the rest.
        write!(
            stream,
            "POST /upload HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token_for_thread}\r\n\
             content-length: 10\r\nconnection: close\r\n\r\nhello"
        )
        .unwrap();
        stream.flush().unwrap();
        stream
    })
    .await
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    sigterm(&child);
    std::thread::sleep(Duration::from_millis(500));
    // Still running: the request is in flight.
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    // New connections are refused once shutdown began.
    assert!(
        TcpStream::connect(listen).is_err() || {
            let mut s = TcpStream::connect(listen).unwrap();
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
            let mut buf = String::new();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            s.read_to_string(&mut buf)
                .map(|_| buf.is_empty())
                .unwrap_or(true)
        },
        "a new connection was served after SIGTERM"
    );
    let mut stream = in_flight;
    stream.write_all(b"world").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("File uploaded successfully by Service:"),
        "{answer}"
    );
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_one_object_per_line_with_the_refusal_reason_and_no_token() {
    let local = Local::start().await.unwrap();
    let token = app_token(&local, "s2s-example-consumer", S2S_SCOPE).await;
    // A token for another API: refused with a reason.
    let other = app_token(
        &local,
        "s2s-example-consumer",
        "api://shared-documents/.default",
    )
    .await;
    let listen = free_addr();
    let mut child = spawn_s2s_api(
        &local,
        listen,
        &[
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info,auth_layer=debug"),
        ],
    );
    tokio::task::spawn_blocking(move || wait_until_ready(listen))
        .await
        .unwrap();
    let url = format!("http://{listen}/upload");
    let refused = call("POST", &url, Some(&other), None).await;
    assert_eq!(refused.status, 401);
    // The response names no audience: that detail is for the operator's log only.
    assert!(
        !refused.body.contains("shared-documents"),
        "{}",
        refused.body
    );
    assert_eq!(call("POST", &url, Some(&token), None).await.status, 200);
    sigterm(&child);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(10)).code(),
        Some(0)
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<serde_json::Value> = BufReader::new(stderr.as_bytes())
        .lines()
        .map(|line| {
            let line = line.unwrap();
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
        })
        .collect();
    let refusal = lines
        .iter()
        .find(|l| l["status"] == 401)
        .unwrap_or_else(|| panic!("no refusal line in {stderr}"));
    assert_eq!(refusal["level"], "INFO");
    let reason = refusal["reason"].as_str().unwrap();
    assert!(
        reason.contains("aud"),
        "the reason names the audience problem: {refusal}"
    );
    // A wrong client id or scope: the line shows the token's aud (not secret) beside the
    // audiences the API accepts, so the operator sees which side is wrong.
    let payload = other.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&auth_testkit::base64url_decode(payload).unwrap()).unwrap();
    let aud = claims["aud"].as_str().unwrap();
    let accepted = local.idp.app("s2s-example-api").client_id();
    assert!(
        reason.contains(&format!("the token's aud: [{aud:?}]")) && reason.contains(accepted),
        "{reason}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "SIGTERM: shutting down")
    );
    for secret in [&token, &other] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!stderr.contains(signature), "a token reached the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_authority_across_an_outage() {
    // The authority's address is known, but nothing listens there yet.
    let authority = free_addr();
    let config = ResourceConfig::entra(
        format!("http://{authority}"),
        "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10", // the default tenant (tenants/default.toml)
        auth_testkit::ids::API_CLIENT_ID,
    );
    let auth = config
        .authenticator()
        .await
        .expect("start-up must not fail");
    let app = examples::access_log::AccessLog::new("ops-test", auth, examples::Trace::off())
        .wrap(axum::Router::new());
    let listener = examples::server::bind(free_addr()).await.unwrap();
    let service = examples::server::spawn(listener, app);
    let ready = format!("{}/readyz", service.url());
    let answer = call("GET", &ready, None, None).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.json()["status"], "not ready");
    assert!(answer.json()["reasons"]["signing_keys"].is_string());
    assert_eq!(
        call("GET", &format!("{}/healthz", service.url()), None, None)
            .await
            .status,
        200
    );

    // The authority comes up: the background loader finds it, the service becomes ready.
    let _idp = Emulator::builder().listen(authority).start().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = call("GET", &ready, None, None).await;
        if answer.status == 200 {
            assert_eq!(answer.json()["status"], "ready");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never became ready: {}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_in_prometheus_text_format() {
    let local = Local::start().await.unwrap();
    // The recorder is process-wide: installed before the acquisitions below are recorded.
    assert!(examples::ops::metrics_handle().is_some());
    // Two real acquisitions with one client: a token request (cache miss), then the cache.
    let client = local.client_as("s2s-example-consumer").unwrap();
    let token = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap()
        .into_secret();
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    // A refused acquisition: a scope the emulator does not know (AADSTS500011).
    let refused = client
        .acquire_token_for_client(&["api://no-such-api/.default"])
        .await
        .unwrap_err();
    let base = local.s2s_api.url();
    assert_eq!(
        call("POST", &format!("{base}/upload"), Some(&token), None)
            .await
            .status,
        200
    );
    assert_eq!(
        call("POST", &format!("{base}/upload"), None, None)
            .await
            .status,
        401
    );
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let body = response.text().await.unwrap();
    assert!(
        body.contains("# TYPE http_requests_total counter"),
        "{body}"
    );
    assert!(
        body.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("service=\"s2s-example-api\"")
            && l.contains("status=\"401\"")),
        "{body}"
    );
    // auth-client: acquisitions by grant, outcome and cache; token-endpoint latency.
    let series = |name: &str, labels: &[&str]| {
        body.lines().any(|l| {
            l.starts_with(&format!("{name}{{")) && labels.iter().all(|label| l.contains(label))
        })
    };
    let acquisitions = "auth_client_token_acquisitions_total";
    for cache in ["cache=\"miss\"", "cache=\"hit\""] {
        assert!(
            series(
                acquisitions,
                &["grant=\"client_credentials\"", "outcome=\"ok\"", cache]
            ),
            "{cache}: {body}"
        );
    }
    let label = refused
        .server_error()
        .map(|e| e.error().to_owned())
        .unwrap_or_default();
    assert!(
        series(
            acquisitions,
            &[
                "grant=\"client_credentials\"",
                &format!("outcome=\"{label}\"")
            ]
        ),
        "{refused}: {body}"
    );
    assert!(
        body.contains("# TYPE auth_client_token_request_duration_seconds histogram"),
        "{body}"
    );
    assert!(
        series(
            "auth_client_token_request_duration_seconds_bucket",
            &[
                "grant=\"client_credentials\"",
                "outcome=\"ok\"",
                "le=\"+Inf\""
            ]
        ),
        "{body}"
    );
    // auth-layer: the signing keys' age, per key cache (set at scrape time).
    assert!(
        body.contains("# TYPE auth_jwks_staleness_seconds gauge"),
        "{body}"
    );
    // This test's key cache (the recorder is shared with the other tests of this binary).
    let source = format!("source=\"{}/", local.idp.base_url());
    let staleness: f64 = body
        .lines()
        .find(|l| l.starts_with("auth_jwks_staleness_seconds{") && l.contains(&source))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no staleness value: {body}"));
    assert!((0.0..600.0).contains(&staleness), "{staleness}");
    assert!(body.contains("auth_jwks_last_success_timestamp_seconds{source=\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_authority_is_named_and_the_service_says_it_keeps_retrying() {
    // Nothing listens at the authority's address.
    let authority = free_addr();
    let listen = free_addr();
    let mut child = Command::new(env!("CARGO_BIN_EXE_s2s-example-api"))
        .env_clear()
        .env("AZURE_AUTHORITY_HOST", format!("http://{authority}"))
        .env("AZURE_TENANT_ID", "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
        .env("AZURE_CLIENT_ID", auth_testkit::ids::API_CLIENT_ID)
        .env("LISTEN_ADDR", listen.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Up (live) while not ready.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = reqwest::get(format!("http://{listen}/healthz")).await;
        if health.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "never served /healthz");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&child);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(10)).code(),
        Some(0)
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let line = stderr
        .lines()
        .find(|l| l.contains("signing keys not loaded yet"))
        .unwrap_or_else(|| panic!("no warning in {stderr}"));
    // Which URL could not be reached, and that the service keeps retrying.
    assert!(
        line.contains(&format!("http://{authority}/")) && line.contains("could not be reached")
            || line.contains(&format!("GET http://{authority}/")),
        "{line}"
    );
    assert!(line.contains("Retrying in"), "{line}");
    assert!(line.contains("WARN"), "{line}");
}
