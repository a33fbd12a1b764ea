//! From the file as written to the resolved tenant: derived ids, references between apps,
//! users and managed identities checked.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::error::TenantError;
use super::file::{AccessFile, ManagedIdentityFile, TenantFile};
use super::guid::{derive_guid, is_guid};
use super::model::{
    AppRegistration, AppRole, ClientCertificate, FederatedCredential, MODELLED_OPTIONAL_CLAIMS,
    ManagedIdentity, ResourceAccess, TOKEN_EXCHANGE_AUDIENCE, TenantConfig, User, UserAppRole,
};
use crate::ids;

pub(super) fn resolve(
    file: TenantFile,
    name: &str,
    dir: Option<&Path>,
) -> Result<TenantConfig, TenantError> {
    let err = |message: String| TenantError::new(name, None, message);
    let tenant_id = file
        .tenant_id
        .unwrap_or_else(|| ids::TENANT_ID.to_owned())
        .to_ascii_lowercase();
    if !is_guid(&tenant_id) {
        return Err(err(format!("tenant_id {tenant_id:?} is not a GUID")));
    }

    let mut apps = Vec::with_capacity(file.apps.len());
    let mut seen_names = HashSet::new();
    let mut federated_files = Vec::with_capacity(file.apps.len());
    for mut app in file.apps {
        federated_files.push(std::mem::take(&mut app.federated_credentials));
        if !seen_names.insert(app.name.clone()) {
            return Err(err(format!("two apps are named {:?}", app.name)));
        }
        let client_id = app
            .client_id
            .unwrap_or_else(|| derive_guid("app", &app.name))
            .to_ascii_lowercase();
        if !is_guid(&client_id) {
            return Err(err(format!(
                "app {:?}: client_id {client_id:?} is not a GUID",
                app.name
            )));
        }
        let version = app.access_token_version.unwrap_or(1);
        if version != 1 && version != 2 {
            return Err(err(format!(
                "app {:?}: access_token_version must be 1 or 2, not {version}",
                app.name
            )));
        }
        let mut certificates = Vec::new();
        for entry in &app.certificates {
            let pem = if entry.trim_start().starts_with("-----BEGIN") {
                entry.clone()
            } else {
                let path = match dir {
                    Some(dir) => dir.join(entry),
                    None => PathBuf::from(entry),
                };
                std::fs::read_to_string(&path).map_err(|e| {
                    err(format!(
                        "app {:?}: cannot read certificate {}: {e}",
                        app.name,
                        path.display()
                    ))
                })?
            };
            certificates.push(
                ClientCertificate::from_pem(&pem)
                    .map_err(|e| err(format!("app {:?}: certificate {entry:?}: {e}", app.name)))?,
            );
        }
        for uri in &app.redirect_uris {
            if !uri.contains("://") {
                return Err(err(format!(
                    "app {:?}: redirect URI {uri:?} is not absolute",
                    app.name
                )));
            }
        }
        for claim in &app.optional_claims {
            if !MODELLED_OPTIONAL_CLAIMS.contains(&claim.as_str()) {
                return Err(err(format!(
                    "app {:?}: optional claim {claim:?} is not one the emulator models \
                     ({MODELLED_OPTIONAL_CLAIMS:?})",
                    app.name
                )));
            }
        }
        apps.push(AppRegistration {
            service_principal_id: derive_guid("service-principal", &client_id),
            client_id,
            name: app.name,
            identifier_uris: app.identifier_uris,
            secrets: app.secrets,
            certificates,
            redirect_uris: app.redirect_uris,
            scopes: app.scopes,
            app_roles: app
                .app_roles
                .into_iter()
                .map(|r| AppRole {
                    value: r.value,
                    allowed_member_types: r.allowed_member_types,
                })
                .collect(),
            access_token_version: version,
            optional_claims: app.optional_claims,
            federated_credentials: Vec::new(),
            required_resource_access: file_access_placeholder(app.required_resource_access),
        });
    }
    let mut ids_seen = HashSet::new();
    for app in &apps {
        if !ids_seen.insert(app.client_id.clone()) {
            return Err(err(format!("two apps have client_id {}", app.client_id)));
        }
    }

    let mut tenant = TenantConfig {
        tenant_id,
        users: Vec::new(),
        apps,
        managed_identities: Vec::new(),
    };

    // Resolve required_resource_access against the apps.
    let mut resolved_access = Vec::new();
    for app in &tenant.apps {
        let mut list = Vec::new();
        for access in &app.required_resource_access {
            let resource = tenant.resource(&access.resource).ok_or_else(|| {
                err(format!(
                    "app {:?}: required_resource_access names resource {:?}, which is no app's \
                     identifier URI, client id or name",
                    app.name, access.resource
                ))
            })?;
            for scope in &access.scopes {
                if !resource.scopes.iter().any(|s| s == scope) {
                    return Err(err(format!(
                        "app {:?}: resource {:?} exposes no scope {scope:?} (it exposes {:?})",
                        app.name, resource.name, resource.scopes
                    )));
                }
            }
            for role in &access.roles {
                if !resource
                    .app_roles
                    .iter()
                    .any(|r| &r.value == role && r.for_applications())
                {
                    return Err(err(format!(
                        "app {:?}: resource {:?} defines no application role {role:?}",
                        app.name, resource.name
                    )));
                }
            }
            list.push(ResourceAccess {
                resource_client_id: resource.client_id.clone(),
                ..access.clone()
            });
        }
        resolved_access.push(list);
    }
    for (app, list) in tenant.apps.iter_mut().zip(resolved_access) {
        app.required_resource_access = list;
    }

    let mut seen_users = HashSet::new();
    for user in file.users {
        if !seen_users.insert(user.username.to_ascii_lowercase()) {
            return Err(err(format!("two users are named {:?}", user.username)));
        }
        let object_id = user
            .object_id
            .unwrap_or_else(|| derive_guid("user", &user.username.to_ascii_lowercase()))
            .to_ascii_lowercase();
        if !is_guid(&object_id) {
            return Err(err(format!(
                "user {:?}: object_id {object_id:?} is not a GUID",
                user.username
            )));
        }
        let mut app_roles = Vec::new();
        for assignment in user.app_roles {
            let resource = tenant.resource(&assignment.resource).ok_or_else(|| {
                err(format!(
                    "user {:?}: app role resource {:?} is no app",
                    user.username, assignment.resource
                ))
            })?;
            if !resource
                .app_roles
                .iter()
                .any(|r| r.value == assignment.role && r.for_users())
            {
                return Err(err(format!(
                    "user {:?}: app {:?} defines no user role {:?}",
                    user.username, resource.name, assignment.role
                )));
            }
            app_roles.push(UserAppRole {
                resource_client_id: resource.client_id.clone(),
                resource: assignment.resource,
                role: assignment.role,
            });
        }
        tenant.users.push(User {
            username: user.username,
            name: user.name,
            password: user.password,
            object_id,
            app_roles,
        });
    }
    resolve_managed_identities(&mut tenant, file.managed_identities, name)?;
    for (index, list) in federated_files.into_iter().enumerate() {
        let app_name = tenant.apps[index].name.clone();
        let mut credentials = Vec::new();
        for (n, credential) in list.into_iter().enumerate() {
            let subject = match (credential.managed_identity, credential.subject) {
                (Some(mi), None) => tenant
                    .managed_identity(&mi)
                    .ok_or_else(|| {
                        err(format!(
                            "app {app_name:?}: federated credential names managed identity \
                             {mi:?}, which the tenant does not declare"
                        ))
                    })?
                    .object_id
                    .clone(),
                (None, Some(subject)) => subject,
                _ => {
                    return Err(err(format!(
                        "app {app_name:?}: a federated credential needs exactly one of \
                         managed_identity and subject"
                    )));
                }
            };
            credentials.push(FederatedCredential {
                name: credential
                    .name
                    .unwrap_or_else(|| format!("credential-{}", n + 1)),
                subject,
                audiences: credential
                    .audiences
                    .unwrap_or_else(|| vec![TOKEN_EXCHANGE_AUDIENCE.to_owned()]),
            });
        }
        tenant.apps[index].federated_credentials = credentials;
    }
    Ok(tenant)
}

fn resolve_managed_identities(
    tenant: &mut TenantConfig,
    list: Vec<ManagedIdentityFile>,
    source: &str,
) -> Result<(), TenantError> {
    let err = |message: String| TenantError::new(source, None, message);
    let mut names = HashSet::new();
    let mut identities = Vec::with_capacity(list.len());
    for mi in list {
        if !names.insert(mi.name.clone()) {
            return Err(err(format!(
                "two managed identities are named {:?}",
                mi.name
            )));
        }
        let system_assigned = match mi.kind.as_str() {
            "system_assigned" => true,
            "user_assigned" => false,
            other => {
                return Err(err(format!(
                    "managed identity {:?}: kind must be \"system_assigned\" or \
                     \"user_assigned\", not {other:?}",
                    mi.name
                )));
            }
        };
        if system_assigned
            && identities
                .iter()
                .any(|m: &ManagedIdentity| m.system_assigned)
        {
            return Err(err(
                "at most one managed identity can be system_assigned (the host's)".to_owned(),
            ));
        }
        let guid = |value: Option<String>, kind: &str| -> Result<String, TenantError> {
            let id = value
                .unwrap_or_else(|| derive_guid(kind, &mi.name))
                .to_ascii_lowercase();
            if is_guid(&id) {
                Ok(id)
            } else {
                Err(err(format!(
                    "managed identity {:?}: {kind} {id:?} is not a GUID",
                    mi.name
                )))
            }
        };
        let client_id = guid(mi.client_id, "managed-identity-client")?;
        let object_id = guid(mi.object_id, "managed-identity-object")?;
        let resource_id = mi.resource_id.unwrap_or_else(|| {
            let group =
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator";
            if system_assigned {
                format!(
                    "{group}/providers/Microsoft.Compute/virtualMachines/{}",
                    mi.name
                )
            } else {
                format!(
                    "{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
                    mi.name
                )
            }
        });
        let mut app_roles = Vec::new();
        for assignment in mi.app_roles {
            let resource = tenant.resource(&assignment.resource).ok_or_else(|| {
                err(format!(
                    "managed identity {:?}: app role resource {:?} is no app",
                    mi.name, assignment.resource
                ))
            })?;
            if !resource
                .app_roles
                .iter()
                .any(|r| r.value == assignment.role && r.for_applications())
            {
                return Err(err(format!(
                    "managed identity {:?}: app {:?} defines no application role {:?}",
                    mi.name, resource.name, assignment.role
                )));
            }
            app_roles.push(UserAppRole {
                resource_client_id: resource.client_id.clone(),
                resource: assignment.resource,
                role: assignment.role,
            });
        }
        identities.push(ManagedIdentity {
            name: mi.name,
            system_assigned,
            client_id,
            object_id,
            resource_id,
            app_roles,
        });
    }
    tenant.managed_identities = identities;
    Ok(())
}

fn file_access_placeholder(list: Vec<AccessFile>) -> Vec<ResourceAccess> {
    list.into_iter()
        .map(|a| ResourceAccess {
            resource: a.resource,
            resource_client_id: String::new(),
            scopes: a.scopes,
            roles: a.roles,
            admin_consent: a.admin_consent,
        })
        .collect()
}
