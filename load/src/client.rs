//! A small HTTP/1.1 keep-alive load generator over raw TCP, for machines without wrk. One
//! tokio thread (pinned to CPU 1 when possible), `connections` connections, each sending the
//! next request as soon as the previous response is read.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::Measured;

fn request(addr: &str, token: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n").into_bytes()
}

/// Where the response that starts `buf` ends, once it is complete; and its status.
pub(crate) fn complete(buf: &[u8]) -> Option<(usize, u16)> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let len = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    (buf.len() >= head_end + len).then_some((head_end + len, status))
}

/// One blocking request; the response status.
pub(crate) fn one_request(addr: &str, token: &str) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(&request(addr, token)).expect("send");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).expect("read");
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        if let Some((_, status)) = complete(&buf) {
            return status;
        }
    }
}

#[cfg(target_os = "linux")]
fn pin_self_to_cpu1() {
    // No libc dependency: ask taskset to move this thread (its TID is in /proc/thread-self).
    if let Ok(link) = std::fs::read_link("/proc/thread-self")
        && let Some(tid) = link.file_name().and_then(|t| t.to_str())
    {
        let _ = std::process::Command::new("taskset")
            .args(["-pc", "1", tid])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_self_to_cpu1() {}

async fn connection(
    addr: String,
    req: std::sync::Arc<[u8]>,
    start_measuring: Instant,
    end: Instant,
) -> (u64, u64, Vec<u32>) {
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    s.set_nodelay(true).ok();
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 8192];
    let (mut ok, mut errors, mut lat) = (0u64, 0u64, Vec::new());
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        if s.write_all(&req).await.is_err() {
            errors += 1;
            break;
        }
        let status = loop {
            if let Some((used, status)) = complete(&buf) {
                buf.drain(..used);
                break Some(status);
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let t1 = Instant::now();
        if t0 < start_measuring {
            continue;
        }
        match status {
            Some(200) => {
                ok += 1;
                lat.push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX));
            }
            Some(_) => errors += 1,
            None => {
                errors += 1;
                break;
            }
        }
    }
    (ok, errors, lat)
}

/// Drives `addr` for `warmup` + `seconds`; measures the last `seconds`.
pub(crate) fn run(
    addr: &str,
    token: &str,
    seconds: u64,
    warmup: u64,
    connections: usize,
    pin: bool,
) -> Measured {
    let addr = addr.to_owned();
    let token = token.to_owned();
    std::thread::spawn(move || {
        if pin {
            pin_self_to_cpu1();
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let req: std::sync::Arc<[u8]> = request(&addr, &token).into();
            let start_measuring = Instant::now() + Duration::from_secs(warmup);
            let end = start_measuring + Duration::from_secs(seconds);
            let tasks: Vec<_> = (0..connections)
                .map(|_| tokio::spawn(connection(addr.clone(), req.clone(), start_measuring, end)))
                .collect();
            let (mut ok, mut errors, mut lat) = (0, 0, Vec::new());
            for t in tasks {
                let (o, e, l) = t.await.expect("connection task");
                ok += o;
                errors += e;
                lat.extend(l);
            }
            lat.sort_unstable();
            let pct = |p: f64| {
                lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                    .map_or(0.0, |&v| f64::from(v))
            };
            Measured {
                rps: ok as f64 / seconds as f64,
                p50_us: pct(0.50),
                p99_us: pct(0.99),
                errors,
            }
        })
    })
    .join()
    .expect("client thread")
}
