//! Compact JWS (RFC 7515 §7.1) parsing: structure, canonical base64url, the JOSE header.

use std::borrow::Cow;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig, Simd};

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::error::{TokenPart, ValidationError};
use crate::json::{self, Captured, JsonError};
use crate::key_set::MAX_KID_LEN;

/// Canonical base64url: URL-safe alphabet, no padding, no non-zero trailing bits (checklist 18).
const STRICT_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::RequireNone)
    .with_decode_allow_trailing_bits(false);

/// The strict decoder: base64's SIMD engine (AVX2 / NEON when the CPU has it, detected once,
/// otherwise its scalar engine). It decodes whole valid 32-byte blocks in SIMD and leaves any
/// block with a byte outside the alphabet, and the final quad (trailing bits, length), to the
/// scalar decoder with the same strict configuration, so it accepts exactly what the scalar
/// engine accepts.
static STRICT: LazyLock<Simd> = LazyLock::new(|| Simd::url_safe(STRICT_CONFIG));

/// The largest signature we decode: an RSA-8192 signature is 1,024 bytes.
pub(crate) const MAX_SIGNATURE_LEN: usize = 1024;

/// The stack buffer for signatures: room for RSA-4096 (512 bytes, 683 characters, which the
/// decoder sizes conservatively as 171 quads of 3 bytes). Larger ones are decoded on the heap.
pub(crate) const SIGNATURE_STACK_LEN: usize = 513;

/// The stack buffer for headers (a typical header decodes to about 100 bytes); longer headers
/// are decoded on the heap.
pub(crate) const HEADER_STACK_LEN: usize = 512;

/// The three segments of a compact JWS, still encoded.
pub(crate) struct Compact<'t> {
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
    /// `header || '.' || payload`: the JWS signing input.
    pub(crate) signing_input: &'t [u8],
}

/// Splits a token into its three segments at its two dots (the signature may be empty: the
/// caller reports that after the header, so `alg: none` is named as such). Any other byte that
/// is not base64url is refused by the strict decoder of its segment.
pub(crate) fn split(token: &str) -> Result<Compact<'_>, ValidationError> {
    // `find`/`rfind`/`contains` of a `char` use core's word-at-a-time memchr.
    let (Some(first), Some(second)) = (token.find('.'), token.rfind('.')) else {
        return Err(ValidationError::NotCompactJws);
    };
    if first == second || token[first + 1..second].contains('.') {
        // Two or four-plus segments (JWE has five).
        return Err(ValidationError::NotCompactJws);
    }
    if first == 0 || second == first + 1 {
        // An empty header or payload.
        return Err(ValidationError::NotCompactJws);
    }
    Ok(Compact {
        header: &token[..first],
        payload: &token[first + 1..second],
        signature: &token[second + 1..],
        signing_input: &token.as_bytes()[..second],
    })
}

/// Decodes one segment strictly.
pub(crate) fn decode(segment: &str, part: TokenPart) -> Result<Vec<u8>, ValidationError> {
    STRICT
        .decode(segment)
        .map_err(|_| ValidationError::InvalidBase64(part))
}

/// Decodes one segment strictly into `stack` when it fits, else into `heap`.
fn decode_into<'b>(
    segment: &str,
    stack: &'b mut [u8],
    heap: &'b mut Vec<u8>,
    part: TokenPart,
) -> Result<&'b [u8], ValidationError> {
    // The decoder wants room for whole quads of 3 bytes.
    if segment.len().div_ceil(4) * 3 <= stack.len() {
        let len = STRICT
            .decode_slice(segment, stack)
            .map_err(|_| ValidationError::InvalidBase64(part))?;
        Ok(&stack[..len])
    } else {
        *heap = decode(segment, part)?;
        Ok(heap)
    }
}

/// Decodes the header into `stack` (or `heap` when it is long) and checks it is UTF-8.
pub(crate) fn decode_header<'b>(
    segment: &str,
    stack: &'b mut [u8; HEADER_STACK_LEN],
    heap: &'b mut Vec<u8>,
) -> Result<&'b str, ValidationError> {
    let bytes = decode_into(segment, stack, heap, TokenPart::Header)?;
    std::str::from_utf8(bytes).map_err(|_| ValidationError::InvalidJson(TokenPart::Header))
}

/// Decodes the signature into `stack`, or into `heap` for signatures above 512 bytes (RSA keys
/// above 4096 bits); returns the signature bytes.
pub(crate) fn decode_signature<'b>(
    segment: &str,
    stack: &'b mut [u8; SIGNATURE_STACK_LEN],
    heap: &'b mut Vec<u8>,
) -> Result<&'b [u8], ValidationError> {
    if segment.len() > (MAX_SIGNATURE_LEN * 4).div_ceil(3) {
        return Err(ValidationError::InvalidSignature);
    }
    decode_into(segment, stack, heap, TokenPart::Signature)
}

/// What a validator needs from a JOSE header, after every header rule has passed. The key ids
/// borrow from the decoded header unless they had JSON escapes.
#[derive(Debug)]
pub(crate) struct Header<'h> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'h, str>>,
    pub(crate) x5t: Option<Cow<'h, str>>,
    /// `typ` is `at+jwt` or `application/at+jwt` (RFC 9068 §2.1), in any letter case.
    pub(crate) at_jwt: bool,
}

/// Which `typ` values are accepted (checklist 14).
#[derive(Clone, Debug)]
pub(crate) struct TypPolicy {
    pub(crate) allow_absent: bool,
    /// Accepted values, compared ASCII case-insensitively (media types are case-insensitive).
    pub(crate) accepted: Vec<String>,
}

impl Default for TypPolicy {
    fn default() -> Self {
        Self {
            allow_absent: true,
            accepted: vec!["JWT".into(), "at+jwt".into(), "application/at+jwt".into()],
        }
    }
}

/// The header members the rules look at.
#[derive(Clone, Copy)]
enum HeaderMember {
    Alg,
    Kid,
    X5t,
    Typ,
    Cty,
    Crit,
    Jku,
    X5u,
    Jwk,
    X5c,
    Nonce,
    Enc,
    Zip,
    B64,
}

impl json::Key for HeaderMember {
    fn index(self) -> u32 {
        self as u32
    }
}

fn header_member(name: &str) -> Option<HeaderMember> {
    use HeaderMember as H;
    Some(match name {
        "alg" => H::Alg,
        "kid" => H::Kid,
        "x5t" => H::X5t,
        "typ" => H::Typ,
        "cty" => H::Cty,
        "crit" => H::Crit,
        "jku" => H::Jku,
        "x5u" => H::X5u,
        "jwk" => H::Jwk,
        "x5c" => H::X5c,
        "nonce" => H::Nonce,
        "enc" => H::Enc,
        "zip" => H::Zip,
        "b64" => H::B64,
        _ => return None,
    })
}

/// A header member the rules read: a string, or something else.
enum Member<'h> {
    Str(Cow<'h, str>),
    NotStr,
}

impl<'h> Member<'h> {
    fn of(value: Captured<'h, '_>) -> Self {
        match value {
            Captured::Str(s) => Member::Str(s),
            _ => Member::NotStr,
        }
    }
}

/// Parses the decoded header and applies the header rules, in a fixed order so that the most
/// specific error wins.
pub(crate) fn parse_header<'h>(
    text: &'h str,
    allowed: AlgorithmSet,
    typ: &TypPolicy,
) -> Result<Header<'h>, ValidationError> {
    let mut alg = None;
    let mut kid = None;
    let mut x5t = None;
    let mut typ_value = None;
    // The first member that is refused outright, in document order.
    let mut refused = None;
    json::parse_object(text, header_member, |name, value| {
        if refused.is_some() {
            return;
        }
        match name {
            HeaderMember::Alg => alg = Some(Member::of(value)),
            HeaderMember::Kid => kid = Some(Member::of(value)),
            HeaderMember::X5t => x5t = Some(Member::of(value)),
            HeaderMember::Typ => typ_value = Some(Member::of(value)),
            HeaderMember::Nonce => refused = Some(ValidationError::IssuedForAnotherApi),
            HeaderMember::Crit => refused = Some(ValidationError::CriticalHeader),
            HeaderMember::Jku | HeaderMember::X5u => {
                refused = Some(ValidationError::RemoteKeyReference);
            }
            HeaderMember::Jwk | HeaderMember::X5c => refused = Some(ValidationError::EmbeddedKey),
            HeaderMember::Cty | HeaderMember::Enc | HeaderMember::Zip | HeaderMember::B64 => {
                refused = Some(ValidationError::UnsupportedStructure);
            }
        }
    })
    .map_err(|e| match e {
        JsonError::DuplicateMember => ValidationError::DuplicateMember(TokenPart::Header),
        JsonError::Invalid => ValidationError::InvalidJson(TokenPart::Header),
    })?;
    if let Some(err) = refused {
        return Err(err);
    }

    let alg = match alg {
        Some(Member::Str(name)) => algorithm(&name, allowed)?,
        _ => return Err(ValidationError::MissingAlgorithm),
    };

    let at_jwt = match typ_value {
        None if typ.allow_absent => false,
        Some(Member::Str(t)) if typ.accepted.iter().any(|a| a.eq_ignore_ascii_case(&t)) => {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        }
        _ => return Err(ValidationError::UnacceptedType),
    };

    let kid = key_id(kid)?;
    let x5t = key_id(x5t)?;
    if kid.is_none() && x5t.is_none() {
        return Err(ValidationError::MissingKeyId);
    }
    Ok(Header {
        alg,
        kid,
        x5t,
        at_jwt,
    })
}

fn algorithm(name: &str, allowed: AlgorithmSet) -> Result<Algorithm, ValidationError> {
    if name.eq_ignore_ascii_case("none") {
        return Err(ValidationError::AlgorithmNone);
    }
    if matches!(name, "HS256" | "HS384" | "HS512") {
        return Err(ValidationError::SymmetricAlgorithm);
    }
    let alg = Algorithm::from_name(name).ok_or(ValidationError::UnsupportedAlgorithm)?;
    if !allowed.contains(alg) {
        return Err(ValidationError::AlgorithmNotAllowed(alg));
    }
    Ok(alg)
}

fn key_id(value: Option<Member<'_>>) -> Result<Option<Cow<'_, str>>, ValidationError> {
    match value {
        None => Ok(None),
        Some(Member::Str(s))
            if !s.is_empty() && s.len() <= MAX_KID_LEN && !s.chars().any(char::is_control) =>
        {
            Ok(Some(s))
        }
        Some(_) => Err(ValidationError::InvalidKeyId),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_accepts_three_segments_only() {
        assert!(split("a.b.c").is_ok());
        for bad in [
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            "a.b.c.d.e.f",
            ".b.c",
            "a..c",
            "{\"a\":1}",
        ] {
            assert_eq!(
                split(bad).err(),
                Some(ValidationError::NotCompactJws),
                "{bad}"
            );
        }
        assert_eq!(split("a.b.").map(|c| c.signature).ok(), Some(""));
    }

    #[test]
    fn bytes_outside_base64url_are_refused_by_the_strict_decoder() {
        for bad in ["QQ=", "Q+", "Q/", "Q Q", "QQ\n", "Q\u{e9}"] {
            assert!(decode(bad, TokenPart::Header).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn decoding_refuses_non_canonical_trailing_bits() {
        // "QQ" is canonical for b"A"; "QR" carries non-zero trailing bits.
        assert_eq!(decode("QQ", TokenPart::Header).unwrap(), b"A");
        assert!(decode("QR", TokenPart::Header).is_err());
    }

    #[test]
    fn alg_none_in_any_case_is_refused() {
        for name in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                algorithm(name, AlgorithmSet::only(Algorithm::RS256)),
                Err(ValidationError::AlgorithmNone)
            );
        }
    }
    /// A small deterministic generator (xorshift64*), so the differential test needs no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn the_simd_decoder_accepts_exactly_what_the_scalar_decoder_accepts() {
        let scalar =
            base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, STRICT_CONFIG);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let bad_bytes = [
            b'=',
            b'+',
            b'/',
            b' ',
            b'.',
            b'\n',
            b'\0',
            0x7f,
            b'A' | 0x80,
        ];
        for _ in 0..4000 {
            let len = rng.below(300);
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let mut text = STRICT.encode(&data).into_bytes();
            match rng.below(4) {
                // Unchanged.
                0 => {}
                // One byte replaced by a byte outside the alphabet, anywhere.
                1 if !text.is_empty() => {
                    let at = rng.below(text.len());
                    text[at] = bad_bytes[rng.below(bad_bytes.len())];
                }
                // The last character changed: non-canonical trailing bits, or another valid one.
                2 if !text.is_empty() => {
                    let last = text.len() - 1;
                    text[last] = STRICT.encode([rng.next() as u8]).as_bytes()[0];
                }
                // Truncated by one character (a length of 4n+1 is never valid).
                _ => {
                    text.pop();
                }
            }
            let Ok(text) = String::from_utf8(text) else {
                continue;
            };
            assert_eq!(STRICT.decode(&text), scalar.decode(&text), "{text:?}");
            if let Ok(decoded) = STRICT.decode(&text) {
                // What decodes re-encodes to the same text: the decoder is canonical.
                assert_eq!(STRICT.encode(decoded), text);
            }
        }
    }

    #[test]
    fn long_headers_and_signatures_are_decoded_on_the_heap() {
        let (mut stack, mut heap) = ([0u8; HEADER_STACK_LEN], Vec::new());
        for len in [1, HEADER_STACK_LEN - 2, HEADER_STACK_LEN, 2000] {
            let json = format!(r#"{{"x":"{}"}}"#, "y".repeat(len));
            let decoded = decode_header(&STRICT.encode(&json), &mut stack, &mut heap).unwrap();
            assert_eq!(decoded, json);
        }
        let (mut stack, mut heap) = ([0u8; SIGNATURE_STACK_LEN], Vec::new());
        for len in [64, 256, 512, 513, 1024] {
            let sig: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let decoded = decode_signature(&STRICT.encode(&sig), &mut stack, &mut heap).unwrap();
            assert_eq!(decoded, sig);
        }
        assert_eq!(
            decode_signature(&STRICT.encode([0u8; 1025]), &mut stack, &mut heap),
            Err(ValidationError::InvalidSignature)
        );
        assert_eq!(
            decode_signature("QR", &mut stack, &mut heap),
            Err(ValidationError::InvalidBase64(TokenPart::Signature))
        );
        assert_eq!(
            decode_header("QR", &mut [0; HEADER_STACK_LEN], &mut heap),
            Err(ValidationError::InvalidBase64(TokenPart::Header))
        );
        assert_eq!(
            decode_header(
                &STRICT.encode(b"\xFF"),
                &mut [0; HEADER_STACK_LEN],
                &mut heap
            ),
            Err(ValidationError::InvalidJson(TokenPart::Header))
        );
    }
}
