//! What a bounded store keeps: on a fixed seed, a hot set read again and again
//! stays resident (its hit ratio beats random eviction on the same trace), and
//! a one-off scan, by iteration or by a run of read-through misses, does not
//! flush it.

use docstore::{Capacity, Collection, Error, Indexed, Policy};

#[derive(Indexed, Clone, Debug)]
struct Entry {
    #[key]
    key: u64,
}

/// A deterministic stream of keys: 90% from a hot set of 100, the rest from
/// 100 000 cold keys.
struct Trace(u64);

impl Trace {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let pick = self.0 >> 8;
        if pick % 10 < 9 {
            pick / 10 % 100
        } else {
            1_000 + pick / 10 % 100_000
        }
    }
}

/// Runs `reads` keys of the trace through `get_or_load`; the hit ratio.
fn run(cache: &Collection<Entry>, trace: &mut Trace, reads: usize) -> f64 {
    let before = cache.stats().unwrap();
    for _ in 0..reads {
        let key = trace.next();
        cache
            .get_or_load(key, || Ok::<_, Error>(Entry { key }))
            .unwrap();
    }
    let after = cache.stats().unwrap();
    let hits = after.hits - before.hits;
    hits as f64 / reads as f64
}

fn hot_resident(cache: &Collection<Entry>) -> usize {
    (0..100)
        .filter(|key| cache.get_key(*key).unwrap().is_some())
        .count()
}

fn cache_of(policy: Policy) -> Collection<Entry> {
    let cache = Collection::<Entry>::new();
    cache
        .set_capacity(Capacity::documents(200).with_policy(policy))
        .unwrap();
    cache
}

#[test]
fn a_hot_set_stays_resident_and_beats_random_eviction() {
    let recent = cache_of(Policy::Recent);
    let random = cache_of(Policy::Random);
    let warm_recent = run(&recent, &mut Trace(42), 20_000);
    let warm_random = run(&random, &mut Trace(42), 20_000);
    let recent_ratio = run(&recent, &mut Trace(7), 20_000);
    let random_ratio = run(&random, &mut Trace(7), 20_000);
    assert!(warm_recent > 0.0 && warm_random > 0.0);
    assert!(
        recent_ratio > random_ratio + 0.02,
        "recent {recent_ratio:.3} vs random {random_ratio:.3}"
    );
    assert!(recent_ratio > 0.85, "{recent_ratio:.3}");
    assert!(hot_resident(&recent) >= 95, "{}", hot_resident(&recent));
    assert!(recent.len().unwrap() <= 200);
    assert!(recent.verify().unwrap().is_empty());
}

#[test]
fn a_one_off_scan_does_not_flush_the_hot_set() {
    let cache = cache_of(Policy::Recent);
    run(&cache, &mut Trace(42), 20_000);
    let before = hot_resident(&cache);
    assert!(before >= 95, "{before}");
    // Reading every document does not count as use.
    assert_eq!(cache.iter().unwrap().count(), 200);
    // A run of one-off misses, as a scan through the key space makes.
    for key in 1_000_000..1_005_000 {
        let loaded = cache
            .get_or_load(key, || Ok::<_, Error>(Entry { key }))
            .unwrap();
        assert_eq!(loaded.key, key);
    }
    let after = hot_resident(&cache);
    let stats = cache.stats().unwrap();
    assert!(
        after >= before - 5,
        "{after} of {before} hot documents left: {stats:?}"
    );
    assert!(stats.refused >= 4_000, "{}", stats.refused);
    // And the hot set still hits afterwards.
    assert!(run(&cache, &mut Trace(9), 5_000) > 0.85);
}

#[test]
fn documents_held_before_the_capacity_was_given_count_their_reads() {
    let entries = Collection::<Entry>::new();
    for key in 0..50 {
        entries.insert(Entry { key }).unwrap();
    }
    entries.set_capacity(Capacity::documents(50)).unwrap();
    let hot: Vec<_> = (0..10)
        .map(|key| entries.get_key(key).unwrap().unwrap().id())
        .collect();
    for key in 1_000..1_200 {
        entries.insert(Entry { key }).unwrap();
        for id in &hot {
            entries.get(*id).unwrap();
        }
    }
    assert_eq!(entries.len().unwrap(), 50);
    for id in &hot {
        assert!(
            entries.contains(*id).unwrap(),
            "hot document {id} was evicted"
        );
    }
}
