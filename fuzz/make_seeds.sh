#!/usr/bin/env bash
# Regenerates the checked-in seed corpora under fuzz/corpus/ (run from anywhere; needs only the
# main workspace's `entra-token`). Seeds are small files; the fuzzer's own corpus additions are
# written to the same directories but are git-ignored (see fuzz/.gitignore): only the files
# named `seed-*` are checked in.
#
# Token seeds are minted at the fuzz validators' fixed instant (tower_entra_fuzz::NOW), so
# they are valid tokens there and the fuzzer starts from the accepting path.
set -euo pipefail
cd "$(dirname "$0")"
NOW=1750000000
ENTRA_TOKEN=${ENTRA_TOKEN:-"cargo run -q --manifest-path ../Cargo.toml -p auth-testkit --features cli --bin entra-token --"}
mint() { $ENTRA_TOKEN mint --claim "iat=$NOW" --claim "nbf=$NOW" --claim "exp=$((NOW + 3600))" "$@"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
put() { printf '%s' "$2" > "$1"; }

raw=corpus/validate_raw
mkdir -p "$raw" corpus/validate_structured corpus/jwks_parse corpus/jwks_structured \
  corpus/www_authenticate corpus/base64_strict
rm -f corpus/*/seed-*

delegated=$(mint --scopes "Case.Create Files.Read")
put "$raw/seed-delegated-v2" "$delegated"
put "$raw/seed-delegated-v1" "$(mint --v1)"
put "$raw/seed-app-v2" "$(mint --app --roles Files.Write)"
put "$raw/seed-app-v1" "$(mint --app --v1)"
put "$raw/seed-es256" "$(mint --key ec-p256)"
put "$raw/seed-rsa-b" "$(mint --key rsa-b)"
put "$raw/seed-untrusted-key" "$(mint --key rsa-untrusted)"
put "$raw/seed-expired" "$($ENTRA_TOKEN mint --claim "iat=$((NOW - 7200))" --claim "nbf=$((NOW - 7200))" --claim "exp=$((NOW - 3600))")"
put "$raw/seed-other-tenant" "$(mint --tenant 2b7d4c19-3e5a-4f81-b6c2-9d0e1a4f7c63)"
put "$raw/seed-graph-audience" "$(mint --audience 00000003-0000-0000-c000-000000000000)"
put "$raw/seed-bearer-header" "Bearer $delegated"
header=$(printf '%s' '{"alg":"none","kid":"testkit-rsa-a"}' | b64url)
payload=$(printf '%s' "$delegated" | cut -d. -f2)
put "$raw/seed-alg-none" "$header.$payload."
header=$(printf '%s' '{"alg":"RS256","kid":"testkit-rsa-a","alg":"none"}' | b64url)
put "$raw/seed-duplicate-alg" "$header.$payload.$(printf '%s' "$delegated" | cut -d. -f3)"
put "$raw/seed-padded" "$delegated=="
put "$raw/seed-jwe-like" "a.b.c.d.e"
put "$raw/seed-two-segments" "$(printf '%s' "$delegated" | cut -d. -f1-2)"

# Structured targets: every field's first variant is the valid value, so the empty input is a
# valid token (validate_structured) or the testkit's own JWKS (jwks_structured).
: > corpus/validate_structured/seed-empty
# An enum variant is chosen by a little-endian u32 scaled to the variant count: the Signer
# (8 variants) byte 0x20 selects ec-p256 ES256, 0x40 rsa-b.
printf '\x00\x00\x00\x20' > corpus/validate_structured/seed-es256
printf '\x00\x00\x00\x40' > corpus/validate_structured/seed-rsa-b
printf '\x00\x00\x00\x00\x00\x00\x00\x80{"alg":"RS256","kid":"testkit-rsa-a","alg":"none"}' \
  > corpus/validate_structured/seed-raw-header
: > corpus/jwks_structured/seed-empty
# One JWK per testkit key (rsa-a, rsa-b, rsa-untrusted, rsa-1024, ec-p256), every member at
# its default: `\x01` continues the key list, then Material::Key(index), then 33 zero bytes.
zeros33='\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
printf "\x01\x00\x00\x00\x00\x00$zeros33" > corpus/jwks_structured/seed-rsa-a
printf "\x01\x00\x00\x00\x00\x04$zeros33" > corpus/jwks_structured/seed-ec-p256
for i in 0 1 2 3 4; do printf "\x01\x00\x00\x00\x00\x0$i$zeros33"; done > corpus/jwks_structured/seed-all-keys

jw=corpus/jwks_parse
put "$jw/seed-testkit-pretty" "$($ENTRA_TOKEN jwks)"
put "$jw/seed-testkit-compact" "$($ENTRA_TOKEN jwks | tr -d ' \n')"
compact=$($ENTRA_TOKEN jwks | tr -d ' \n')
put "$jw/seed-entra-issuer" "$(printf '%s' "$compact" | sed 's|"kty":"RSA"|"kty":"RSA","issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","x5c":["MIIC"]|')"
put "$jw/seed-alg-rs256" "$(printf '%s' "$compact" | sed 's|"kty":"RSA"|"alg":"RS256","kty":"RSA"|')"
put "$jw/seed-duplicate-kid" "$(printf '%s' "$compact" | sed 's|testkit-rsa-b|testkit-rsa-a|')"
put "$jw/seed-oct" '{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}'
put "$jw/seed-empty-keys" '{"keys":[]}'
put "$jw/seed-duplicate-member" '{"keys":[],"keys":[]}'
put "$jw/seed-not-object" '[{"keys":[]}]'
put "$jw/seed-truncated" "${compact:0:200}"

w=corpus/www_authenticate
: > "$w/seed-empty"
printf '\x01\x05realm\x01\x03a"b\x01\x03\\\\x\x00' > "$w/seed-quotes"
printf '\x01\x04caf\xc3\xa9\x00\x01\x00\x00\x00\x01' > "$w/seed-non-ascii"

b=corpus/base64_strict
put "$b/seed-header" "$(printf '%s' "$delegated" | cut -d. -f1)"
put "$b/seed-signature" "$(printf '%s' "$delegated" | cut -d. -f3)"
put "$b/seed-padded" "QUJD=="
put "$b/seed-standard-alphabet" "$(printf '%s' "$delegated" | cut -d. -f3 | tr -- '-_' '+/')"
put "$b/seed-trailing-bits" "QR"
put "$b/seed-bad-byte-mid-block" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*AAAAAAAAAAAAAAAAAAAAAAA"
echo "seeds written under $(pwd)/corpus"
