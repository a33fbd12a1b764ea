//! Distinct valid tokens through the verified-token cache: resident memory must plateau at the
//! cache's bound (default 10,000 entries) however many tokens go through.

use std::time::Instant;

use auth_layer::{Algorithm, Authenticator, DEFAULT_VERIFIED_TOKEN_CACHE_CAPACITY};
use auth_testkit::ids::{API_CLIENT_ID, TENANT_ID};
use auth_testkit::{TestKey, TokenBuilder, default_keyset};

/// `VmRSS` and `VmHWM` (peak) of this process, in KiB (Linux; 0 elsewhere).
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mint(i: usize, rsa: bool) -> String {
    let key = if rsa {
        TestKey::rsa_a()
    } else {
        TestKey::ec_p256()
    };
    TokenBuilder::delegated()
        .scopes("Case.Create Case.Read")
        .claim("uti", format!("load-{i:012}"))
        .expires_in(3 * 3600)
        .key(key)
        .sign()
}

pub(crate) fn run(tokens: usize, every: usize, rsa: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        // ES256 is opt-in (Entra signs RS256); allowed here only because ES256 tokens are
        // ~30× faster to mint, which is what makes a million of them practical.
        .validator(|v| v.algorithms([Algorithm::RS256, Algorithm::ES256]))
        .build()
        .expect("valid configuration");
    let sample = mint(0, rsa);
    println!(
        "{tokens} distinct tokens ({}, {} bytes each) through Authenticator::try_authenticate, \
         verified-token cache capacity {} (default {DEFAULT_VERIFIED_TOKEN_CACHE_CAPACITY})",
        if rsa { "RS256" } else { "ES256" },
        sample.len(),
        auth.verified_token_cache_capacity()
    );
    let (rss0, hwm0) = rss_kib();
    println!("start: RSS {rss0} KiB, peak {hwm0} KiB");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    // Mint in chunks on every CPU, then validate the chunk; the chunk (~1,000 tokens) is the
    // only token storage besides the cache.
    const CHUNK: usize = 1_000;
    let mut done = 0;
    while done < tokens {
        let n = CHUNK.min(tokens - done);
        let per = n.div_ceil(threads);
        let chunk: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let lo = done + t * per;
                    let hi = (lo + per).min(done + n);
                    s.spawn(move || (lo..hi).map(|i| mint(i, rsa)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("minting thread"))
                .collect()
        });
        for token in &chunk {
            auth.try_authenticate(token)
                .expect("keys are static: a valid token is answered at once");
        }
        let before = done;
        done += n;
        if done / every != before / every || done == tokens {
            let (rss, hwm) = rss_kib();
            let stats = auth.stats();
            println!(
                "{done:>9} tokens: RSS {rss:>7} KiB, peak {hwm:>7} KiB, cached {:>6}, \
                 full validations {}, {:.0} s",
                stats.cached_tokens,
                stats.full_validations,
                start.elapsed().as_secs_f64()
            );
        }
    }
    let (rss, hwm) = rss_kib();
    println!(
        "end: RSS {rss} KiB, peak {hwm} KiB (peak − start {} KiB)",
        hwm.saturating_sub(rss0)
    );
}
