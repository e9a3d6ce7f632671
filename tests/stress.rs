//! Concurrency stress tests of the schemaless [`Store`]: more threads than
//! cores doing random mixed operations on shared stores, for a fixed number of
//! operations each, with invariant checks while they run and after:
//!
//! - `verify()` finds nothing (every index equals one rebuilt from the documents);
//! - each reader sees every document's version only grow;
//! - read-modify-writes lose no update (counters sum exactly);
//! - a snapshot's index iteration equals a sorted scan of the same snapshot;
//! - iterators, cursors and snapshots held across writes see only their moment;
//! - long scans held open do not hold writers back;
//! - transfers in transactions neither make nor lose money, and every sum
//!   taken meanwhile, in a read transaction or a snapshot, sees it all.
//!
//! Nothing here asserts on wall-clock time; every loop is bounded by a count.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use docstore::{Document, Error, Id, IndexOptions, Iter, Object, Snapshot, Store, Versioned};
use parking_lot::RwLock;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// The key order, by hand, from the specification (tests/common).
// ---------------------------------------------------------------------------

mod common;

use common::{cmp_seq, cmp_value, key_combinations};

// ---------------------------------------------------------------------------
// The indexes the stressed stores carry, and the keys a document has in each.
// ---------------------------------------------------------------------------

struct Def {
    name: &'static str,
    fields: &'static [&'static str],
    unique: bool,
    multi: bool,
}

const DEFS: &[Def] = &[
    Def {
        name: "by_city",
        fields: &["city"],
        unique: false,
        multi: false,
    },
    Def {
        name: "by_age",
        fields: &["age"],
        unique: false,
        multi: false,
    },
    Def {
        name: "by_city_age",
        fields: &["city", "age"],
        unique: false,
        multi: false,
    },
    Def {
        name: "by_tags",
        fields: &["tags"],
        unique: false,
        multi: true,
    },
    Def {
        name: "by_email",
        fields: &["email"],
        unique: true,
        multi: false,
    },
    Def {
        name: "by_zip",
        fields: &["address.zip"],
        unique: false,
        multi: false,
    },
];

fn create_indexes(store: &Store) {
    for (n, def) in DEFS.iter().enumerate() {
        let mut options = IndexOptions::new();
        // Half the indexes hold their documents: writers must re-point them.
        if n % 2 == 0 {
            options = options.covering();
        }
        if def.unique {
            options = options.unique();
        }
        if def.multi {
            options = options.multi_key();
        }
        store
            .create_index_with(def.name, def.fields, options)
            .expect("create index");
    }
}

fn find<'a>(document: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(document, |value, segment| value.as_object()?.get(segment))
}

fn keys_of(def: &Def, document: &Value) -> Vec<Vec<Value>> {
    let mut values = Vec::with_capacity(def.fields.len());
    for path in def.fields {
        match find(document, path) {
            None | Some(Value::Null) => return Vec::new(),
            Some(value) => values.push(value),
        }
    }
    key_combinations(&values, def.multi)
}

// ---------------------------------------------------------------------------
// A small deterministic random number generator: runs are reproducible by seed.
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const CITIES: &[&str] = &["Paris", "Rome", "Oslo", "Lima", "Kyiv"];

fn random_age(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => json!(2.5),
        1 => json!(3.0),
        2 => json!(-0.0),
        _ => json!(rng.below(8)),
    }
}

fn random_document(rng: &mut Rng, writer: usize) -> Value {
    let mut document = json!({
        "kind": "item",
        "writer": writer,
        "n": rng.below(1000),
    });
    if rng.chance(85) {
        document["city"] = json!(rng.pick(CITIES));
    }
    if rng.chance(85) {
        document["age"] = random_age(rng);
    }
    if rng.chance(70) {
        let tags: Vec<&str> = (0..rng.below(4))
            .map(|_| *rng.pick(&["a", "b", "c", "d"]))
            .collect();
        document["tags"] = json!(tags);
    }
    if rng.chance(40) {
        document["email"] = json!(format!("u{}@x", rng.below(40)));
    }
    if rng.chance(50) {
        document["address"] = json!({"zip": rng.below(5)});
    }
    document
}

// ---------------------------------------------------------------------------
// Invariants of one snapshot.
// ---------------------------------------------------------------------------

/// A snapshot's every index equals a sorted scan of the same snapshot's
/// documents, in the specification's key order with ties in id order; unique
/// indexes hold no key twice; lookups by id agree with the scan.
fn check_snapshot(snapshot: &Snapshot<Object>) {
    let docs: Vec<Document> = snapshot.iter().collect();
    assert_eq!(
        docs.len(),
        snapshot.len(),
        "a snapshot's scan and len() agree"
    );
    assert!(
        docs.windows(2).all(|w| w[0].id() < w[1].id()),
        "a scan is in strictly increasing id order"
    );
    let values: Vec<Value> = docs.iter().map(|d| d.to_value()).collect();
    for def in DEFS {
        if snapshot.by_index(def.name).is_err() {
            continue;
        }
        let mut expected: Vec<(Vec<Value>, Id, u64)> = docs
            .iter()
            .zip(&values)
            .flat_map(|(d, v)| {
                keys_of(def, v)
                    .into_iter()
                    .map(move |k| (k, d.id(), d.version()))
            })
            .collect();
        expected.sort_by(|a, b| cmp_seq(&a.0, &b.0).then(a.1.cmp(&b.1)));
        if def.unique {
            assert!(
                expected
                    .windows(2)
                    .all(|w| cmp_seq(&w[0].0, &w[1].0) != Ordering::Equal),
                "unique index {} holds a key twice",
                def.name
            );
        }
        // A multi-key index gives each document once, at its first key.
        let mut once = HashSet::new();
        let expected: Vec<(Id, u64)> = expected
            .into_iter()
            .filter(|(_, id, _)| !def.multi || once.insert(*id))
            .map(|(_, id, v)| (id, v))
            .collect();
        let actual: Vec<(Id, u64)> = snapshot
            .by_index(def.name)
            .expect("index")
            .map(|d| (d.id(), d.version()))
            .collect();
        assert_eq!(
            actual, expected,
            "index {} differs from a sorted scan of the same snapshot",
            def.name
        );
    }
    for document in docs.iter().step_by(7) {
        let again = snapshot
            .get(document.id())
            .expect("a scanned id is in its snapshot");
        assert!(again.ptr_eq(document), "get and scan of one snapshot agree");
    }
}

/// A query result: each document matches, none twice, in key then id order.
fn check_result(what: &str, iter: Iter<Object>, def: &Def, matches: impl Fn(&[Value]) -> bool) {
    let mut seen = HashSet::new();
    let mut last: Option<(Vec<Value>, Id)> = None;
    for document in iter {
        let value = document.to_value();
        let keys = keys_of(def, &value);
        assert!(
            keys.iter().any(|k| matches(k)),
            "{what}: returned a document that does not match: {value}"
        );
        assert!(
            seen.insert(document.id()),
            "{what}: returned a document twice"
        );
        // The entry's key: a multi-key document comes at its first matching key.
        let key = keys
            .iter()
            .find(|k| matches(k))
            .cloned()
            .unwrap_or_default();
        if let Some((last_key, last_id)) = &last {
            let order = cmp_seq(last_key, &key).then(last_id.cmp(&document.id()));
            assert_eq!(order, Ordering::Less, "{what}: out of key order at {value}");
        }
        last = Some((key, document.id()));
    }
}

fn def(name: &str) -> &'static Def {
    DEFS.iter().find(|d| d.name == name).expect("known index")
}

// ---------------------------------------------------------------------------
// 1. Random mixed operations on one shared store.
// ---------------------------------------------------------------------------

const WORKERS: usize = 8;
const OPS_PER_WORKER: usize = 2_500;
const COUNTERS: usize = 4;

struct Shared {
    store: Store,
    /// Ids of items: every id ever inserted (some deleted since).
    items: Mutex<Vec<Id>>,
    counters: Vec<Id>,
    /// Increments each counter received through a successful write.
    increments: Vec<AtomicU64>,
    /// Writers hold this shared for each operation; a checker takes it
    /// exclusively to freeze the store for an instant.
    gate: RwLock<()>,
    ops_done: AtomicUsize,
    workers_done: AtomicUsize,
}

/// One random operation; returns whether it was a counter increment that landed.
fn random_op(shared: &Shared, rng: &mut Rng, me: usize, seen: &mut HashMap<Id, u64>) {
    let store = &shared.store;
    let random_item = |rng: &mut Rng| {
        let items = shared.items.lock().expect("lock");
        *rng.pick(&items)
    };
    // Every document version this worker reads must be at least the last it saw.
    let mut observe = |document: &Document| {
        let last = seen.entry(document.id()).or_insert(0);
        assert!(
            document.version() >= *last,
            "document {} went back from version {} to {}",
            document.id(),
            *last,
            document.version()
        );
        *last = document.version();
    };
    match rng.below(20) {
        0..=2 => {
            if let Ok(id) = store.insert(random_document(rng, me)) {
                shared.items.lock().expect("lock").push(id);
            }
        }
        3 | 4 => {
            let id = random_item(rng);
            match store.update(id, random_document(rng, me)) {
                Ok(_) | Err(Error::NotFound { .. } | Error::UniqueViolation { .. }) => {}
                Err(other) => panic!("update: {other}"),
            }
        }
        5 => {
            let id = random_item(rng);
            if let Ok(current) = store.get(id) {
                observe(&current);
                match store.update_if(id, current.version(), random_document(rng, me)) {
                    Ok(version) => assert_eq!(version, current.version() + 1),
                    Err(Error::VersionConflict {
                        expected, actual, ..
                    }) => {
                        assert_eq!(expected, current.version());
                        assert!(actual > expected, "a conflict names a newer version");
                    }
                    Err(Error::NotFound { .. } | Error::UniqueViolation { .. }) => {}
                    Err(other) => panic!("update_if: {other}"),
                }
            }
        }
        6 => {
            let id = random_item(rng);
            let city = *rng.pick(CITIES);
            match store.update_with(id, |d| {
                let mut next = d.to_value();
                next["city"] = json!(city);
                next["n"] = json!(next["n"].as_u64().unwrap_or(0) + 1);
                next
            }) {
                Ok(document) => {
                    assert_eq!(document.get("city").and_then(|c| c.as_str()), Some(city));
                    observe(&document);
                }
                Err(Error::NotFound { .. }) => {}
                Err(other) => panic!("update_with: {other}"),
            }
        }
        7 => {
            let id = random_item(rng);
            match store.delete(id) {
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(other) => panic!("delete: {other}"),
            }
        }
        8..=10 => {
            // A counter: read-modify-write or compare-and-set until it lands.
            let c = rng.below(COUNTERS);
            let id = shared.counters[c];
            if rng.chance(50) {
                let stored = store
                    .update_with(id, |d| {
                        let hits = d.get("hits").and_then(|h| h.as_u64()).unwrap_or(0);
                        json!({"kind": "counter", "c": c, "hits": hits + 1})
                    })
                    .expect("update_with on a counter");
                observe(&stored);
            } else {
                loop {
                    let current = store.get(id).expect("counter");
                    observe(&current);
                    let hits = current.get("hits").and_then(|h| h.as_u64()).unwrap_or(0);
                    let next = json!({"kind": "counter", "c": c, "hits": hits + 1});
                    match store.update_if(id, current.version(), next) {
                        Ok(_) => break,
                        Err(Error::VersionConflict { .. }) => {}
                        Err(other) => panic!("update_if on a counter: {other}"),
                    }
                }
            }
            shared.increments[c].fetch_add(1, AtomicOrdering::Relaxed);
        }
        11 | 12 => {
            let id = random_item(rng);
            match store.get(id) {
                Ok(document) => {
                    assert_eq!(document.id(), id);
                    observe(&document);
                }
                Err(Error::NotFound { .. }) => {}
                Err(other) => panic!("get: {other}"),
            }
        }
        13 => {
            let city = json!(rng.pick(CITIES));
            let iter = store.lookup("by_city", &city).expect("lookup");
            check_result("lookup by_city", iter, def("by_city"), |k| {
                cmp_value(&k[0], &city) == Ordering::Equal
            });
        }
        14 => {
            let (lo, hi) = (random_age(rng), random_age(rng));
            let iter = store
                .range("by_age", lo.clone()..hi.clone())
                .expect("range");
            check_result("range by_age", iter, def("by_age"), |k| {
                cmp_value(&k[0], &lo) != Ordering::Less && cmp_value(&k[0], &hi) == Ordering::Less
            });
        }
        15 => {
            let city = json!(rng.pick(CITIES));
            let iter = store.prefix("by_city_age", city.clone()).expect("prefix");
            check_result("prefix by_city_age", iter, def("by_city_age"), |k| {
                cmp_value(&k[0], &city) == Ordering::Equal
            });
        }
        16 => {
            let tag = json!(rng.pick(&["a", "b", "c", "d"]));
            let iter = store
                .range("by_tags", (Bound::Included(tag.clone()), Bound::Unbounded))
                .expect("range");
            check_result("range by_tags", iter, def("by_tags"), |k| {
                cmp_value(&k[0], &tag) != Ordering::Less
            });
        }
        17 => {
            let email = json!(format!("u{}@x", rng.below(40)));
            if let Some(document) = store.get_unique("by_email", &email).expect("get_unique") {
                assert_eq!(document.get("email").map(|e| e.to_value()), Some(email));
                observe(&document);
            }
        }
        18 => {
            // First and last k, without materialising the rest.
            let k = rng.below(5);
            let first: Vec<Id> = store
                .by_index("by_age")
                .expect("by_index")
                .take(k)
                .map(|d| d.id())
                .collect();
            let last: Vec<Id> = store
                .by_index("by_age")
                .expect("by_index")
                .rev()
                .take(k)
                .map(|d| d.id())
                .collect();
            assert!(first.len() <= k && last.len() <= k);
        }
        _ => {
            // A snapshot taken by a worker is internally consistent.
            if rng.chance(20) {
                check_snapshot(&store.snapshot().expect("snapshot"));
            } else {
                let snapshot = store.snapshot().expect("snapshot");
                for document in snapshot.iter().step_by(11) {
                    observe(&document);
                }
            }
        }
    }
}

/// Adds one to a count when dropped, panicking or not.
struct Done<'a>(&'a AtomicUsize);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, AtomicOrdering::Release);
    }
}

/// Everything a frozen moment of the store showed, eagerly collected.
struct Frozen {
    docs: Vec<(Id, u64, Value)>,
    by_age: Vec<(Id, u64)>,
    paris: Vec<(Id, u64)>,
    cursor_rest: Vec<Id>,
}

#[test]
fn random_mixed_operations_keep_every_invariant() {
    let store = Store::new();
    create_indexes(&store);
    let mut rng = Rng::new(1);
    let mut items = Vec::new();
    for _ in 0..150 {
        if let Ok(id) = store.insert(random_document(&mut rng, usize::MAX)) {
            items.push(id);
        }
    }
    let counters: Vec<Id> = (0..COUNTERS)
        .map(|c| {
            store
                .insert(json!({"kind": "counter", "c": c, "hits": 0}))
                .expect("insert")
        })
        .collect();
    let shared = Arc::new(Shared {
        store,
        items: Mutex::new(items),
        counters,
        increments: (0..COUNTERS).map(|_| AtomicU64::new(0)).collect(),
        gate: RwLock::new(()),
        ops_done: AtomicUsize::new(0),
        workers_done: AtomicUsize::new(0),
    });

    thread::scope(|s| {
        for me in 0..WORKERS {
            let shared = Arc::clone(&shared);
            s.spawn(move || {
                // Counts this worker done even if it panics, so the checkers stop.
                let _done = Done(&shared.workers_done);
                let mut rng = Rng::new(100 + me as u64);
                let mut seen = HashMap::new();
                for _ in 0..OPS_PER_WORKER {
                    let _open = shared.gate.read();
                    random_op(&shared, &mut rng, me, &mut seen);
                    shared.ops_done.fetch_add(1, AtomicOrdering::Relaxed);
                }
            });
        }

        // Checkers: freeze the store for an instant, take iterators, a cursor
        // and a snapshot, let the writers run a few hundred operations, then
        // check the held views still show exactly the frozen moment.
        for checker in 0..2 {
            let shared = Arc::clone(&shared);
            s.spawn(move || {
                let mut rounds = 0;
                while shared.workers_done.load(AtomicOrdering::Acquire) < WORKERS || rounds == 0 {
                    rounds += 1;
                    let store = &shared.store;
                    let (scan, by_age, paris, mut cursor, snapshot, frozen) = {
                        let _frozen = shared.gate.write();
                        let snapshot = store.snapshot().expect("snapshot");
                        let mut cursor = store.cursor().expect("cursor");
                        cursor.advance(3 + checker);
                        let frozen = Frozen {
                            docs: snapshot
                                .iter()
                                .map(|d| (d.id(), d.version(), d.to_value()))
                                .collect(),
                            by_age: snapshot
                                .by_index("by_age")
                                .expect("index")
                                .map(|d| (d.id(), d.version()))
                                .collect(),
                            paris: snapshot
                                .lookup("by_city", "Paris")
                                .expect("lookup")
                                .map(|d| (d.id(), d.version()))
                                .collect(),
                            cursor_rest: cursor.clone().map(|d| d.id()).collect(),
                        };
                        (
                            store.iter().expect("iter"),
                            store.by_index("by_age").expect("by_index"),
                            store.lookup("by_city", "Paris").expect("lookup"),
                            cursor,
                            snapshot,
                            frozen,
                        )
                    };
                    // Let the writers make progress: a count, not a duration.
                    let target = shared.ops_done.load(AtomicOrdering::Relaxed) + 150;
                    while shared.ops_done.load(AtomicOrdering::Relaxed) < target
                        && shared.workers_done.load(AtomicOrdering::Acquire) < WORKERS
                    {
                        thread::yield_now();
                    }
                    let scanned: Vec<(Id, u64, Value)> =
                        scan.map(|d| (d.id(), d.version(), d.to_value())).collect();
                    assert_eq!(scanned, frozen.docs, "a held scan changed under writes");
                    let by_age: Vec<(Id, u64)> = by_age.map(|d| (d.id(), d.version())).collect();
                    assert_eq!(
                        by_age, frozen.by_age,
                        "a held index scan changed under writes"
                    );
                    let paris: Vec<(Id, u64)> = paris.map(|d| (d.id(), d.version())).collect();
                    assert_eq!(paris, frozen.paris, "a held lookup changed under writes");
                    cursor.advance(-1);
                    cursor.advance(1);
                    let rest: Vec<Id> = cursor.map(|d| d.id()).collect();
                    assert_eq!(
                        rest, frozen.cursor_rest,
                        "a held cursor changed under writes"
                    );
                    check_snapshot(&snapshot);
                    check_snapshot(&store.snapshot().expect("snapshot"));
                    assert_eq!(store.verify(), Ok(Vec::new()), "verify() while writers run");
                }
                assert!(rounds > 0);
            });
        }
    });

    let store = &shared.store;
    assert_eq!(store.verify(), Ok(Vec::new()), "verify() after the run");
    check_snapshot(&store.snapshot().expect("snapshot"));
    for (c, id) in shared.counters.iter().enumerate() {
        let counter = store.get(*id).expect("counter");
        let increments = shared.increments[c].load(AtomicOrdering::Relaxed);
        assert_eq!(
            counter.get("hits").and_then(|h| h.as_u64()),
            Some(increments),
            "counter {c} lost updates"
        );
        assert_eq!(
            counter.version(),
            increments + 1,
            "counter {c}: one version per increment"
        );
    }
    assert_eq!(
        shared.ops_done.load(AtomicOrdering::Relaxed),
        WORKERS * OPS_PER_WORKER
    );
}

// ---------------------------------------------------------------------------
// 2. Read-modify-write loses no update.
// ---------------------------------------------------------------------------

#[test]
fn read_modify_write_and_compare_and_set_lose_no_update() {
    const THREADS: usize = 16;
    const EACH: u64 = 400;
    let store = Store::new();
    store.create_index("by_hits", ["hits"]).expect("index");
    let counters: Vec<Id> = (0..3)
        .map(|c| store.insert(json!({"c": c, "hits": 0})).expect("insert"))
        .collect();
    let retries = AtomicU64::new(0);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (store, counters, retries) = (&store, &counters, &retries);
            s.spawn(move || {
                for i in 0..EACH {
                    let c = (t + usize::try_from(i).unwrap_or(0)) % counters.len();
                    if t % 2 == 0 {
                        store
                            .update_with(counters[c], |d| {
                                let hits = d.get("hits").and_then(|h| h.as_u64()).unwrap_or(0);
                                json!({"c": c, "hits": hits + 1})
                            })
                            .expect("update_with");
                    } else {
                        loop {
                            let current = store.get(counters[c]).expect("get");
                            let hits = current.get("hits").and_then(|h| h.as_u64()).unwrap_or(0);
                            match store.update_if(
                                counters[c],
                                current.version(),
                                json!({"c": c, "hits": hits + 1}),
                            ) {
                                Ok(version) => {
                                    assert_eq!(version, current.version() + 1);
                                    break;
                                }
                                Err(Error::VersionConflict { .. }) => {
                                    retries.fetch_add(1, AtomicOrdering::Relaxed);
                                }
                                Err(other) => panic!("update_if: {other}"),
                            }
                        }
                    }
                }
            });
        }
    });
    let total: u64 = counters
        .iter()
        .map(|id| {
            let counter = store.get(*id).expect("get");
            let hits = counter.get("hits").and_then(|h| h.as_u64()).expect("hits");
            assert_eq!(counter.version(), hits + 1, "one version per increment");
            hits
        })
        .sum();
    assert_eq!(total, THREADS as u64 * EACH, "increments were lost");
    assert_eq!(store.verify(), Ok(Vec::new()));
    // The index followed every increment: each counter is found at its final count.
    for id in &counters {
        let hits = store
            .get(*id)
            .expect("get")
            .get("hits")
            .and_then(|h| h.as_u64());
        let found: Vec<Id> = store
            .lookup("by_hits", hits)
            .expect("lookup")
            .map(|d| d.id())
            .collect();
        assert!(found.contains(id));
    }
}

// ---------------------------------------------------------------------------
// 3. Long scans held open while writers run.
// ---------------------------------------------------------------------------

#[test]
fn long_scans_held_open_do_not_hold_writers_back() {
    const READERS: usize = 3;
    const WRITERS: usize = 5;
    const WRITES_EACH: usize = 1_000;
    const DOCS: usize = 6_000;

    let store = Arc::new(Store::new());
    create_indexes(&store);
    let mut rng = Rng::new(7);
    for _ in 0..DOCS {
        let mut document = random_document(&mut rng, 0);
        document.as_object_mut().map(|m| m.remove("email"));
        store.insert(document).expect("insert");
    }
    let before: Vec<(Id, u64, Value)> = store
        .iter()
        .expect("iter")
        .map(|d| (d.id(), d.version(), d.to_value()))
        .collect();
    let before_by_age: Vec<(Id, u64)> = store
        .by_index("by_age")
        .expect("index")
        .map(|d| (d.id(), d.version()))
        .collect();
    let ids: Arc<Vec<Id>> = Arc::new(before.iter().map(|(id, _, _)| *id).collect());
    let before = Arc::new(before);
    let before_by_age = Arc::new(before_by_age);

    let (opened_tx, opened_rx) = mpsc::channel();
    let mut releases = Vec::new();
    let mut readers = Vec::new();
    for r in 0..READERS {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        releases.push(release_tx);
        let (store, opened_tx) = (Arc::clone(&store), opened_tx.clone());
        let (before, before_by_age) = (Arc::clone(&before), Arc::clone(&before_by_age));
        readers.push(thread::spawn(move || {
            // Open a full scan, an index scan and a cursor, read part of each ...
            let mut scan = store.iter().expect("iter");
            let mut by_age = store.by_index("by_age").expect("by_index");
            let mut cursor = store.cursor().expect("cursor");
            let snapshot = store.snapshot().expect("snapshot");
            let mut scanned = Vec::new();
            let mut aged = Vec::new();
            for _ in 0..(10 + r) {
                scanned.extend(scan.next().map(|d| (d.id(), d.version(), d.to_value())));
                aged.extend(by_age.next().map(|d| (d.id(), d.version())));
            }
            cursor.advance(isize::try_from(DOCS / 2).unwrap_or(0));
            opened_tx.send(()).expect("main waits");
            // ... and hold them open, blocked, while the writers run.
            release_rx.recv().expect("released");
            scanned.extend(scan.map(|d| (d.id(), d.version(), d.to_value())));
            aged.extend(by_age.map(|d| (d.id(), d.version())));
            assert_eq!(&scanned, &*before, "a scan held across writes changed");
            assert_eq!(
                &aged, &*before_by_age,
                "an index scan held across writes changed"
            );
            cursor.advance(-2);
            let rest: Vec<Id> = cursor.map(|d| d.id()).collect();
            let want: Vec<Id> = before[DOCS / 2 - 2..].iter().map(|r| r.0).collect();
            assert_eq!(rest, want, "a cursor held across writes changed");
            assert_eq!(snapshot.len(), DOCS);
            check_snapshot(&snapshot);
        }));
    }
    drop(opened_tx);
    for _ in 0..READERS {
        opened_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("every reader opened its scans");
    }

    // Every reader now holds open scans. The writers must finish anyway.
    let (done_tx, done_rx) = mpsc::channel();
    let barrier = Arc::new(Barrier::new(WRITERS));
    for w in 0..WRITERS {
        let (store, ids, done_tx, barrier) = (
            Arc::clone(&store),
            Arc::clone(&ids),
            done_tx.clone(),
            Arc::clone(&barrier),
        );
        thread::spawn(move || {
            barrier.wait();
            let mut rng = Rng::new(1000 + w as u64);
            let mut completed = 0;
            for i in 0..WRITES_EACH {
                // Each writer owns the ids congruent to it, so every write succeeds.
                let id = ids[(i * WRITERS + w) % DOCS];
                let result = match i % 4 {
                    0 => store.insert(random_document(&mut rng, w)).map(|_| ()),
                    1 => store
                        .update(id, json!({"kind": "item", "age": w, "city": "Oslo"}))
                        .map(|_| ()),
                    2 => store
                        .update_with(id, |d| {
                            let mut next = d.to_value();
                            next["n"] = json!(1);
                            next
                        })
                        .map(|_| ()),
                    _ => store.delete(id).map(|_| ()),
                };
                match result {
                    Ok(()) => completed += 1,
                    Err(Error::UniqueViolation { .. }) => completed += 1,
                    Err(other) => panic!("writer {w}: {other}"),
                }
            }
            done_tx.send(completed).expect("main waits");
        });
    }
    drop(done_tx);
    let mut completed = 0;
    for _ in 0..WRITERS {
        completed += done_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("writers finished while scans were held open (no deadlock)");
    }
    assert_eq!(
        completed,
        WRITERS * WRITES_EACH,
        "every write completed while scans were open"
    );
    for reader in &readers {
        assert!(
            !reader.is_finished(),
            "the readers were still holding their scans"
        );
    }
    for release in releases {
        release.send(()).expect("reader waits");
    }
    for reader in readers {
        reader.join().expect("reader");
    }
    assert_eq!(store.verify(), Ok(Vec::new()));
    check_snapshot(&store.snapshot().expect("snapshot"));
}

// ---------------------------------------------------------------------------
// 4. Index definitions, clones and filtered clones racing writers.
// ---------------------------------------------------------------------------

#[test]
fn index_changes_and_clones_race_writers() {
    const WRITERS: usize = 6;
    const WRITES_EACH: usize = 1_000;
    let store = Store::new();
    store.create_index("by_city", ["city"]).expect("index");
    let mut rng = Rng::new(99);
    let ids: Vec<Id> = (0..200)
        .map(|_| {
            let mut document = random_document(&mut rng, 0);
            document.as_object_mut().map(|m| m.remove("email"));
            store.insert(document).expect("insert")
        })
        .collect();
    let stop = AtomicBool::new(false);
    let writers_done = AtomicUsize::new(0);

    thread::scope(|s| {
        for w in 0..WRITERS {
            let (store, ids, writers_done) = (&store, &ids, &writers_done);
            s.spawn(move || {
                let _done = Done(writers_done);
                let mut rng = Rng::new(500 + w as u64);
                for _ in 0..WRITES_EACH {
                    let id = *rng.pick(ids);
                    let mut document = random_document(&mut rng, w);
                    document.as_object_mut().map(|m| m.remove("email"));
                    let result = match rng.below(4) {
                        0 => store.insert(document).map(|_| ()),
                        1 => store.update(id, document).map(|_| ()),
                        2 => store.delete(id).map(|_| ()),
                        _ => store
                            .update_with(id, |d| {
                                let mut next = d.to_value();
                                next["age"] = json!(3);
                                next
                            })
                            .map(|_| ()),
                    };
                    match result {
                        Ok(()) | Err(Error::NotFound { .. } | Error::UniqueViolation { .. }) => {}
                        Err(other) => panic!("writer: {other}"),
                    }
                }
            });
        }
        // Index churn: create and drop while writes land.
        {
            let (store, stop) = (&store, &stop);
            s.spawn(move || {
                let mut rounds = 0;
                while !stop.load(AtomicOrdering::Acquire) || rounds < 5 {
                    rounds += 1;
                    for def in &DEFS[1..] {
                        let mut options = IndexOptions::new();
                        if def.multi {
                            options = options.multi_key();
                        }
                        // Unique creation may fail on clashing documents; that is fine.
                        if def.unique {
                            options = options.unique();
                        }
                        match store.create_index_with(def.name, def.fields, options) {
                            Ok(()) | Err(Error::UniqueViolation { .. }) => {}
                            Err(other) => panic!("create_index: {other}"),
                        }
                    }
                    assert_eq!(
                        store.verify(),
                        Ok(Vec::new()),
                        "verify() during index churn"
                    );
                    check_snapshot(&store.snapshot().expect("snapshot"));
                    for def in &DEFS[1..] {
                        match store.drop_index(def.name) {
                            Ok(()) | Err(Error::IndexNotFound { .. }) => {}
                            Err(other) => panic!("drop_index: {other}"),
                        }
                    }
                }
            });
        }
        // Clones and filtered clones: each is a consistent, independent store.
        {
            let (store, stop) = (&store, &stop);
            s.spawn(move || {
                let mut rounds = 0;
                while !stop.load(AtomicOrdering::Acquire) || rounds < 5 {
                    rounds += 1;
                    let copy = store.clone();
                    assert_eq!(copy.verify(), Ok(Vec::new()), "a clone taken under writes");
                    check_snapshot(&copy.snapshot().expect("snapshot"));
                    let frozen: Vec<(Id, u64)> = copy
                        .iter()
                        .expect("iter")
                        .map(|d| (d.id(), d.version()))
                        .collect();
                    let filtered = store
                        .clone_filtered(|d| d.get("city").and_then(|c| c.as_str()) == Some("Paris"))
                        .expect("clone_filtered");
                    assert_eq!(
                        filtered.verify(),
                        Ok(Vec::new()),
                        "a filtered clone taken under writes"
                    );
                    assert!(
                        filtered
                            .iter()
                            .expect("iter")
                            .all(|d| d.get("city").and_then(|c| c.as_str()) == Some("Paris"))
                    );
                    // Writes to the clone do not show in the store, nor the store's in the clone.
                    let mine = copy
                        .insert(json!({"city": "Clone"}))
                        .expect("insert into a clone");
                    assert_eq!(store.get(mine), Err(Error::NotFound { id: mine }));
                    let after: Vec<(Id, u64)> = copy
                        .iter()
                        .expect("iter")
                        .filter(|d| d.id() != mine)
                        .map(|d| (d.id(), d.version()))
                        .collect();
                    assert_eq!(after, frozen, "a clone changed when its origin was written");
                }
            });
        }
        // Stop the churners once every writer is done.
        let (stop, writers_done) = (&stop, &writers_done);
        s.spawn(move || {
            while writers_done.load(AtomicOrdering::Acquire) < WRITERS {
                thread::yield_now();
            }
            stop.store(true, AtomicOrdering::Release);
        });
    });
    assert_eq!(store.verify(), Ok(Vec::new()));
    check_snapshot(&store.snapshot().expect("snapshot"));
}

// ---------------------------------------------------------------------------
// 5. Snapshots, iterators and cursors handed to other threads.
// ---------------------------------------------------------------------------

#[test]
fn iterators_and_cursors_sent_to_other_threads_keep_their_snapshot() {
    let store = Arc::new(Store::new());
    create_indexes(&store);
    let mut rng = Rng::new(3);
    for _ in 0..300 {
        let _ = store.insert(random_document(&mut rng, 0));
    }
    let snapshot = store.snapshot().expect("snapshot");
    let want: Vec<(Id, u64)> = snapshot.iter().map(|d| (d.id(), d.version())).collect();
    let want_aged: Vec<(Id, u64)> = snapshot
        .by_index("by_age")
        .expect("index")
        .map(|d| (d.id(), d.version()))
        .collect();
    let iter = store.iter().expect("iter");
    let aged = store.by_index("by_age").expect("index");
    let mut cursor = store.cursor().expect("cursor");
    cursor.advance(10);

    let writer = {
        let store = Arc::clone(&store);
        let ids: Vec<Id> = want.iter().map(|w| w.0).collect();
        thread::spawn(move || {
            let mut rng = Rng::new(4);
            for (i, id) in ids.iter().enumerate() {
                if i % 3 == 0 {
                    let _ = store.delete(*id);
                } else {
                    let _ = store.update(*id, random_document(&mut rng, 1));
                }
            }
        })
    };
    let readers: Vec<_> = [
        thread::spawn(move || iter.map(|d| (d.id(), d.version())).collect::<Vec<_>>()),
        thread::spawn(move || aged.map(|d| (d.id(), d.version())).collect::<Vec<_>>()),
        thread::spawn(move || cursor.map(|d| (d.id(), d.version())).collect::<Vec<_>>()),
        thread::spawn(move || {
            snapshot
                .iter()
                .map(|d| (d.id(), d.version()))
                .collect::<Vec<_>>()
        }),
    ]
    .into_iter()
    .collect();
    writer.join().expect("writer");
    let results: Vec<Vec<(Id, u64)>> = readers
        .into_iter()
        .map(|r| r.join().expect("reader"))
        .collect();
    assert_eq!(results[0], want);
    assert_eq!(results[1], want_aged);
    assert_eq!(results[2], want[10..]);
    assert_eq!(results[3], want);
    assert_eq!(store.verify(), Ok(Vec::new()));
}

// ---------------------------------------------------------------------------
// 6. Transactions: the bank. Transfers between accounts in transactions,
//    while other threads sum every balance; money is never made or lost.
// ---------------------------------------------------------------------------

const ACCOUNTS: usize = 100;
const OPENING_BALANCE: i64 = 100;
const TELLERS: usize = 8;
const TRANSFERS_PER_TELLER: usize = 250;
const AUDITORS: usize = 2;
/// Sums every auditor takes at least, even if the tellers finish first.
const MIN_AUDITS: usize = 20;
const TOTAL: i64 = ACCOUNTS as i64 * OPENING_BALANCE;

/// Why a transfer did not happen.
#[derive(Debug)]
enum Refused {
    /// The payer's balance was below the amount: the transaction was abandoned.
    Insufficient,
    /// The store refused it (a conflict after the last retry, for one).
    Store(Error),
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Refused::Store(error)
    }
}

/// What the tellers did, counted by outcome. Every run of a transaction body
/// ends one way: committed, refused for insufficient funds, or conflicted at
/// commit (after which it is retried, or given up after the last retry).
#[derive(Default)]
struct Ledger {
    attempted: AtomicU64,
    runs: AtomicU64,
    committed: AtomicU64,
    insufficient: AtomicU64,
    conflicts: AtomicU64,
    retries: AtomicU64,
    given_up: AtomicU64,
}

impl Ledger {
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, AtomicOrdering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(AtomicOrdering::Relaxed)
    }

    /// Checks that the counts add up, prints them, and returns the commits.
    fn settle(&self, what: &str) -> u64 {
        let [
            attempted,
            runs,
            committed,
            insufficient,
            conflicts,
            retries,
            given_up,
        ] = [
            &self.attempted,
            &self.runs,
            &self.committed,
            &self.insufficient,
            &self.conflicts,
            &self.retries,
            &self.given_up,
        ]
        .map(Ledger::get);
        eprintln!(
            "{what}: {attempted} transfers attempted in {runs} runs: {committed} committed, \
             {insufficient} refused for funds, {conflicts} conflicts, {retries} retries, \
             {given_up} given up"
        );
        assert_eq!(attempted, (TELLERS * TRANSFERS_PER_TELLER) as u64);
        assert_eq!(committed, attempted - insufficient - given_up);
        assert_eq!(
            conflicts,
            retries + given_up,
            "every conflict is retried or given up"
        );
        assert_eq!(
            runs,
            attempted + retries,
            "a body runs again only after a conflict"
        );
        assert!(committed > 0, "no transfer committed");
        committed
    }
}

fn balance_of(document: &Object) -> i64 {
    document
        .get("balance")
        .and_then(|balance| balance.as_i64())
        .expect("an integer balance")
}

/// A random transfer: payer, payee (another account) and amount.
fn random_transfer(rng: &mut Rng) -> (usize, usize, i64) {
    let from = rng.below(ACCOUNTS);
    let mut to = rng.below(ACCOUNTS);
    while to == from {
        to = rng.below(ACCOUNTS);
    }
    (from, to, 1 + rng.below(30) as i64)
}

/// Moves `amount` from `from` to `to` inside the transaction `tx`, or refuses
/// if `from` holds less.
fn transfer_in(tx: &docstore::TxStore<'_>, from: Id, to: Id, amount: i64) -> Result<(), Refused> {
    let payer = balance_of(&*tx.get(from)?);
    if payer < amount {
        return Err(Refused::Insufficient);
    }
    let payee = balance_of(&*tx.get(to)?);
    tx.update(from, json!({"balance": payer - amount}))?;
    tx.update(to, json!({"balance": payee + amount}))?;
    Ok(())
}

#[test]
fn bank_transfers_in_transactions_never_make_or_lose_money() {
    let store = Store::new();
    store
        .create_index("by_balance", ["balance"])
        .expect("index");
    let accounts: Vec<Id> = (0..ACCOUNTS)
        .map(|_| {
            store
                .insert(json!({"balance": OPENING_BALANCE}))
                .expect("insert")
        })
        .collect();
    let ledger = Ledger::default();
    let tellers_done = AtomicUsize::new(0);
    let audits = AtomicUsize::new(0);

    thread::scope(|s| {
        for teller in 0..TELLERS {
            let (store, accounts, ledger, tellers_done) =
                (&store, &accounts, &ledger, &tellers_done);
            s.spawn(move || {
                let mut rng = Rng::new(100 + teller as u64);
                for _ in 0..TRANSFERS_PER_TELLER {
                    let (from, to, amount) = random_transfer(&mut rng);
                    let (from, to) = (accounts[from], accounts[to]);
                    Ledger::count(&ledger.attempted);
                    // Half the tellers use the closure form, which retries by
                    // itself; the other half begin and commit explicitly.
                    let outcome = if teller % 2 == 0 {
                        let mut runs = 0_u64;
                        let outcome = store.transaction(|tx| {
                            runs += 1;
                            transfer_in(tx, from, to, amount)
                        });
                        // Each run after the first followed a conflict.
                        ledger.runs.fetch_add(runs, AtomicOrdering::Relaxed);
                        ledger.retries.fetch_add(runs - 1, AtomicOrdering::Relaxed);
                        ledger
                            .conflicts
                            .fetch_add(runs - 1, AtomicOrdering::Relaxed);
                        outcome
                    } else {
                        let mut retries = 0;
                        loop {
                            Ledger::count(&ledger.runs);
                            let tx = store.begin().expect("begin");
                            if let Err(refused) = transfer_in(&tx.store(store), from, to, amount) {
                                break Err(refused);
                            }
                            match tx.commit() {
                                Err(Error::Conflict { .. })
                                    if retries < docstore::DEFAULT_RETRIES =>
                                {
                                    Ledger::count(&ledger.conflicts);
                                    Ledger::count(&ledger.retries);
                                    retries += 1;
                                }
                                outcome => break outcome.map_err(Refused::from),
                            }
                        }
                    };
                    match outcome {
                        Ok(()) => Ledger::count(&ledger.committed),
                        Err(Refused::Insufficient) => Ledger::count(&ledger.insufficient),
                        Err(Refused::Store(Error::Conflict { .. })) => {
                            Ledger::count(&ledger.conflicts);
                            Ledger::count(&ledger.given_up);
                        }
                        Err(Refused::Store(other)) => panic!("transfer: {other}"),
                    }
                }
                tellers_done.fetch_add(1, AtomicOrdering::Relaxed);
            });
        }
        for auditor in 0..AUDITORS {
            let (store, accounts, tellers_done, audits) =
                (&store, &accounts, &tellers_done, &audits);
            s.spawn(move || {
                let mut done = 0;
                while done < MIN_AUDITS || tellers_done.load(AtomicOrdering::Relaxed) < TELLERS {
                    if (done + auditor) % 2 == 0 {
                        // A read transaction: by id, by iteration and by index,
                        // all the same moment.
                        let tx = store.begin().expect("begin");
                        let view = tx.store(store);
                        let by_id: i64 = accounts
                            .iter()
                            .map(|id| balance_of(&view.get(*id).expect("get")))
                            .sum();
                        let iterated: i64 =
                            view.iter().expect("iter").map(|d| balance_of(&d)).sum();
                        let indexed: Vec<i64> = view
                            .by_index("by_balance")
                            .expect("index")
                            .map(|d| balance_of(&d))
                            .collect();
                        assert_eq!(
                            (by_id, iterated),
                            (TOTAL, TOTAL),
                            "a read transaction saw money move"
                        );
                        assert_eq!(indexed.iter().sum::<i64>(), TOTAL);
                        assert_eq!(indexed.len(), ACCOUNTS);
                        assert!(indexed.is_sorted(), "by_balance out of order: {indexed:?}");
                        tx.commit()
                            .expect("a read-only transaction never conflicts");
                    } else {
                        let snapshot = store.snapshot().expect("snapshot");
                        let scanned: i64 = snapshot.iter().map(|d| balance_of(&d)).sum();
                        let by_id: i64 = accounts
                            .iter()
                            .map(|id| balance_of(&snapshot.get(*id).expect("get")))
                            .sum();
                        assert_eq!(
                            (scanned, by_id),
                            (TOTAL, TOTAL),
                            "a snapshot saw money move"
                        );
                    }
                    done += 1;
                    audits.fetch_add(1, AtomicOrdering::Relaxed);
                }
            });
        }
    });

    let committed = ledger.settle("bank (store)");
    eprintln!(
        "bank (store): {} audits",
        audits.load(AtomicOrdering::Relaxed)
    );
    let end: Vec<Document> = accounts
        .iter()
        .map(|id| store.get(*id).expect("get"))
        .collect();
    assert_eq!(end.iter().map(|d| balance_of(d)).sum::<i64>(), TOTAL);
    assert!(
        end.iter().all(|d| balance_of(d) >= 0),
        "an account went below zero"
    );
    // A transfer gives each of its two accounts one new version, once.
    let versions: u64 = end.iter().map(|d| d.version() - 1).sum();
    assert_eq!(versions, 2 * committed, "versions do not match the commits");
    assert_eq!(store.verify(), Ok(Vec::new()));
}

/// An account of the typed bank.
#[derive(docstore::Indexed, Clone, Debug)]
struct Account {
    #[index(unique)]
    number: u32,
    #[index]
    balance: i64,
}

/// Each account's balance as the opening balances plus the transfers in
/// `entries` (`{"from", "to", "amount"}` by account number) make it.
fn replayed(entries: impl Iterator<Item = Object>) -> Vec<i64> {
    let mut balances = vec![OPENING_BALANCE; ACCOUNTS];
    for entry in entries {
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(|v| v.as_i64())
                .expect("a ledger field")
        };
        let (from, to, amount) = (field("from"), field("to"), field("amount"));
        balances[usize::try_from(from).expect("an account number")] -= amount;
        balances[usize::try_from(to).expect("an account number")] += amount;
    }
    balances
}

/// The balances of `accounts`, indexed by account number.
fn by_number(accounts: impl Iterator<Item = Account>) -> Vec<i64> {
    let mut balances = vec![0; ACCOUNTS];
    for account in accounts {
        balances[account.number as usize] = account.balance;
    }
    balances
}

#[test]
fn bank_transfers_across_a_db_keep_the_ledger_and_the_balances_together() {
    let db = docstore::Db::new();
    let accounts = db.collection::<Account>("accounts").expect("accounts");
    // Every transfer also writes its ledger entry, in the same transaction.
    let ledger_store = db.store("ledger").expect("ledger");
    let ids: Vec<Id> = (0..ACCOUNTS)
        .map(|number| {
            accounts
                .insert(Account {
                    number: number as u32,
                    balance: OPENING_BALANCE,
                })
                .expect("insert")
        })
        .collect();
    let ledger = Ledger::default();
    let tellers_done = AtomicUsize::new(0);
    let audits = AtomicUsize::new(0);

    thread::scope(|s| {
        for teller in 0..TELLERS {
            let (db, accounts, ledger_store, ids, ledger, tellers_done) =
                (&db, &accounts, &ledger_store, &ids, &ledger, &tellers_done);
            s.spawn(move || {
                let mut rng = Rng::new(200 + teller as u64);
                for _ in 0..TRANSFERS_PER_TELLER {
                    let (from, to, amount) = random_transfer(&mut rng);
                    Ledger::count(&ledger.attempted);
                    let mut runs = 0_u64;
                    let outcome = db.transaction(|tx| {
                        runs += 1;
                        let bank = tx.collection(accounts);
                        // The payer by its unique number, the payee by id.
                        let payer = bank
                            .get_unique(Account::number, from as u32)?
                            .expect("every account exists");
                        if payer.balance < amount {
                            return Err(Refused::Insufficient);
                        }
                        let payee = bank.get(ids[to])?;
                        bank.update(
                            payer.id(),
                            Account {
                                balance: payer.balance - amount,
                                ..(*payer).clone()
                            },
                        )?;
                        bank.update(
                            payee.id(),
                            Account {
                                balance: payee.balance + amount,
                                ..(*payee).clone()
                            },
                        )?;
                        tx.store(ledger_store)
                            .insert(json!({"from": from, "to": to, "amount": amount}))?;
                        Ok(())
                    });
                    ledger.runs.fetch_add(runs, AtomicOrdering::Relaxed);
                    ledger.retries.fetch_add(runs - 1, AtomicOrdering::Relaxed);
                    ledger
                        .conflicts
                        .fetch_add(runs - 1, AtomicOrdering::Relaxed);
                    match outcome {
                        Ok(()) => Ledger::count(&ledger.committed),
                        Err(Refused::Insufficient) => Ledger::count(&ledger.insufficient),
                        Err(Refused::Store(Error::Conflict { .. })) => {
                            Ledger::count(&ledger.conflicts);
                            Ledger::count(&ledger.given_up);
                        }
                        Err(Refused::Store(other)) => panic!("transfer: {other}"),
                    }
                }
                tellers_done.fetch_add(1, AtomicOrdering::Relaxed);
            });
        }
        for auditor in 0..AUDITORS {
            let (db, accounts, ledger_store, tellers_done, audits) =
                (&db, &accounts, &ledger_store, &tellers_done, &audits);
            s.spawn(move || {
                let mut done = 0;
                while done < MIN_AUDITS || tellers_done.load(AtomicOrdering::Relaxed) < TELLERS {
                    // The balances and the ledger, read at one moment, agree:
                    // no transfer is ever half seen, in either store.
                    let (balances, entries) = if (done + auditor) % 2 == 0 {
                        let tx = db.begin().expect("begin");
                        let bank = tx.collection(accounts);
                        let balances = by_number(bank.iter().expect("iter").map(|a| (*a).clone()));
                        let indexed: Vec<i64> = bank
                            .by_index(Account::balance)
                            .expect("index")
                            .map(|a| a.balance)
                            .collect();
                        assert!(indexed.is_sorted(), "by balance out of order: {indexed:?}");
                        assert_eq!(indexed.iter().sum::<i64>(), TOTAL);
                        let entries = replayed(
                            tx.store(ledger_store)
                                .iter()
                                .expect("iter")
                                .map(|e| (*e).clone()),
                        );
                        tx.commit()
                            .expect("a read-only transaction never conflicts");
                        (balances, entries)
                    } else {
                        let snapshot = db.snapshot();
                        let bank = snapshot.collection(accounts).expect("accounts");
                        let balances = by_number(bank.iter().map(|a| (*a).clone()));
                        let entries = snapshot.store(ledger_store).expect("ledger");
                        (balances, replayed(entries.iter().map(|e| (*e).clone())))
                    };
                    assert_eq!(
                        balances.iter().sum::<i64>(),
                        TOTAL,
                        "an audit saw money move"
                    );
                    assert_eq!(balances, entries, "balances and ledger disagree");
                    done += 1;
                    audits.fetch_add(1, AtomicOrdering::Relaxed);
                }
            });
        }
    });

    let committed = ledger.settle("bank (db)");
    eprintln!("bank (db): {} audits", audits.load(AtomicOrdering::Relaxed));
    assert_eq!(
        ledger_store.len().expect("len"),
        committed as usize,
        "one ledger entry per commit"
    );
    let end: Vec<Versioned<Account>> = ids
        .iter()
        .map(|id| accounts.get(*id).expect("get"))
        .collect();
    let balances = by_number(end.iter().map(|a| (**a).clone()));
    assert_eq!(balances.iter().sum::<i64>(), TOTAL);
    assert_eq!(
        balances,
        replayed(ledger_store.iter().expect("iter").map(|e| (*e).clone()))
    );
    assert!(
        balances.iter().all(|b| *b >= 0),
        "an account went below zero"
    );
    let versions: u64 = end.iter().map(|a| a.version() - 1).sum();
    assert_eq!(versions, 2 * committed, "versions do not match the commits");
    assert_eq!(accounts.verify(), Ok(Vec::new()));
}
