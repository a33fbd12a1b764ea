//! The JWS signature algorithms this crate can verify.

use std::fmt;

/// A JWS `alg` this crate can verify (RFC 7518 §3).
///
/// Symmetric algorithms (`HS256`…) and `none` are deliberately absent: a resource server that
/// verifies with a public key must never accept them (CVE-2016-10555, RFC 8725 §2.1).
/// Only [`Algorithm::RS256`] is allowed by default; the others are opt-in through
/// [`ValidatorBuilder::algorithms`](crate::ValidatorBuilder::algorithms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (what Entra ID uses).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256 (fixed-length `r || s` signature).
    ES256,
    /// ECDSA on P-384 with SHA-384 (fixed-length `r || s` signature).
    ES384,
}

impl Algorithm {
    /// All algorithms, in a fixed order (used to index pre-parsed keys).
    pub(crate) const ALL: [Algorithm; 8] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
    ];

    /// The registered name, as it appears in a JOSE header.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
        }
    }

    /// Parses a registered name. Matching is exact (JOSE names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether this algorithm needs an RSA key.
    pub const fn is_rsa(self) -> bool {
        !matches!(self, Algorithm::ES256 | Algorithm::ES384)
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of allowed algorithms (a tiny bit set).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlgorithmSet(u16);

impl AlgorithmSet {
    pub(crate) const fn empty() -> Self {
        Self(0)
    }
    pub(crate) const fn only(alg: Algorithm) -> Self {
        Self(1 << alg as u16)
    }
    pub(crate) fn insert(&mut self, alg: Algorithm) {
        self.0 |= 1 << alg as u16;
    }
    pub(crate) const fn contains(self, alg: Algorithm) -> bool {
        self.0 & (1 << alg as u16) != 0
    }
    pub(crate) const fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub(crate) fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.as_str()), Some(alg));
        }
        assert_eq!(Algorithm::from_name("rs256"), None);
        assert_eq!(Algorithm::from_name("HS256"), None);
        assert_eq!(Algorithm::from_name("none"), None);
    }

    #[test]
    fn set_membership() {
        let mut set = AlgorithmSet::only(Algorithm::RS256);
        assert!(set.contains(Algorithm::RS256));
        assert!(!set.contains(Algorithm::ES256));
        set.insert(Algorithm::ES256);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Algorithm::RS256, Algorithm::ES256]
        );
    }
}
