//! The Tower layers at the HTTP level: axum `Router` + `tower::ServiceExt::oneshot`, one test
//! per status path and header (RFC 6750), the once-per-request rule, and the verified-token
//! cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use auth_layer::jwks::JwksCache;
use auth_layer::{
    AuthenticateLayer, Authenticator, Clock, Principal, RequireRole, RequireScope,
    RequireScopeOrRole,
};
use auth_testkit::ids::{API_CLIENT_ID, OTHER_TENANT_ID, TENANT_ID, USER_NAME};
use auth_testkit::jwks_server::JwksServer;
use auth_testkit::{TestKey, TokenBuilder, default_keyset};
use axum::body::Body;
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::{Request, Response, StatusCode};
use tower::ServiceExt;

fn authenticator() -> Authenticator {
    Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .no_verified_token_cache()
        .build()
        .unwrap()
}

fn app(auth: &Authenticator) -> Router {
    Router::new()
        .route("/create-case", post(|| async { "created" }))
        .route_layer(RequireScope::any(auth.clone(), ["Case.Create"]))
        .merge(
            Router::new()
                .route("/upload", post(|| async { "uploaded" }))
                .route_layer(RequireRole::any(auth.clone(), ["Files.Write"])),
        )
        .merge(
            Router::new()
                .route(
                    "/me",
                    get(|Extension(p): Extension<Principal>| async move {
                        p.name().unwrap_or("app").to_owned()
                    }),
                )
                .route_layer(AuthenticateLayer::new(auth.clone())),
        )
}

fn request(method: &str, uri: &str, authorization: &[&str]) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    for value in authorization {
        b = b.header("authorization", *value);
    }
    b.body(Body::empty()).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

fn www(res: &Response<Body>) -> String {
    res.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn body(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn no_credentials_get_401_with_a_bare_bearer_challenge() {
    let auth = authenticator();
    let res = send(&app(&auth), request("POST", "/create-case", &[])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www(&res), "Bearer");
}

#[tokio::test]
async fn another_scheme_is_treated_as_no_credentials() {
    let auth = authenticator();
    let res = send(
        &app(&auth),
        request("POST", "/create-case", &["Basic dXNlcjpwYXNz"]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www(&res), "Bearer");
}

#[tokio::test]
async fn the_realm_is_included_when_configured() {
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .realm("cases")
        .resource_metadata("https://api.example.com/.well-known/oauth-protected-resource")
        .build()
        .unwrap();
    let res = send(&app(&auth), request("POST", "/create-case", &[])).await;
    assert_eq!(
        www(&res),
        "Bearer realm=\"cases\", resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\""
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let auth = authenticator();
    let token = TokenBuilder::delegated().scopes("Case.Create").sign();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let res = send(
            &app(&auth),
            request("POST", "/create-case", &[&format!("{scheme} {token}")]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn malformed_requests_get_400_invalid_request() {
    let auth = authenticator();
    let token = TokenBuilder::delegated().scopes("Case.Create").sign();
    let app = app(&auth);
    let cases = [
        request("POST", "/create-case", &[&bearer(&token), &bearer(&token)]),
        request("POST", "/create-case", &["Bearer"]),
        request("POST", "/create-case", &["Bearer "]),
        request("POST", "/create-case", &["Bearer a b c"]),
        request(
            "POST",
            &format!("/create-case?access_token={token}"),
            &[&bearer(&token)],
        ),
        request("POST", &format!("/create-case?access_token={token}"), &[]),
    ];
    for req in cases {
        let res = send(&app, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(
            www(&res).starts_with("Bearer error=\"invalid_request\", error_description=\""),
            "{}",
            www(&res)
        );
    }
}

#[tokio::test]
async fn invalid_tokens_get_401_invalid_token_without_token_content() {
    let auth = authenticator();
    let app = app(&auth);
    let marker = "ZZmarkerZZ";
    let bad = [
        TokenBuilder::delegated()
            .scopes("Case.Create")
            .issued_at(1_600_000_000)
            .sign(),
        TokenBuilder::delegated()
            .scopes("Case.Create")
            .tenant(OTHER_TENANT_ID)
            .sign(),
        TokenBuilder::delegated()
            .scopes("Case.Create")
            .audience(marker)
            .sign(),
        TokenBuilder::delegated()
            .key(TestKey::rsa_untrusted())
            .sign(),
        TokenBuilder::graph_token().sign(),
        "not.a.token".to_owned(),
    ];
    for token in bad {
        let res = send(&app, request("POST", "/create-case", &[&bearer(&token)])).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let challenge = www(&res);
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
            "{challenge}"
        );
        assert!(
            !challenge.contains(marker) && !challenge.contains(&token[..token.len().min(20)]),
            "{challenge}"
        );
        assert!(body(res).await.is_empty());
    }
}

#[tokio::test]
async fn a_graph_token_is_told_it_was_issued_for_another_api() {
    let auth = authenticator();
    let res = send(
        &app(&auth),
        request(
            "GET",
            "/me",
            &[&bearer(&TokenBuilder::graph_token().sign())],
        ),
    )
    .await;
    assert!(
        www(&res).contains("issued for another API"),
        "{}",
        www(&res)
    );
}

#[tokio::test]
async fn a_missing_scope_gets_403_insufficient_scope_naming_it() {
    let auth = authenticator();
    let token = TokenBuilder::delegated().scopes("Case.Read").sign();
    let res = send(
        &app(&auth),
        request("POST", "/create-case", &[&bearer(&token)]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let challenge = www(&res);
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.ends_with("scope=\"Case.Create\""), "{challenge}");
}

#[tokio::test]
async fn an_app_token_on_a_delegated_route_gets_403() {
    let auth = authenticator();
    // Even an app token that somehow carries the scope name as a role.
    let token = TokenBuilder::app().roles(["Case.Create"]).sign();
    let res = send(
        &app(&auth),
        request("POST", "/create-case", &[&bearer(&token)]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(www(&res).contains("error=\"insufficient_scope\""));
}

#[tokio::test]
async fn a_delegated_token_on_an_app_only_route_gets_403() {
    let auth = authenticator();
    let token = TokenBuilder::delegated().roles(["Files.Write"]).sign();
    let res = send(&app(&auth), request("POST", "/upload", &[&bearer(&token)])).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        www(&res).ends_with("scope=\"Files.Write\""),
        "{}",
        www(&res)
    );
    // Unless the route opts in to user-assigned roles.
    let lenient = Router::new()
        .route("/upload", post(|| async { "ok" }))
        .route_layer(RequireRole::any(auth.clone(), ["Files.Write"]).allow_user_roles());
    assert_eq!(
        send(&lenient, request("POST", "/upload", &[&bearer(&token)]))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_app_token_without_the_role_gets_403_and_with_it_200() {
    let auth = authenticator();
    let app = app(&auth);
    let without = TokenBuilder::app().remove("roles").sign();
    assert_eq!(
        send(&app, request("POST", "/upload", &[&bearer(&without)]))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let with = TokenBuilder::app().roles(["Files.Write"]).sign();
    assert_eq!(
        send(&app, request("POST", "/upload", &[&bearer(&with)]))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn require_all_needs_every_scope_and_require_any_one() {
    let auth = authenticator();
    let all = Router::new()
        .route("/x", get(|| async { "ok" }))
        .route_layer(RequireScope::all(auth.clone(), ["A", "B"]));
    let any = Router::new()
        .route("/x", get(|| async { "ok" }))
        .route_layer(RequireScope::any(auth.clone(), ["A", "B"]));
    let one = TokenBuilder::delegated().scopes("A").sign();
    let both = TokenBuilder::delegated().scopes("B A").sign();
    assert_eq!(
        send(&all, request("GET", "/x", &[&bearer(&one)]))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&all, request("GET", "/x", &[&bearer(&both)]))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&any, request("GET", "/x", &[&bearer(&one)]))
            .await
            .status(),
        StatusCode::OK
    );
    let all_roles = Router::new()
        .route("/x", get(|| async { "ok" }))
        .route_layer(RequireRole::all(auth.clone(), ["R1", "R2"]));
    let r1 = TokenBuilder::app().roles(["R1"]).sign();
    assert_eq!(
        send(&all_roles, request("GET", "/x", &[&bearer(&r1)]))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn scope_or_role_accepts_users_by_scope_and_apps_by_role() {
    let auth = authenticator();
    let app = Router::new()
        .route("/docs", get(|| async { "ok" }))
        .route_layer(RequireScopeOrRole::new(
            auth.clone(),
            ["Documents.Read"],
            ["Documents.Read.All"],
        ));
    let cases = [
        (
            TokenBuilder::delegated().scopes("Documents.Read").sign(),
            StatusCode::OK,
        ),
        (
            TokenBuilder::app().roles(["Documents.Read.All"]).sign(),
            StatusCode::OK,
        ),
        (
            TokenBuilder::delegated()
                .scopes("Other")
                .roles(["Documents.Read.All"])
                .sign(),
            StatusCode::FORBIDDEN,
        ),
        (
            TokenBuilder::app().roles(["Documents.Read"]).sign(),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (token, status) in cases {
        assert_eq!(
            send(&app, request("GET", "/docs", &[&bearer(&token)]))
                .await
                .status(),
            status
        );
    }
}

#[tokio::test]
async fn handlers_see_the_principal() {
    let auth = authenticator();
    let res = send(
        &app(&auth),
        request("GET", "/me", &[&bearer(&TokenBuilder::delegated().sign())]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, USER_NAME);
}

#[tokio::test]
async fn a_token_is_validated_once_per_request_however_many_layers() {
    let auth = authenticator();
    let stacked = Router::new()
        .route(
            "/x",
            get(|Extension(p): Extension<Principal>| async move { p.kind().to_string() }),
        )
        .route_layer(RequireScope::any(auth.clone(), ["Case.Create"]))
        .route_layer(RequireScopeOrRole::new(
            auth.clone(),
            ["Case.Create"],
            ["Never"],
        ))
        .layer(AuthenticateLayer::new(auth.clone()))
        .layer(AuthenticateLayer::new(auth.clone()));
    let token = TokenBuilder::delegated().scopes("Case.Create").sign();
    for n in 1..=3 {
        let res = send(&stacked, request("GET", "/x", &[&bearer(&token)])).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            auth.stats().full_validations,
            n,
            "one validation per request"
        );
    }
    // Layers alone (no AuthenticateLayer) share the principal too.
    let auth = authenticator();
    let layers_only = Router::new()
        .route("/x", get(|| async { "ok" }))
        .route_layer(RequireScope::any(auth.clone(), ["Case.Create"]))
        .route_layer(RequireScope::any(auth.clone(), ["Case.Create"]));
    send(&layers_only, request("GET", "/x", &[&bearer(&token)])).await;
    assert_eq!(auth.stats().full_validations, 1);
}

#[tokio::test]
async fn nested_routers_and_service_builder_chains_work() {
    let auth = authenticator();
    let api = Router::new()
        .route("/cases", post(|| async { "created" }))
        .route_layer(
            tower::ServiceBuilder::new()
                .layer(AuthenticateLayer::new(auth.clone()))
                .layer(RequireScope::any(auth.clone(), ["Case.Create"])),
        );
    let app = Router::new()
        .nest("/api", api)
        .route("/health", get(|| async { "ok" }));
    assert_eq!(
        send(&app, request("GET", "/health", &[])).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&app, request("POST", "/api/cases", &[]))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let token = TokenBuilder::delegated().scopes("Case.Create").sign();
    assert_eq!(
        send(&app, request("POST", "/api/cases", &[&bearer(&token)]))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn optional_authentication_lets_anonymous_callers_through_but_not_bad_tokens() {
    let auth = authenticator();
    let app = Router::new()
        .route(
            "/",
            get(|p: Option<Extension<Principal>>| async move {
                p.map_or_else(
                    || "anonymous".to_owned(),
                    |Extension(p)| p.name().unwrap_or("?").to_owned(),
                )
            }),
        )
        .layer(AuthenticateLayer::optional(auth.clone()));
    let res = send(&app, request("GET", "/", &[])).await;
    assert_eq!(body(res).await, "anonymous");
    let res = send(
        &app,
        request("GET", "/", &[&bearer(&TokenBuilder::delegated().sign())]),
    )
    .await;
    assert_eq!(body(res).await, USER_NAME);
    let res = send(&app, request("GET", "/", &[&bearer("bad.token.here")])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn problem_json_bodies_are_opt_in() {
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .problem_json()
        .build()
        .unwrap();
    let token = TokenBuilder::delegated().scopes("Case.Read").sign();
    let res = send(
        &app(&auth),
        request("POST", "/create-case", &[&bearer(&token)]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let doc: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(doc["status"], 403);
    assert_eq!(doc["detail"], "the token lacks a required scope");
}

#[tokio::test]
async fn a_rest_service_never_answers_grpc_style_whatever_the_content_type() {
    let auth = authenticator();
    let mut req = request("POST", "/create-case", &[]);
    req.headers_mut()
        .insert("content-type", "application/grpc".parse().unwrap());
    let res = send(&app(&auth), req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("grpc-status").is_none());
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn grpc_requests_get_trailers_only_statuses_not_bare_401s() {
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .no_verified_token_cache()
        .grpc_service()
        .build()
        .unwrap();
    let mut req = request("POST", "/create-case", &[]);
    req.headers_mut()
        .insert("content-type", "application/grpc+proto".parse().unwrap());
    let res = send(&app(&auth), req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["grpc-status"], "16");
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let mut req = request(
        "POST",
        "/create-case",
        &[&bearer(&TokenBuilder::app().sign())],
    );
    req.headers_mut()
        .insert("content-type", "application/grpc".parse().unwrap());
    let res = send(&app(&auth), req).await;
    assert_eq!(res.headers()["grpc-status"], "7");
}

/// A clock tests can move.
#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl Clock for TestClock {
    fn now(&self) -> f64 {
        self.0.load(Ordering::SeqCst) as f64
    }
}

#[tokio::test]
async fn a_cached_token_is_served_from_the_cache_until_it_expires() {
    let t = 1_700_000_000;
    let clock = TestClock(Arc::new(AtomicI64::new(t)));
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .validator({
            let clock = clock.clone();
            move |v| v.clock(clock).leeway(Duration::from_secs(60))
        })
        .build()
        .unwrap();
    let app = app(&auth);
    let token = TokenBuilder::delegated()
        .scopes("Case.Create")
        .issued_at(t)
        .expires_in(3600)
        .sign();
    for _ in 0..3 {
        let res = send(&app, request("POST", "/create-case", &[&bearer(&token)])).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(auth.stats().full_validations, 1);
    assert_eq!(auth.stats().cache_hits, 2);
    // Past exp + leeway, the cached entry is not served.
    clock.0.store(t + 3600 + 61, Ordering::SeqCst);
    let res = send(&app, request("POST", "/create-case", &[&bearer(&token)])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(www(&res).contains("expired"), "{}", www(&res));
    assert_eq!(auth.stats().cache_hits, 2);
}

#[tokio::test]
async fn only_successes_are_cached() {
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .build()
        .unwrap();
    let app = app(&auth);
    let bad = TokenBuilder::delegated().tenant(OTHER_TENANT_ID).sign();
    for _ in 0..3 {
        send(&app, request("GET", "/me", &[&bearer(&bad)])).await;
    }
    assert_eq!(auth.stats().full_validations, 3);
    assert_eq!(auth.stats().cached_tokens, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_is_refused_once_its_key_is_withdrawn() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a(), TestKey::rsa_b()]).await;
    let jwks = JwksCache::builder()
        .authority(idp.authority(TENANT_ID))
        .min_refresh_interval(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .instance(idp.base_url())
        .jwks(jwks)
        .build()
        .unwrap();
    let app = app(&auth);
    let token = TokenBuilder::delegated()
        .key(TestKey::rsa_b())
        .claim("iss", idp.issuer(TENANT_ID))
        .sign();
    assert_eq!(
        send(&app, request("GET", "/me", &[&bearer(&token)]))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&app, request("GET", "/me", &[&bearer(&token)]))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(auth.stats().cache_hits, 1);
    // The provider withdraws rsa-b; a token naming an unseen kid triggers a refresh.
    idp.publish(&[TestKey::rsa_a()]);
    let unseen = TokenBuilder::delegated()
        .key(TestKey::rsa_untrusted())
        .claim("iss", idp.issuer(TENANT_ID))
        .sign();
    send(&app, request("GET", "/me", &[&bearer(&unseen)])).await;
    assert!(!auth.jwks().current().contains_kid(TestKey::rsa_b().kid()));
    let res = send(&app, request("GET", "/me", &[&bearer(&token)])).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a withdrawn key's cached tokens are not served"
    );
    assert_eq!(auth.stats().cache_hits, 1);
}

#[tokio::test]
async fn the_verified_token_cache_stays_within_its_bound() {
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .verified_token_cache(100)
        .build()
        .unwrap();
    for i in 0..1_000 {
        let token = TokenBuilder::delegated()
            .claim("uti", format!("token-{i}"))
            .sign();
        auth.authenticate(&token).await.unwrap();
        assert!(auth.stats().cached_tokens <= 100, "{i}: {:?}", auth.stats());
    }
    assert!(auth.stats().cached_tokens >= 50, "{:?}", auth.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_an_unseen_kid_waits_for_one_refresh_then_passes() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .instance(idp.base_url())
        .build_and_fetch()
        .await
        .unwrap();
    let app = app(&auth);
    idp.publish(&[TestKey::rsa_a(), TestKey::rsa_b()]);
    let rotated = TokenBuilder::delegated()
        .key(TestKey::rsa_b())
        .claim("iss", idp.issuer(TENANT_ID))
        .sign();
    let res = send(&app, request("GET", "/me", &[&bearer(&rotated)])).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        idp.jwks_hits(),
        2,
        "the first fetch and one kid-miss refresh"
    );
}

/// Provenance (issue 13): an inner layer built on another authenticator never trusts the outer
/// layer's principal; it validates the token itself.
#[tokio::test]
async fn an_inner_layer_of_another_authenticator_revalidates_the_token() {
    let any_tenant = Authenticator::builder()
        .any_tenant()
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .build()
        .unwrap();
    let home = authenticator();
    let app = Router::new()
        .route("/upload", post(|| async { "uploaded" }))
        .route_layer(RequireRole::any(home.clone(), ["Files.Write"]))
        .layer(AuthenticateLayer::new(any_tenant));
    let foreign = TokenBuilder::app()
        .tenant(OTHER_TENANT_ID)
        .roles(["Files.Write"])
        .sign();
    let res = send(&app, request("POST", "/upload", &[&bearer(&foreign)])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{}", www(&res));
    let own = TokenBuilder::app().roles(["Files.Write"]).sign();
    let res = send(&app, request("POST", "/upload", &[&bearer(&own)])).await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Issue 13: an Entra ID token carrying `roles` (user-assigned app roles) and no `nonce` is
/// not an application's token.
#[tokio::test]
async fn an_id_token_with_roles_is_refused_not_taken_for_an_app() {
    let auth = authenticator();
    let id_token = TokenBuilder::id_token()
        .remove("nonce")
        .roles(["Files.Write"])
        .sign();
    let res = send(
        &app(&auth),
        request("POST", "/upload", &[&bearer(&id_token)]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A delegated token with `scp` swapped for `roles` is not an app token either.
    let swapped = TokenBuilder::delegated()
        .remove("scp")
        .roles(["Files.Write"])
        .sign();
    let res = send(
        &app(&auth),
        request("POST", "/upload", &[&bearer(&swapped)]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// Issue 13: a real unconsented v2 app token (no roles, no scp, no idtyp) is a valid app token
/// with no permissions: 403 at a role gate, not 401.
#[tokio::test]
async fn an_unconsented_app_token_gets_403_at_a_role_gate() {
    let auth = authenticator();
    let token = TokenBuilder::app().remove("roles").sign();
    let res = send(&app(&auth), request("POST", "/upload", &[&bearer(&token)])).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// One policy value: a non-Entra client-credentials token's permissions are its `scope`.
#[tokio::test]
async fn permissions_any_reads_an_rfc9068_client_credentials_scope() {
    let issuer = "https://idp.example.com";
    let auth = Authenticator::builder()
        .issuer(issuer)
        .audience("files-api")
        .keys(default_keyset())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/upload", post(|| async { "uploaded" }))
        .route_layer(auth_layer::Require::permissions_any(["files.write"]).layer(auth));
    let token = |scope: &str| {
        TokenBuilder::app()
            .header("typ", serde_json::json!("at+jwt"))
            .claim("iss", issuer)
            .audience("files-api")
            .remove("tid")
            .remove("roles")
            .remove("oid")
            .remove("azp")
            .claim("client_id", "svc")
            .claim("sub", "svc")
            .claim("scope", scope)
            .sign()
    };
    let res = send(
        &app,
        request("POST", "/upload", &[&bearer(&token("files.write"))]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = send(
        &app,
        request("POST", "/upload", &[&bearer(&token("files.read"))]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let challenge = www(&res);
    assert!(
        challenge.contains("the token lacks a required permission")
            && !challenge.contains("app-only"),
        "{challenge}"
    );
}

/// Issue 13: every refusal carries `Cache-Control: no-store`.
#[tokio::test]
async fn every_refusal_carries_cache_control_no_store() {
    let auth = authenticator();
    let app = app(&auth);
    let cases = [
        request("POST", "/create-case", &[]),
        request("POST", "/create-case", &["Bearer a b"]),
        request("POST", "/create-case", &[&bearer("x.y.z")]),
        request(
            "POST",
            "/create-case",
            &[&bearer(&TokenBuilder::delegated().scopes("Other").sign())],
        ),
    ];
    for req in cases {
        let res = send(&app, req).await;
        assert!(!res.status().is_success());
        assert_eq!(
            res.headers()["cache-control"],
            "no-store",
            "{}",
            res.status()
        );
    }
}

/// Issue 13: `Bearer<TAB>token` and an empty `Authorization` value are 400 `invalid_request`,
/// also under `AuthenticateLayer::optional`.
#[tokio::test]
async fn a_tab_after_bearer_or_an_empty_header_is_400_even_when_optional() {
    let auth = authenticator();
    let token = TokenBuilder::delegated().sign();
    let optional = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(AuthenticateLayer::optional(auth.clone()));
    for (app, uri) in [(app(&auth), "/me"), (optional, "/")] {
        for value in [format!("Bearer\t{token}"), String::new()] {
            let res = send(&app, request("GET", uri, &[&value])).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{value:?}");
        }
    }
}
