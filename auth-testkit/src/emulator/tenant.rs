//! The tenant file: users and app registrations, as the seed creates them with Terraform.
//!
//! The format is TOML and fixed (other tools write it); `docs/emulator.md` is its reference.
//! Unknown keys are an error that names the line. References between apps (a
//! `required_resource_access` naming a resource, a scope or a role; a user's app role) are
//! checked at load, so a typo fails the start rather than a test.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use serde::Deserialize;

use crate::base64url;
use crate::ids;

/// The embedded default tenant: the seed's seven apps, a consumer without admin consent and
/// two users. `docs/emulator.md` holds a documented copy.
///
/// ```
/// use auth_testkit::emulator::{DEFAULT_TENANT_TOML, TenantConfig};
///
/// // Extend it: append apps (array-of-tables) and load the result.
/// let text = format!("{DEFAULT_TENANT_TOML}\n[[apps]]\nname = \"my-app\"\n");
/// assert!(TenantConfig::from_toml_str(&text).unwrap().app("my-app").is_some());
/// ```
pub const DEFAULT_TENANT_TOML: &str = include_str!("../../tenants/default.toml");

/// Why a tenant file was refused: a TOML error (with its line), an unknown key, or a broken
/// reference between apps.
///
/// ```
/// use auth_testkit::emulator::TenantConfig;
///
/// let err = TenantConfig::from_toml_str("tenant_id = \"8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10\"\ncolour = 1\n")
///     .unwrap_err();
/// assert_eq!(err.line(), Some(2));
/// assert!(err.to_string().contains("colour"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantError {
    source_name: String,
    line: Option<usize>,
    message: String,
}

impl TenantError {
    fn new(source_name: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        TenantError {
            source_name: source_name.to_owned(),
            line,
            message: message.into(),
        }
    }

    /// The 1-based line the error is on, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// What is wrong, without the file and line.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TenantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {line}: {}", self.source_name, self.message),
            None => write!(f, "{}: {}", self.source_name, self.message),
        }
    }
}

impl std::error::Error for TenantError {}

// ---------------------------------------------------------------------------------------------
// The file as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    tenant_id: Option<String>,
    #[serde(default)]
    users: Vec<UserFile>,
    #[serde(default)]
    apps: Vec<AppFile>,
    #[serde(default)]
    managed_identities: Vec<ManagedIdentityFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManagedIdentityFile {
    name: String,
    kind: String,
    client_id: Option<String>,
    object_id: Option<String>,
    resource_id: Option<String>,
    #[serde(default)]
    app_roles: Vec<UserAppRoleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FederatedCredentialFile {
    name: Option<String>,
    managed_identity: Option<String>,
    subject: Option<String>,
    audiences: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    username: String,
    name: String,
    password: String,
    object_id: Option<String>,
    #[serde(default)]
    app_roles: Vec<UserAppRoleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserAppRoleFile {
    resource: String,
    role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppFile {
    name: String,
    client_id: Option<String>,
    #[serde(default)]
    identifier_uris: Vec<String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    certificates: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    app_roles: Vec<AppRoleFile>,
    access_token_version: Option<u8>,
    #[serde(default)]
    optional_claims: Vec<String>,
    #[serde(default)]
    federated_credentials: Vec<FederatedCredentialFile>,
    #[serde(default)]
    required_resource_access: Vec<AccessFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppRoleFile {
    value: String,
    #[serde(default)]
    allowed_member_types: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessFile {
    resource: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    admin_consent: bool,
}

// ---------------------------------------------------------------------------------------------
// The resolved model.

/// A tenant: its id, users and app registrations, with every derived value filled in.
///
/// Load one with [`TenantConfig::default_tenant`], [`TenantConfig::from_toml_str`] or
/// [`TenantConfig::from_file`].
///
/// ```
/// use auth_testkit::emulator::TenantConfig;
///
/// let tenant = TenantConfig::default_tenant();
/// assert_eq!(tenant.tenant_id(), auth_testkit::ids::TENANT_ID);
/// let api = tenant.app("auth-code-api").unwrap();
/// assert_eq!(api.identifier_uris(), ["api://backend-api-id"]);
/// assert!(tenant.user("ALICE@example.onmicrosoft.com").is_some()); // case-insensitive
/// ```
#[derive(Clone, Debug)]
pub struct TenantConfig {
    tenant_id: String,
    users: Vec<User>,
    apps: Vec<AppRegistration>,
    managed_identities: Vec<ManagedIdentity>,
}

/// A managed identity (`[[managed_identities]]`): system-assigned (at most one, the host's) or
/// user-assigned, with the client id, object (principal) id and Azure resource id Azure gives
/// it, and the app roles assigned to its service principal.
///
/// ```
/// let tenant = auth_testkit::emulator::TenantConfig::from_toml_str(
///     "[[apps]]\nname = \"api\"\nidentifier_uris = [\"api://api\"]\n\
///      app_roles = [{ value = \"Do\", allowed_member_types = [\"Application\"] }]\n\
///      [[managed_identities]]\nname = \"worker\"\nkind = \"user_assigned\"\n\
///      app_roles = [{ resource = \"api://api\", role = \"Do\" }]\n",
/// )
/// .unwrap();
/// let mi = tenant.managed_identity("worker").unwrap();
/// assert!(!mi.is_system_assigned());
/// assert!(mi.resource_id().ends_with("/userAssignedIdentities/worker"));
/// ```
#[derive(Clone, Debug)]
pub struct ManagedIdentity {
    name: String,
    system_assigned: bool,
    client_id: String,
    object_id: String,
    resource_id: String,
    app_roles: Vec<UserAppRole>,
}

impl ManagedIdentity {
    /// The name (the user-assigned identity's resource name; the host's for system-assigned).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is the host's system-assigned identity.
    pub fn is_system_assigned(&self) -> bool {
        self.system_assigned
    }

    /// The client (application) id of its service principal: `appid` / `azp`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The object (principal) id of its service principal: `oid` and `sub`.
    pub fn object_id(&self) -> &str {
        &self.object_id
    }

    /// The Azure resource id (`msi_res_id` / `mi_res_id`).
    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// App roles assigned to its service principal.
    pub fn app_roles(&self) -> &[UserAppRole] {
        &self.app_roles
    }

    /// Its roles on the app with this client id.
    pub fn roles_for(&self, resource_client_id: &str) -> Vec<String> {
        self.app_roles
            .iter()
            .filter(|r| r.resource_client_id == resource_client_id)
            .map(|r| r.role.clone())
            .collect()
    }
}

/// The audience a federated identity credential expects by default: Entra's token exchange
/// audience (<https://learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity>).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A federated identity credential of an app: assertions the emulator itself issued (a managed
/// identity's token for [`TOKEN_EXCHANGE_AUDIENCE`]) with this subject and one of these
/// audiences authenticate the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedCredential {
    /// The credential's name.
    pub name: String,
    /// The assertion's expected `sub` (a managed identity's object id).
    pub subject: String,
    /// The assertion's accepted audiences.
    pub audiences: Vec<String>,
}

/// A user who can sign in.
///
/// ```
/// let tenant = auth_testkit::emulator::TenantConfig::default_tenant();
/// let alice = tenant.user("alice@example.onmicrosoft.com").unwrap();
/// assert_eq!(alice.object_id(), auth_testkit::ids::USER_OID);
/// assert_eq!(alice.app_roles()[0].role, "Case.Approver");
/// ```
#[derive(Clone, Debug)]
pub struct User {
    username: String,
    name: String,
    password: String,
    object_id: String,
    app_roles: Vec<UserAppRole>,
}

/// An app role assigned to a user: `role` of the app `resource_client_id`.
///
/// ```
/// let tenant = auth_testkit::emulator::TenantConfig::default_tenant();
/// let api = tenant.app("auth-code-api").unwrap();
/// let alice = tenant.user("alice@example.onmicrosoft.com").unwrap();
/// assert_eq!(alice.roles_for(api.client_id()), ["Case.Approver"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAppRole {
    /// The resource as written in the file (identifier URI, client id or app name).
    pub resource: String,
    /// The resource app's client id.
    pub resource_client_id: String,
    /// The role's value, e.g. `Case.Approver`.
    pub role: String,
}

/// An app registration (`azuread_application` plus its service principal).
///
/// ```
/// let tenant = auth_testkit::emulator::TenantConfig::default_tenant();
/// let api = tenant.app("obo-example-shared-api").unwrap();
/// assert_eq!(api.identifier_uri(), "api://shared-documents");
/// assert_eq!(api.access_token_version(), 2);
/// assert_eq!(api.audience(), api.client_id()); // v2 tokens: aud is the client id
/// assert_eq!(api.default_scope(), "api://shared-documents/.default");
/// ```
#[derive(Clone, Debug)]
pub struct AppRegistration {
    name: String,
    client_id: String,
    service_principal_id: String,
    identifier_uris: Vec<String>,
    secrets: Vec<String>,
    certificates: Vec<ClientCertificate>,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    app_roles: Vec<AppRole>,
    access_token_version: u8,
    optional_claims: Vec<String>,
    federated_credentials: Vec<FederatedCredential>,
    required_resource_access: Vec<ResourceAccess>,
}

/// The optional claims the emulator models (`optional_claims` in the tenant file). Entra emits
/// them in access tokens **for** an app only when that app's registration lists them
/// (<https://learn.microsoft.com/entra/identity-platform/optional-claims-reference>); without
/// the list, tokens carry Entra's defaults.
pub const MODELLED_OPTIONAL_CLAIMS: [&str; 1] = ["idtyp"];

/// An app role an app defines (`app_role`).
///
/// ```
/// let tenant = auth_testkit::emulator::TenantConfig::default_tenant();
/// let role = &tenant.app("s2s-example-api").unwrap().app_roles()[0];
/// assert_eq!(role.value, "Files.Write");
/// assert!(role.for_applications() && !role.for_users());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRole {
    /// The value put in `roles`, e.g. `Files.Write`.
    pub value: String,
    /// `"User"` and/or `"Application"`.
    pub allowed_member_types: Vec<String>,
}

impl AppRole {
    /// Whether applications (client credentials) can be granted this role.
    pub fn for_applications(&self) -> bool {
        self.allowed_member_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("Application"))
    }

    /// Whether users can be assigned this role.
    pub fn for_users(&self) -> bool {
        self.allowed_member_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("User"))
    }
}

/// What an app may call (`required_resource_access`), resolved.
///
/// ```
/// let tenant = auth_testkit::emulator::TenantConfig::default_tenant();
/// let access = &tenant.app("s2s-example-consumer-unconsented").unwrap().required_resource_access()[0];
/// assert_eq!(access.resource, "api://s2s-example-api");
/// assert_eq!(access.roles, ["Files.Write"]);
/// assert!(!access.admin_consent);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceAccess {
    /// The resource as written in the file (identifier URI, client id or app name).
    pub resource: String,
    /// The resource app's client id.
    pub resource_client_id: String,
    /// Delegated permissions (scope names).
    pub scopes: Vec<String>,
    /// Application permissions (app role values).
    pub roles: Vec<String>,
    /// Whether an admin consented: without it application roles are left out of tokens and
    /// delegated scopes need the user's consent.
    pub admin_consent: bool,
}

/// A public certificate registered for client assertions.
///
/// ```
/// use auth_testkit::emulator::ClientCertificate;
///
/// assert!(ClientCertificate::from_pem("not a certificate").is_err());
/// ```
#[derive(Clone)]
pub struct ClientCertificate {
    der: Vec<u8>,
    x5t: String,
    x5t_s256: String,
    /// PKCS#1 `RSAPublicKey` DER.
    rsa_public_key: Vec<u8>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t", &self.x5t)
            .field("x5t#S256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// Parses a PEM certificate holding an RSA public key.
    ///
    /// # Errors
    /// When the PEM holds no certificate or the key is not RSA.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| "no -----BEGIN CERTIFICATE----- block")?;
        ClientCertificate::from_der(der.to_vec())
    }

    /// Parses a DER certificate holding an RSA public key.
    ///
    /// # Errors
    /// When the certificate cannot be read or the key is not RSA.
    pub fn from_der(der: Vec<u8>) -> Result<Self, String> {
        let spki =
            crate::emulator::keys::certificate_spki(&der).ok_or("not an X.509 certificate")?;
        let public = aws_lc_rs::rsa::PublicKey::from_der(spki)
            .map_err(|_| "the certificate's key is not an RSA key of at least 2048 bits")?;
        Ok(ClientCertificate {
            x5t: base64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der)),
            x5t_s256: base64url(digest::digest(&digest::SHA256, &der)),
            rsa_public_key: public.as_ref().to_vec(),
            der,
        })
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Base64url SHA-1 thumbprint: the `x5t` of an RS256 client assertion.
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// Base64url SHA-256 thumbprint: the `x5t#S256` of a PS256 client assertion.
    pub fn x5t_s256(&self) -> &str {
        &self.x5t_s256
    }

    pub(crate) fn rsa_public_key(&self) -> &[u8] {
        &self.rsa_public_key
    }
}

/// A deterministic GUID from a kind and a name (SHA-256, version-5 layout).
///
/// ```
/// use auth_testkit::emulator::derive_guid;
///
/// let id = derive_guid("app", "my-app");
/// assert_eq!(id, derive_guid("app", "my-app"));
/// assert_eq!(id.len(), 36);
/// ```
pub fn derive_guid(kind: &str, name: &str) -> String {
    let d = digest::digest(
        &digest::SHA256,
        format!("tower-entra-emulator/{kind}/{name}").as_bytes(),
    );
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whether `s` is a GUID in the 8-4-4-4-12 form.
pub(crate) fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

impl TenantConfig {
    /// The embedded default tenant ([`DEFAULT_TENANT_TOML`]).
    ///
    /// # Panics
    /// Never: a unit test loads it.
    pub fn default_tenant() -> TenantConfig {
        TenantConfig::from_toml_str(DEFAULT_TENANT_TOML)
            .unwrap_or_else(|err| panic!("invariant: the embedded default tenant loads: {err}"))
    }

    /// Parses a tenant file. Certificate paths are relative to the current directory (an
    /// entry may also be an inline PEM certificate).
    ///
    /// # Errors
    /// A [`TenantError`] for bad TOML, an unknown key or a broken reference.
    pub fn from_toml_str(text: &str) -> Result<TenantConfig, TenantError> {
        TenantConfig::parse(text, "tenant file", None)
    }

    /// Reads and parses a tenant file; certificate paths are relative to the file.
    ///
    /// # Errors
    /// A [`TenantError`] when the file cannot be read or is invalid.
    pub fn from_file(path: impl AsRef<Path>) -> Result<TenantConfig, TenantError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|err| TenantError::new(&name, None, format!("cannot read: {err}")))?;
        TenantConfig::parse(&text, &name, path.parent())
    }

    fn parse(text: &str, name: &str, dir: Option<&Path>) -> Result<TenantConfig, TenantError> {
        let file: TenantFile = toml::from_str(text).map_err(|err| {
            let line = err.span().map(|span| line_of(text, span.start));
            TenantError::new(name, line, err.message().trim().to_owned())
        })?;
        resolve(file, name, dir)
    }

    /// The tenant (directory) id, lowercase.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The users.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The app registrations.
    pub fn apps(&self) -> &[AppRegistration] {
        &self.apps
    }

    /// The app with this display name.
    pub fn app(&self, name: &str) -> Option<&AppRegistration> {
        self.apps.iter().find(|a| a.name == name)
    }

    /// The app with this client id (case-insensitive).
    pub fn app_by_client_id(&self, client_id: &str) -> Option<&AppRegistration> {
        self.apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The app a resource reference names: an identifier URI (a trailing `/` is ignored), a
    /// client id, `api://{client id}`, or an app name.
    pub fn resource(&self, reference: &str) -> Option<&AppRegistration> {
        let r = reference.strip_suffix('/').unwrap_or(reference);
        self.apps
            .iter()
            .find(|a| {
                a.identifier_uris
                    .iter()
                    .any(|u| u.strip_suffix('/').unwrap_or(u).eq_ignore_ascii_case(r))
            })
            .or_else(|| self.app_by_client_id(r))
            .or_else(|| {
                r.strip_prefix("api://")
                    .and_then(|id| self.app_by_client_id(id))
            })
            .or_else(|| self.app(r))
    }

    /// The app a token request names as its resource, as Entra resolves it: one of its
    /// identifier URIs (case-insensitive, a trailing `/` ignored) or its client id. No app
    /// names, and no `api://{client id}` unless the app registered that URI.
    pub fn requested_resource(&self, reference: &str) -> Option<&AppRegistration> {
        let r = reference.strip_suffix('/').unwrap_or(reference);
        self.apps
            .iter()
            .find(|a| {
                a.identifier_uris
                    .iter()
                    .any(|u| u.strip_suffix('/').unwrap_or(u).eq_ignore_ascii_case(r))
            })
            .or_else(|| self.app_by_client_id(r))
    }

    /// The user with this username (case-insensitive).
    pub fn user(&self, username: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// The managed identities.
    pub fn managed_identities(&self) -> &[ManagedIdentity] {
        &self.managed_identities
    }

    /// The managed identity with this name.
    pub fn managed_identity(&self, name: &str) -> Option<&ManagedIdentity> {
        self.managed_identities.iter().find(|m| m.name == name)
    }

    /// The user with this object id.
    pub fn user_by_oid(&self, oid: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.object_id.eq_ignore_ascii_case(oid))
    }
}

fn resolve(file: TenantFile, name: &str, dir: Option<&Path>) -> Result<TenantConfig, TenantError> {
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

impl User {
    /// The sign-in name: `preferred_username` / `upn`.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The display name: `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The password the sign-in page accepts.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The object id: `oid`.
    pub fn object_id(&self) -> &str {
        &self.object_id
    }

    /// App roles assigned to the user.
    pub fn app_roles(&self) -> &[UserAppRole] {
        &self.app_roles
    }

    /// The user's roles on the app with this client id.
    pub fn roles_for(&self, resource_client_id: &str) -> Vec<String> {
        self.app_roles
            .iter()
            .filter(|r| r.resource_client_id == resource_client_id)
            .map(|r| r.role.clone())
            .collect()
    }
}

impl AppRegistration {
    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The application (client) id, lowercase.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The object id of the app's service principal: `oid` and `sub` of its app-only tokens.
    pub fn service_principal_id(&self) -> &str {
        &self.service_principal_id
    }

    /// The Application ID URIs.
    pub fn identifier_uris(&self) -> &[String] {
        &self.identifier_uris
    }

    /// The first Application ID URI, or the client id when it has none: an app without an
    /// identifier URI is named by its client id (Entra invents no `api://{client id}`).
    pub fn identifier_uri(&self) -> String {
        self.identifier_uris
            .first()
            .cloned()
            .unwrap_or_else(|| self.client_id.clone())
    }

    /// The optional claims listed on the registration (see [`MODELLED_OPTIONAL_CLAIMS`]).
    pub fn optional_claims(&self) -> &[String] {
        &self.optional_claims
    }

    /// The federated identity credentials (`[[apps.federated_credentials]]`).
    pub fn federated_credentials(&self) -> &[FederatedCredential] {
        &self.federated_credentials
    }

    /// Whether the registration lists the optional claim `name`.
    pub fn has_optional_claim(&self, name: &str) -> bool {
        self.optional_claims.iter().any(|c| c == name)
    }

    /// The client secrets.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The first client secret.
    ///
    /// # Panics
    /// When the app has none (a public client): test code asked for something absent.
    pub fn secret(&self) -> &str {
        self.secrets
            .first()
            .unwrap_or_else(|| panic!("app {:?} has no client secret", self.name))
    }

    /// The certificates registered for client assertions.
    pub fn certificates(&self) -> &[ClientCertificate] {
        &self.certificates
    }

    /// Whether the app has credentials (a confidential client) and so must authenticate.
    pub fn is_confidential(&self) -> bool {
        !self.secrets.is_empty()
            || !self.certificates.is_empty()
            || !self.federated_credentials.is_empty()
    }

    /// The redirect URIs.
    pub fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    /// The delegated permissions it exposes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The app roles it defines.
    pub fn app_roles(&self) -> &[AppRole] {
        &self.app_roles
    }

    /// `1` or `2`: the format of access tokens issued **for** this app.
    pub fn access_token_version(&self) -> u8 {
        self.access_token_version
    }

    /// What the app may call.
    pub fn required_resource_access(&self) -> &[ResourceAccess] {
        &self.required_resource_access
    }

    /// The `aud` of access tokens for this app requested by [`default_scope`](Self::default_scope):
    /// the first identifier URI or the client id (v1; Entra puts the resource exactly as
    /// requested), the client id (v2).
    pub fn audience(&self) -> String {
        if self.access_token_version == 2 {
            self.client_id.clone()
        } else {
            self.identifier_uri()
        }
    }

    /// `{identifier URI}/{scope}`: the full name to request a delegated scope of this app.
    ///
    /// ```
    /// let tenant = auth_testkit::emulator::TenantConfig::default_tenant();
    /// let api = tenant.app("auth-code-api").unwrap();
    /// assert_eq!(api.scope("Case.Create"), "api://backend-api-id/Case.Create");
    /// ```
    pub fn scope(&self, scope: &str) -> String {
        format!("{}/{scope}", self.identifier_uri())
    }

    /// `{identifier URI}/.default`.
    pub fn default_scope(&self) -> String {
        self.scope(".default")
    }

    /// The access this app declared for the resource with this client id.
    pub fn access_to(&self, resource_client_id: &str) -> Option<&ResourceAccess> {
        self.required_resource_access
            .iter()
            .find(|a| a.resource_client_id == resource_client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tenant_loads_with_the_seed_apps() {
        let t = TenantConfig::default_tenant();
        for name in [
            "obo-example-frontend",
            "obo-example-internal-api",
            "obo-example-shared-api",
            "s2s-example-consumer",
            "s2s-example-api",
            "auth-code-client",
            "auth-code-api",
            "s2s-example-consumer-unconsented",
        ] {
            assert!(t.app(name).is_some(), "{name}");
        }
        assert!(t.users().len() >= 2);
        assert_eq!(
            t.resource("api://shared-documents").unwrap().name(),
            "obo-example-shared-api"
        );
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let text = "tenant_id = \"8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10\"\n\n[[apps]]\nname = \"a\"\nscopez = []\n";
        let err = TenantConfig::from_toml_str(text).unwrap_err();
        assert_eq!(err.line(), Some(5), "{err}");
        assert!(err.message().contains("scopez"), "{err}");
    }

    #[test]
    fn broken_references_are_refused() {
        let text = "[[apps]]\nname = \"a\"\n[[apps.required_resource_access]]\nresource = \"api://nope\"\n";
        let err = TenantConfig::from_toml_str(text).unwrap_err();
        assert!(err.message().contains("api://nope"), "{err}");
        let text = "[[apps]]\nname = \"b\"\nscopes = [\"x\"]\n[[apps]]\nname = \"a\"\n[[apps.required_resource_access]]\nresource = \"b\"\nscopes = [\"y\"]\n";
        let err = TenantConfig::from_toml_str(text).unwrap_err();
        assert!(err.message().contains("no scope \"y\""), "{err}");
    }

    #[test]
    fn guids_are_derived_deterministically() {
        let t = TenantConfig::from_toml_str("[[apps]]\nname = \"x\"\n").unwrap();
        assert_eq!(t.apps()[0].client_id(), derive_guid("app", "x"));
        assert!(is_guid(&derive_guid("user", "u")));
    }
}
