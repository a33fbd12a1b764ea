//! The README's first command as a test: the tour, run in-process, must pass every step.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tour_passes_every_step() {
    let mut out = Vec::new();
    let report = examples::tour::run(&mut out)
        .await
        .expect("the tour starts");
    let text = String::from_utf8_lossy(&out);
    assert!(
        report.all_passed(),
        "{} steps failed:\n{text}",
        report.failed()
    );
    assert!(report.steps.len() >= 17, "{text}");
    // The trace shows claims, never a token.
    assert!(!text.contains("eyJ"), "a token was printed:\n{text}");
    assert!(text.contains("AADSTS500131"), "{text}");
    // The seed's answers, as the seed's services give them.
    assert!(
        text.contains("Successfully chained identity to Shared API!"),
        "{text}"
    );
    // Audiences as the tokens carry them: the Application ID URI (v1 tokens) and the client
    // id GUID (v2 tokens) differ, and the tour shows which.
    assert!(
        text.contains("aud api://obo-example-internal-api (obo-example-internal-api)"),
        "{text}"
    );
    assert!(text.contains(" (auth-code-api)"), "{text}");
    assert!(
        report.elapsed.as_secs() < 10,
        "the tour took {:?}",
        report.elapsed
    );
}

#[test]
fn tour_help_prints_usage_instead_of_running() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tour"))
        .arg("--help")
        .output()
        .expect("the tour binary runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("tour: "), "{text}");
    assert!(text.contains("Usage: tour [--help]"), "{text}");
    assert!(!text.contains("steps behaved"), "the tour ran: {text}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tour"))
        .arg("--bogus")
        .output()
        .expect("the tour binary runs");
    assert_eq!(out.status.code(), Some(2));
}
