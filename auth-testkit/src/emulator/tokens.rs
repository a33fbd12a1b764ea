//! Minting access, ID and refresh tokens shaped like Entra's, signed with the active key.

use aws_lc_rs::digest;
use serde_json::{Map, Value, json};

use super::Shared;
use super::discovery::lock;
use super::errors::{random_bytes, random_token};
use super::scopes::{GRAPH_APP_ID, Resource};
use super::tenant::{AppRegistration, User};
use super::{REFRESH_LIFETIME, RefreshGrant};
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

/// A fresh `uti`.
fn uti() -> String {
    base64url(random_bytes::<16>())
}

/// Signs `claims` with the active key: `{"typ":"JWT","alg":"RS256","kid":…}` (+ `x5t` for v1).
fn sign(shared: &Shared, claims: &Value, v1: bool) -> String {
    let key = std::sync::Arc::clone(&lock(&shared.ring).active);
    let header = if v1 {
        json!({"typ": "JWT", "alg": "RS256", "x5t": key.kid, "kid": key.kid})
    } else {
        json!({"typ": "JWT", "alg": "RS256", "kid": key.kid})
    };
    let input = format!(
        "{}.{}",
        base64url(header.to_string()),
        base64url(claims.to_string())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", base64url(signature))
}

/// An access token for `resource`, issued to `client`.
pub(crate) fn access_token(
    shared: &Shared,
    client: &AppRegistration,
    auth: ClientAuth,
    resource: Resource<'_>,
    subject: &Subject<'_>,
    now: i64,
    lifetime: i64,
) -> String {
    let tid = shared.tenant.tenant_id();
    let v2 = matches!(resource, Resource::App(app) if app.access_token_version() == 2);
    let aud = match resource {
        Resource::App(app) => app.audience(),
        Resource::Graph => GRAPH_APP_ID.to_owned(),
    };
    let mut c = Map::new();
    c.insert("aud".into(), json!(aud));
    c.insert(
        "iss".into(),
        json!(if v2 {
            shared.v2_issuer()
        } else {
            crate::ids::v1_issuer(tid)
        }),
    );
    c.insert("iat".into(), json!(now));
    c.insert("nbf".into(), json!(now));
    c.insert("exp".into(), json!(now + lifetime));
    if v2 {
        c.insert("azp".into(), json!(client.client_id()));
        c.insert("azpacr".into(), json!(auth.acr()));
    } else {
        c.insert("appid".into(), json!(client.client_id()));
        c.insert("appidacr".into(), json!(auth.acr()));
    }
    match subject {
        Subject::User { user, scopes } => {
            c.insert("name".into(), json!(user.name()));
            c.insert("oid".into(), json!(user.object_id()));
            c.insert("scp".into(), json!(scopes.join(" ")));
            let roles = match resource {
                Resource::App(app) => user.roles_for(app.client_id()),
                Resource::Graph => Vec::new(),
            };
            if !roles.is_empty() {
                c.insert("roles".into(), json!(roles));
            }
            c.insert(
                "sub".into(),
                json!(pairwise(user.object_id(), resource.client_id())),
            );
            if v2 {
                c.insert("preferred_username".into(), json!(user.username()));
            } else {
                c.insert("amr".into(), json!(["pwd"]));
                c.insert("unique_name".into(), json!(user.username()));
                c.insert("upn".into(), json!(user.username()));
            }
        }
        Subject::App { roles } => {
            c.insert("idtyp".into(), json!("app"));
            c.insert("oid".into(), json!(client.service_principal_id()));
            c.insert("sub".into(), json!(client.service_principal_id()));
            if !roles.is_empty() {
                c.insert("roles".into(), json!(roles));
            }
        }
    }
    c.insert("tid".into(), json!(tid));
    c.insert("uti".into(), json!(uti()));
    c.insert("ver".into(), json!(if v2 { "2.0" } else { "1.0" }));
    sign(shared, &Value::Object(c), !v2)
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
    let mut c = Map::new();
    c.insert("aud".into(), json!(client.client_id()));
    c.insert("iss".into(), json!(shared.v2_issuer()));
    c.insert("iat".into(), json!(now));
    c.insert("nbf".into(), json!(now));
    c.insert("exp".into(), json!(now + lifetime));
    c.insert("name".into(), json!(user.name()));
    if let Some(nonce) = nonce {
        c.insert("nonce".into(), json!(nonce));
    }
    c.insert("oid".into(), json!(user.object_id()));
    c.insert("preferred_username".into(), json!(user.username()));
    let roles = user.roles_for(client.client_id());
    if !roles.is_empty() {
        c.insert("roles".into(), json!(roles));
    }
    c.insert(
        "sub".into(),
        json!(pairwise(user.object_id(), client.client_id())),
    );
    c.insert("tid".into(), json!(shared.tenant.tenant_id()));
    c.insert("uti".into(), json!(uti()));
    c.insert("ver".into(), json!("2.0"));
    sign(shared, &Value::Object(c), false)
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
