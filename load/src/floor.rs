//! The floor layer: what any RS256 bearer check must at least do — base64url-decode the
//! signature and verify it with a key parsed once (aws-lc-rs `ParsedPublicKey`). No header or
//! claim parsing, no `exp`/`aud`/`iss` checks: the ceiling a real validator can approach.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_testkit::TestKey;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

#[derive(Clone)]
pub(crate) struct FloorLayer {
    key: Arc<ParsedPublicKey>,
}

impl FloorLayer {
    pub(crate) fn new() -> Self {
        let (n, e) = TestKey::rsa_a().rsa_public_components().expect("RSA key");
        let key = RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
            .expect("valid key");
        Self { key: Arc::new(key) }
    }
}

impl<S> Layer<S> for FloorLayer {
    type Service = Floor<S>;
    fn layer(&self, inner: S) -> Floor<S> {
        Floor {
            inner,
            key: self.key.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Floor<S> {
    inner: S,
    key: Arc<ParsedPublicKey>,
}

fn verified(key: &ParsedPublicKey, req: &Request<Body>) -> bool {
    let Some(token) = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let Some((signing_input, sig)) = token.rsplit_once('.') else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(sig)
        .is_ok_and(|sig| key.verify_sig(signing_input.as_bytes(), &sig).is_ok())
}

impl<S> Service<Request<Body>> for Floor<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = FloorFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if verified(&self.key, &req) {
            FloorFuture::Inner {
                fut: self.inner.call(req),
            }
        } else {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::UNAUTHORIZED;
            FloorFuture::Refused { res: Some(res) }
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's future, or the 401.
    #[project = FloorProj]
    pub(crate) enum FloorFuture<F> {
        Inner { #[pin] fut: F },
        Refused { res: Option<Response<Body>> },
    }
}

impl<F, E> Future for FloorFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            FloorProj::Inner { fut } => fut.poll(cx),
            FloorProj::Refused { res } => {
                Poll::Ready(Ok(res.take().expect("polled after completion")))
            }
        }
    }
}
