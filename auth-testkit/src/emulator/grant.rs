//! The token-endpoint grants the emulator counts.

/// A token-endpoint grant, for the per-grant request counters.
///
/// ```
/// use auth_testkit::emulator::{Emulator, Grant};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let idp = Emulator::start().await;
/// assert_eq!(idp.token_requests(Grant::OnBehalfOf), 0);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grant {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials`.
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` with `requested_token_use=on_behalf_of`.
    OnBehalfOf,
    /// Anything else (missing or unsupported `grant_type`).
    Other,
    /// A managed-identity token request (IMDS or the App Service identity endpoint).
    ManagedIdentity,
}

impl Grant {
    pub(crate) const ALL: [Grant; 6] = [
        Grant::AuthorizationCode,
        Grant::RefreshToken,
        Grant::ClientCredentials,
        Grant::OnBehalfOf,
        Grant::Other,
        Grant::ManagedIdentity,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            Grant::AuthorizationCode => 0,
            Grant::RefreshToken => 1,
            Grant::ClientCredentials => 2,
            Grant::OnBehalfOf => 3,
            Grant::Other => 4,
            Grant::ManagedIdentity => 5,
        }
    }

    /// The `grant_type` value (`"other"` for [`Grant::Other`]).
    ///
    /// ```
    /// assert_eq!(auth_testkit::emulator::Grant::ClientCredentials.as_str(), "client_credentials");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
            Grant::OnBehalfOf => "on_behalf_of",
            Grant::Other => "other",
            Grant::ManagedIdentity => "managed_identity",
        }
    }
}
