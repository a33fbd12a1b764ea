//! PKCE (RFC 7636): whether a code verifier matches the challenge of the authorize request.

use aws_lc_rs::digest;

use crate::base64url;

/// `BASE64URL(SHA256(verifier)) == challenge` (S256) or `verifier == challenge` (plain).
pub(crate) fn pkce_matches(verifier: &str, challenge: &str, method: &str) -> bool {
    if verifier.is_empty() {
        return false;
    }
    if method.eq_ignore_ascii_case("plain") {
        return verifier == challenge;
    }
    base64url(digest::digest(&digest::SHA256, verifier.as_bytes())) == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_and_plain() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge, "S256"));
        assert!(!pkce_matches("other", challenge, "S256"));
        assert!(pkce_matches("abc", "abc", "plain"));
        assert!(!pkce_matches("", "", "plain"));
    }
}
