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
    assert!(text.contains("AADSTS50013"), "{text}");
    assert!(
        report.elapsed.as_secs() < 10,
        "the tour took {:?}",
        report.elapsed
    );
}
