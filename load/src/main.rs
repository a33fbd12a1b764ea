//! Load-test harness (issue 8): an axum hello-world served on loopback five ways — no auth, the
//! floor layer (signature verify only), `AuthenticateLayer` with the verified-token cache off
//! (cold) and on (warm), and jwt-authorizer (with `--features jwt-authorizer`) — each driven by
//! `wrk` (or, without it, a small in-Rust client) for a bounded time; prints req/s, p50/p99 and
//! the ratios. A `memory` subcommand pushes many distinct tokens through the verified-token
//! cache and reports peak RSS.
//!
//! `cargo run --release -p load -- bench` (see docs/performance.md). Loopback only; every
//! server it starts stops itself after `--max-seconds`, and the driver kills each one as soon
//! as its run ends.

mod client;
mod floor;
mod instructions;
mod memory;
mod server;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use auth_testkit::TokenBuilder;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(about = "tower-entra load-test harness (loopback only, bounded in time)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serves the hello-world app in one mode on 127.0.0.1 (one tokio thread), for at most
    /// `--max-seconds`.
    Serve {
        #[arg(long, value_enum)]
        mode: Mode,
        /// Port on 127.0.0.1 (0: any free port; the chosen address is printed).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The server exits after this long whatever happens.
        #[arg(long, default_value_t = 60)]
        max_seconds: u64,
    },
    /// Runs every mode in turn (server pinned to CPU 0, load generator to CPU 1 when `taskset`
    /// exists) and prints the table and ratios.
    Bench {
        /// Measured seconds per mode.
        #[arg(long, default_value_t = 8)]
        seconds: u64,
        /// Warm-up seconds per mode (not measured).
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Modes to run, in order (default: all that were compiled in).
        #[arg(long, value_enum, value_delimiter = ',')]
        modes: Vec<Mode>,
        /// Load generator.
        #[arg(long, value_enum, default_value_t = Generator::Auto)]
        client: Generator,
        /// Rounds: every mode runs once per round, in reverse order every other round (ABBA), to
        /// spread machine noise.
        #[arg(long, default_value_t = 1)]
        rounds: usize,
    },
    /// Counts the server's instructions per request in each mode under Valgrind's callgrind
    /// (deterministic, unlike req/s on a shared machine) and keeps the dumps for
    /// `callgrind_annotate`.
    Instructions {
        /// Modes to count, in order (default: none, floor, cold, warm).
        #[arg(long, value_enum, value_delimiter = ',')]
        modes: Vec<Mode>,
        /// Requests counted per mode.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Requests sent before counting starts.
        #[arg(long, default_value_t = 50)]
        warmup: usize,
        /// Where the callgrind dumps go.
        #[arg(long, default_value = "target/callgrind")]
        dir: std::path::PathBuf,
    },
    /// Pushes `--tokens` distinct valid tokens through `Authenticator::authenticate` with the
    /// default verified-token cache and reports resident memory as it goes.
    Memory {
        #[arg(long, default_value_t = 1_000_000)]
        tokens: usize,
        /// Print a line every this many tokens.
        #[arg(long, default_value_t = 100_000)]
        every: usize,
        /// Sign with RS256 (rsa-a, ~1 ms per token to mint) instead of ES256 (the P-256 test
        /// key, much faster to mint).
        #[arg(long)]
        rsa: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// No authentication: the baseline.
    None,
    /// An identity layer (`tower::layer::util::Identity`) through `Router::layer`: what axum
    /// charges for any layer (each route re-boxed), before the layer does anything. Not in
    /// the default set: `--modes none,identity,warm`.
    Identity,
    /// The floor layer: base64url-decode the signature, verify it with a pre-parsed key.
    Floor,
    /// `AuthenticateLayer`, verified-token cache off: full validation on every request.
    Cold,
    /// `AuthenticateLayer`, verified-token cache on: a cache hit on every request.
    Warm,
    /// jwt-authorizer 0.15 (needs `--features jwt-authorizer`).
    JwtAuthorizer,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Identity => "identity",
            Mode::Floor => "floor",
            Mode::Cold => "cold",
            Mode::Warm => "warm",
            Mode::JwtAuthorizer => "jwt-authorizer",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Generator {
    /// wrk if installed, else the in-Rust client.
    Auto,
    Wrk,
    Rust,
}

/// What one run measured.
#[derive(Clone, Copy, Debug, Default)]
struct Measured {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
}

/// The token every request carries: a delegated v2 token padded with the claims a real Entra
/// token has (the same shape as `benches/validate.rs`).
fn entra_like_token() -> String {
    TokenBuilder::delegated_with_real_claims()
        .expires_in(3 * 3600)
        .sign()
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve {
            mode,
            port,
            max_seconds,
        } => server::serve(mode, port, Duration::from_secs(max_seconds)),
        Cmd::Bench {
            seconds,
            warmup,
            connections,
            modes,
            client,
            rounds,
        } => bench(seconds, warmup, connections, modes, client, rounds.max(1)),
        Cmd::Instructions {
            modes,
            requests,
            warmup,
            dir,
        } => {
            let modes = if modes.is_empty() {
                vec![Mode::None, Mode::Floor, Mode::Cold, Mode::Warm]
            } else {
                modes
            };
            instructions::run(modes, requests.max(1), warmup, dir, &entra_like_token());
        }
        Cmd::Memory { tokens, every, rsa } => memory::run(tokens, every.max(1), rsa),
    }
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Prefixes `taskset -c {cpu}` when taskset exists and the machine has a second CPU.
fn pinned(cpu: usize, program: &str, pin: bool) -> Command {
    if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", &cpu.to_string(), program]);
        c
    } else {
        Command::new(program)
    }
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only the child this driver started, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(mode: Mode, max_seconds: u64, pin: bool) -> Server {
    let exe = std::env::current_exe().expect("own path");
    let exe = exe.to_str().expect("UTF-8 path");
    let mut child = pinned(0, exe, pin)
        .args([
            "serve",
            "--mode",
            mode.name(),
            "--max-seconds",
            &max_seconds.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let addr = listening_addr(&mut child);
    Server { child, addr }
}

/// The address a `serve` child prints on its first line (`listening on {addr}`).
fn listening_addr(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("server's first line");
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected server output {line:?}"))
        .to_owned()
}

fn bench(
    seconds: u64,
    warmup: u64,
    connections: usize,
    modes: Vec<Mode>,
    generator: Generator,
    rounds: usize,
) {
    let modes = if modes.is_empty() {
        // Each target's two modes back to back (warm beside no auth, cold beside the floor),
        // so that a swing of a shared machine's load falls on both sides of a ratio.
        let mut all = vec![Mode::None, Mode::Warm, Mode::Floor, Mode::Cold];
        if cfg!(feature = "jwt-authorizer") {
            all.push(Mode::JwtAuthorizer);
        }
        all
    } else {
        modes
    };
    if modes.contains(&Mode::JwtAuthorizer) && !cfg!(feature = "jwt-authorizer") {
        eprintln!(
            "the jwt-authorizer mode needs: cargo run --release -p load --features jwt-authorizer -- bench"
        );
        std::process::exit(2);
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = cpus >= 2 && have("taskset");
    let use_wrk = match generator {
        Generator::Auto => have("wrk"),
        Generator::Wrk => true,
        Generator::Rust => false,
    };
    let token = entra_like_token();
    println!(
        "token: {} bytes; {} s measured + {} s warm-up per mode, {} connections, {} round(s); \
         generator: {}; pinning: {}",
        token.len(),
        seconds,
        warmup,
        connections,
        rounds,
        if use_wrk {
            "wrk -t1"
        } else {
            "in-Rust client (1 thread)"
        },
        if pin {
            "server on CPU 0, load generator on CPU 1 (taskset)"
        } else {
            "none (no taskset or a single CPU)"
        }
    );

    let mut results: Vec<(Mode, Vec<Measured>)> = modes.iter().map(|&m| (m, Vec::new())).collect();
    for round in 0..rounds {
        // Every other round runs the modes in reverse order (ABBA), so that a drift of the
        // machine's load over a run favours no mode.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..results.len()).collect()
        } else {
            (0..results.len()).rev().collect()
        };
        for index in order {
            let (mode, runs) = &mut results[index];
            let server = start_server(*mode, seconds + warmup + 30, pin);
            // A sanity request: the app must answer 200 with this token before we measure.
            let status = client::one_request(&server.addr, &token);
            assert_eq!(status, 200, "mode {} answered {status}", mode.name());
            let m = if use_wrk {
                if warmup > 0 {
                    wrk(&server.addr, &token, warmup, connections, pin);
                }
                wrk(&server.addr, &token, seconds, connections, pin)
            } else {
                client::run(&server.addr, &token, seconds, warmup, connections, pin)
            };
            drop(server);
            println!(
                "round {} {:>15}: {:>9.0} req/s  p50 {:>8.1} µs  p99 {:>8.1} µs{}",
                round + 1,
                mode.name(),
                m.rps,
                m.p50_us,
                m.p99_us,
                if m.errors > 0 {
                    format!("  ({} errors/non-2xx!)", m.errors)
                } else {
                    String::new()
                }
            );
            runs.push(m);
        }
        let this_round: Vec<(Mode, Measured)> = results
            .iter()
            .map(|(mode, runs)| (*mode, runs[round]))
            .collect();
        let verdicts = TARGETS
            .iter()
            .filter_map(|t| t.ratio(&this_round).map(|r| (t, r)))
            .map(|(t, r)| {
                let held = if r >= t.median {
                    "held"
                } else if t.round_floor.is_some_and(|floor| r >= floor) {
                    "below target, above the round floor"
                } else {
                    "MISSED"
                };
                format!("{} {r:.2}× ({held})", t.short)
            })
            .collect::<Vec<_>>();
        if !verdicts.is_empty() {
            println!("round {} targets: {}", round + 1, verdicts.join("; "));
        }
    }

    let median = |runs: &[Measured], f: fn(&Measured) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let summary: Vec<(Mode, Measured)> = results
        .iter()
        .map(|(mode, runs)| {
            (
                *mode,
                Measured {
                    rps: median(runs, |m| m.rps),
                    p50_us: median(runs, |m| m.p50_us),
                    p99_us: median(runs, |m| m.p99_us),
                    errors: runs.iter().map(|m| m.errors).sum(),
                },
            )
        })
        .collect();
    let get = |mode: Mode| summary.iter().find(|(m, _)| *m == mode).map(|(_, x)| *x);
    let none = get(Mode::None);

    println!();
    println!("| mode | req/s | p50 | p99 | × no auth |");
    println!("|---|---:|---:|---:|---:|");
    for (mode, m) in &summary {
        let ratio = none.map_or("–".to_owned(), |n| format!("{:.2}", m.rps / n.rps));
        println!(
            "| {} | {:.0} | {:.0} µs | {:.0} µs | {} |",
            mode.name(),
            m.rps,
            m.p50_us,
            m.p99_us,
            ratio
        );
    }
    println!();
    let mut verdict = Vec::new();
    for target in TARGETS {
        let per_round: Vec<f64> = (0..rounds)
            .filter_map(|round| {
                let this_round: Vec<(Mode, Measured)> = results
                    .iter()
                    .map(|(mode, runs)| (*mode, runs[round]))
                    .collect();
                target.ratio(&this_round)
            })
            .collect();
        // The median of the rounds' ratios: each round runs the modes back to back, so its
        // ratio is the least disturbed by a shared machine's swings.
        let Some(median_ratio) = median_of(&per_round) else {
            continue;
        };
        let lowest = per_round.iter().copied().fold(f64::INFINITY, f64::min);
        let median_met = median_ratio >= target.median;
        let rounds_met = target.round_floor.is_none_or(|floor| lowest >= floor);
        println!(
            "{}: {median_ratio:.2}× (median of the rounds' ratios; target ≥ {:.2}×: {}); per round: {}{}",
            target.label,
            target.median,
            if median_met { "met" } else { "NOT met" },
            per_round
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            match target.round_floor {
                Some(floor) => format!(
                    " (every round ≥ {floor:.2}×: {})",
                    if rounds_met { "met" } else { "NOT met" }
                ),
                None => String::new(),
            }
        );
        if !(median_met && rounds_met) {
            verdict.push(target.short);
        }
    }
    if let (Some(f), Some(n)) = (get(Mode::Floor), none) {
        println!("floor / no auth: {:.2}×", f.rps / n.rps);
    }
    if verdict.is_empty() {
        println!("run verdict: every target met (medians, and every round above its floor)");
    } else {
        println!("run verdict: NOT met: {}", verdict.join(", "));
    }
}

/// The median of `values` (the upper one of an even count); `None` when empty.
fn median_of(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

/// A throughput target: `numerator`'s req/s over `denominator`'s, at least `median` over the
/// median of the rounds and, when set, at least `round_floor` in every round (issue 18).
struct Target {
    label: &'static str,
    short: &'static str,
    numerator: Mode,
    denominator: Mode,
    median: f64,
    round_floor: Option<f64>,
}

impl Target {
    /// The ratio in `measured` (one round, or the medians), when both modes ran.
    fn ratio(&self, measured: &[(Mode, Measured)]) -> Option<f64> {
        let rps = |mode: Mode| {
            measured
                .iter()
                .find(|(m, _)| *m == mode)
                .map(|(_, x)| x.rps)
        };
        Some(rps(self.numerator)? / rps(self.denominator)?)
    }
}

const TARGETS: &[Target] = &[
    Target {
        label: "warm path (cache hit) / no auth",
        short: "warm/none",
        numerator: Mode::Warm,
        denominator: Mode::None,
        median: 0.95,
        round_floor: Some(0.85),
    },
    Target {
        label: "cold path (cache off) / floor",
        short: "cold/floor",
        numerator: Mode::Cold,
        denominator: Mode::Floor,
        median: 0.95,
        round_floor: Some(0.90),
    },
    Target {
        label: "cold path / jwt-authorizer",
        short: "cold/jwt-authorizer",
        numerator: Mode::Cold,
        denominator: Mode::JwtAuthorizer,
        median: 1.3,
        round_floor: None,
    },
];

fn wrk(addr: &str, token: &str, seconds: u64, connections: usize, pin: bool) -> Measured {
    let out = pinned(1, "wrk", pin)
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-H",
            &format!("Authorization: Bearer {token}"),
            &format!("http://{addr}/"),
        ])
        .output()
        .expect("run wrk (apt-get install wrk, or --client rust)");
    let text = String::from_utf8_lossy(&out.stdout);
    parse_wrk(&text).unwrap_or_else(|| panic!("could not parse wrk's output:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Measured> {
    let duration_us = |s: &str| -> Option<f64> {
        let (num, scale) = if let Some(n) = s.strip_suffix("us") {
            (n, 1.0)
        } else if let Some(n) = s.strip_suffix("ms") {
            (n, 1e3)
        } else if let Some(n) = s.strip_suffix('s') {
            (n, 1e6)
        } else {
            (s, 1.0)
        };
        num.parse::<f64>().ok().map(|v| v * scale)
    };
    let mut m = Measured::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => m.p50_us = duration_us(v)?,
            ["99%", v] => m.p99_us = duration_us(v)?,
            ["Requests/sec:", v] => m.rps = v.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => m.errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                m.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    (m.rps > 0.0).then_some(m)
}
