//! The token endpoint (`client_credentials`, `authorization_code`, `refresh_token`,
//! On-Behalf-Of). Every response is JSON, errors included.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::client_auth::{self, Need};
use super::errors::{AadError, no_store};
use super::grant::Grant;
use super::metadata::jwks_for;
use super::request::{form, missing, tenant_not_found};
use super::scopes::{self, GRAPH_SCOPES, Resource};
use super::state::Shared;
use super::sync::lock;
use super::tenant::{AppRegistration, User};
use super::tokens::{self, Caller, ClientAuth, Subject};

const OBO_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// `POST /{tenant}/oauth2/v2.0/token` (and the v1 `/oauth2/token`).
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(segment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = shared.now();
    shared.sweep(now);
    let v1_endpoint = !uri.path().contains("/v2.0/");
    match token_inner(&shared, &segment, v1_endpoint, &headers, &body, now) {
        Ok(value) => {
            let mut response = axum::Json(value).into_response();
            no_store(&mut response);
            response
        }
        Err(err) => err.response(&shared.base_url, &headers, now),
    }
}

fn token_inner(
    shared: &Shared,
    segment: &str,
    v1_endpoint: bool,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Value, AadError> {
    let parsed = form(headers, body);
    let grant_type = parsed
        .as_ref()
        .ok()
        .and_then(|p| p.get("grant_type").cloned())
        .unwrap_or_default();
    let grant = match grant_type.as_str() {
        "authorization_code" => Grant::AuthorizationCode,
        "refresh_token" => Grant::RefreshToken,
        "client_credentials" => Grant::ClientCredentials,
        OBO_GRANT => Grant::OnBehalfOf,
        _ => Grant::Other,
    };
    shared.count(grant);
    if let Some(fault) = shared.token_fault() {
        return Err(fault);
    }
    if shared.tenant_path(segment).is_none() {
        return Err(tenant_not_found(segment));
    }
    let mut params = parsed?;
    if params.contains_key("resource") && !v1_endpoint {
        // Entra's v2 endpoint refuses the v1 `resource` parameter outright:
        // https://github.com/AzureADQuickStarts/AppModelv2-WebApp-OpenIDConnect-nodejs/issues/35
        // https://github.com/MicrosoftDocs/azure-docs/issues/33853
        return Err(AadError::bad(
            "invalid_request",
            901002,
            "The 'resource' request parameter is not supported.",
        ));
    }
    if v1_endpoint
        && !params.contains_key("scope")
        && let Some(resource) = params.get("resource").cloned()
    {
        params.insert("scope".to_owned(), format!("{resource}/.default"));
    }
    let ctx = Ctx {
        shared,
        segment,
        params: &params,
        headers,
        now,
        lifetime: shared.token_lifetime.load(Ordering::SeqCst),
    };
    match grant {
        Grant::ClientCredentials => ctx.client_credentials(),
        Grant::AuthorizationCode => ctx.authorization_code(),
        Grant::RefreshToken => ctx.refresh(),
        Grant::OnBehalfOf => ctx.on_behalf_of(),
        Grant::Other if grant_type.is_empty() => Err(missing("grant_type")),
        // Never from the token endpoint: managed identities have endpoints of their own.
        Grant::Other | Grant::ManagedIdentity => Err(AadError::bad(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        )),
    }
}

struct Ctx<'a> {
    shared: &'a Shared,
    segment: &'a str,
    params: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    now: i64,
    lifetime: i64,
}

impl<'a> Ctx<'a> {
    fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str) -> Result<&'a str, AadError> {
        self.param(name).ok_or_else(|| missing(name))
    }

    fn authenticate(&self, need: Need) -> Result<(&'a AppRegistration, ClientAuth), AadError> {
        client_auth::authenticate(
            self.shared,
            self.segment,
            self.params,
            self.headers,
            need,
            self.now,
        )
    }

    fn base_response(&self, access_token: String, scope: Option<String>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("token_type".into(), json!("Bearer"));
        if let Some(scope) = scope {
            m.insert("scope".into(), json!(scope));
        }
        m.insert("expires_in".into(), json!(self.lifetime));
        m.insert("ext_expires_in".into(), json!(self.lifetime));
        let refresh_in = self.shared.refresh_in.load(Ordering::SeqCst);
        if refresh_in > 0 {
            m.insert("refresh_in".into(), json!(refresh_in));
        }
        m.insert("access_token".into(), json!(access_token));
        m
    }

    fn client_credentials(&self) -> Result<Value, AadError> {
        let (client, auth) = self.authenticate(Need::Always)?;
        let raw = self.require("scope")?;
        let items: Vec<&str> = raw.split_whitespace().collect();
        if items.len() != 1 || !items[0].ends_with("/.default") {
            return Err(AadError::bad(
                "invalid_scope",
                1002012,
                format!(
                    "The provided value for scope {raw} is not valid. Client credential flows \
                     must have a scope value with /.default suffixed to the resource identifier \
                     (application ID URI)."
                ),
            ));
        }
        let request = scopes::parse(&self.shared.tenant, client.name(), raw)?;
        let Some(target) = request.single_resource(raw)? else {
            return Err(missing("scope"));
        };
        let roles = match target.resource {
            Resource::Graph => Vec::new(),
            Resource::App(resource) => client
                .access_to(resource.client_id())
                .filter(|access| access.admin_consent)
                .map(|access| access.roles.clone())
                .unwrap_or_default(),
        };
        let token = tokens::access_token(
            self.shared,
            Caller::app(client),
            auth,
            target.resource,
            target.prefix.as_deref(),
            &Subject::App { roles },
            self.now,
            self.lifetime,
        );
        Ok(Value::Object(self.base_response(token, None)))
    }

    fn authorization_code(&self) -> Result<Value, AadError> {
        let (client, auth) = self.authenticate(Need::IfConfidential)?;
        let code = self.require("code")?;
        let redirect_uri = self.require("redirect_uri")?;
        let entry = {
            let mut codes = lock(&self.shared.codes);
            let expired = || {
                AadError::bad(
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to \
                     inactivity. Send a new interactive authorization request for this user and \
                     resource.",
                )
            };
            let entry = codes.get_mut(code).ok_or_else(expired)?;
            if entry.expires <= self.now {
                return Err(expired());
            }
            if entry.redeemed {
                return Err(AadError::bad(
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new \
                     valid code or use an existing refresh token.",
                ));
            }
            if !entry.client_id.eq_ignore_ascii_case(client.client_id()) {
                return Err(AadError::bad(
                    "invalid_grant",
                    70000,
                    "Provided grant is invalid or malformed: the authorization code was issued \
                     to another client.",
                ));
            }
            if entry.redirect_uri != redirect_uri {
                return Err(AadError::bad(
                    "invalid_grant",
                    50011,
                    format!(
                        "The redirect URI '{redirect_uri}' specified in the request does not \
                         match the redirect URI '{}' used to obtain the authorization code.",
                        entry.redirect_uri
                    ),
                ));
            }
            if let Some((challenge, method)) = &entry.challenge {
                let verifier = self.param("code_verifier").unwrap_or_default();
                if !super::pkce::pkce_matches(verifier, challenge, method) {
                    return Err(AadError::bad(
                        "invalid_grant",
                        501481,
                        "The Code_Verifier does not match the code_challenge supplied in the \
                         authorization request.",
                    ));
                }
            }
            entry.clone()
        };
        let user = self.user(&entry.user_oid)?;
        let scope = self.param("scope").unwrap_or(&entry.scope);
        // The ID token needs `openid` at authorize; the code remembers what was asked.
        let openid = scopes::parse(&self.shared.tenant, client.name(), &entry.scope)
            .map(|r| r.has("openid"))
            .unwrap_or(false);
        let response =
            self.user_tokens(client, auth, user, scope, entry.nonce.as_deref(), openid)?;
        // Consumed only by a successful redemption; of two racing ones, the second loses.
        match lock(&self.shared.codes).get_mut(code) {
            Some(entry) if !entry.redeemed => entry.redeemed = true,
            _ => {
                return Err(AadError::bad(
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new \
                     valid code or use an existing refresh token.",
                ));
            }
        }
        Ok(response)
    }

    fn refresh(&self) -> Result<Value, AadError> {
        let (client, auth) = self.authenticate(Need::IfConfidential)?;
        let token = self.require("refresh_token")?;
        let grant = lock(&self.shared.refresh_tokens).get(token).cloned();
        let Some(grant) = grant else {
            return Err(AadError::bad(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid: the refresh token is not one \
                 this emulator issued (or it expired).",
            ));
        };
        if grant.expires <= self.now {
            return Err(AadError::bad(
                "invalid_grant",
                700082,
                "The refresh token has expired due to inactivity.",
            ));
        }
        if !grant.client_id.eq_ignore_ascii_case(client.client_id()) {
            return Err(AadError::bad(
                "invalid_grant",
                70000,
                "Provided grant is invalid or malformed: the refresh token was issued to another \
                 client.",
            ));
        }
        let user = self.user(&grant.user_oid)?;
        let scope = self.param("scope").unwrap_or(&grant.scope);
        let openid = scope
            .split_whitespace()
            .any(|s| s.eq_ignore_ascii_case("openid"));
        let mut response = self.user_tokens(client, auth, user, scope, None, openid)?;
        if response.get("refresh_token").is_none()
            && let Value::Object(m) = &mut response
        {
            let rt = tokens::refresh_token(
                self.shared,
                client.client_id(),
                user.object_id(),
                scope,
                self.now,
            );
            m.insert("refresh_token".into(), json!(rt));
        }
        Ok(response)
    }

    fn on_behalf_of(&self) -> Result<Value, AadError> {
        let (client, auth) = self.authenticate(Need::Always)?;
        if self.param("requested_token_use") != Some("on_behalf_of") {
            return Err(missing("requested_token_use"));
        }
        let assertion = self.require("assertion")?;
        let scope = self.require("scope")?;
        let user = self.validate_assertion(client, assertion)?;
        let request = scopes::parse(&self.shared.tenant, client.name(), scope)?;
        let target = request.single_resource(scope)?;
        let (resource, scp, granted) = self.delegated(client, user, target)?;
        if let Some(claims) = lock(&self.shared.obo_claims).clone() {
            let name = granted.first().map_or(scope, String::as_str);
            return Err(super::token_faults::obo_claims_challenge(&claims, name));
        }
        let token = tokens::access_token(
            self.shared,
            Caller::app(client),
            auth,
            resource,
            target.and_then(|t| t.prefix.as_deref()),
            &Subject::User { user, scopes: &scp },
            self.now,
            self.lifetime,
        );
        let mut response = self.base_response(token, Some(granted.join(" ")));
        if request.has("offline_access") {
            let rt = tokens::refresh_token(
                self.shared,
                client.client_id(),
                user.object_id(),
                scope,
                self.now,
            );
            response.insert("refresh_token".into(), json!(rt));
        }
        Ok(Value::Object(response))
    }

    fn user(&self, oid: &str) -> Result<&'a User, AadError> {
        self.shared.tenant.user_by_oid(oid).ok_or_else(|| {
            AadError::bad(
                "invalid_grant",
                50034,
                "The user account does not exist in the directory.",
            )
        })
    }

    /// Validates an OBO assertion with auth-layer's validator against the emulator's own keys,
    /// failing with the code Entra gives for each reason:
    /// - another audience: `AADSTS500131`
    ///   (<https://github.com/OfficeDev/microsoft-teams-apps-company-communicator/issues/214>);
    /// - expired (or not yet valid): `AADSTS500133`
    ///   (<https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/2551>);
    /// - an app-only token (no user): `AADSTS90083` "Request is unsupported"
    ///   (<https://github.com/MicrosoftDocs/azure-docs/issues/53334>);
    /// - anything else (signature, key, issuer): `AADSTS50013`
    ///   (<https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/1317>).
    ///
    /// All `invalid_grant`, HTTP 400.
    fn validate_assertion(
        &self,
        client: &AppRegistration,
        assertion: &str,
    ) -> Result<&'a User, AadError> {
        let obo = |code: u32, reason: String| AadError::bad("invalid_grant", code, reason);
        let tid = self.shared.tenant.tenant_id();
        let jwks = jwks_for(self.shared, Some(tid));
        let keys =
            auth_layer::KeySet::from_jwks_json(jwks.to_string().as_bytes()).map_err(|e| {
                obo(
                    50013,
                    format!("Assertion failed signature validation. [Reason - {e}]"),
                )
            })?;
        let validator = auth_layer::Validator::builder()
            .tenant_id(tid)
            .client_id(client.client_id())
            .audiences(client.identifier_uris().iter().cloned())
            .instance(self.shared.base_url.clone())
            .clock(self.shared.clock.clone())
            .build()
            .map_err(|e| obo(50013, format!("Assertion cannot be validated: {e}")))?;
        let claims = validator.validate(assertion, &keys).map_err(|e| match e {
            auth_layer::ValidationError::AudienceMismatch { .. } => obo(
                500131,
                format!(
                    "Assertion audience does not match the Client app presenting the assertion. \
                     The audience in the assertion was not the expected audience '{}' or one of \
                     the Application Uris of this application. The downstream client must \
                     request a token for the expected audience (the application that made the \
                     OBO request) and this application should use that token as the assertion.",
                    client.client_id()
                ),
            ),
            auth_layer::ValidationError::Expired { .. }
            | auth_layer::ValidationError::NotYetValid { .. } => obo(
                500133,
                "Assertion is not within its valid time range. Ensure that the access token is \
                 not expired before using it for user assertion, or request a new token."
                    .to_owned(),
            ),
            other => obo(
                50013,
                format!("Assertion failed signature validation. [Reason - {other}]"),
            ),
        })?;
        let user = claims
            .object_id()
            .and_then(|oid| self.shared.tenant.user_by_oid(oid));
        match user {
            Some(user) if !claims.scopes().is_empty() && claims.idtyp() != Some("app") => Ok(user),
            _ => Err(obo(
                90083,
                "Request is unsupported. The assertion is not a user's token: On-Behalf-Of \
                 needs the access token a user's client obtained for this API."
                    .to_owned(),
            )),
        }
    }

    /// The resource, `scp` and response `scope` for a delegated request (65001 without consent).
    fn delegated(
        &self,
        client: &'a AppRegistration,
        user: &User,
        target: Option<&scopes::ResourceScopes<'a>>,
    ) -> Result<(Resource<'a>, Vec<String>, Vec<String>), AadError> {
        match target {
            None => {
                let scp: Vec<String> = GRAPH_SCOPES.iter().map(|s| (*s).to_owned()).collect();
                Ok((Resource::Graph, scp.clone(), scp))
            }
            Some(target) => {
                let consents = self.shared.user_consents(
                    user.object_id(),
                    client.client_id(),
                    target.resource.client_id(),
                );
                let held: BTreeSet<String> = scopes::granted(client, target.resource, &consents);
                let scp = scopes::delegated_scopes(client, target, &held)?;
                let full = scp.iter().map(|s| target.full(s)).collect();
                Ok((target.resource, scp, full))
            }
        }
    }

    /// Access token (+ ID token, refresh token, `client_info`) for a signed-in user.
    fn user_tokens(
        &self,
        client: &AppRegistration,
        auth: ClientAuth,
        user: &User,
        scope: &str,
        nonce: Option<&str>,
        openid: bool,
    ) -> Result<Value, AadError> {
        let request = scopes::parse(&self.shared.tenant, client.name(), scope)?;
        let target = request.single_resource(scope)?;
        let (resource, scp, mut granted) = self.delegated(client, user, target)?;
        let token = tokens::access_token(
            self.shared,
            Caller::app(client),
            auth,
            resource,
            target.and_then(|t| t.prefix.as_deref()),
            &Subject::User { user, scopes: &scp },
            self.now,
            self.lifetime,
        );
        granted.extend(request.oidc.iter().cloned());
        let mut response = self.base_response(token, Some(granted.join(" ")));
        if request.has("offline_access") {
            let rt = tokens::refresh_token(
                self.shared,
                client.client_id(),
                user.object_id(),
                scope,
                self.now,
            );
            response.insert("refresh_token".into(), json!(rt));
        }
        if openid || request.has("openid") {
            let id = tokens::id_token(self.shared, client, user, nonce, self.now, self.lifetime);
            response.insert("id_token".into(), json!(id));
        }
        response.insert(
            "client_info".into(),
            json!(tokens::client_info(user, self.shared.tenant.tenant_id())),
        );
        Ok(Value::Object(response))
    }
}
