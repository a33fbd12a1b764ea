//! [`ConfidentialClient::from_env`]: the Azure SDK's environment variables.

use crate::client::builder::ConfidentialClientBuilder;
use crate::client::{ConfidentialClient, DEFAULT_INSTANCE};
use tracing::info;

use crate::credential::ClientCredential;
use crate::error::BuildError;
use crate::managed_identity::ManagedIdentity;

impl ConfidentialClient {
    /// A configuration from the Azure SDK's environment variables (those of
    /// `EnvironmentCredential` and `WorkloadIdentityCredential`):
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `AZURE_TENANT_ID` | the tenant (required) |
    /// | `AZURE_CLIENT_ID` | the app's client id (required) |
    /// | `AZURE_AUTHORITY_HOST` | the instance, default `https://login.microsoftonline.com` |
    /// | `AZURE_CLIENT_SECRET` | a client secret, or … |
    /// | `AZURE_CLIENT_CERTIFICATE_PATH` | a PEM file with the certificate and its private key (re-read when it changes), or … |
    /// | `AZURE_FEDERATED_TOKEN_FILE` | a file holding a federated token, read on every request (AKS workload identity) |
    /// | `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` | `1` or `true`: send `x5c` with certificate assertions |
    /// | `AZURE_MANAGED_IDENTITY_CLIENT_ID` | without any of the three credentials above: the client id of the user-assigned managed identity that is the app's federated credential; unset: the system-assigned identity |
    ///
    /// The first credential variable set wins, in that order (as `EnvironmentCredential`,
    /// then `WorkloadIdentityCredential`); without any, the resource's managed identity (App
    /// Service's `IDENTITY_ENDPOINT` / `IDENTITY_HEADER`, else IMDS) is the federated
    /// credential ([`ClientCredential::managed_identity`]). `AZURE_CLIENT_ID` is the app
    /// registration here, so a user-assigned identity is named by
    /// `AZURE_MANAGED_IDENTITY_CLIENT_ID` (this crate's name, after the `managedIdentityClientId`
    /// setting of Microsoft.Extensions.Azure's `managedidentityasfederatedidentity` credential;
    /// azure-identity has no environment variable for this combination). To authenticate *as*
    /// a managed identity, without an app registration, use
    /// [`ManagedIdentity::from_env`](crate::ManagedIdentity::from_env), which reads
    /// `AZURE_CLIENT_ID` as `DefaultAzureCredential` does. The choice is logged at `info`. PFX
    /// certificates
    /// (`AZURE_CLIENT_CERTIFICATE_PASSWORD`) are not supported: convert to PEM. The returned
    /// builder takes further settings (`http_client`, `cache`, …).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = auth_client::ConfidentialClient::from_env()?.build()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`BuildError::MissingVariable`] when the tenant or the client id is missing;
    /// [`BuildError::Certificate`] when the certificate file cannot be
    /// read or parsed.
    pub fn from_env() -> Result<ConfidentialClientBuilder, BuildError> {
        from_vars(|name| std::env::var(name).ok())
    }
}

/// [`ConfidentialClient::from_env`] over any variable source.
pub(crate) fn from_vars(
    var: impl Fn(&str) -> Option<String>,
) -> Result<ConfidentialClientBuilder, BuildError> {
    let var = |name: &str| {
        var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let tenant = var("AZURE_TENANT_ID").ok_or(BuildError::MissingVariable("AZURE_TENANT_ID"))?;
    let client_id = var("AZURE_CLIENT_ID").ok_or(BuildError::MissingVariable("AZURE_CLIENT_ID"))?;
    let instance = var("AZURE_AUTHORITY_HOST").unwrap_or_else(|| DEFAULT_INSTANCE.to_owned());
    let builder = ConfidentialClient::builder()
        .instance(instance.trim_end_matches('/'))
        .tenant_id(tenant)
        .client_id(client_id);
    if let Some(secret) = var("AZURE_CLIENT_SECRET") {
        info!(
            credential = "client secret",
            "from_env: AZURE_CLIENT_SECRET"
        );
        return Ok(builder.client_secret(secret));
    }
    if let Some(path) = var("AZURE_CLIENT_CERTIFICATE_PATH") {
        // Re-read when the file changes: a renewed certificate needs no restart.
        let credential = ClientCredential::certificate_file(path)?;
        let chain = var("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        info!(
            credential = "certificate",
            "from_env: AZURE_CLIENT_CERTIFICATE_PATH"
        );
        return Ok(builder.credential(credential).send_certificate_chain(chain));
    }
    if let Some(path) = var("AZURE_FEDERATED_TOKEN_FILE") {
        info!(
            credential = "federated token file",
            "from_env: AZURE_FEDERATED_TOKEN_FILE"
        );
        return Ok(builder.federated_token_file(path));
    }
    // Last: the resource's managed identity as the federated credential (App Service's
    // IDENTITY_ENDPOINT / IDENTITY_HEADER, else IMDS); user-assigned when
    // AZURE_MANAGED_IDENTITY_CLIENT_ID names one.
    let identity = match var("AZURE_MANAGED_IDENTITY_CLIENT_ID") {
        Some(id) => ManagedIdentity::builder().user_assigned_client_id(id),
        None => ManagedIdentity::builder(),
    }
    .build()?;
    info!(
        credential = "managed identity",
        identity = ?identity,
        "from_env: no AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or \
         AZURE_FEDERATED_TOKEN_FILE; using the managed identity as federated credential"
    );
    Ok(builder.credential(ClientCredential::managed_identity(identity)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn required_variables_are_named() {
        let err = from_vars(vars(&[])).unwrap_err();
        assert_eq!(err, BuildError::MissingVariable("AZURE_TENANT_ID"));
        let err = from_vars(vars(&[("AZURE_TENANT_ID", "t")])).unwrap_err();
        assert_eq!(err, BuildError::MissingVariable("AZURE_CLIENT_ID"));
        // Without a credential variable: the managed identity, last in the chain.
        let builder = from_vars(vars(&[
            ("AZURE_TENANT_ID", "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10"),
            ("AZURE_CLIENT_ID", "c"),
        ]))
        .unwrap();
        let client = builder.build().unwrap();
        assert!(
            format!("{client:?}").contains("AssertionCallback"),
            "{client:?}"
        );
    }

    #[test]
    fn the_secret_wins_and_the_host_defaults_to_the_public_cloud() {
        let client = from_vars(vars(&[
            ("AZURE_TENANT_ID", "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s3cret"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/nope"),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(
            client.authority(),
            "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10"
        );
        let debug = format!("{client:?}");
        assert!(
            debug.contains("Secret([redacted])") && !debug.contains("s3cret"),
            "{debug}"
        );
    }

    #[test]
    fn a_user_assigned_identity_is_named_by_azure_managed_identity_client_id() {
        let client = from_vars(vars(&[
            ("AZURE_TENANT_ID", "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10"),
            ("AZURE_CLIENT_ID", "3cf5bd16-b241-5dac-9ff4-414b25bed2f2"),
            (
                "AZURE_MANAGED_IDENTITY_CLIENT_ID",
                "11111111-2222-3333-4444-555555555555",
            ),
        ]))
        .unwrap()
        .build()
        .unwrap();
        // The app registration stays AZURE_CLIENT_ID; the identity is the federated credential.
        assert_eq!(client.client_id(), "3cf5bd16-b241-5dac-9ff4-414b25bed2f2");
        assert!(
            format!("{client:?}").contains("AssertionCallback"),
            "{client:?}"
        );
    }

    #[test]
    fn managed_identity_from_env_reads_azure_client_id_as_default_azure_credential_does() {
        use crate::managed_identity::{ManagedIdentityId, builder_from_vars};
        let identity = builder_from_vars(vars(&[(
            "AZURE_CLIENT_ID",
            " 11111111-2222-3333-4444-555555555555 ",
        )]))
        .imds_endpoint("http://127.0.0.1:1/metadata/identity/oauth2/token")
        .build()
        .unwrap();
        assert_eq!(
            identity.id(),
            &ManagedIdentityId::ClientId("11111111-2222-3333-4444-555555555555".into())
        );
        let identity = builder_from_vars(vars(&[("AZURE_CLIENT_ID", "  ")]))
            .imds_endpoint("http://127.0.0.1:1/metadata/identity/oauth2/token")
            .build()
            .unwrap();
        assert_eq!(identity.id(), &ManagedIdentityId::SystemAssigned);
    }

    #[test]
    fn an_unreadable_certificate_file_is_reported() {
        let err = from_vars(vars(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/no/such/file.pem"),
        ]))
        .unwrap_err();
        assert!(matches!(err, BuildError::Certificate(_)), "{err}");
    }
}
