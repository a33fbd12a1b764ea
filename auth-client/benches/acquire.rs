//! Serving a cached token: `acquire_token_for_client` and `acquire_token_on_behalf_of` when the
//! token is in the (default, in-memory) cache. Target: ≤ 1 µs for the app token.
//!
//! `cargo bench -p tower-entra-client --bench acquire`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use auth_client::{AuthorizationResponse, ConfidentialClient};
use auth_testkit::emulator::Emulator;
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};

const SCOPE: &str = "api://s2s-example-api/.default";
const SHARED_READ: &str = "api://shared-documents/Documents.Read";

fn client(idp: &Emulator, app: &str) -> ConfidentialClient {
    let app = idp.app(app);
    ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(app.client_id())
        .client_secret(app.secret())
        .build()
        .expect("client")
}

/// Alice's token for the internal API, through the frontend: authorize (auto-login) and code
/// redemption over plain HTTP.
async fn token_a(idp: &Emulator) -> String {
    const VERIFIER: &str = "a-verifier-that-is-long-enough-for-pkce-0123456789";
    const REDIRECT: &str = "http://127.0.0.1:3000/redirect";
    let frontend = idp.app("obo-example-frontend");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, VERIFIER.as_bytes()),
    );
    let query = serde_urlencoded::to_string([
        ("client_id", frontend.client_id()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "api://obo-example-internal-api/user_impersonation"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .expect("query");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    let response = browser
        .get(format!("{}?{query}", idp.authorization_endpoint()))
        .send()
        .await
        .expect("authorize");
    let location: http::Uri = response.headers()["location"]
        .to_str()
        .expect("location")
        .parse()
        .expect("uri");
    let callback = AuthorizationResponse::from_uri(&location);
    let body: serde_json::Value = browser
        .post(idp.token_endpoint())
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", frontend.client_id()),
            ("client_secret", frontend.secret()),
            ("code", callback.code().expect("code")),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

fn cached(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (idp, daemon, middle, assertion) = rt.block_on(async {
        let idp = Emulator::builder()
            .auto_login("alice@example.onmicrosoft.com")
            .start()
            .await
            .expect("emulator");
        let daemon = client(&idp, "s2s-example-consumer");
        let middle = client(&idp, "obo-example-internal-api");
        let assertion = token_a(&idp).await;
        daemon
            .acquire_token_for_client(&[SCOPE])
            .await
            .expect("app token");
        middle
            .acquire_token_on_behalf_of(&assertion, &[SHARED_READ])
            .await
            .expect("obo token");
        (idp, daemon, middle, assertion)
    });

    let mut group = c.benchmark_group("acquire");
    group.bench_function("client_credentials_cached", |b| {
        b.to_async(&rt).iter(|| async {
            daemon
                .acquire_token_for_client(&[SCOPE])
                .await
                .expect("hit")
        });
    });
    group.bench_function("on_behalf_of_cached", |b| {
        b.to_async(&rt).iter(|| async {
            middle
                .acquire_token_on_behalf_of(&assertion, &[SHARED_READ])
                .await
                .expect("hit")
        });
    });
    group.finish();
    assert_eq!(daemon.stats().token_requests, 1);
    assert_eq!(middle.stats().token_requests, 1);
    drop(idp);
}

criterion_group!(benches, cached);
criterion_main!(benches);
