//! The change feed and expiry phases (docstore's systems only): what
//! subscriptions and watches cost a writer, and what deadlines cost readers.
//! See the module docs of `main` for what each phase does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use docstore::{ChangeSet, Event, Id, Subscription};

use crate::common::{Found, Home, Rng, System, initial_age};
use crate::{RANGE_WIDTH, SCANS, WIDE_QUERIES, filled, report, timed, update_next};

/// The generators of the feed and expiry phases.
const FEED_SEED: u64 = 47;
const EXPIRY_SEED: u64 = 48;
/// How long the documents of the expiry phases live: longer than any run.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// The buffer of each subscription: its reader keeps up, so it never fills.
const CAPACITY: usize = 1 << 16;
/// How often the reader of the subscriptions reads what they hold.
const READ_EVERY: Duration = Duration::from_millis(1);

/// A subscription, whatever its documents, as the phases read it.
pub trait Drain: Send + Sync {
    /// Receives what is there without waiting: (change sets, lags).
    fn drain(&self) -> (u64, u64);
}

impl<T: Send + Sync + 'static> Drain for Subscription<ChangeSet<T>> {
    fn drain(&self) -> (u64, u64) {
        let (mut sets, mut lags) = (0, 0);
        while let Ok(Some(event)) = self.try_recv() {
            match event {
                Event::Changes(_) => sets += 1,
                Event::Lagged { .. } => lags += 1,
            }
        }
        (sets, lags)
    }
}

/// What the feed and expiry phases need of a system beyond [`System`].
pub trait Feeds: System {
    /// A subscription to every change, with a buffer of `capacity`.
    fn subscribe(&self, capacity: usize) -> Box<dyn Drain>;
    /// A watch on the name `nobody-k`, which no document has.
    fn watch_elsewhere(&self, k: usize) -> Box<dyn Drain>;
    /// Inserts document `i` (as [`System::insert`]) with a deadline `ttl` away.
    fn insert_with_ttl(&self, i: usize, ttl: Duration) -> Id;
}

/// Every feed and expiry phase, in order.
pub fn phases<S: Feeds>(name: &str, n: usize, home: &Home) {
    update_phases::<S>(name, n, home);
    read_phases::<S>(name, n, home, false);
    read_phases::<S>(name, n, home, true);
}

/// feed_update_*: n updates each (seed 47, continuing from one phase to the
/// next) on one store, with 0, 1 and 100 subscriptions that one thread reads
/// as they fill, then with 10 and 10,000 watches on keys no update touches.
fn update_phases<S: Feeds>(name: &str, n: usize, home: &Home) {
    let (store, ids) = filled::<S>(n, home);
    let mut ages: Vec<u64> = (0..n).map(initial_age).collect();
    let mut rng = Rng::new(FEED_SEED);
    let mut run = |phase: &str, subscriptions: Vec<Box<dyn Drain>>, read: bool| {
        let stop = AtomicBool::new(false);
        let (heard, elapsed) = thread::scope(|scope| {
            let reader = read.then(|| {
                scope.spawn(|| {
                    let (mut sets, mut lags) = (0, 0);
                    loop {
                        let done = stop.load(Ordering::Acquire);
                        for subscription in &subscriptions {
                            let (s, l) = subscription.drain();
                            sets += s;
                            lags += l;
                        }
                        if done {
                            return (sets, lags);
                        }
                        // A reader that keeps up, reading in batches: not
                        // one that fights the writer for every change set.
                        thread::sleep(READ_EVERY);
                    }
                })
            });
            let ((), elapsed) = timed(|| {
                for _ in 0..n {
                    update_next(&store, &ids, &mut ages, &mut rng);
                }
            });
            stop.store(true, Ordering::Release);
            let heard = reader.map(|reader| reader.join().expect("the reader panicked"));
            (heard, elapsed)
        });
        report(name, phase, n as u64, elapsed);
        if let Some((sets, lags)) = heard {
            // Not one of WORKLOAD.md's lines, hence stderr.
            eprintln!(
                "{name} {phase}: {} subscriptions heard {sets} change sets, lagged {lags} times",
                subscriptions.len()
            );
        }
    };
    run("feed_update_0sub", Vec::new(), false);
    let one = (0..1).map(|_| store.subscribe(CAPACITY)).collect();
    run("feed_update_1sub", one, true);
    let hundred = (0..100).map(|_| store.subscribe(CAPACITY)).collect();
    run("feed_update_100sub", hundred, true);
    let ten = (0..10).map(|k| store.watch_elsewhere(k)).collect();
    run("feed_update_10watch", ten, false);
    let many = (0..10_000).map(|k| store.watch_elsewhere(k)).collect();
    run("feed_update_10kwatch", many, false);
}

/// expiry_none_* and expiry_all_*: the read phases (get, lookup_unique,
/// lookup_wide, range, scan; seed 48, the same draws for both) on a store
/// where no document has a deadline, and on one where every document has
/// one, a day away.
fn read_phases<S: Feeds>(name: &str, n: usize, home: &Home, deadlines: bool) {
    let store = S::new(home);
    let ids: Vec<Id> = (0..n)
        .map(|i| match deadlines {
            true => store.insert_with_ttl(i, TTL),
            false => store.insert(i),
        })
        .collect();
    let prefix = if deadlines {
        "expiry_all"
    } else {
        "expiry_none"
    };
    let phase = |what: &str| format!("{prefix}_{what}");
    let mut rng = Rng::new(EXPIRY_SEED);
    let count = n as u64;
    let mut sums = Vec::new();

    let (sum, elapsed) = timed(|| {
        (0..n)
            .map(|_| store.get_age(ids[rng.below(n)]))
            .sum::<u64>()
    });
    report(name, &phase("get"), count, elapsed);
    sums.push(sum);

    let (found, elapsed) = timed(|| {
        let mut found = Found::default();
        for _ in 0..n {
            found += store.lookup_name(&format!("user-{}", rng.below(n)));
        }
        found
    });
    report(name, &phase("lookup_unique"), count, elapsed);
    sums.push(found.age_sum);

    let (found, elapsed) = timed(|| {
        let mut found = Found::default();
        for _ in 0..WIDE_QUERIES {
            found += store.lookup_city(&format!("city-{}", rng.below(50)));
        }
        found
    });
    report(name, &phase("lookup_wide"), found.count, elapsed);
    sums.push(found.age_sum);

    let (found, elapsed) = timed(|| {
        let mut found = Found::default();
        for _ in 0..WIDE_QUERIES {
            let start = rng.next() % (100 - RANGE_WIDTH + 1);
            found += store.range_age(start, start + RANGE_WIDTH);
        }
        found
    });
    report(name, &phase("range"), found.count, elapsed);
    sums.push(found.age_sum);

    let (found, elapsed) = timed(|| {
        let mut found = Found::default();
        for _ in 0..SCANS {
            found += store.scan();
        }
        found
    });
    report(name, &phase("scan"), found.count, elapsed);
    sums.push(found.age_sum);
    // Both stores must give the same sums: nothing expired.
    println!("{name} {prefix}_check {sums:?}");
}
