#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
//! Test keys, Entra-shaped test tokens and deliberately broken tokens for
//! `tower-entra`: everything a test needs, nothing production needs.
//!
//! - [`keys`]: deterministic, checked-in key pairs ([`TestKey`]) and the JWKS
//!   documents and `auth_layer::KeySet`s built from them.
//! - [`mint`]: [`TokenBuilder`], which mints Microsoft Entra ID shaped access
//!   tokens (v1 and v2, delegated and app-only), ID tokens and Graph tokens in
//!   one call, plus the well-known test identifiers in [`ids`].
//! - [`dangerous`]: tokens that are broken on purpose (`alg: none`, HMAC key
//!   confusion, duplicate members, non-canonical base64url, bad ECDSA
//!   signatures, ...), so that security tests read as a table.
//! - [`emulator`]: a local Entra ID ([`Emulator`]) on `127.0.0.1:0`: discovery, keys, a
//!   sign-in page and a token endpoint that enforces the tenant's app registrations (also the
//!   `entra-emulator` binary; see `docs/emulator.md`).
//!
//! Nothing here leaves the machine (the emulator and the JWKS server listen on
//! loopback only), and every key is public test material: never use this crate
//! outside tests.
//!
//! ```
//! use auth_testkit::{TestKey, TokenBuilder, ids};
//! use serde_json::json;
//!
//! // An Entra v2 delegated access token for the test API, signed by rsa-a.
//! let token = TokenBuilder::delegated().scopes("Case.Create Files.Read").sign();
//! assert_eq!(token.split('.').count(), 3);
//!
//! // The same, from another tenant, signed by the attacker's key.
//! let evil = TokenBuilder::delegated()
//!     .tenant(ids::OTHER_TENANT_ID)
//!     .key(TestKey::rsa_untrusted())
//!     .claim("xms_evil", json!(true))
//!     .sign();
//! assert_ne!(token, evil);
//!
//! // Serve this JWKS to the validator under test.
//! let jwks = auth_testkit::default_jwks_json();
//! assert!(jwks.contains("testkit-rsa-a"));
//! ```

mod clock;
pub mod dangerous;
pub mod emulator;
pub mod jwks_server;
pub mod keys;
pub mod mint;

pub use clock::AdvancingClock;
pub use emulator::{Emulator, EmulatorBuilder};
pub use keys::{
    TestKey, default_jwks, default_jwks_json, default_keys, default_keyset, jwks, jwks_json, keyset,
};
pub use mint::ids::*;
pub use mint::{TokenBuilder, ids, now};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Keeps the README's example compiling and passing.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Base64url without padding (RFC 7515 section 2), the encoding of every JWS
/// segment and JWK member.
///
/// ```
/// assert_eq!(auth_testkit::base64url(b"\xfb\xff"), "-_8");
/// ```
pub fn base64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding: no padding, no `+` or `/`, no whitespace, and
/// zero trailing bits. `None` for anything else.
///
/// ```
/// assert_eq!(auth_testkit::base64url_decode("-_8").unwrap(), b"\xfb\xff");
/// assert!(auth_testkit::base64url_decode("-_9").is_none()); // non-zero trailing bits
/// assert!(auth_testkit::base64url_decode("-_8=").is_none()); // padding
/// ```
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}
