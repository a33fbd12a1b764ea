//! Parsing `scope` parameters the way Entra's v2 endpoint reads them, and deciding which
//! delegated scopes a client holds (admin consent or the user's own).

use std::collections::BTreeSet;

use super::errors::AadError;
use super::tenant::{AppRegistration, TenantConfig};

/// The OpenID Connect scopes, which name no resource.
pub(crate) const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Microsoft Graph's app id: bare scope names (`User.Read`) are Graph's.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The only Graph scope the emulator models (every app holds it, as new registrations do).
pub(crate) const GRAPH_SCOPES: [&str; 1] = ["User.Read"];

/// The resource a scope names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Resource<'t> {
    /// An app of the tenant.
    App(&'t AppRegistration),
    /// Microsoft Graph (modelled: `User.Read` only).
    Graph,
}

impl Resource<'_> {
    pub(crate) fn client_id(&self) -> &str {
        match self {
            Resource::App(app) => app.client_id(),
            Resource::Graph => GRAPH_APP_ID,
        }
    }

    fn exposes(&self, scope: &str) -> Option<String> {
        let list: Vec<&str> = match self {
            Resource::App(app) => app.scopes().iter().map(String::as_str).collect(),
            Resource::Graph => GRAPH_SCOPES.to_vec(),
        };
        list.into_iter()
            .find(|s| s.eq_ignore_ascii_case(scope))
            .map(str::to_owned)
    }
}

/// One resource's part of a request: the scope names, or `.default`.
#[derive(Clone, Debug)]
pub(crate) struct ResourceScopes<'t> {
    pub(crate) resource: Resource<'t>,
    /// The resource as the client wrote it (`api://x`, a client id…), `None` for bare names.
    pub(crate) prefix: Option<String>,
    /// Canonical scope names; empty with `default`.
    pub(crate) names: Vec<String>,
    pub(crate) default: bool,
}

impl ResourceScopes<'_> {
    /// `prefix/name` as the client wrote the resource.
    pub(crate) fn full(&self, name: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name.to_owned(),
        }
    }
}

/// A parsed `scope` parameter.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScopeRequest<'t> {
    /// OIDC scopes, lowercase.
    pub(crate) oidc: BTreeSet<String>,
    /// Resource scopes grouped by resource, in request order.
    pub(crate) resources: Vec<ResourceScopes<'t>>,
}

impl<'t> ScopeRequest<'t> {
    pub(crate) fn has(&self, oidc: &str) -> bool {
        self.oidc.contains(oidc)
    }

    /// The single resource a token request may name (28000 for more). `None`: OIDC only.
    pub(crate) fn single_resource(
        &self,
        raw: &str,
    ) -> Result<Option<&ResourceScopes<'t>>, AadError> {
        match self.resources.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(AadError::bad(
                "invalid_scope",
                28000,
                format!(
                    "Provided value for the input parameter scope is not valid because it \
                     contains more than one resource. Scope {raw} is not valid."
                ),
            )),
        }
    }
}

fn invalid_scope(scope: &str, why: &str) -> AadError {
    AadError::bad(
        "invalid_scope",
        70011,
        format!(
            "The provided request must include a 'scope' input parameter. The provided value \
             for the input parameter 'scope' is not valid. The scope '{scope}' {why}"
        ),
    )
}

/// A scope the resource does not expose: `AADSTS650053`, `invalid_client`, as Entra answers
/// (<https://github.com/MicrosoftDocs/azure-docs/issues/37280>,
/// <https://github.com/damienbod/AspNetCoreMicrosoftGraph/issues/1>).
fn scope_not_exposed(client_name: &str, scope: &str, resource: &Resource<'_>) -> AadError {
    AadError::bad(
        "invalid_client",
        650053,
        format!(
            "The application '{client_name}' asked for scope '{scope}' that doesn't exist on the \
             resource '{}'. Contact the app vendor.",
            resource.client_id()
        ),
    )
}

/// Parses `raw` as requested by the app `client_name`: OIDC scopes, `{resource}/{name}`,
/// `{resource}/.default`, bare Graph names.
pub(crate) fn parse<'t>(
    tenant: &'t TenantConfig,
    client_name: &str,
    raw: &str,
) -> Result<ScopeRequest<'t>, AadError> {
    let mut request = ScopeRequest::default();
    let items: Vec<&str> = raw.split_whitespace().collect();
    if items.is_empty() {
        return Err(AadError::bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        ));
    }
    for item in items {
        let lower = item.to_ascii_lowercase();
        if OIDC_SCOPES.contains(&lower.as_str()) {
            request.oidc.insert(lower);
            continue;
        }
        let (prefix, name, resource) = match item.rfind('/') {
            Some(at) if at > 0 && at + 1 < item.len() => {
                let (prefix, name) = (&item[..at], &item[at + 1..]);
                let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
                let resource = if trimmed.eq_ignore_ascii_case("https://graph.microsoft.com")
                    || trimmed.eq_ignore_ascii_case(GRAPH_APP_ID)
                {
                    Resource::Graph
                } else {
                    match tenant.requested_resource(prefix) {
                        Some(app) => Resource::App(app),
                        None => {
                            return Err(AadError::bad(
                                "invalid_resource",
                                500011,
                                format!(
                                    "The resource principal named {prefix} was not found in the \
                                     tenant named {}. This can happen if the application has \
                                     not been installed by the administrator of the tenant or \
                                     consented to by any user in the tenant. You might have \
                                     sent your authentication request to the wrong tenant.",
                                    tenant.tenant_id()
                                ),
                            ));
                        }
                    }
                };
                (Some(prefix.to_owned()), name, resource)
            }
            _ => (None, item, Resource::Graph),
        };
        let index = match request
            .resources
            .iter()
            .position(|r| r.resource.client_id() == resource.client_id())
        {
            Some(index) => index,
            None => {
                request.resources.push(ResourceScopes {
                    resource,
                    prefix: prefix.clone(),
                    names: Vec::new(),
                    default: false,
                });
                request.resources.len() - 1
            }
        };
        let entry = &mut request.resources[index];
        if name == ".default" {
            entry.default = true;
        } else {
            let canonical = resource
                .exposes(name)
                .ok_or_else(|| scope_not_exposed(client_name, name, &resource))?;
            if !entry.names.contains(&canonical) {
                entry.names.push(canonical);
            }
        }
        if entry.default && !entry.names.is_empty() {
            return Err(invalid_scope(
                raw,
                "is not valid: the .default scope can't be combined with resource-specific scopes.",
            ));
        }
    }
    Ok(request)
}

/// The delegated scopes of `resource` that `client` holds for the user: admin-consented ones in
/// its `required_resource_access`, plus those the user consented to.
pub(crate) fn granted(
    client: &AppRegistration,
    resource: Resource<'_>,
    user_consents: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = user_consents.clone();
    match resource {
        Resource::Graph => set.extend(GRAPH_SCOPES.iter().map(|s| (*s).to_owned())),
        Resource::App(app) => {
            if let Some(access) = client.access_to(app.client_id())
                && access.admin_consent
            {
                set.extend(access.scopes.iter().cloned());
            }
            set.retain(|s| app.scopes().contains(s));
        }
    }
    set
}

/// The scopes to put in `scp`: the requested names (all held), or everything held for
/// `.default`. Errors with 65001 when consent is missing.
pub(crate) fn delegated_scopes(
    client: &AppRegistration,
    request: &ResourceScopes<'_>,
    held: &BTreeSet<String>,
) -> Result<Vec<String>, AadError> {
    let consent = || {
        AadError::bad(
            "invalid_grant",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID \
                 '{}' named '{}'. Send an interactive authorization request for this user and \
                 resource.",
                client.client_id(),
                client.name()
            ),
        )
        .with_suberror("consent_required")
    };
    if request.default {
        if held.is_empty() {
            return Err(consent());
        }
        return Ok(held.iter().cloned().collect());
    }
    if request.names.iter().any(|n| !held.contains(n)) {
        return Err(consent());
    }
    Ok(request.names.clone())
}
