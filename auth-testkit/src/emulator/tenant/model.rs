//! The resolved tenant: users, app registrations, managed identities, with every derived value
//! filled in.

use std::fmt;

use aws_lc_rs::digest;

use crate::base64url;

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
    pub(super) tenant_id: String,
    pub(super) users: Vec<User>,
    pub(super) apps: Vec<AppRegistration>,
    pub(super) managed_identities: Vec<ManagedIdentity>,
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
    pub(super) name: String,
    pub(super) system_assigned: bool,
    pub(super) client_id: String,
    pub(super) object_id: String,
    pub(super) resource_id: String,
    pub(super) app_roles: Vec<UserAppRole>,
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
    pub(super) username: String,
    pub(super) name: String,
    pub(super) password: String,
    pub(super) object_id: String,
    pub(super) app_roles: Vec<UserAppRole>,
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
    pub(super) name: String,
    pub(super) client_id: String,
    pub(super) service_principal_id: String,
    pub(super) identifier_uris: Vec<String>,
    pub(super) secrets: Vec<String>,
    pub(super) certificates: Vec<ClientCertificate>,
    pub(super) redirect_uris: Vec<String>,
    pub(super) scopes: Vec<String>,
    pub(super) app_roles: Vec<AppRole>,
    pub(super) access_token_version: u8,
    pub(super) optional_claims: Vec<String>,
    pub(super) federated_credentials: Vec<FederatedCredential>,
    pub(super) required_resource_access: Vec<ResourceAccess>,
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
    pub(super) der: Vec<u8>,
    x5t: String,
    x5t_s256: String,
    /// PKCS#1 `RSAPublicKey` DER.
    pub(super) rsa_public_key: Vec<u8>,
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
