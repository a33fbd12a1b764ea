//! The hello-world app, one mode per process, on one tokio thread.

use std::io::Write as _;
use std::time::Duration;

use auth_layer::jwks::JwksCache;
use auth_layer::{AuthenticateLayer, Authenticator};
use auth_testkit::ids::{API_CLIENT_ID, TENANT_ID};
use auth_testkit::jwks_server::JwksServer;
use axum::Router;
use axum::routing::get;

use crate::Mode;
use crate::floor::FloorLayer;

/// The authenticator as a service has it in production: its keys found by OIDC discovery and
/// fetched from a JWKS endpoint (here a loopback one, on the server's own thread: after the
/// first fetch it is idle for hours), so the request path reads them from the refreshing key
/// cache, not from a static set. `max_staleness` is left at its default (none), as in
/// production unless configured.
async fn authenticator(cache: bool, idp: &JwksServer) -> Authenticator {
    let jwks = JwksCache::builder()
        .authority(idp.authority(TENANT_ID))
        .build()
        .await
        .expect("the loopback key server answers");
    let b = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .jwks(jwks);
    let b = if cache {
        b
    } else {
        b.no_verified_token_cache()
    };
    b.build().expect("valid configuration")
}

/// The app of `mode`, and the loopback key server it fetches its keys from (kept alive by the
/// caller).
async fn app(mode: Mode) -> (Router, Option<JwksServer>) {
    let hello = Router::new().route("/", get(|| async { "Hello, World!" }));
    let cache = match mode {
        Mode::None => return (hello, None),
        Mode::Identity => return (hello.layer(tower::layer::util::Identity::new()), None),
        Mode::Floor => return (hello.layer(FloorLayer::new()), None),
        Mode::JwtAuthorizer => return (jwt_authorizer(hello).await, None),
        Mode::Cold => false,
        Mode::Warm => true,
    };
    let idp = JwksServer::start().await;
    let auth = authenticator(cache, &idp).await;
    (hello.layer(AuthenticateLayer::new(auth)), Some(idp))
}

#[cfg(not(feature = "jwt-authorizer"))]
async fn jwt_authorizer(_: Router) -> Router {
    eprintln!("built without --features jwt-authorizer");
    std::process::exit(2)
}

/// jwt-authorizer 0.15 is written for axum 0.7: its service needs `S::Response:
/// From<AuthError>`, which holds for axum 0.7's `Response` only. The shim converts the inner
/// (axum 0.8) response body into an axum 0.7 body, and the outer one back; both are
/// `http-body` 1 bodies over `Bytes`, so each conversion is one box.
#[cfg(feature = "jwt-authorizer")]
async fn jwt_authorizer(hello: Router) -> Router {
    use auth_testkit::{TestKey, ids};
    use jwt_authorizer::{IntoLayer as _, JwtAuthorizer, RegisteredClaims, Validation};

    let validation = Validation::new()
        .iss(&[ids::v2_issuer(TENANT_ID)])
        .aud(&[API_CLIENT_ID]);
    let authorizer =
        JwtAuthorizer::<RegisteredClaims>::from_rsa_pem_text(&TestKey::rsa_a().public_key_pem())
            .validation(validation)
            .build()
            .await
            .expect("jwt-authorizer");
    let to07 = |res: http::Response<axum::body::Body>| res.map(axum07::body::Body::new);
    let to08 = |res: http::Response<axum07::body::Body>| res.map(axum::body::Body::new);
    let shim = tower::ServiceBuilder::new()
        .map_response(to08)
        .layer(authorizer.into_layer())
        .map_response(to07);
    hello.layer(shim)
}

pub(crate) fn serve(mode: Mode, port: u16, max: Duration) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (app, _idp) = app(mode).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        println!("listening on {addr}");
        std::io::stdout().flush().expect("stdout");
        // Bounded: the server stops itself after `max` even if nobody kills it.
        let _ = tokio::time::timeout(max, axum::serve(listener, app)).await;
    });
}
