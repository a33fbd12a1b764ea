//! Minting access, ID and refresh tokens shaped like Entra's, signed with the active key.

use aws_lc_rs::digest;
use serde_json::{Value, json};

use super::errors::{random_bytes, random_token};
use super::scopes::{GRAPH_APP_ID, Resource};
use super::state::Shared;
use super::state::{REFRESH_LIFETIME, RefreshGrant};
use super::sync::lock;
use super::tenant::{AppRegistration, User};
use crate::base64url;

/// How the client authenticated: `appidacr` / `azpacr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// A public client: `"0"`.
    None,
    /// A client secret: `"1"`.
    Secret,
    /// A certificate (client assertion): `"2"`.
    Certificate,
}

impl ClientAuth {
    fn acr(self) -> &'static str {
        match self {
            ClientAuth::None => "0",
            ClientAuth::Secret => "1",
            ClientAuth::Certificate => "2",
        }
    }
}

/// Who the token is about.
pub(crate) enum Subject<'a> {
    /// A user (delegated): the `scp` and the user's roles on the resource.
    User {
        user: &'a User,
        scopes: &'a [String],
    },
    /// The client itself (app-only): its granted roles.
    App { roles: Vec<String> },
}

/// A pairwise `sub`: stable per (object, app), 43 base64url characters.
pub(crate) fn pairwise(oid: &str, app_id: &str) -> String {
    base64url(digest::digest(
        &digest::SHA256,
        format!("{oid}:{app_id}").as_bytes(),
    ))
}

/// A fresh `uti`: 16 random bytes, base64url (22 characters, as Entra's).
fn uti() -> String {
    base64url(random_bytes::<16>())
}

/// A fresh `aio`: an opaque, random value (Entra's is an internal, encrypted blob of varying
/// length in standard base64; resources must not read it).
fn aio() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(random_bytes::<48>())
}

/// A fresh `rh`: opaque, `0.A` + base64url, 54 characters like Entra's.
fn rh() -> String {
    format!("0.A{}", base64url(random_bytes::<38>()))
}

/// A fresh `xms_ftd`: opaque, random, base64url (current Entra tokens carry one).
fn xms_ftd() -> String {
    base64url(random_bytes::<47>())
}

/// How far Entra back-dates `iat` and `nbf` of an access token from the moment of issue (5
/// minutes, for clock skew): real tokens have `exp - iat` = lifetime + 300 s while the response's
/// `expires_in` is the lifetime (observed in real Entra tokens; see `docs/emulator.md`).
pub(crate) const ISSUED_AT_BACKDATE: i64 = 300;

/// A JSON object with its members in this order (serde_json's `Map` sorts them; Entra's tokens
/// are not sorted).
pub(crate) fn ordered_object(members: &[(&str, Value)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(name, value)| format!("{}:{value}", Value::String((*name).to_owned())))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Signs `claims` with the active key. The header members in Entra's order: `typ, alg, x5t,
/// kid` for v1 tokens, `typ, alg, kid` for v2 tokens.
fn sign(shared: &Shared, claims: &[(&str, Value)], v1: bool) -> String {
    let key = std::sync::Arc::clone(&lock(&shared.ring).active);
    let mut header = vec![("typ", json!("JWT")), ("alg", json!("RS256"))];
    if v1 {
        header.push(("x5t", json!(key.kid)));
    }
    header.push(("kid", json!(key.kid)));
    let input = format!(
        "{}.{}",
        base64url(ordered_object(&header)),
        base64url(ordered_object(claims))
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", base64url(signature))
}

/// Who the token is issued to: an app registration's client, or a managed identity (whose
/// service principal has a client id and an object id too).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller<'a> {
    /// `appid` / `azp`.
    pub(crate) client_id: &'a str,
    /// `oid` and `sub` of its app-only tokens: the service principal's object id.
    pub(crate) principal_id: &'a str,
}

impl<'a> Caller<'a> {
    pub(crate) fn app(app: &'a AppRegistration) -> Caller<'a> {
        Caller {
            client_id: app.client_id(),
            principal_id: app.service_principal_id(),
        }
    }
}

/// The audience of a token: Entra puts the resource exactly as requested in v1 tokens (the
/// client id, one of the identifier URIs, with a trailing slash if the request had one) and the
/// client id in v2 tokens.
/// <https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference#payload-claims>
pub(crate) fn audience(resource: Resource<'_>, requested: Option<&str>) -> String {
    match resource {
        Resource::App(app) if app.access_token_version() == 2 => app.client_id().to_owned(),
        Resource::App(app) => requested.map_or_else(|| app.audience(), str::to_owned),
        Resource::Graph => requested.map_or_else(|| GRAPH_APP_ID.to_owned(), str::to_owned),
    }
}

/// An access token for `resource` (requested as `requested`), issued to `client`, with the
/// claims Entra puts in tokens of that version and flow, in Entra's order
/// (<https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference>).
/// `idtyp` only when the resource's registration lists it in `optional_claims`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn access_token(
    shared: &Shared,
    client: Caller<'_>,
    auth: ClientAuth,
    resource: Resource<'_>,
    requested: Option<&str>,
    subject: &Subject<'_>,
    now: i64,
    lifetime: i64,
) -> String {
    let tid = shared.tenant.tenant_id();
    let v2 = matches!(resource, Resource::App(app) if app.access_token_version() == 2);
    let idtyp = matches!(resource, Resource::App(app) if app.has_optional_claim("idtyp"));
    let issued = now - ISSUED_AT_BACKDATE;
    let mut c: Vec<(&str, Value)> = vec![
        ("aud", json!(audience(resource, requested))),
        (
            "iss",
            json!(if v2 {
                shared.v2_issuer()
            } else {
                crate::ids::v1_issuer(tid)
            }),
        ),
        ("iat", json!(issued)),
        ("nbf", json!(issued)),
        ("exp", json!(now + lifetime)),
    ];
    match subject {
        Subject::User { user, scopes } => {
            let (given, family) = user.name().split_once(' ').unwrap_or((user.name(), ""));
            if !v2 {
                c.push(("acr", json!("1")));
            }
            c.push(("aio", json!(aio())));
            if v2 {
                c.push(("azp", json!(client.client_id)));
                c.push(("azpacr", json!(auth.acr())));
            } else {
                c.push(("amr", json!(["pwd"])));
                c.push(("appid", json!(client.client_id)));
                c.push(("appidacr", json!(auth.acr())));
                c.push(("family_name", json!(family)));
                c.push(("given_name", json!(given)));
            }
            if idtyp {
                c.push(("idtyp", json!("user")));
            }
            c.push(("name", json!(user.name())));
            c.push(("oid", json!(user.object_id())));
            if v2 {
                c.push(("preferred_username", json!(user.username())));
            }
            c.push(("rh", json!(rh())));
            let roles = match resource {
                Resource::App(app) => user.roles_for(app.client_id()),
                Resource::Graph => Vec::new(),
            };
            if !roles.is_empty() {
                c.push(("roles", json!(roles)));
            }
            c.push(("scp", json!(scopes.join(" "))));
            c.push((
                "sub",
                json!(pairwise(user.object_id(), resource.client_id())),
            ));
            c.push(("tid", json!(tid)));
            if !v2 {
                c.push(("unique_name", json!(user.username())));
                c.push(("upn", json!(user.username())));
            }
        }
        Subject::App { roles } => {
            c.push(("aio", json!(aio())));
            if v2 {
                c.push(("azp", json!(client.client_id)));
                c.push(("azpacr", json!(auth.acr())));
            } else {
                c.push(("appid", json!(client.client_id)));
                c.push(("appidacr", json!(auth.acr())));
                c.push(("idp", json!(crate::ids::v1_issuer(tid))));
            }
            if idtyp {
                c.push(("idtyp", json!("app")));
            }
            c.push(("oid", json!(client.principal_id)));
            c.push(("rh", json!(rh())));
            if !roles.is_empty() {
                c.push(("roles", json!(roles)));
            }
            c.push(("sub", json!(client.principal_id)));
            c.push(("tid", json!(tid)));
        }
    }
    c.push(("uti", json!(uti())));
    c.push(("ver", json!(if v2 { "2.0" } else { "1.0" })));
    // Current Entra tokens end with opaque `xms_*` claims; resources must not read them.
    c.push(("xms_ftd", json!(xms_ftd())));
    sign(shared, &c, !v2)
}

/// The app id of Entra's token exchange resource: the `aud` of a managed identity's token for
/// `api://AzureADTokenExchange` (the token it presents as a federated credential).
pub(crate) const TOKEN_EXCHANGE_APP_ID: &str = "fb60f99c-7a34-4190-8149-302f77469936";

/// A managed identity's v2 token for `api://AzureADTokenExchange`: the assertion an app that
/// trusts the identity (a federated identity credential) presents as its client credential.
pub(crate) fn exchange_token(shared: &Shared, mi: Caller<'_>, now: i64, lifetime: i64) -> String {
    let issued = now - ISSUED_AT_BACKDATE;
    let c: Vec<(&str, Value)> = vec![
        ("aud", json!(TOKEN_EXCHANGE_APP_ID)),
        ("iss", json!(shared.v2_issuer())),
        ("iat", json!(issued)),
        ("nbf", json!(issued)),
        ("exp", json!(now + lifetime)),
        ("aio", json!(aio())),
        ("azp", json!(mi.client_id)),
        ("azpacr", json!("2")),
        ("oid", json!(mi.principal_id)),
        ("rh", json!(rh())),
        ("sub", json!(mi.principal_id)),
        ("tid", json!(shared.tenant.tenant_id())),
        ("uti", json!(uti())),
        ("ver", json!("2.0")),
    ];
    sign(shared, &c, false)
}

/// A v2 ID token for `client` about `user`.
pub(crate) fn id_token(
    shared: &Shared,
    client: &AppRegistration,
    user: &User,
    nonce: Option<&str>,
    now: i64,
    lifetime: i64,
) -> String {
    let mut c: Vec<(&str, Value)> = vec![
        ("aud", json!(client.client_id())),
        ("iss", json!(shared.v2_issuer())),
        ("iat", json!(now)),
        ("nbf", json!(now)),
        ("exp", json!(now + lifetime)),
        ("aio", json!(aio())),
        ("name", json!(user.name())),
    ];
    if let Some(nonce) = nonce {
        c.push(("nonce", json!(nonce)));
    }
    c.push(("oid", json!(user.object_id())));
    c.push(("preferred_username", json!(user.username())));
    c.push(("rh", json!(rh())));
    let roles = user.roles_for(client.client_id());
    if !roles.is_empty() {
        c.push(("roles", json!(roles)));
    }
    c.push(("sub", json!(pairwise(user.object_id(), client.client_id()))));
    c.push(("tid", json!(shared.tenant.tenant_id())));
    c.push(("uti", json!(uti())));
    c.push(("ver", json!("2.0")));
    sign(shared, &c, false)
}

/// A new opaque refresh token for (client, user), remembered server-side.
pub(crate) fn refresh_token(
    shared: &Shared,
    client_id: &str,
    user_oid: &str,
    scope: &str,
    now: i64,
) -> String {
    let token = format!("1.emulator.{}", random_token());
    lock(&shared.refresh_tokens).insert(
        token.clone(),
        RefreshGrant {
            client_id: client_id.to_owned(),
            user_oid: user_oid.to_owned(),
            scope: scope.to_owned(),
            expires: now + REFRESH_LIFETIME,
        },
    );
    token
}

/// `client_info`: base64url of `{"uid": oid, "utid": tid}`.
pub(crate) fn client_info(user: &User, tid: &str) -> String {
    base64url(json!({"uid": user.object_id(), "utid": tid}).to_string())
}
