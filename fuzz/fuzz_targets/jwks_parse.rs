//! Raw bytes as a JWKS document: `KeySet::from_jwks_json` must never panic, and a set it
//! returns must hold only keys that are usable and consistent with the document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_entra_fuzz::check_key_set;

fuzz_target!(|data: &[u8]| {
    check_key_set(data);
});
