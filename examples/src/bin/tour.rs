//! `cargo run -p examples --bin tour`: the emulator and every example service in-process, the
//! three patterns walked hop by hop, the refusals shown. Exits 0 only if every step behaved as
//! expected.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match examples::tour::run(&mut std::io::stdout()).await {
        Ok(report) if report.all_passed() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(2)
        }
    }
}
