//! What a provider profile chooses when it classifies a token: which claim names the calling
//! client, and where an app-only token's permissions are.

use super::member::Member;

/// A claim that names the calling client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientClaim {
    /// `azp` (Entra v2, OIDC, Auth0, Keycloak).
    Azp,
    /// `client_id` (RFC 9068, Keycloak service accounts).
    ClientId,
    /// `clientId` (Keycloak service accounts before version 21).
    ClientIdLegacy,
    /// `appid` (Entra v1).
    Appid,
    /// `cid` (Okta).
    Cid,
}

impl ClientClaim {
    /// The string claim it is.
    pub(super) fn member(self) -> Member {
        match self {
            ClientClaim::Azp => Member::Azp,
            ClientClaim::ClientId => Member::ClientId,
            ClientClaim::ClientIdLegacy => Member::ClientIdLegacy,
            ClientClaim::Appid => Member::Appid,
            ClientClaim::Cid => Member::Cid,
        }
    }
}

/// Where an app-only token's permissions are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppPermissions {
    /// `scope` / `scp` (RFC 9068-style providers).
    Scopes,
    /// `roles` (Entra application permissions).
    Roles,
    /// Both (custom profiles).
    RolesAndScopes,
}
