//! The tenant file: users and app registrations, as the seed creates them with Terraform.
//!
//! The format is TOML and fixed (other tools write it); `docs/emulator.md` is its reference.
//! Unknown keys are an error that names the line. References between apps (a
//! `required_resource_access` naming a resource, a scope or a role; a user's app role) are
//! checked at load, so a typo fails the start rather than a test.

mod error;
mod file;
mod guid;
mod model;
mod resolve;

use std::path::Path;

pub use error::TenantError;
pub use guid::derive_guid;
#[cfg(test)]
pub(crate) use guid::is_guid;
pub use model::{
    AppRegistration, AppRole, ClientCertificate, FederatedCredential, MODELLED_OPTIONAL_CLAIMS,
    ManagedIdentity, ResourceAccess, TOKEN_EXCHANGE_AUDIENCE, TenantConfig, User, UserAppRole,
};

use file::TenantFile;

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
pub const DEFAULT_TENANT_TOML: &str = include_str!("../../../tenants/default.toml");

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
        resolve::resolve(file, name, dir)
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
