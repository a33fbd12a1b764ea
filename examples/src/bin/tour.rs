//! `cargo run -p examples --bin tour`: the emulator and every example service in-process, the
//! three patterns walked hop by hop, the refusals shown. Exits 0 only if every step behaved as
//! expected.

use std::process::ExitCode;

/// What `tour --help` prints.
const USAGE: &str = "\
tour: the emulator and every example service on loopback, the three Entra ID patterns
(authorization code, On-Behalf-Of, service to service) and their refusals, printed hop by hop.
Needs no network and no tenant.

Usage: tour [--help]

Exit status: 0 when every step behaved as expected, 1 when a step did not, 2 when the tour
could not start or the arguments are wrong.
";

#[tokio::main]
async fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("tour: unexpected argument {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    match examples::tour::run(&mut std::io::stdout()).await {
        Ok(report) if report.all_passed() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(2)
        }
    }
}
