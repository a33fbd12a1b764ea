//! The layers and the interceptor on a real tonic server, called by a real tonic client over
//! loopback (127.0.0.1:0). The service is written by hand (no protoc): prost messages, a
//! `tower::Service` routing one unary method through `tonic::server::Grpc`.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use auth_layer::grpc::{AuthInterceptor, principal};
use auth_layer::{
    AuthenticateLayer, Authenticator, RequireRole, RequireScope, RequireScopeOrRole, TokenKind,
};
use auth_testkit::jwks_server::JwksServer;
use auth_testkit::{TestKey, TokenBuilder, default_keyset, ids};
use http::uri::PathAndQuery;
use serde_json::json;
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Status};
use tonic_prost::ProstCodec;
use tower::Layer as _;

// ---- a hand-written gRPC service: test.WhoAmI/Get ----

#[derive(Clone, PartialEq, prost::Message)]
struct WhoAmIRequest {
    #[prost(string, tag = "1")]
    greeting: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WhoAmIReply {
    /// The user's name (delegated) or the client id (app-only); empty without a principal.
    #[prost(string, tag = "1")]
    name: String,
    /// `delegated`, `app` or `anonymous`.
    #[prost(string, tag = "2")]
    kind: String,
}

const GET: &str = "/test.WhoAmI/Get";

/// The handler: answers with what [`principal`] finds in the request.
#[derive(Clone, Copy)]
struct Handler;

impl UnaryService<WhoAmIRequest> for Handler {
    type Response = WhoAmIReply;
    type Future = Ready<Result<tonic::Response<WhoAmIReply>, Status>>;

    fn call(&mut self, request: tonic::Request<WhoAmIRequest>) -> Self::Future {
        let reply = match principal(&request) {
            Some(p) if p.kind() == TokenKind::Delegated => WhoAmIReply {
                name: p.name().unwrap_or_default().to_owned(),
                kind: "delegated".to_owned(),
            },
            Some(p) => WhoAmIReply {
                name: p.client_id().unwrap_or_default().to_owned(),
                kind: "app".to_owned(),
            },
            None => WhoAmIReply {
                name: String::new(),
                kind: "anonymous".to_owned(),
            },
        };
        ready(Ok(tonic::Response::new(reply)))
    }
}

/// The server side of the service, as `tonic-build` would generate it.
#[derive(Clone, Copy)]
struct WhoAmI;

impl NamedService for WhoAmI {
    const NAME: &'static str = "test.WhoAmI";
}

impl tower::Service<http::Request<Body>> for WhoAmI {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() != GET {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            let mut grpc =
                tonic::server::Grpc::new(ProstCodec::<WhoAmIReply, WhoAmIRequest>::default());
            Ok(grpc.unary(Handler, request).await)
        })
    }
}

// ---- harness ----

/// Serves with `serve` on a fresh loopback port and returns a connected channel.
async fn start<F>(serve: impl FnOnce(TcpIncoming) -> F) -> Channel
where
    F: Future<Output = Result<(), tonic::transport::Error>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a local address");
    tokio::spawn(serve(TcpIncoming::from(listener)));
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("a valid endpoint")
        .connect()
        .await
        .expect("connect to the test server")
}

/// Calls `test.WhoAmI/Get` with this `authorization` metadata value, if any.
async fn call(channel: &Channel, authorization: Option<&str>) -> Result<WhoAmIReply, Status> {
    let mut client = tonic::client::Grpc::new(channel.clone());
    client
        .ready()
        .await
        .map_err(|err| Status::unknown(format!("channel not ready: {err}")))?;
    let mut request = tonic::Request::new(WhoAmIRequest {
        greeting: "hi".to_owned(),
    });
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value.parse().expect("visible ASCII"));
    }
    client
        .unary(
            request,
            PathAndQuery::from_static(GET),
            ProstCodec::<WhoAmIRequest, WhoAmIReply>::default(),
        )
        .await
        .map(tonic::Response::into_inner)
}

async fn call_with(channel: &Channel, token: &str) -> Result<WhoAmIReply, Status> {
    call(channel, Some(&format!("Bearer {token}"))).await
}

fn authenticator() -> Authenticator {
    Authenticator::builder()
        .tenant_id(ids::TENANT_ID)
        .client_id(ids::API_CLIENT_ID)
        .keys(default_keyset())
        .grpc_service()
        .build()
        .expect("test authenticator configuration is valid")
}

fn www_authenticate(status: &Status) -> &str {
    status
        .metadata()
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("no www-authenticate in {status:?}"))
        .to_str()
        .expect("visible ASCII")
}

fn assert_code(outcome: Result<WhoAmIReply, Status>, code: Code) -> Status {
    match outcome {
        Ok(reply) => panic!("expected {code:?}, got OK {reply:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{status:?}");
            status
        }
    }
}

// ---- the layers on Server::builder().layer(…) ----

#[tokio::test]
async fn layer_refuses_a_request_without_token_as_unauthenticated_with_a_challenge() {
    let auth = authenticator();
    let channel = start(|incoming| {
        Server::builder()
            .layer(AuthenticateLayer::new(auth))
            .add_service(WhoAmI)
            .serve_with_incoming(incoming)
    })
    .await;
    let status = assert_code(call(&channel, None).await, Code::Unauthenticated);
    assert_eq!(www_authenticate(&status), "Bearer");
    // From grpc-message: a trailers-only gRPC response, not a bare HTTP 401 (which tonic
    // would also map to Unauthenticated, with another message).
    assert_eq!(status.message(), "a bearer token is required");
}

#[tokio::test]
async fn layer_refuses_invalid_tokens_as_unauthenticated() {
    let auth = authenticator();
    let channel = start(|incoming| {
        Server::builder()
            .layer(AuthenticateLayer::new(auth))
            .add_service(WhoAmI)
            .serve_with_incoming(incoming)
    })
    .await;
    let expired = TokenBuilder::delegated().expires_in(-3600).sign();
    let untrusted = TokenBuilder::delegated()
        .key(TestKey::rsa_untrusted())
        .sign();
    let graph = TokenBuilder::graph_token().sign();
    for token in [expired, untrusted, graph] {
        let status = assert_code(call_with(&channel, &token).await, Code::Unauthenticated);
        let www = www_authenticate(&status);
        assert!(www.starts_with("Bearer error=\"invalid_token\""), "{www}");
    }
    // gRPC has no invalid_request: a malformed value is Unauthenticated too.
    let status = assert_code(
        call(&channel, Some("Bearer not a token")).await,
        Code::Unauthenticated,
    );
    assert!(www_authenticate(&status).contains("error=\"invalid_request\""));
    assert_eq!(status.message(), "the bearer token is malformed");
}

#[tokio::test]
async fn layer_passes_a_valid_delegated_token_and_the_handler_sees_the_principal() {
    let auth = authenticator();
    let channel = start(|incoming| {
        Server::builder()
            .layer(AuthenticateLayer::new(auth))
            .add_service(WhoAmI)
            .serve_with_incoming(incoming)
    })
    .await;
    let reply = call_with(&channel, &TokenBuilder::delegated().sign())
        .await
        .expect("a valid token is accepted");
    assert_eq!(reply.name, ids::USER_NAME);
    assert_eq!(reply.kind, "delegated");
}

#[tokio::test]
async fn require_role_layer_refuses_a_delegated_token_as_permission_denied() {
    let auth = authenticator();
    let channel = start(|incoming| {
        Server::builder()
            .layer(RequireRole::any(auth, ["Files.Write"]))
            .add_service(WhoAmI)
            .serve_with_incoming(incoming)
    })
    .await;
    // Even a user who was assigned the role: the route is for applications.
    let user = TokenBuilder::delegated().roles(["Files.Write"]).sign();
    let status = assert_code(call_with(&channel, &user).await, Code::PermissionDenied);
    let www = www_authenticate(&status);
    assert!(www.contains("error=\"insufficient_scope\""), "{www}");
    assert!(www.ends_with("scope=\"Files.Write\""), "{www}");
    // The message comes from the grpc-message header: the client read a gRPC status, not a
    // bare HTTP 403 (which tonic would also map to PermissionDenied).
    assert_eq!(
        status.message(),
        "this route needs an application's own token; a token issued to a signed-in user is not accepted"
    );
}

#[tokio::test]
async fn require_role_layer_passes_an_app_token_with_the_role() {
    let auth = authenticator();
    let channel = start(|incoming| {
        Server::builder()
            .layer(RequireRole::any(auth, ["Files.Write"]))
            .add_service(WhoAmI)
            .serve_with_incoming(incoming)
    })
    .await;
    let daemon = TokenBuilder::app().roles(["Files.Write"]).sign();
    let reply = call_with(&channel, &daemon)
        .await
        .expect("an app token with the role is accepted");
    assert_eq!(reply.kind, "app");
    assert_eq!(reply.name, ids::CLIENT_APP_ID);

    let unconsented = TokenBuilder::app().remove("roles").sign();
    assert_code(
        call_with(&channel, &unconsented).await,
        Code::PermissionDenied,
    );
}

#[tokio::test]
async fn stacked_layers_validate_once_and_apply_every_policy() {
    let auth = authenticator();
    let server_auth = auth.clone();
    let channel = start(|incoming| {
        Server::builder()
            .layer(AuthenticateLayer::new(server_auth.clone()))
            .layer(RequireScopeOrRole::new(
                server_auth,
                ["Case.Read"],
                ["Case.Read.All"],
            ))
            .add_service(WhoAmI)
            .serve_with_incoming(incoming)
    })
    .await;
    let user = TokenBuilder::delegated().scopes("Case.Read").sign();
    assert_eq!(call_with(&channel, &user).await.unwrap().kind, "delegated");
    let daemon = TokenBuilder::app().roles(["Case.Read.All"]).sign();
    assert_eq!(call_with(&channel, &daemon).await.unwrap().kind, "app");
    let nothing = TokenBuilder::delegated().scopes("Case.Write").sign();
    assert_code(call_with(&channel, &nothing).await, Code::PermissionDenied);
    assert_eq!(auth.stats().full_validations, 3, "one validation per token");
}

#[tokio::test]
async fn require_scope_layer_around_one_service_refuses_with_permission_denied() {
    let auth = authenticator();
    let channel = start(|incoming| {
        Server::builder()
            // The layers' service keeps the wrapped service's gRPC name (`NamedService`).
            .add_service(RequireScope::any(auth, ["Case.Read"]).layer(WhoAmI))
            .serve_with_incoming(incoming)
    })
    .await;
    let reader = TokenBuilder::delegated().scopes("Case.Read").sign();
    assert_eq!(
        call_with(&channel, &reader).await.unwrap().name,
        ids::USER_NAME
    );
    let writer = TokenBuilder::delegated().scopes("Case.Write").sign();
    let status = assert_code(call_with(&channel, &writer).await, Code::PermissionDenied);
    assert!(www_authenticate(&status).ends_with("scope=\"Case.Read\""));
    assert_code(call(&channel, None).await, Code::Unauthenticated);
}

// ---- the interceptor ----

async fn intercepted(interceptor: AuthInterceptor) -> Channel {
    start(|incoming| {
        Server::builder()
            .add_service(InterceptedService::new(WhoAmI, interceptor))
            .serve_with_incoming(incoming)
    })
    .await
}

#[tokio::test]
async fn interceptor_passes_a_valid_token_and_the_handler_reads_the_principal() {
    let channel = intercepted(AuthInterceptor::new(authenticator())).await;
    let reply = call_with(&channel, &TokenBuilder::delegated().sign())
        .await
        .expect("a valid token is accepted");
    assert_eq!(reply.name, ids::USER_NAME);
    assert_eq!(reply.kind, "delegated");
    // The scheme is matched in any letter case.
    let token = TokenBuilder::app().sign();
    let reply = call(&channel, Some(&format!("bEaReR {token}")))
        .await
        .unwrap();
    assert_eq!(reply.kind, "app");
}

#[tokio::test]
async fn interceptor_refuses_a_request_without_token_as_unauthenticated() {
    let channel = intercepted(AuthInterceptor::new(authenticator())).await;
    let status = assert_code(call(&channel, None).await, Code::Unauthenticated);
    assert_eq!(www_authenticate(&status), "Bearer");
    // Another scheme is no bearer token.
    let status = assert_code(
        call(&channel, Some("Basic dXNlcjpwYXNz")).await,
        Code::Unauthenticated,
    );
    assert_eq!(www_authenticate(&status), "Bearer");
}

#[tokio::test]
async fn interceptor_refuses_malformed_and_invalid_tokens_as_unauthenticated() {
    let channel = intercepted(AuthInterceptor::new(authenticator())).await;
    for value in ["Bearer", "Bearer a b", "Bearer a\"b"] {
        let status = assert_code(call(&channel, Some(value)).await, Code::Unauthenticated);
        assert!(
            www_authenticate(&status).contains("error=\"invalid_request\""),
            "{value}"
        );
    }
    let expired = TokenBuilder::delegated().expires_in(-3600).sign();
    let status = assert_code(call_with(&channel, &expired).await, Code::Unauthenticated);
    assert!(www_authenticate(&status).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn interceptor_requiring_a_scope_refuses_tokens_without_it_as_permission_denied() {
    let channel =
        intercepted(AuthInterceptor::new(authenticator()).require_scope("Case.Read")).await;
    let reader = TokenBuilder::delegated().scopes("Case.Read").sign();
    assert_eq!(
        call_with(&channel, &reader).await.unwrap().name,
        ids::USER_NAME
    );

    let writer = TokenBuilder::delegated().scopes("Case.Write").sign();
    let status = assert_code(call_with(&channel, &writer).await, Code::PermissionDenied);
    let www = www_authenticate(&status);
    assert!(www.contains("error=\"insufficient_scope\""), "{www}");
    assert!(www.ends_with("scope=\"Case.Read\""), "{www}");

    // App-only tokens carry no scopes.
    let daemon = TokenBuilder::app().roles(["Case.Read"]).sign();
    assert_code(call_with(&channel, &daemon).await, Code::PermissionDenied);
}

#[tokio::test]
async fn interceptor_requiring_a_role_accepts_only_app_tokens_with_it() {
    let channel =
        intercepted(AuthInterceptor::new(authenticator()).require_role("Files.Write")).await;
    let daemon = TokenBuilder::app().roles(["Files.Write"]).sign();
    assert_eq!(call_with(&channel, &daemon).await.unwrap().kind, "app");
    let user = TokenBuilder::delegated().roles(["Files.Write"]).sign();
    assert_code(call_with(&channel, &user).await, Code::PermissionDenied);
    let other = TokenBuilder::app().roles(["Files.Read"]).sign();
    assert_code(call_with(&channel, &other).await, Code::PermissionDenied);
}

#[tokio::test]
async fn interceptor_behind_a_layer_reuses_its_principal() {
    let auth = authenticator();
    let server_auth = auth.clone();
    let channel = start(|incoming| {
        Server::builder()
            .layer(AuthenticateLayer::new(server_auth.clone()))
            .add_service(InterceptedService::new(
                WhoAmI,
                AuthInterceptor::new(server_auth).require_scope("Case.Read"),
            ))
            .serve_with_incoming(incoming)
    })
    .await;
    let reader = TokenBuilder::delegated().scopes("Case.Read").sign();
    assert_eq!(
        call_with(&channel, &reader).await.unwrap().name,
        ids::USER_NAME
    );
    let writer = TokenBuilder::delegated().scopes("Case.Write").sign();
    assert_code(call_with(&channel, &writer).await, Code::PermissionDenied);
    let stats = auth.stats();
    assert_eq!(
        (stats.full_validations, stats.cache_hits),
        (2, 0),
        "the interceptor did not validate again"
    );
}

#[tokio::test]
async fn interceptor_refuses_an_unknown_kid_at_once_and_accepts_it_after_the_background_refresh() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let auth = Authenticator::builder()
        .tenant_id(ids::TENANT_ID)
        .client_id(ids::API_CLIENT_ID)
        .instance(idp.base_url())
        .build_and_fetch()
        .await
        .expect("the loopback IdP serves discovery and keys");
    let channel = intercepted(AuthInterceptor::new(auth.clone())).await;
    let issuer = idp.issuer(ids::TENANT_ID);
    let known = TokenBuilder::delegated().claim("iss", json!(issuer)).sign();
    assert_eq!(
        call_with(&channel, &known).await.unwrap().name,
        ids::USER_NAME
    );
    assert_eq!(auth.jwks().stats().fetches_succeeded, 1);

    // Entra rolls its keys: rsa-b appears, and a token signed with it arrives.
    idp.publish(&[TestKey::rsa_a(), TestKey::rsa_b()]);
    let rotated = TokenBuilder::delegated()
        .claim("iss", json!(issuer))
        .key(TestKey::rsa_b())
        .sign();
    let status = assert_code(call_with(&channel, &rotated).await, Code::Unauthenticated);
    assert!(www_authenticate(&status).contains("error=\"invalid_token\""));

    // The interceptor never waits, but it started a refresh in the background.
    let start = Instant::now();
    while auth.jwks().stats().fetches_succeeded < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the background refresh did not finish: {:?}",
            auth.jwks().stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(auth.jwks().stats().kid_miss_refreshes, 1);
    let reply = call_with(&channel, &rotated)
        .await
        .expect("the retry after the refresh succeeds");
    assert_eq!(reply.name, ids::USER_NAME);
    assert_eq!(idp.jwks_hits(), 2, "exactly one refresh");
}
