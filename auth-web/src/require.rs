//! [`RequireSignInLayer`]: every route behind it needs a signed-in user.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::signed_in::signed_in;

/// Requires a signed-in user on the routes it wraps (inside [`WebAuth::layer`](crate::WebAuth::layer)):
/// a browser (`Accept: text/html`) without one is redirected (`303`) to sign-in and brought
/// back to the page; any other client gets `401` with a JSON body naming the sign-in URL.
///
/// ```
/// use auth_web::{RequireSignInLayer, SignedIn};
/// use axum::Router;
/// use axum::routing::get;
///
/// let private: Router = Router::new()
///     .route("/account", get(|user: SignedIn| async move { user.name().unwrap_or("").to_owned() }))
///     .route_layer(RequireSignInLayer::new());
/// # let _ = private;
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[must_use]
pub struct RequireSignInLayer;

impl RequireSignInLayer {
    /// The layer.
    pub fn new() -> Self {
        RequireSignInLayer
    }
}

impl<S> Layer<S> for RequireSignInLayer {
    type Service = RequireSignIn<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireSignIn { inner }
    }
}

/// The service of [`RequireSignInLayer`].
#[derive(Clone, Debug)]
pub struct RequireSignIn<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for RequireSignIn<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service handles this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            match signed_in(&parts).await {
                Ok(_) => inner.call(Request::from_parts(parts, body)).await,
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
