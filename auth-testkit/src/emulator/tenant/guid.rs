//! GUIDs: derived deterministically from names, and recognised.

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
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whether `s` is a GUID in the 8-4-4-4-12 form.
pub(crate) fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}
