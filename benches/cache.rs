//! The verified-token cache under many distinct tokens, on 1 and 2 threads.
//!
//! `cargo bench --bench cache -- --warm-up-time 1 --measurement-time 3`
//!
//! Before the benchmarks it prints the memory of a full cache of the default size, filled
//! with real tokens of about 300 bytes (resident set growth divided by the entries).
//!
//! Groups (`<alg>` is HS256 or EdDSA; `tN` is the number of threads sharing one cache; each
//! time is wall time per lookup, the lookups split between the threads, so on an idle
//! machine `t2` should be about half of `t1`):
//! - `hit/<alg>/tN`: 2 000 distinct tokens cycled through a cache of the default size,
//!   all hits;
//! - `cycle20k/<alg>/tN`: 20 000 distinct tokens cycled through a cache of the default
//!   size (hits once warm), through a cache of 4 096 (the previous default: nearly every
//!   lookup a miss, verified and inserted, evicting another) and with the cache off
//!   (verify only); the difference between the last two is the cost of the cache on a
//!   miss. The hit ratio of each is printed after it;
//! - `key/sha256`: hashing one token with SHA-256, the per-request cost a digest key
//!   would add (the cache keys on the token itself).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use charon_auth::clock::{Clock, SystemClock, UnixTime};
use charon_auth::token::{
    Claims, DEFAULT_TOKEN_CACHE_CAPACITY, JwtCodec, Key, Keyset, TokenType, VerifiedTokenCache,
};
use criterion::{Criterion, criterion_group, criterion_main};
use sha2::{Digest as _, Sha256};

const ISS: &str = "bench-issuer";
const SECRET: [u8; 32] = [0x42; 32];
const DISTINCT: usize = 20_000;
const FITTING: usize = 2_000;

fn codecs() -> Vec<(&'static str, JwtCodec)> {
    let ed_pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keys/ed25519.pem"
    ))
    .unwrap();
    let hs = Keyset::new("k1", Key::hs256(&SECRET).unwrap()).unwrap();
    let ed = Keyset::new("k1", Key::ed25519_from_pem(&ed_pem).unwrap()).unwrap();
    vec![
        ("HS256", JwtCodec::new(hs, ISS).unwrap()),
        ("EdDSA", JwtCodec::new(ed, ISS).unwrap()),
    ]
}

/// `n` distinct access tokens, shaped like the ones a session create issues.
fn tokens(codec: &JwtCodec, n: usize, now: UnixTime) -> Vec<String> {
    (0..n)
        .map(|i| {
            let claims = Claims::new(
                TokenType::Access,
                ISS,
                format!("user-{i:08}"),
                format!("Ko2LvV3Gz1Qz5o{i:08}"),
                "full",
                format!("aT9xQ2mVn4Lp8s{i:08}"),
            )
            .with_validity(now, now + 3600);
            codec.sign(&claims).unwrap()
        })
        .collect()
}

fn lookup(cache: &VerifiedTokenCache, codec: &JwtCodec, token: &str, now: UnixTime) {
    let claims = cache
        .get_or_verify_at(token, now, || codec.verify(token, now, TokenType::Access))
        .unwrap();
    black_box(claims);
}

/// Wall time of `iters` lookups cycling through `tokens`, split between `threads`. The
/// cycle goes on from `cursor` (where the previous call stopped), so that a sample of few
/// iterations does not keep looking up the same first tokens.
fn run(
    cache: &VerifiedTokenCache,
    codec: &JwtCodec,
    tokens: &[String],
    now: UnixTime,
    threads: usize,
    iters: u64,
    cursor: &AtomicUsize,
) -> Duration {
    let per_thread = iters.div_ceil(threads as u64);
    let from = cursor.load(Ordering::Relaxed);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                // Each thread starts elsewhere in the cycle.
                let mut i = (from + t * tokens.len() / threads) % tokens.len();
                for _ in 0..per_thread {
                    lookup(cache, codec, &tokens[i], now);
                    i += 1;
                    if i == tokens.len() {
                        i = 0;
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let advanced = usize::try_from(per_thread).unwrap() % tokens.len();
    cursor.store((from + advanced) % tokens.len(), Ordering::Relaxed);
    elapsed
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Fills a cache of the default size with distinct HS256 tokens; prints the bytes each
/// entry costs (resident set growth, so it includes the allocator's overhead).
fn memory(codec: &JwtCodec, now: UnixTime) {
    let n = DEFAULT_TOKEN_CACHE_CAPACITY;
    let tokens = tokens(codec, n, now);
    let len = tokens.iter().map(String::len).sum::<usize>() / n;
    let before = rss_kib();
    let cache = VerifiedTokenCache::new(n);
    for token in &tokens {
        lookup(&cache, codec, token, now);
    }
    let after = rss_kib();
    if before == 0 {
        eprintln!("memory: /proc/self/status unreadable, not measured");
        return;
    }
    let per_entry = (after.saturating_sub(before) * 1024) as f64 / cache.len() as f64;
    eprintln!(
        "memory: {} entries of {len}-byte tokens: RSS +{:.1} MiB, {per_entry:.0} bytes per cached token",
        cache.len(),
        after.saturating_sub(before) as f64 / 1024.0,
    );
}

fn bench(c: &mut Criterion) {
    let now = SystemClock.now();
    let codecs = codecs();
    memory(&codecs[0].1, now);

    for (alg, codec) in &codecs {
        let tokens = tokens(codec, DISTINCT, now);
        for threads in [1, 2] {
            let mut group = c.benchmark_group(format!("hit/{alg}/t{threads}"));
            let cache = VerifiedTokenCache::new(DEFAULT_TOKEN_CACHE_CAPACITY);
            let fitting = &tokens[..FITTING];
            let cursor = AtomicUsize::new(0);
            run(&cache, codec, fitting, now, 1, FITTING as u64, &cursor);
            group.bench_function("2000 tokens, default size", |b| {
                b.iter_custom(|iters| run(&cache, codec, fitting, now, threads, iters, &cursor));
            });
            group.finish();

            let mut group = c.benchmark_group(format!("cycle20k/{alg}/t{threads}"));
            for (label, capacity) in [
                ("default size", DEFAULT_TOKEN_CACHE_CAPACITY),
                ("4096 (previous default)", 4096),
                ("off (verify only)", 0),
            ] {
                let cache = VerifiedTokenCache::new(capacity);
                let cursor = AtomicUsize::new(0);
                run(&cache, codec, &tokens, now, 1, DISTINCT as u64, &cursor);
                group.bench_function(label, |b| {
                    b.iter_custom(|iters| {
                        run(&cache, codec, &tokens, now, threads, iters, &cursor)
                    });
                });
                let stats = cache.stats();
                eprintln!(
                    "cycle20k/{alg}/t{threads}/{label}: {:.1}% hits",
                    stats.hits as f64 * 100.0 / (stats.hits + stats.misses).max(1) as f64
                );
            }
            group.finish();
        }
        if *alg == "HS256" {
            let mut group = c.benchmark_group("key");
            let token = &tokens[7];
            group.bench_function("sha256", |b| {
                b.iter(|| Sha256::digest(black_box(token.as_bytes())));
            });
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
