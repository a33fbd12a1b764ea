//! A gRPC (tonic) service protected by a scope and a role, and its client.
//!
//! Two services of the package `cases`, written by hand with prost messages (no `protoc`), on
//! the `auth-code-api` app registration (tokens for `api://backend-api-id`):
//!
//! | method | needs | how it is protected |
//! |---|---|---|
//! | `cases.Cases/Create` | delegated scope `Case.Create` | [`AuthInterceptor`] (`InterceptedService`) |
//! | `cases.Approvals/Approve` | the app role `Case.Approver`, assigned to users | [`RequireRole`] layer around the service (`allow_user_roles`) |
//!
//! Refusals are gRPC statuses: `Unauthenticated` without a valid token, `PermissionDenied`
//! when the scope or role is missing, each with a `www-authenticate` entry.
//!
//! The equivalent `.proto`:
//!
//! ```text
//! package cases;
//! service Cases     { rpc Create  (CreateCaseRequest)  returns (CaseReply); }
//! service Approvals { rpc Approve (ApproveCaseRequest) returns (CaseReply); }
//! message CreateCaseRequest  { string title = 1; }
//! message ApproveCaseRequest { uint64 case_id = 1; }
//! message CaseReply          { string message = 1; }
//! ```

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use auth_layer::grpc::{AuthInterceptor, principal};
use auth_layer::{Authenticator, RequireRole};
use http::uri::PathAndQuery;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::Layer as _;

use crate::config::{ConfigError, ResourceConfig, Vars};
use crate::server::Running;

/// The server's name in logs.
pub const NAME: &str = "grpc-cases-server";

/// `cases.Cases/Create`.
pub const CREATE: &str = "/cases.Cases/Create";
/// `cases.Approvals/Approve`.
pub const APPROVE: &str = "/cases.Approvals/Approve";

/// The request of `Create`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateCaseRequest {
    /// The case's title.
    #[prost(string, tag = "1")]
    pub title: String,
}

/// The request of `Approve`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ApproveCaseRequest {
    /// The case to approve.
    #[prost(uint64, tag = "1")]
    pub case_id: u64,
}

/// The reply of both methods.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CaseReply {
    /// What happened.
    #[prost(string, tag = "1")]
    pub message: String,
}

/// The settings of the gRPC server.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LISTEN_ADDR` (default `127.0.0.1:50051`).
    pub listen: SocketAddr,
    /// Token validation (the `auth-code-api` registration): `AZURE_*` / `OIDC_ISSUER`,
    /// `ACCEPTED_AUDIENCES` (default `api://backend-api-id`), `JWKS_MIN_REFRESH_SECS`;
    /// `REQUIRED_PERMISSIONS` for `Create` (default `Case.Create`).
    pub resource: ResourceConfig,
}

impl Config {
    /// Reads the environment (see `examples/README.md`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::env())
    }

    /// Reads `vars`.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            listen: vars.listen_addr("127.0.0.1:50051")?,
            resource: ResourceConfig::from_vars(vars, &["api://backend-api-id"])?,
        })
    }
}

fn caller_name<T>(request: &Request<T>) -> String {
    principal(request)
        .and_then(|p| p.name().or(p.username()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `Create`'s handler.
#[derive(Clone, Debug, Default)]
struct CreateHandler {
    next_id: Arc<AtomicU64>,
}

impl UnaryService<CreateCaseRequest> for CreateHandler {
    type Response = CaseReply;
    type Future = Ready<Result<Response<CaseReply>, Status>>;

    fn call(&mut self, request: Request<CreateCaseRequest>) -> Self::Future {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let who = caller_name(&request);
        let title = request.into_inner().title;
        tracing::info!(service = NAME, method = CREATE, user = %who, "case created");
        ready(Ok(Response::new(CaseReply {
            message: format!("Case {id} ({title:?}) created by {who}"),
        })))
    }
}

/// `Approve`'s handler.
#[derive(Clone, Copy, Debug, Default)]
struct ApproveHandler;

impl UnaryService<ApproveCaseRequest> for ApproveHandler {
    type Response = CaseReply;
    type Future = Ready<Result<Response<CaseReply>, Status>>;

    fn call(&mut self, request: Request<ApproveCaseRequest>) -> Self::Future {
        let who = caller_name(&request);
        let case_id = request.into_inner().case_id;
        tracing::info!(service = NAME, method = APPROVE, user = %who, case_id, "case approved");
        ready(Ok(Response::new(CaseReply {
            message: format!("Case {case_id} approved by {who}"),
        })))
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

/// The server side of `cases.Cases`, as `tonic-build` would generate it.
#[derive(Clone, Debug, Default)]
pub struct CasesServer {
    handler: CreateHandler,
}

impl NamedService for CasesServer {
    const NAME: &'static str = "cases.Cases";
}

impl tower::Service<http::Request<Body>> for CasesServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let handler = self.handler.clone();
        Box::pin(async move {
            if request.uri().path() != CREATE {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            let mut grpc =
                tonic::server::Grpc::new(ProstCodec::<CaseReply, CreateCaseRequest>::default());
            Ok(grpc.unary(handler, request).await)
        })
    }
}

/// The server side of `cases.Approvals`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApprovalsServer;

impl NamedService for ApprovalsServer {
    const NAME: &'static str = "cases.Approvals";
}

impl tower::Service<http::Request<Body>> for ApprovalsServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() != APPROVE {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            let mut grpc =
                tonic::server::Grpc::new(ProstCodec::<CaseReply, ApproveCaseRequest>::default());
            Ok(grpc.unary(ApproveHandler, request).await)
        })
    }
}

/// The tonic router: `Cases` behind the interceptor (scope `Case.Create`), `Approvals` behind
/// the role layer (`Case.Approver`, a role assigned to users).
pub fn routes(auth: &Authenticator) -> tonic::service::Routes {
    routes_requiring(auth, vec!["Case.Create".to_owned()])
}

/// [`routes`] with `Cases` requiring any of `resource`'s permissions (`REQUIRED_PERMISSIONS`,
/// default `Case.Create`): a user's token with one of them in `scp` / `scope`.
pub fn routes_for(auth: &Authenticator, resource: &ResourceConfig) -> tonic::service::Routes {
    routes_requiring(auth, resource.permissions("Case.Create"))
}

fn routes_requiring(auth: &Authenticator, create: Vec<String>) -> tonic::service::Routes {
    let cases = InterceptedService::new(
        CasesServer::default(),
        AuthInterceptor::new(auth.clone()).require_any_scope(create),
    );
    let approvals = RequireRole::any(auth.clone(), ["Case.Approver"])
        .allow_user_roles()
        .layer(ApprovalsServer);
    tonic::service::Routes::new(cases).add_service(approvals)
}

/// Serves on `listener` until the handle is dropped.
pub fn spawn(listener: TcpListener, auth: &Authenticator) -> Running {
    spawn_routes(listener, routes(auth))
}

/// Serves `routes` (e.g. [`routes_for`]) on `listener` until the handle is dropped.
pub fn spawn_routes(listener: TcpListener, routes: tonic::service::Routes) -> Running {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let served = Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(err) = served {
            tracing::error!(%err, "the gRPC server stopped");
        }
    });
    Running::new(addr, stop)
}

/// Serves on `listener` until SIGTERM or Ctrl-C; requests in flight then finish (the binary).
pub async fn serve_until_signal(
    listener: TcpListener,
    auth: &Authenticator,
) -> Result<(), tonic::transport::Error> {
    serve_routes_until_signal(listener, routes(auth)).await
}

/// Serves `routes` (e.g. [`routes_for`]) on `listener` until SIGTERM or Ctrl-C.
pub async fn serve_routes_until_signal(
    listener: TcpListener,
    routes: tonic::service::Routes,
) -> Result<(), tonic::transport::Error> {
    Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener),
            crate::server::shutdown_signal(),
        )
        .await
}

/// Connects to `url` (`http://host:port`).
pub async fn connect(url: &str) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(url.to_owned())?.connect().await
}

async fn unary<Req, Reply>(
    channel: &Channel,
    path: &'static str,
    token: &str,
    message: Req,
) -> Result<Reply, Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Reply: prost::Message + Default + Send + Sync + 'static,
{
    let mut client = tonic::client::Grpc::new(channel.clone());
    client
        .ready()
        .await
        .map_err(|e| Status::unavailable(format!("the server is not ready: {e}")))?;
    let mut request = Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| Status::invalid_argument("the token is not valid header text"))?;
    request.metadata_mut().insert("authorization", value);
    client
        .unary(
            request,
            PathAndQuery::from_static(path),
            ProstCodec::<Req, Reply>::default(),
        )
        .await
        .map(Response::into_inner)
}

/// Calls `cases.Cases/Create` with `token`.
pub async fn create_case(channel: &Channel, token: &str, title: &str) -> Result<CaseReply, Status> {
    let message = CreateCaseRequest {
        title: title.to_owned(),
    };
    unary(channel, CREATE, token, message).await
}

/// Calls `cases.Approvals/Approve` with `token`.
pub async fn approve_case(
    channel: &Channel,
    token: &str,
    case_id: u64,
) -> Result<CaseReply, Status> {
    unary(channel, APPROVE, token, ApproveCaseRequest { case_id }).await
}
