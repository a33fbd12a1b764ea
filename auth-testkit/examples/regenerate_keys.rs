//! Regenerates the checked-in test keys under `auth-testkit/keys/`.
//!
//! ```text
//! cargo run -p auth-testkit --example regenerate_keys              # all keys
//! cargo run -p auth-testkit --example regenerate_keys -- rsa-b     # only some
//! ```
//!
//! For each key it writes `<name>.pkcs8.der` (what the crate embeds),
//! `<name>.pkcs8.pem` and `<name>.pub.pem` (SubjectPublicKeyInfo). The RSA
//! 2048 and P-256 keys come from aws-lc-rs. aws-lc-rs refuses to generate
//! RSA keys below 2048 bits, so `rsa-1024` is generated with the `openssl`
//! command-line tool, which also writes its public key as
//! `rsa-1024.pub.der`: the testkit embeds only that (the key is public-only,
//! it never signs).
//!
//! ```text
//! openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa-1024.tmp.pem
//! openssl pkcs8 -topk8 -nocrypt -in rsa-1024.tmp.pem -outform DER -out keys/rsa-1024.pkcs8.der
//! openssl pkey -inform DER -in keys/rsa-1024.pkcs8.der -pubout -outform DER -out keys/rsa-1024.pub.der
//! ```
//!
//! Regenerating changes every token and JWKS the testkit produces; commit
//! the new files together.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const NAMES: [&str; 5] = ["rsa-a", "rsa-b", "rsa-untrusted", "rsa-1024", "ec-p256"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!(
            "usage: regenerate_keys [NAME...]   (names: {})",
            NAMES.join(", ")
        );
        return ExitCode::SUCCESS;
    }
    let names: Vec<&str> = if args.is_empty() {
        NAMES.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys");
    for name in names {
        let result = match name {
            "rsa-a" | "rsa-b" | "rsa-untrusted" => rsa_2048(&dir, name),
            "rsa-1024" => rsa_1024_with_openssl(&dir, name),
            "ec-p256" => ec_p256(&dir, name),
            other => Err(format!(
                "unknown key {other:?}; known: {}",
                NAMES.join(", ")
            )),
        };
        match result {
            Ok(()) => println!("wrote keys/{name}.{{pkcs8.der,pkcs8.pem,pub.pem}}"),
            Err(err) => {
                eprintln!("error: {name}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn rsa_2048(dir: &Path, name: &str) -> Result<(), String> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|err| err.to_string())?;
    let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(|err| err.to_string())?;
    let spki: PublicKeyX509Der<'static> =
        pair.public_key().as_der().map_err(|err| err.to_string())?;
    write_all(dir, name, pkcs8.as_ref(), spki.as_ref())
}

fn ec_p256(dir: &Path, name: &str) -> Result<(), String> {
    let pair =
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|err| err.to_string())?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|err| err.to_string())?;
    let spki: PublicKeyX509Der<'static> =
        pair.public_key().as_der().map_err(|err| err.to_string())?;
    write_all(dir, name, pkcs8.as_ref(), spki.as_ref())
}

/// Also keeps `rsa-1024.pub.der`, the only `rsa-1024` file the testkit embeds.
fn rsa_1024_with_openssl(dir: &Path, name: &str) -> Result<(), String> {
    let der_path = path(dir, name, "pkcs8.der");
    let spki_path = path(dir, name, "pub.der");
    let pem_tmp = dir.join(format!("{name}.genpkey.pem.tmp"));
    run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
        ])
        .arg(&pem_tmp))?;
    // `genpkey -outform DER` writes PKCS#1 with some OpenSSL versions; convert
    // explicitly to unencrypted PKCS#8 DER.
    run(Command::new("openssl")
        .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
        .arg(&pem_tmp)
        .args(["-outform", "DER", "-out"])
        .arg(&der_path))?;
    run(Command::new("openssl")
        .args(["pkey", "-inform", "DER", "-in"])
        .arg(&der_path)
        .args(["-pubout", "-outform", "DER", "-out"])
        .arg(&spki_path))?;
    std::fs::remove_file(&pem_tmp).map_err(|err| err.to_string())?;
    let pkcs8 = std::fs::read(&der_path).map_err(|err| err.to_string())?;
    let spki = std::fs::read(&spki_path).map_err(|err| err.to_string())?;
    write_all(dir, name, &pkcs8, &spki)
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|err| format!("cannot run openssl (is it installed?): {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("openssl failed: {status}"))
    }
}

fn path(dir: &Path, name: &str, extension: &str) -> PathBuf {
    dir.join(format!("{name}.{extension}"))
}

fn write_all(dir: &Path, name: &str, pkcs8: &[u8], spki: &[u8]) -> Result<(), String> {
    let write = |extension: &str, contents: &[u8]| {
        std::fs::write(path(dir, name, extension), contents).map_err(|err| err.to_string())
    };
    write("pkcs8.der", pkcs8)?;
    write("pkcs8.pem", pem("PRIVATE KEY", pkcs8).as_bytes())?;
    write("pub.pem", pem("PUBLIC KEY", spki).as_bytes())
}

/// PEM with 64-column lines, as `TestKey::private_key_pem` / `public_key_pem` produce.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
