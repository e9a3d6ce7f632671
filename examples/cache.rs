//! A bounded cache in front of a slow source: a collection keyed by its own
//! key, given a capacity, read through with `get_or_load`.
//!
//! ```text
//! cargo run --example cache
//! ```
//!
//! Reads 50,000 keys drawn Zipf-like from 10,000 (a few hot, most cold) through
//! a cache holding 1,000, once with each eviction policy, then runs a one-off
//! scan of 5,000 new keys and reads the hot keys again. Prints hits, misses,
//! evictions and the hit ratio of each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use docstore::{Capacity, Collection, Error, Indexed, Policy};

/// What the slow source returns.
#[derive(Indexed, Clone, Debug)]
struct Profile {
    #[key]
    user: u64,
    name: String,
}

/// The slow source: a database or a service, here a function that sleeps.
struct Source {
    calls: AtomicU64,
}

impl Source {
    fn fetch(&self, user: u64) -> Result<Profile, Error> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        thread::sleep(Duration::from_micros(20));
        Ok(Profile {
            user,
            name: format!("user {user}"),
        })
    }
}

/// Keys drawn from 0..n with probability falling as 1/rank (Zipf, s = 1), by
/// inverting the cumulative weights: deterministic from the seed.
struct Zipf {
    cumulative: Vec<f64>,
    state: u64,
}

impl Zipf {
    fn new(n: usize, seed: u64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Zipf {
            cumulative,
            state: seed,
        }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let target = (self.state >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative.partition_point(|&c| c < target) as u64
    }
}

fn run(policy: Policy) -> Result<(), Error> {
    let source = Source {
        calls: AtomicU64::new(0),
    };
    let cache = Collection::<Profile>::new();
    cache.set_capacity(Capacity::documents(1_000).with_policy(policy))?;
    let mut keys = Zipf::new(10_000, 42);
    for _ in 0..50_000 {
        let user = keys.next();
        let profile = cache.get_or_load(user, || source.fetch(user))?;
        debug_assert_eq!(profile.user, user);
    }
    let stats = cache.stats()?;
    let ratio = stats.hits as f64 / (stats.hits + stats.misses) as f64;
    println!(
        "{policy:?}: {} hits, {} misses ({} loads from the source), {} evicted, {} loads not \
         kept; hit ratio {ratio:.3}",
        stats.hits,
        stats.misses,
        source.calls.load(Ordering::Relaxed),
        stats.evicted,
        stats.refused,
    );
    let hot = |cache: &Collection<Profile>| -> Result<usize, Error> {
        let mut resident = 0;
        for user in 0..100_u64 {
            resident += usize::from(cache.get_key(user)?.is_some());
        }
        Ok(resident)
    };
    let before = hot(&cache)?;
    for user in 1_000_000..1_005_000 {
        cache.get_or_load(user, || source.fetch(user))?;
    }
    println!(
        "{policy:?}: of the 100 hottest keys, {before} cached before a one-off scan of 5,000 \
         new keys, {} after",
        hot(&cache)?
    );
    Ok(())
}

fn main() -> Result<(), Error> {
    run(Policy::Recent)?;
    run(Policy::Random)
}
