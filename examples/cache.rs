//! A bounded cache in front of a slow source: a collection keyed by its own
//! key, given a capacity, read through with `get_or_load`, beside moka (the
//! cache Rust services reach for first) holding the same documents as `Arc`s.
//!
//! ```text
//! cargo run --release --example cache
//! ```
//!
//! Reads 200,000 keys drawn Zipf-like (s = 1) from 100,000 through caches
//! holding 10,000, with docstore's two eviction policies and with moka; then
//! runs a one-off scan of 50,000 new keys and counts how many of the 100
//! hottest keys each still holds. Prints, for each: hits, misses (loads from
//! the source), evictions, the hit ratio, and reads per second (the source
//! builds the document and does nothing else, so this is the caches' own cost).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use docstore::{Capacity, Collection, Error, Indexed, Policy};

const KEYS: usize = 100_000;
const CAPACITY: usize = KEYS / 10;
const READS: usize = 200_000;
const SCAN: u64 = 50_000;

/// What the source returns.
#[derive(Indexed, Clone, Debug)]
struct Profile {
    #[key]
    user: u64,
    name: String,
}

/// The source: a database or a service; here it builds the document and
/// counts the calls.
#[derive(Default)]
struct Source {
    calls: AtomicU64,
}

impl Source {
    fn fetch(&self, user: u64) -> Profile {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Profile {
            user,
            name: format!("user {user}"),
        }
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

/// A cache under test: a read through it, and whether it holds a key.
trait Cache {
    fn name(&self) -> String;
    /// The name read (its length, so that every cache does the same work).
    fn read(&self, user: u64, source: &Source) -> Result<usize, Error>;
    fn holds(&self, user: u64) -> Result<bool, Error>;
    fn evicted(&self) -> Result<u64, Error>;
}

struct Docstore {
    policy: Policy,
    profiles: Collection<Profile>,
}

impl Cache for Docstore {
    fn name(&self) -> String {
        format!("docstore-{:?}", self.policy).to_lowercase()
    }

    fn read(&self, user: u64, source: &Source) -> Result<usize, Error> {
        let profile = self
            .profiles
            .get_or_load(user, || Ok::<_, Error>(source.fetch(user)))?;
        Ok(profile.name.len())
    }

    fn holds(&self, user: u64) -> Result<bool, Error> {
        Ok(self.profiles.get_key(user)?.is_some())
    }

    fn evicted(&self) -> Result<u64, Error> {
        Ok(self.profiles.stats()?.evicted)
    }
}

struct Moka {
    cache: moka::sync::Cache<u64, Arc<Profile>>,
    evicted: Arc<AtomicU64>,
}

impl Cache for Moka {
    fn name(&self) -> String {
        "moka".into()
    }

    fn read(&self, user: u64, source: &Source) -> Result<usize, Error> {
        let profile = self.cache.get_with(user, || Arc::new(source.fetch(user)));
        Ok(profile.name.len())
    }

    fn holds(&self, user: u64) -> Result<bool, Error> {
        Ok(self.cache.contains_key(&user))
    }

    fn evicted(&self) -> Result<u64, Error> {
        self.cache.run_pending_tasks();
        Ok(self.evicted.load(Ordering::Relaxed))
    }
}

fn run(cache: &dyn Cache) -> Result<(), Error> {
    let source = Source::default();
    let mut keys = Zipf::new(KEYS, 42);
    let trace: Vec<u64> = (0..READS).map(|_| keys.next()).collect();
    let started = Instant::now();
    let mut read = 0;
    for &user in &trace {
        read += cache.read(user, &source)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let misses = source.calls.load(Ordering::Relaxed);
    let hits = READS as u64 - misses;
    println!(
        "{:16} {hits} hits, {misses} misses, {} evicted: hit ratio {:.3}, {:.0} reads/s \
         ({read} bytes of names)",
        cache.name(),
        cache.evicted()?,
        hits as f64 / READS as f64,
        READS as f64 / seconds,
    );
    let hot = || -> Result<usize, Error> {
        let mut held = 0;
        for user in 0..100 {
            held += usize::from(cache.holds(user)?);
        }
        Ok(held)
    };
    let before = hot()?;
    for user in 1_000_000..1_000_000 + SCAN {
        cache.read(user, &source)?;
    }
    println!(
        "{:16} of the 100 hottest keys: {before} held before a one-off scan of {SCAN} new \
         keys, {} after",
        cache.name(),
        hot()?
    );
    Ok(())
}

fn main() -> Result<(), Error> {
    for policy in [Policy::Recent, Policy::Random] {
        let profiles = Collection::<Profile>::new();
        profiles.set_capacity(Capacity::documents(CAPACITY).with_policy(policy))?;
        run(&Docstore { policy, profiles })?;
    }
    let evicted = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&evicted);
    let cache = moka::sync::Cache::builder()
        .max_capacity(CAPACITY as u64)
        .eviction_listener(move |_, _, _| {
            counted.fetch_add(1, Ordering::Relaxed);
        })
        .build();
    run(&Moka { cache, evicted })
}
