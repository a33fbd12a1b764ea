//! The layers' warm path (a token the verified-token cache holds, looked up by its bytes before
//! `bearer_token`'s per-byte checks) answers every request exactly as the full path does: the
//! same request through a layer whose cache holds the token and through one without a cache
//! gets the same status, and only well-formed requests are served from the cache.

use std::time::Duration;

use auth_layer::{AuthenticateLayer, Authenticator};
use auth_testkit::{AdvancingClock, TokenBuilder, default_keyset, ids};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use tower::ServiceExt as _;

fn authenticator(cache: bool) -> Authenticator {
    let b = Authenticator::builder()
        .tenant_id(ids::TENANT_ID)
        .client_id(ids::API_CLIENT_ID)
        .keys(default_keyset());
    let b = if cache {
        b
    } else {
        b.no_verified_token_cache()
    };
    b.build().expect("valid configuration")
}

async fn status(app: &Router, uri: &str, authorization: &[&str]) -> StatusCode {
    let mut req = Request::get(uri);
    for value in authorization {
        req = req.header("authorization", *value);
    }
    let req = req.body(Body::empty()).expect("request");
    app.clone().oneshot(req).await.expect("infallible").status()
}

#[tokio::test]
async fn rule_33_the_warm_path_refuses_what_the_full_path_refuses() {
    let token = TokenBuilder::delegated().sign();
    let cached_auth = authenticator(true);
    let hello = || Router::new().route("/", get(|| async { "hello" }));
    let cached = hello().layer(AuthenticateLayer::new(cached_auth.clone()));
    let uncached = hello().layer(AuthenticateLayer::new(authenticator(false)));
    let bearer = format!("Bearer {token}");
    // The token is now in the cache.
    assert_eq!(status(&cached, "/", &[&bearer]).await, StatusCode::OK);
    assert_eq!(cached_auth.stats().cached_tokens, 1);

    let cases: Vec<(String, Vec<String>)> = vec![
        ("/".into(), vec![bearer.clone()]),
        ("/".into(), vec![format!("bearer   {token}  ")]),
        ("/".into(), vec![format!("BEARER {token}")]),
        // Rule 33: two headers, a token in the URL too, a tab after the scheme.
        ("/".into(), vec![bearer.clone(), bearer.clone()]),
        (format!("/?access_token={token}"), vec![bearer.clone()]),
        ("/?x=1&access_token=a".into(), vec![bearer.clone()]),
        ("/".into(), vec![format!("Bearer\t{token}")]),
        // Not the cached token: other bytes around or inside it.
        ("/".into(), vec![format!("Bearer {token}x")]),
        ("/".into(), vec![format!("Bearer {token}=")]),
        ("/".into(), vec![format!("Bearer {token} ")]),
        ("/".into(), vec![format!("Bearer \"{token}\"")]),
        ("/".into(), vec![format!("Basic {token}")]),
        ("/?x=1".into(), vec![bearer.clone()]),
    ];
    for (uri, headers) in &cases {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let want = status(&uncached, uri, &headers).await;
        let got = status(&cached, uri, &headers).await;
        assert_eq!(got, want, "{uri} {headers:?}");
    }
    assert_eq!(
        status(&cached, "/", &[&bearer, &bearer]).await,
        StatusCode::BAD_REQUEST,
        "a cached token in two headers is still a malformed request"
    );
    assert_eq!(
        status(&cached, &format!("/?access_token={token}"), &[&bearer]).await,
        StatusCode::BAD_REQUEST,
        "a cached token also sent in the URL is still a malformed request"
    );
    assert!(
        cached_auth.stats().cache_hits >= 5,
        "the warm path was taken"
    );
}

#[tokio::test]
async fn rule_23_the_warm_path_never_serves_a_token_past_exp() {
    let clock = AdvancingClock::default();
    let moved = clock.clone();
    let auth = Authenticator::builder()
        .tenant_id(ids::TENANT_ID)
        .client_id(ids::API_CLIENT_ID)
        .validator(move |v| v.clock(clock))
        .keys(default_keyset())
        .build()
        .expect("valid configuration");
    let app = Router::new()
        .route("/", get(|| async { "hello" }))
        .layer(AuthenticateLayer::new(auth.clone()));
    let bearer = format!("Bearer {}", TokenBuilder::delegated().sign());
    assert_eq!(status(&app, "/", &[&bearer]).await, StatusCode::OK);
    assert_eq!(status(&app, "/", &[&bearer]).await, StatusCode::OK);
    assert_eq!(auth.stats().cache_hits, 1, "served warm");

    moved.advance(Duration::from_secs(3 * 60 * 60));
    assert_eq!(
        status(&app, "/", &[&bearer]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        auth.stats().cached_tokens,
        0,
        "the expired entry is dropped"
    );
}
