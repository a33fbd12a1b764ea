//! The cost of an authenticated page request: the session loaded from the memory store, the
//! signed-in user extracted, and the user's access token found in the session (a token cache
//! hit), through the whole router in-process (no TCP).
//!
//! `cargo bench -p auth-web --bench page`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::collections::BTreeMap;

use auth_client::ConfidentialClient;
use auth_web::tower_sessions::MemoryStore;
use auth_web::{SignedIn, TokenError, UserTokenAcquisition, WebAuth};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt as _;

const CASE_CREATE: &str = "api://backend-api-id/Case.Create";

async fn page(user: SignedIn, tokens: UserTokenAcquisition) -> Result<String, TokenError> {
    let token = tokens.acquire_token_for_user(&[CASE_CREATE]).await?;
    Ok(format!(
        "{} {}",
        user.name().unwrap_or(""),
        token.expires_at_unix()
    ))
}

/// Signs Alice in through a loopback server; the router and the session cookie.
async fn signed_in() -> (auth_testkit::Emulator, Router, String) {
    let idp = auth_testkit::Emulator::builder()
        .auto_login("alice@example.onmicrosoft.com")
        .start()
        .await
        .unwrap();
    let registration = idp.app("auth-code-client");
    let client = ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(registration.client_id())
        .client_secret(registration.secret())
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let auth = WebAuth::builder(client)
        .redirect_uri(format!("{base}/redirect"))
        .scopes([CASE_CREATE])
        .build()
        .unwrap();
    let app = Router::new()
        .route("/page", get(page))
        .merge(auth.routes())
        .layer(auth.layer(MemoryStore::default()));
    tokio::spawn({
        let app = app.clone();
        async move { axum::serve(listener, app).await.unwrap() }
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies = BTreeMap::new();
    let login = http.get(format!("{base}/login")).send().await.unwrap();
    keep(&mut cookies, &login);
    let authorize = login.headers()["location"].to_str().unwrap().to_owned();
    let callback = http.get(authorize).send().await.unwrap();
    let callback = callback.headers()["location"].to_str().unwrap().to_owned();
    let sid = format!("session={}", cookies["session"]);
    let done = http
        .get(callback)
        .header("cookie", &sid)
        .send()
        .await
        .unwrap();
    keep(&mut cookies, &done);
    (idp, app, format!("session={}", cookies["session"]))
}

fn keep(cookies: &mut BTreeMap<String, String>, response: &reqwest::Response) {
    for c in response.headers().get_all("set-cookie") {
        let pair = c.to_str().unwrap().split(';').next().unwrap().to_owned();
        let (name, value) = pair.split_once('=').unwrap();
        cookies.insert(name.to_owned(), value.to_owned());
    }
}

fn authenticated_page(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_idp, app, cookie) = runtime.block_on(signed_in());
    let request = || {
        http::Request::get("/page")
            .header("cookie", &cookie)
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap()
    };
    let first = runtime.block_on(app.clone().oneshot(request())).unwrap();
    assert_eq!(first.status(), 200, "signed in, token in the session");
    c.bench_function(
        "authenticated page (session load + SignedIn + token cache hit)",
        |b| {
            b.to_async(&runtime).iter(|| {
                let app = app.clone();
                let request = request();
                async move {
                    let response = app.oneshot(request).await.unwrap();
                    assert_eq!(response.status(), 200);
                }
            });
        },
    );
}

criterion_group!(benches, authenticated_page);
criterion_main!(benches);
