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

impl<Store: SessionStore> WebAuthLayer<Store> {
    pub(crate) fn new(auth: WebAuth, sessions: SessionManagerLayer<Store>) -> Self {
        WebAuthLayer { auth, sessions }
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
