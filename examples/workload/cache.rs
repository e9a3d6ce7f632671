//! The bounded-cache phase, `cache_get`: docstore's typed collection given a
//! capacity (in the `typed` process) and moka (in the `baseline-typed`
//! process), each holding n/10 documents, read through by the same Zipf-like
//! stream of n keys drawn from 0..n (s = 1, seed 49), loading a miss from a
//! function that builds the document. Prints `SYSTEM cache_get OPS SECONDS
//! OPS_PER_SEC` and `SYSTEM cache_hit_ratio RATIO`, the system being
//! `typed` or `moka`.

use std::sync::Arc;
use std::time::Instant;

use docstore::{Capacity, Collection, Error, Indexed};

use crate::report;

/// The generator of the cache phase.
const CACHE_SEED: u64 = 49;

/// What the source returns on a miss.
#[derive(Indexed, Clone, Debug)]
struct Profile {
    #[key]
    user: u64,
    name: String,
}

/// The source: builds the document, nothing else, so the phase measures the
/// caches' own cost.
fn fetch(user: u64) -> Profile {
    Profile {
        user,
        name: format!("user {user}"),
    }
}

/// Keys drawn from 0..n with probability falling as 1/rank (Zipf, s = 1), by
/// inverting the cumulative weights with xorshift64 draws.
fn zipf_trace(n: usize, reads: usize) -> Vec<u64> {
    let mut total = 0.0;
    let cumulative: Vec<f64> = (1..=n)
        .map(|rank| {
            total += 1.0 / rank as f64;
            total
        })
        .collect();
    let mut state = CACHE_SEED;
    (0..reads)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let target = (state >> 11) as f64 / (1u64 << 53) as f64 * total;
            cumulative.partition_point(|&c| c < target) as u64
        })
        .collect()
}

/// Runs `cache_get` for `system` ("typed" or "baseline-typed"); other
/// systems have no cache phase.
pub fn phase(system: &str, n: usize) {
    let capacity = (n / 10).max(1);
    let trace = zipf_trace(n, n);
    let (name, misses, elapsed) = match system {
        "typed" => {
            let profiles = Collection::<Profile>::new();
            profiles
                .set_capacity(Capacity::documents(capacity))
                .expect("a capacity");
            let mut misses = 0u64;
            let started = Instant::now();
            for &user in &trace {
                let profile = profiles
                    .get_or_load(user, || {
                        misses += 1;
                        Ok::<_, Error>(fetch(user))
                    })
                    .expect("a read through");
                std::hint::black_box(profile.name.len());
            }
            ("typed", misses, started.elapsed())
        }
        "baseline-typed" => {
            let cache: moka::sync::Cache<u64, Arc<Profile>> =
                moka::sync::Cache::new(capacity as u64);
            let mut misses = 0u64;
            let started = Instant::now();
            for &user in &trace {
                let profile = cache.get_with(user, || {
                    misses += 1;
                    Arc::new(fetch(user))
                });
                std::hint::black_box(profile.name.len());
            }
            ("moka", misses, started.elapsed())
        }
        _ => return,
    };
    let reads = trace.len() as u64;
    report(name, "cache_get", reads, elapsed);
    println!(
        "{name} cache_hit_ratio {:.4}",
        (reads - misses) as f64 / reads as f64
    );
}
