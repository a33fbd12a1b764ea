//! Random values (state, nonce, PKCE verifier, `jti`, request ids) from the system CSPRNG, and
//! base64url.

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;

use crate::Error;

/// Base64url without padding.
pub(crate) fn b64url(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `N` random bytes.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| Error::Credential("the system random number generator failed".to_owned()))?;
    Ok(b)
}

/// 32 random bytes, base64url (43 characters): state, nonce, PKCE verifier.
pub(crate) fn token() -> Result<String, Error> {
    Ok(b64url(bytes::<32>()?))
}

/// A random GUID (version 4): `jti`, `client-request-id`.
pub(crate) fn guid() -> Result<String, Error> {
    let mut b = bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(auth_layer::authority::Guid::from_bytes(b).to_string())
}

/// A random fraction in `[0, 1)` for jitter (0.5 if the generator fails: jitter is no
/// security property).
pub(crate) fn fraction() -> f64 {
    bytes::<4>().map_or(0.5, |b| {
        f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_random_and_well_formed() {
        assert_ne!(token().unwrap(), token().unwrap());
        assert_eq!(token().unwrap().len(), 43);
        let g = guid().unwrap();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        let f = fraction();
        assert!((0.0..1.0).contains(&f));
    }
}
