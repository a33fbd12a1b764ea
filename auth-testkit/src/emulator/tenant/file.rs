//! The tenant file as written: the TOML shape, unknown keys refused.

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantFile {
    pub(super) tenant_id: Option<String>,
    #[serde(default)]
    pub(super) users: Vec<UserFile>,
    #[serde(default)]
    pub(super) apps: Vec<AppFile>,
    #[serde(default)]
    pub(super) managed_identities: Vec<ManagedIdentityFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManagedIdentityFile {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) client_id: Option<String>,
    pub(super) object_id: Option<String>,
    pub(super) resource_id: Option<String>,
    #[serde(default)]
    pub(super) app_roles: Vec<UserAppRoleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FederatedCredentialFile {
    pub(super) name: Option<String>,
    pub(super) managed_identity: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) audiences: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserFile {
    pub(super) username: String,
    pub(super) name: String,
    pub(super) password: String,
    pub(super) object_id: Option<String>,
    #[serde(default)]
    pub(super) app_roles: Vec<UserAppRoleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserAppRoleFile {
    pub(super) resource: String,
    pub(super) role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AppFile {
    pub(super) name: String,
    pub(super) client_id: Option<String>,
    #[serde(default)]
    pub(super) identifier_uris: Vec<String>,
    #[serde(default)]
    pub(super) secrets: Vec<String>,
    #[serde(default)]
    pub(super) certificates: Vec<String>,
    #[serde(default)]
    pub(super) redirect_uris: Vec<String>,
    #[serde(default)]
    pub(super) scopes: Vec<String>,
    #[serde(default)]
    pub(super) app_roles: Vec<AppRoleFile>,
    pub(super) access_token_version: Option<u8>,
    #[serde(default)]
    pub(super) optional_claims: Vec<String>,
    #[serde(default)]
    pub(super) federated_credentials: Vec<FederatedCredentialFile>,
    #[serde(default)]
    pub(super) required_resource_access: Vec<AccessFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AppRoleFile {
    pub(super) value: String,
    #[serde(default)]
    pub(super) allowed_member_types: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessFile {
    pub(super) resource: String,
    #[serde(default)]
    pub(super) scopes: Vec<String>,
    #[serde(default)]
    pub(super) roles: Vec<String>,
    #[serde(default)]
    pub(super) admin_consent: bool,
}
