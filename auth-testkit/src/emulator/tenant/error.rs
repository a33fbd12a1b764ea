//! [`TenantError`]: why a tenant file was refused.

use std::fmt;

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
    pub(super) source_name: String,
    pub(super) line: Option<usize>,
    pub(super) message: String,
}

impl TenantError {
    pub(super) fn new(source_name: &str, line: Option<usize>, message: impl Into<String>) -> Self {
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
