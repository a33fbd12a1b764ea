//! Instructions per request, by mode, under Valgrind's callgrind: a deterministic count that a
//! shared machine's load cannot blur, and the per-function breakdown behind it.
//!
//! For each mode: the server runs under `valgrind --tool=callgrind`; one keep-alive connection
//! sends `warmup` requests (lazy initialisation, the verified-token cache's first entry), the
//! counters are zeroed (`callgrind_control --zero`), `requests` more requests are sent, the
//! counters are dumped (`callgrind_control --dump`) and the server is killed. The dump's total
//! divided by `requests` is the server's cost per request, hyper and axum included; run
//! `callgrind_annotate --inclusive=yes` on the dump for the breakdown.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Mode;

/// A server under callgrind, killed on drop.
struct Profiled {
    child: Child,
    addr: String,
}

impl Drop for Profiled {
    fn drop(&mut self) {
        // Only the child this driver started, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(mode: Mode, out: &Path) -> Profiled {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .args(["serve", "--mode", mode.name(), "--max-seconds", "600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start valgrind (apt-get install valgrind)");
    let addr = crate::listening_addr(&mut child);
    Profiled { child, addr }
}

/// Sends `n` requests on `stream`, one after the other; panics on anything but 200.
fn send(stream: &mut TcpStream, addr: &str, token: &str, n: usize) {
    let req = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n");
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    for _ in 0..n {
        stream.write_all(req.as_bytes()).expect("send");
        let used = loop {
            if let Some((used, status)) = crate::client::complete(&buf) {
                assert_eq!(status, 200, "the server refused the request");
                break used;
            }
            let read = stream.read(&mut chunk).expect("read");
            assert!(read > 0, "server closed the connection");
            buf.extend_from_slice(&chunk[..read]);
        };
        buf.drain(..used);
    }
}

/// Runs `callgrind_control {flag} {pid}` in the background: callgrind reads its commands only
/// while the program runs, so the caller wakes the server with a request.
fn control(flag: &str, pid: u32) -> Child {
    Command::new("callgrind_control")
        .args([flag, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("callgrind_control")
}

/// Waits for `command`, sending one request at a time until it has answered.
fn settle(mut command: Child, stream: &mut TcpStream, addr: &str, token: &str) -> usize {
    let mut sent = 0;
    loop {
        if command.try_wait().expect("callgrind_control").is_some() {
            return sent;
        }
        send(stream, addr, token, 1);
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `totals:` (or `summary:`) line of a callgrind dump: instructions executed.
fn total_instructions(dump: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dump).ok()?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

pub(crate) fn run(modes: Vec<Mode>, requests: usize, warmup: usize, dir: PathBuf, token: &str) {
    std::fs::create_dir_all(&dir).expect("output directory");
    println!(
        "callgrind: {warmup} warm-up requests, then {requests} counted, one keep-alive \
         connection; token {} bytes; dumps in {}",
        token.len(),
        dir.display()
    );
    let mut rows = Vec::new();
    for mode in modes {
        let out = dir.join(format!("callgrind.{}.out", mode.name()));
        let server = start(mode, &out);
        let pid = server.child.id();
        let mut stream = TcpStream::connect(&server.addr).expect("connect");
        stream.set_nodelay(true).ok();
        send(&mut stream, &server.addr, token, warmup);
        // The zeroing lands while one of these requests runs: they count as partly measured.
        let zero_wakers = settle(control("--zero", pid), &mut stream, &server.addr, token);
        send(&mut stream, &server.addr, token, requests);
        let dump_wakers = settle(control("--dump", pid), &mut stream, &server.addr, token);
        drop(stream);
        drop(server);
        // callgrind_control --dump writes `{out}.{n}` next to `out`.
        let dump = std::fs::read_dir(&dir)
            .expect("output directory")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("callgrind.{}.out.", mode.name())))
            })
            .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        let Some(dump) = dump else {
            println!("{:>15}: no dump written", mode.name());
            continue;
        };
        // Counted: the `requests`, and the wake-up requests sent before the dump landed (the
        // last of the zeroing's and of the dump's wake-ups only in part: about one in all).
        let counted = requests + dump_wakers;
        match total_instructions(&dump) {
            Some(total) => {
                let per = total as f64 / counted as f64;
                println!(
                    "{:>15}: {:>9.0} instructions per request ({counted} requests counted; \
                     wake-ups: {zero_wakers} for the zeroing, {dump_wakers} for the dump; {})",
                    mode.name(),
                    per,
                    dump.display()
                );
                rows.push((mode, per));
            }
            None => println!("{:>15}: no total in {}", mode.name(), dump.display()),
        }
    }
    let none = rows.iter().find(|(m, _)| *m == Mode::None).map(|(_, x)| *x);
    let floor = rows
        .iter()
        .find(|(m, _)| *m == Mode::Floor)
        .map(|(_, x)| *x);
    println!();
    println!("| mode | instructions / request | over no auth | over the floor |");
    println!("|---|---:|---:|---:|");
    for (mode, per) in &rows {
        let over =
            |base: Option<f64>| base.map_or("–".to_owned(), |b| format!("{:+.0}", per - b));
        println!(
            "| {} | {:.0} | {} | {} |",
            mode.name(),
            per,
            over(none),
            over(floor)
        );
    }
    println!();
    println!("breakdown: callgrind_annotate --inclusive=yes <dump> | head -60");
}
