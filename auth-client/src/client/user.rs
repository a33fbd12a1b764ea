//! A user's tokens: the authorization code flow with PKCE, refresh tokens, and validation of
//! the ID tokens they bring.

use auth_layer::Authenticator;
use auth_layer::jwks::JwksCache;
use aws_lc_rs::digest;

use super::request::{Grant, GrantKind, split_scopes};
use super::{ConfidentialClient, Inner};
use crate::auth_code::{
    AuthCodeSession, AuthorizationRequest, AuthorizationResponse, AuthorizationUrl, ResponseMode,
    with_oidc_scopes,
};
use crate::error::{Error, ServerError};
use crate::random;
use crate::token::{AccessToken, IdToken, RefreshToken, UserTokens};

fn sha256_b64(value: &str) -> String {
    random::b64url(digest::digest(&digest::SHA256, value.as_bytes()))
}

/// Compares two secrets in constant time.
fn same_secret(a: &str, b: &str) -> bool {
    #[allow(deprecated)]
    let equal = aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes());
    equal.is_ok()
}

impl ConfidentialClient {
    /// Starts the authorization code flow: the URL to redirect the user to (with `state`,
    /// `nonce` and an S256 PKCE challenge) and the [`AuthCodeSession`] to keep in the user's
    /// session until the callback.
    ///
    /// ```
    /// use auth_client::{AuthorizationRequest, AuthorizationResponse, ConfidentialClient};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let idp = auth_testkit::Emulator::builder()
    ///     .auto_login("alice@example.onmicrosoft.com") // the emulator signs Alice in
    ///     .start()
    ///     .await?;
    /// let web_app = idp.app("auth-code-client");
    /// let client = ConfidentialClient::builder()
    ///     .authority(idp.authority())
    ///     .client_id(web_app.client_id())
    ///     .client_secret(web_app.secret())
    ///     .build()?;
    ///
    /// // 1. /login: redirect the browser, keep the session.
    /// let start = client
    ///     .authorization_url(
    ///         AuthorizationRequest::new("http://127.0.0.1:8080/callback")
    ///             .scopes(["api://backend-api-id/Case.Create"]),
    ///     )
    ///     .await?;
    /// let session_json = serde_json::to_string(&start.session)?; // into the session store
    ///
    /// # let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    /// # let redirect = browser.get(&start.url).send().await?;
    /// # let callback_url = redirect.headers()["location"].to_str()?.to_owned();
    /// // 2. /callback?code=…&state=…: check state, redeem the code, validate the ID token.
    /// let session = serde_json::from_str(&session_json)?;
    /// let callback: http::Uri = callback_url.parse()?;
    /// let tokens = client
    ///     .redeem_code(&session, &AuthorizationResponse::from_uri(&callback))
    ///     .await?;
    ///
    /// let id = tokens.id_token.expect("openid is always requested");
    /// assert_eq!(id.claims().name(), Some("Alice Example"));
    /// assert!(tokens.access_token.scopes().iter().any(|s| s.ends_with("Case.Create")));
    /// assert!(tokens.refresh_token.is_some()); // yours to keep
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] without a redirect URI; discovery errors for OIDC issuers.
    pub async fn authorization_url(
        &self,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationUrl, Error> {
        let inner = &self.inner;
        if request.redirect_uri.trim().is_empty() {
            return Err(Error::InvalidRequest("the redirect URI is empty"));
        }
        let endpoints = inner.endpoint.endpoints().await?;
        let state = random::token()?;
        let nonce = random::token()?;
        let verifier = random::token()?;
        let challenge = random::b64url(digest::digest(&digest::SHA256, verifier.as_bytes()));
        let scopes = with_oidc_scopes(&request.scopes);
        let scope = scopes.join(" ");
        if request.resource.is_some() && inner.endpoint.authority.is_entra() {
            return Err(Error::InvalidRequest(
                "Entra's v2 endpoint refuses the resource parameter: name the resource in the \
                 scopes",
            ));
        }
        let resource = request.resource.clone().or_else(|| inner.resource.clone());
        let claims = inner.claims(request.claims.as_deref())?;
        let mut params: Vec<(&str, &str)> = vec![
            ("client_id", &inner.endpoint.client_id),
            ("response_type", "code"),
            ("redirect_uri", &request.redirect_uri),
            ("scope", &scope),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        if request.response_mode == ResponseMode::FormPost {
            params.push(("response_mode", "form_post"));
        }
        let optional = [
            ("prompt", &request.prompt),
            ("login_hint", &request.login_hint),
            ("domain_hint", &request.domain_hint),
            ("claims", &claims),
            ("resource", &resource),
        ];
        for (name, value) in &optional {
            if let Some(value) = value {
                params.push((name, value));
            }
        }
        for (name, value) in &request.extra {
            if !params.iter().any(|(n, _)| n == name) {
                params.push((name, value));
            }
        }
        let query = serde_urlencoded::to_string(&params)
            .map_err(|_| Error::InvalidRequest("a parameter cannot be URL-encoded"))?;
        let sep = if endpoints.authorization.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{sep}{query}", endpoints.authorization);
        let session = AuthCodeSession {
            state,
            nonce,
            code_verifier: verifier,
            redirect_uri: request.redirect_uri,
            scopes,
            resource,
            created_at: inner.endpoint.clock.now().max(0.0) as u64,
        };
        Ok(AuthorizationUrl { url, session })
    }

    /// Finishes the authorization code flow: checks that the callback's `state` is the
    /// session's, redeems the code with the PKCE verifier, validates the ID token (signature
    /// through the authority's JWKS, issuer, `aud` = this client id, lifetime, `nonce` = the
    /// session's), and returns the access token, the ID token and the refresh token.
    ///
    /// The user's tokens are not cached here: keep the refresh token (and the access token, if
    /// you like) in the user's session. See [`authorization_url`](Self::authorization_url)
    /// for an example.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] (checked first), [`Error::Server`] when the callback carries an
    /// error (e.g. the user declined), [`Error::MissingCode`], the token endpoint's errors
    /// (e.g. `invalid_grant` AADSTS501481 for a wrong PKCE verifier), [`Error::IdToken`],
    /// [`Error::NonceMismatch`], [`Error::MissingIdToken`].
    pub async fn redeem_code(
        &self,
        session: &AuthCodeSession,
        response: &AuthorizationResponse,
    ) -> Result<UserTokens, Error> {
        let result = self.redeem_code_uncounted(session, response).await;
        crate::metrics::acquisition("authorization_code", &result, crate::metrics::Cache::Miss);
        result
    }

    async fn redeem_code_uncounted(
        &self,
        session: &AuthCodeSession,
        response: &AuthorizationResponse,
    ) -> Result<UserTokens, Error> {
        let inner = &self.inner;
        let state_ok = response
            .state()
            .is_some_and(|state| same_secret(state, &session.state));
        if !state_ok {
            return Err(Error::StateMismatch);
        }
        inner.check_response_issuer(response.iss()).await?;
        if let Some(body) = response.error_json() {
            let context = inner.endpoint.context("authorize", &session.scopes);
            if let Some(err) = ServerError::from_json(None, &body, context) {
                return Err(Error::Server(Box::new(err)));
            }
        }
        let code = response.code().ok_or(Error::MissingCode)?;
        let mut request = Grant::new(
            GrantKind::AuthorizationCode {
                code: code.to_owned(),
                redirect_uri: session.redirect_uri.clone(),
                verifier: session.code_verifier.clone(),
            },
            session.scopes.clone(),
        );
        request.resource = session.resource.clone();
        request.claims = inner.claims(None)?;
        let throttle_key = format!("auth-client/code/{}", sha256_b64(code));
        let now = inner.endpoint.clock.now();
        let response = inner
            .endpoint
            .request_token(&request, &throttle_key)
            .await?;
        let Some(raw_id) = response.id_token.clone() else {
            return Err(Error::MissingIdToken);
        };
        let id_token = inner
            .validate_id_token(raw_id, Some(&session.nonce))
            .await?;
        Ok(UserTokens {
            access_token: AccessToken::from_cached(response.entry(now, &session.scopes)),
            id_token: Some(id_token),
            refresh_token: response.refresh_token.map(RefreshToken::new),
        })
    }

    /// Redeems a refresh token for a new access token (for `scopes`, which may name another
    /// resource the user consented to) and, with rotation, a new refresh token: the returned
    /// [`UserTokens::refresh_token`] is the one to keep (the new one, or this one when the
    /// server did not issue another). The ID token in the response, if any, is validated.
    ///
    /// ```
    /// # use auth_client::{AuthorizationRequest, AuthorizationResponse, ConfidentialClient};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let idp = auth_testkit::Emulator::builder().auto_login("alice@example.onmicrosoft.com").start().await?;
    /// # let web_app = idp.app("auth-code-client");
    /// # let client = ConfidentialClient::builder()
    /// #     .authority(idp.authority())
    /// #     .client_id(web_app.client_id())
    /// #     .client_secret(web_app.secret())
    /// #     .build()?;
    /// # let start = client.authorization_url(AuthorizationRequest::new("http://127.0.0.1:8080/callback").scopes(["api://backend-api-id/Case.Create"])).await?;
    /// # let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    /// # let location = browser.get(&start.url).send().await?.headers()["location"].to_str()?.to_owned();
    /// # let tokens = client.redeem_code(&start.session, &AuthorizationResponse::from_uri(&location.parse()?)).await?;
    /// // `tokens`: from redeem_code; the refresh token was kept in the session.
    /// let kept = tokens.refresh_token.expect("offline_access is always requested");
    /// let refreshed = client.refresh(&kept, &["api://backend-api-id/Case.Create"]).await?;
    /// let rotated = refreshed.refresh_token.expect("kept or rotated");
    /// assert_ne!(rotated.secret(), kept.secret()); // Entra rotates: store the new one
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The token endpoint's errors (`invalid_grant` for an expired or revoked refresh token:
    /// sign the user in again), [`Error::IdToken`].
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scopes: &[&str],
    ) -> Result<UserTokens, Error> {
        let resource = self.inner.resource.clone();
        self.refresh_inner(refresh_token, scopes, resource).await
    }

    /// [`refresh`](Self::refresh) with an RFC 8707 `resource` indicator (overriding the
    /// client's default).
    ///
    /// # Errors
    /// As [`refresh`](Self::refresh).
    pub async fn refresh_for_resource(
        &self,
        refresh_token: &RefreshToken,
        scopes: &[&str],
        resource: &str,
    ) -> Result<UserTokens, Error> {
        self.refresh_inner(refresh_token, scopes, Some(resource.to_owned()))
            .await
    }

    async fn refresh_inner(
        &self,
        refresh_token: &RefreshToken,
        scopes: &[&str],
        resource: Option<String>,
    ) -> Result<UserTokens, Error> {
        let result = self
            .refresh_uncounted(refresh_token, scopes, resource)
            .await;
        crate::metrics::acquisition("refresh_token", &result, crate::metrics::Cache::Miss);
        result
    }

    async fn refresh_uncounted(
        &self,
        refresh_token: &RefreshToken,
        scopes: &[&str],
        resource: Option<String>,
    ) -> Result<UserTokens, Error> {
        let inner = &self.inner;
        if refresh_token.secret().trim().is_empty() {
            return Err(Error::InvalidRequest("the refresh token is empty"));
        }
        let scopes = with_oidc_scopes(&split_scopes(scopes));
        let throttle_key = format!(
            "auth-client/refresh/{}/{}",
            sha256_b64(refresh_token.secret()),
            scopes.join(" ").to_ascii_lowercase()
        );
        if resource.is_some() && inner.endpoint.authority.is_entra() {
            return Err(Error::InvalidRequest(
                "Entra's v2 endpoint refuses the resource parameter: name the resource in the \
                 scopes",
            ));
        }
        let mut request = Grant::new(
            GrantKind::Refresh {
                refresh_token: refresh_token.secret().to_owned(),
            },
            scopes.clone(),
        );
        request.resource = resource;
        request.claims = inner.claims(None)?;
        let now = inner.endpoint.clock.now();
        let response = inner
            .endpoint
            .request_token(&request, &throttle_key)
            .await?;
        let id_token = match response.id_token.clone() {
            Some(raw) => Some(inner.validate_id_token(raw, None).await?),
            None => None,
        };
        let rotated = response
            .refresh_token
            .clone()
            .map_or_else(|| refresh_token.clone(), RefreshToken::new);
        Ok(UserTokens {
            access_token: AccessToken::from_cached(response.entry(now, &scopes)),
            id_token,
            refresh_token: Some(rotated),
        })
    }
}

impl Inner {
    /// RFC 9207 (<https://www.rfc-editor.org/rfc/rfc9207#section-2.4>): when the provider's
    /// discovery advertises `authorization_response_iss_parameter_supported`, the callback must
    /// carry `iss` equal to its issuer; an `iss` that is present is compared whether advertised
    /// or not. Entra does not implement RFC 9207 (its discovery does not advertise it), so Entra
    /// authorities skip the check.
    async fn check_response_issuer(&self, iss: Option<&str>) -> Result<(), Error> {
        if self.endpoint.authority.is_entra() {
            return Ok(());
        }
        let endpoints = self.endpoint.endpoints().await?;
        let Some(expected) = endpoints.issuer.as_deref() else {
            return Ok(());
        };
        match iss {
            Some(iss) if iss == expected => Ok(()),
            None if !endpoints.iss_parameter_supported => Ok(()),
            _ => Err(Error::IssuerMismatch),
        }
    }

    /// The keys of ID tokens: the configured cache, or one built on first use.
    async fn jwks(&self) -> Result<&JwksCache, Error> {
        self.jwks
            .get_or_try_init(|| async {
                let endpoints = self.endpoint.endpoints().await?;
                let builder =
                    JwksCache::builder().http_client(self.endpoint.transport.client.clone());
                let builder = match &endpoints.jwks_uri {
                    Some(uri) => builder.jwks_uri(uri),
                    None => builder.authority(&self.endpoint.authority_key),
                };
                builder.build_lazy().map_err(Error::Keys)
            })
            .await
    }

    /// Validates an ID token and, for a sign-in, its `nonce`.
    async fn validate_id_token(&self, raw: String, nonce: Option<&str>) -> Result<IdToken, Error> {
        let jwks = self.jwks().await?;
        let claims = Authenticator::from_parts(self.validator.clone(), jwks.clone())
            .authenticate(&raw)
            .await
            .map_err(Error::IdToken)?
            .claims()
            .clone();
        if let Some(expected) = nonce {
            let matches = match claims.get("nonce") {
                Some(serde_json::Value::String(nonce)) => same_secret(&nonce, expected),
                _ => false,
            };
            if !matches {
                return Err(Error::NonceMismatch);
            }
        }
        Ok(IdToken::new(raw, claims))
    }
}
