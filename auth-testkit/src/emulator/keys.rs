//! The emulator's signing keys: RSA 2048, each with a self-signed certificate (`x5c`), `kid` =
//! `x5t` = the certificate's SHA-1 thumbprint, as Entra publishes them.

use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::base64url;

/// One signing key and its certificate.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pair: RsaKeyPair,
    cert_der: Vec<u8>,
}

impl SigningKey {
    /// A fresh RSA 2048 key.
    pub(crate) fn generate() -> Result<SigningKey, String> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| format!("cannot generate an RSA key: {e}"))?;
        let pkcs8 = pair
            .as_der()
            .map_err(|e| format!("cannot encode the RSA key: {e}"))?;
        SigningKey::from_pkcs8(pkcs8.as_ref())
    }

    /// A key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub(crate) fn from_pkcs8_pem(pem: &str) -> Result<SigningKey, String> {
        use rustls::pki_types::PrivatePkcs8KeyDer;
        use rustls::pki_types::pem::PemObject as _;
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| "the signing key is not a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)")?;
        SigningKey::from_pkcs8(der.secret_pkcs8_der())
    }

    /// A key from PKCS#8 DER.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<SigningKey, String> {
        let pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| format!("the signing key is not an RSA key of 2048+ bits: {e}"))?;
        let rcgen_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &der.to_vec().into(),
            &rcgen::PKCS_RSA_SHA256,
        )
        .map_err(|e| format!("cannot use the signing key for a certificate: {e}"))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| format!("certificate parameters: {e}"))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "accounts.accesscontrol.windows.net",
        );
        let cert = params
            .self_signed(&rcgen_key)
            .map_err(|e| format!("cannot sign the key's certificate: {e}"))?;
        let cert_der = cert.der().to_vec();
        let kid = base64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &cert_der));
        Ok(SigningKey {
            kid,
            pair,
            cert_der,
        })
    }

    /// The JWK as Entra publishes it, with `issuer` = `issuer_template`.
    pub(crate) fn jwk(&self, issuer_template: &str) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": base64url(public.modulus().big_endian_without_leading_zero()),
            "e": base64url(public.exponent().big_endian_without_leading_zero()),
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.cert_der)],
            "issuer": issuer_template,
        })
    }

    /// Whether `signature` is this key's RS256 signature over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            self.pair.public_key().as_ref(),
        )
        .verify(message, signature)
        .is_ok()
    }

    /// RS256 signature over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; self.pair.public_modulus_len()];
        match self.pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message,
            &mut sig,
        ) {
            Ok(()) => sig,
            // Signing with a valid key into a modulus-sized buffer cannot fail; an empty
            // signature makes the token invalid rather than the emulator crash.
            Err(_) => Vec::new(),
        }
    }
}

/// The published keys and the one that signs. Keys are published, made active and withdrawn
/// as separate steps, so tests can play every phase of a rollover.
pub(crate) struct KeyRing {
    pub(crate) published: Vec<Arc<SigningKey>>,
    pub(crate) active: Arc<SigningKey>,
}

impl KeyRing {
    pub(crate) fn new(key: SigningKey) -> KeyRing {
        let key = Arc::new(key);
        KeyRing {
            published: vec![Arc::clone(&key)],
            active: key,
        }
    }

    /// The JWKS document with `issuer` templates.
    pub(crate) fn jwks(&self, issuer_template: &str) -> Value {
        json!({ "keys": self.published.iter().map(|k| k.jwk(issuer_template)).collect::<Vec<_>>() })
    }
}

/// The `SubjectPublicKeyInfo` DER inside an X.509 certificate (a minimal DER walk).
pub(crate) fn certificate_spki(cert: &[u8]) -> Option<&[u8]> {
    let (tag, cert_body, _) = der_element(cert)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = der_element(cert_body)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = tbs;
    // [0] version (optional), serial, signature, issuer, validity, subject, SPKI.
    if rest.first() == Some(&0xa0) {
        rest = der_element(rest)?.2;
    }
    for _ in 0..5 {
        rest = der_element(rest)?.2;
    }
    let (tag, _, after) = der_element(rest)?;
    if tag != 0x30 {
        return None;
    }
    Some(&rest[..rest.len() - after.len()])
}

/// (tag, contents, rest) of the first DER element of `input`.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((tag, &input[header..end], &input[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TestKey;

    #[test]
    fn a_key_has_a_certificate_whose_thumbprint_is_its_kid() {
        let key = SigningKey::from_pkcs8(TestKey::rsa_a().pkcs8_der()).unwrap();
        let jwk = key.jwk("https://x/{tenantid}/v2.0");
        assert_eq!(jwk["kid"], jwk["x5t"]);
        let spki = certificate_spki(&key.cert_der).unwrap();
        assert_eq!(spki, TestKey::rsa_a().public_key_der());
        assert!(certificate_spki(b"\x30\x03\x02\x01\x01").is_none());
        assert!(certificate_spki(b"").is_none());
    }
}
