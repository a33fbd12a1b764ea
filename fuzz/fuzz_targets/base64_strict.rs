//! Differential check of the strict base64url decoder `auth-layer` uses for token segments
//! (`jws.rs`: base64 0.23's `Simd` engine, AVX2 when the CPU has it) against the scalar
//! `GeneralPurpose` engine with the same configuration, and against canonical re-encoding.
//! `jws.rs` claims the SIMD engine "accepts exactly what the scalar engine accepts"; this target
//! checks that claim on arbitrary input (and, under ASan, the `unsafe` SIMD kernels' bounds).
//!
//! The configuration below must stay identical to `STRICT_CONFIG` in `auth-layer/src/jws.rs`.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, Simd};
use libfuzzer_sys::fuzz_target;

const STRICT_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::RequireNone)
    .with_decode_allow_trailing_bits(false);

static SIMD: LazyLock<Simd> = LazyLock::new(|| Simd::url_safe(STRICT_CONFIG));
const SCALAR: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, STRICT_CONFIG);

/// `jws::MAX_SIGNATURE_LEN`.
const MAX_SIGNATURE_LEN: usize = 1024;

fuzz_target!(|data: &[u8]| {
    // Whole input, and every suffix from a few offsets (SIMD blocks are 32 bytes: shifting the
    // input moves bad bytes and the tail across block boundaries).
    for start in [0, 1, 3, 31, 32, 33] {
        let Some(input) = data.get(start..) else {
            break;
        };
        let simd = SIMD.decode(input);
        let scalar = SCALAR.decode(input);
        match (&simd, &scalar) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "decoders disagree on the bytes"),
            (Err(_), Err(_)) => {}
            _ => panic!("SIMD {simd:?} vs scalar {scalar:?} for {input:?}"),
        }
        if let Ok(bytes) = &simd {
            // Strict decoding accepts only canonical text.
            assert_eq!(
                SCALAR.encode(bytes).as_bytes(),
                input,
                "non-canonical text accepted"
            );
        }

        // The allocation-free path `decode_signature` uses.
        if input.len() <= (MAX_SIGNATURE_LEN * 4).div_ceil(3) {
            let mut buf_simd = [0u8; MAX_SIGNATURE_LEN];
            let mut buf_scalar = [0u8; MAX_SIGNATURE_LEN];
            let a = SIMD.decode_slice(input, &mut buf_simd);
            let b = SCALAR.decode_slice(input, &mut buf_scalar);
            match (a, b) {
                (Ok(n), Ok(m)) => {
                    assert_eq!(n, m);
                    assert_eq!(buf_simd[..n], buf_scalar[..m]);
                    assert_eq!(Some(&buf_simd[..n]), simd.as_deref().ok());
                }
                (Err(_), Err(_)) => assert!(simd.is_err()),
                (a, b) => panic!("decode_slice: SIMD {a:?} vs scalar {b:?} for {input:?}"),
            }
        }
    }
});
