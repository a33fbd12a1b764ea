//! [`WebAuthLayer`]: the session layer plus the [`WebAuth`] the extractors read.

use std::task::{Context, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;
use tower_sessions::{SessionManagerLayer, SessionStore};

use crate::config::WebAuth;

/// The layer of [`WebAuth::layer`]: `tower-sessions`' session manager around a service that
/// puts the [`WebAuth`] into the request's extensions.
#[derive(Clone, Debug)]
pub struct WebAuthLayer<Store: SessionStore> {
    auth: WebAuth,
    sessions: SessionManagerLayer<Store>,
}

impl WebAuth {
    /// The session layer over `store` ([`BoundedMemoryStore`](crate::BoundedMemoryStore) for one
    /// instance, [`RedisSessionStore`](crate::RedisSessionStore) for many), which also makes
    /// this `WebAuth` available to the extractors. The cookie is `HttpOnly`, `SameSite=Lax`,
    /// `Path=/`, `Secure` (and named `__Host-…`) when the redirect URI is `https`; the session
    /// expires after the idle lifetime without a request.
    pub fn layer<Store: SessionStore + Clone>(&self, store: Store) -> WebAuthLayer<Store> {
        WebAuthLayer {
            auth: self.clone(),
            sessions: self.session_layer(store),
        }
    }
}

impl<S, Store> Layer<S> for WebAuthLayer<Store>
where
    Store: SessionStore + Clone,
    SessionManagerLayer<Store>: Layer<AddWebAuth<S>>,
{
    type Service = <SessionManagerLayer<Store> as Layer<AddWebAuth<S>>>::Service;

    fn layer(&self, inner: S) -> Self::Service {
        self.sessions.layer(AddWebAuth {
            inner,
            auth: self.auth.clone(),
        })
    }
}

/// Adds the [`WebAuth`] to each request's extensions (inside [`WebAuthLayer`]).
#[derive(Clone, Debug)]
pub struct AddWebAuth<S> {
    inner: S,
    auth: WebAuth,
}

impl<S, B> Service<Request<B>> for AddWebAuth<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.auth.clone());
        self.inner.call(request)
    }
}
