//! GUIDs: derived deterministically from names, and recognised.

use auth_layer::authority::Guid;
use aws_lc_rs::digest;

/// A deterministic GUID from a kind and a name (SHA-256, version-5 layout).
///
/// ```
/// use auth_testkit::emulator::derive_guid;
///
/// let id = derive_guid("app", "my-app");
/// assert_eq!(id, derive_guid("app", "my-app"));
/// assert_eq!(id.len(), 36);
/// ```
pub fn derive_guid(kind: &str, name: &str) -> String {
    let d = digest::digest(
        &digest::SHA256,
        format!("tower-entra-emulator/{kind}/{name}").as_bytes(),
    );
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    Guid::from_bytes(b).to_string()
}

/// Whether `s` is a GUID in the 8-4-4-4-12 form (either case).
pub(crate) fn is_guid(s: &str) -> bool {
    Guid::parse(s).is_ok()
}
