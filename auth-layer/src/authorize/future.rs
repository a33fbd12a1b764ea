use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

type Boxed<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

pin_project! {
    /// Response future of [`Authorize`](super::Authorize).
    pub struct AuthorizeFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response<B>> },
        Waiting { future: Boxed<B, E> },
    }
}

impl<F, B, E> AuthorizeFuture<F, B, E> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn refused(response: Response<B>) -> Self {
        Self {
            kind: Kind::Refused {
                response: Some(response),
            },
        }
    }

    pub(crate) fn waiting(future: Boxed<B, E>) -> Self {
        Self {
            kind: Kind::Waiting { future },
        }
    }
}

impl<F, B, E> Future for AuthorizeFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled after completion: a contract violation by the caller; stay pending
                // rather than panic.
                None => Poll::Pending,
            },
            KindProj::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}
