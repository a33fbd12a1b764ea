use std::future::poll_fn;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::{AuthorizeFuture, Policy};
use crate::bearer::{bearer_token, unchecked_bearer};
use crate::challenge::{AuthError, ErrorBody, is_grpc};
use crate::{Authenticator, Principal, TryAuthenticateError};

/// The service every authentication layer produces ([`AuthenticateLayer`](crate::AuthenticateLayer),
/// [`RequireScope`](crate::RequireScope), [`RequireRole`](crate::RequireRole),
/// [`RequireScopeOrRole`](crate::RequireScopeOrRole)).
///
/// A token is validated at most once per request: the first layer to validate it puts the
/// [`Principal`] into the request's extensions, and every later layer uses that.
#[derive(Clone, Debug)]
pub struct Authorize<S> {
    inner: S,
    auth: Authenticator,
    policy: Policy,
}

impl<S> Authorize<S> {
    pub(crate) fn new(inner: S, auth: Authenticator, policy: Policy) -> Self {
        Self {
            inner,
            auth,
            policy,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Authorize<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: ErrorBody + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = AuthorizeFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let refuse = |auth: &Authenticator, err: AuthError, grpc: bool| {
            tracing::debug!(status = %err.status(), reason = %err, "request refused");
            AuthorizeFuture::refused(err.to_response(auth.challenge(), grpc))
        };
        // gRPC-style refusals only on a gRPC service: a REST request that merely sends
        // `content-type: application/grpc` gets the plain RFC 6750 answer.
        let grpc = self.auth.challenge().grpc_service && is_grpc(req.headers());

        // Validated already by an earlier layer of the same authenticator. A principal another
        // authenticator made (another tenant set, audience or profile) is not trusted: the
        // token is validated again below, and this layer's principal replaces it.
        if let Some(principal) = req
            .extensions()
            .get::<Principal>()
            .filter(|p| p.is_from(&self.auth))
        {
            return match self.policy.check(principal) {
                Ok(()) => AuthorizeFuture::inner(self.inner.call(req)),
                Err(err) => refuse(&self.auth, err, grpc),
            };
        }

        // The warm path: a token the verified-token cache holds, found by its bytes as sent
        // (see `unchecked_bearer`); anything else takes the full path below, whose answer
        // for such a token would be this principal.
        if let Some(principal) =
            unchecked_bearer(req.headers(), req.uri()).and_then(|token| self.auth.cached(token))
        {
            return match self.policy.check(&principal) {
                Ok(()) => {
                    req.extensions_mut().insert(principal);
                    AuthorizeFuture::inner(self.inner.call(req))
                }
                Err(err) => refuse(&self.auth, err, grpc),
            };
        }

        let token = match bearer_token(req.headers(), req.uri()) {
            Ok(token) => token,
            Err(AuthError::MissingCredentials) if self.policy.optional() => {
                return AuthorizeFuture::inner(self.inner.call(req));
            }
            Err(err) => return refuse(&self.auth, err, grpc),
        };

        match self.auth.try_authenticate(token) {
            Ok(principal) => match self.policy.check(&principal) {
                Ok(()) => {
                    req.extensions_mut().insert(principal);
                    AuthorizeFuture::inner(self.inner.call(req))
                }
                Err(err) => refuse(&self.auth, err, grpc),
            },
            Err(TryAuthenticateError::Refused(err)) => {
                refuse(&self.auth, AuthError::InvalidToken(err), grpc)
            }
            Err(_would_wait) => {
                // The answer needs a key fetch: wait for it off the hot path. The ready inner
                // service moves into the future (tower's clone-and-swap).
                let token = token.to_owned();
                let auth = self.auth.clone();
                let policy = self.policy.clone();
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                AuthorizeFuture::waiting(Box::pin(async move {
                    let outcome = auth
                        .authenticate(&token)
                        .await
                        .map_err(AuthError::InvalidToken)
                        .and_then(|p| policy.check(&p).map(|()| p));
                    match outcome {
                        Ok(principal) => {
                            req.extensions_mut().insert(principal);
                            // `inner` was driven ready by our `poll_ready`; poll it once more in
                            // case a slow fetch let it lapse (a no-op for ready services).
                            poll_fn(|cx| inner.poll_ready(cx)).await?;
                            inner.call(req).await
                        }
                        Err(err) => {
                            tracing::debug!(status = %err.status(), reason = %err, "request refused");
                            Ok(err.to_response(auth.challenge(), grpc))
                        }
                    }
                }))
            }
        }
    }
}
