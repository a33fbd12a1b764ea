//! `entra-token` end to end: the real binary, spawned.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use auth_testkit::ids::{API_CLIENT_ID, OTHER_TENANT_ID, TENANT_ID};
use auth_testkit::jwks_server::JwksServer;
use auth_testkit::{TokenBuilder, default_jwks_json};

fn entra_token(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-token"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn jwks_file(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, default_jwks_json()).unwrap();
    path
}

#[test]
fn verify_accepts_a_valid_token_with_a_one_line_summary() {
    let jwks = jwks_file("verify-ok.json");
    let token = TokenBuilder::delegated().scopes("Case.Create").sign();
    let out = entra_token(
        &[
            "verify",
            "--jwks",
            jwks.to_str().unwrap(),
            "--tenant",
            TENANT_ID,
            "--audience",
            API_CLIENT_ID,
            &token,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.starts_with("valid: delegated user Alice Example"),
        "{text}"
    );
    assert!(text.contains("scopes [Case.Create]"), "{text}");
}

#[test]
fn verify_reads_the_token_from_stdin_and_rejects_with_the_precise_reason() {
    let jwks = jwks_file("verify-bad.json");
    let token = TokenBuilder::app().tenant(OTHER_TENANT_ID).sign();
    let out = entra_token(
        &[
            "verify",
            "--jwks",
            jwks.to_str().unwrap(),
            "--tenant",
            TENANT_ID,
            "--audience",
            API_CLIENT_ID,
            "-",
        ],
        Some(&format!("Bearer {token}\n")),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = stdout(&out);
    assert!(text.starts_with("invalid: "), "{text}");
    assert!(
        text.contains(OTHER_TENANT_ID) && text.contains(TENANT_ID),
        "{text}"
    );
}

#[test]
fn verify_honours_a_frozen_clock() {
    let jwks = jwks_file("verify-at.json");
    let t = 1_600_000_000;
    let token = TokenBuilder::app().issued_at(t).sign();
    let base = [
        "verify",
        "--jwks",
        jwks.to_str().unwrap(),
        "--tenant",
        TENANT_ID,
        "--audience",
        API_CLIENT_ID,
    ];
    let at = (t + 60).to_string();
    let mut args = base.to_vec();
    args.extend(["--at", &at, &token]);
    assert_eq!(entra_token(&args, None).status.code(), Some(0));
    let mut args = base.to_vec();
    args.push(&token);
    let out = entra_token(&args, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("expired"));
}

#[test]
fn verify_usage_errors_exit_2() {
    let out = entra_token(
        &[
            "verify",
            "--jwks",
            "/nonexistent/keys.json",
            "--audience",
            API_CLIENT_ID,
            "--tenant",
            TENANT_ID,
            "x.y.z",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the JWKS file"));
}

#[test]
fn inspect_gives_an_entra_reading_with_warnings() {
    let out = entra_token(&["inspect", &TokenBuilder::graph_token().sign()], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("reading:") && text.contains("format      v1.0"),
        "{text}"
    );
    assert!(text.contains("Microsoft Graph"), "{text}");
    let out = entra_token(
        &[
            "inspect",
            "--brief",
            &TokenBuilder::app().issued_at(1_600_000_000).sign(),
        ],
        None,
    );
    let text = stdout(&out);
    assert!(
        text.contains("app-only (oid = sub)") && text.contains("expired"),
        "{text}"
    );
    assert!(!text.contains("header:"), "{text}");
}

#[test]
fn mint_output_verifies() {
    let minted = entra_token(
        &["mint", "--app", "--roles", "Files.Write,Files.Read"],
        None,
    );
    assert_eq!(minted.status.code(), Some(0));
    let token = stdout(&minted);
    let jwks = jwks_file("mint.json");
    let out = entra_token(
        &[
            "verify",
            "--jwks",
            jwks.to_str().unwrap(),
            "--tenant",
            TENANT_ID,
            "--audience",
            API_CLIENT_ID,
            "-",
        ],
        Some(&token),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).contains("roles [Files.Write Files.Read]"));
}

#[test]
fn demo_judges_every_token_as_expected() {
    let out = entra_token(&["demo"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("every token was judged as expected"));
}

#[test]
fn verify_with_an_authority_uses_discovery_and_the_jwks_cache() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let idp = runtime.block_on(JwksServer::start());
    let authority = idp.authority(TENANT_ID);
    let token = TokenBuilder::delegated()
        .claim("iss", idp.issuer(TENANT_ID))
        .sign();
    let out = entra_token(
        &[
            "verify",
            "--authority",
            &authority,
            "--audience",
            API_CLIENT_ID,
            &token,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(idp.discovery_hits() >= 1 && idp.jwks_hits() >= 1);
    // A token from the public cloud's issuer is not this authority's.
    let public = TokenBuilder::delegated().sign();
    let out = entra_token(
        &[
            "verify",
            "--authority",
            &authority,
            "--audience",
            API_CLIENT_ID,
            &public,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    drop(idp);
}

#[test]
fn verify_takes_a_provider_and_a_client_id() {
    let jwks = jwks_file("verify-provider.json");
    let okta_issuer = "https://example.okta.com/oauth2/default";
    let token = TokenBuilder::delegated()
        .remove("tid")
        .remove("azp")
        .remove("scp")
        .claim("iss", okta_issuer)
        .audience("api://default")
        .claim("cid", "0oa1client")
        .claim("sub", "0oa1client")
        .claim("scp", serde_json::json!(["files.write"]))
        .sign();
    let args = |provider: &'static str| {
        vec![
            "verify",
            "--jwks",
            jwks.to_str().unwrap(),
            "--issuer",
            okta_issuer,
            "--client-id",
            "api://default",
            "--provider",
            provider,
            token.as_str(),
        ]
    };
    let out = entra_token(&args("okta"), None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).starts_with("valid: app"), "{}", stdout(&out));
    // The default for --issuer alone is rfc9068, which wants typ at+jwt.
    let out = entra_token(&args("rfc9068"), None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout(&out).starts_with("invalid:"), "{}", stdout(&out));
}

#[test]
fn verify_without_an_issuer_names_the_flags() {
    let jwks = jwks_file("verify-no-issuer.json");
    let token = TokenBuilder::delegated().sign();
    let out = entra_token(
        &[
            "verify",
            "--jwks",
            jwks.to_str().unwrap(),
            "--audience",
            API_CLIENT_ID,
            &token,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--tenant") && err.contains("--issuer"),
        "{err}"
    );
    assert!(!err.contains("any_tenant()"), "{err}");
}

#[test]
fn mint_help_names_the_audience_it_mints_for() {
    let out = entra_token(&["mint", "--help"], None);
    assert!(stdout(&out).contains(API_CLIENT_ID), "{}", stdout(&out));
}
