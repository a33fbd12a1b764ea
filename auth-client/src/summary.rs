//! A user-safe summary of an [`Error`], for pages and traces.

use crate::error::Error;

impl Error {
    /// A short summary safe to show a user or put in a page: the OAuth `error` and the AADSTS
    /// codes (e.g. `invalid_grant (AADSTS500133)`), or a fixed text for local failures — never
    /// the provider's description, a token or a secret.
    ///
    /// ```
    /// assert_eq!(
    ///     auth_client::Error::StateMismatch.summary(),
    ///     "the state does not match this session"
    /// );
    /// ```
    pub fn summary(&self) -> String {
        match self.server_error() {
            Some(server) => {
                let codes: Vec<String> = server
                    .aadsts_codes()
                    .iter()
                    .map(|c| format!("AADSTS{c}"))
                    .collect();
                if codes.is_empty() {
                    server.error().to_owned()
                } else {
                    format!("{} ({})", server.error(), codes.join(", "))
                }
            }
            None => match self {
                Error::StateMismatch => "the state does not match this session".to_owned(),
                Error::NonceMismatch => "the ID token's nonce does not match".to_owned(),
                Error::MissingCode => "the callback has no code".to_owned(),
                _ if self.is_transient() => "the identity provider is unavailable".to_owned(),
                _ => "the identity provider's answer was not usable".to_owned(),
            },
        }
    }
}
