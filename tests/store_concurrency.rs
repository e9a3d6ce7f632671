//! The store under threads: Send + Sync, atomic read-modify-write, readers
//! alongside writers, and panicking closures.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use docstore::{Document, Error, Id, IndexOptions, Store};
use serde_json::json;

const fn assert_send_sync<T: Send + Sync>() {}
const _: () = assert_send_sync::<Store>();
const _: () = assert_send_sync::<Error>();
const _: () = assert_send_sync::<Document>();

fn count(doc: &Document) -> u64 {
    doc.get("count").and_then(|v| v.as_u64()).unwrap()
}

/// The increment, with a pause between reading and writing that widens the
/// window in which another writer can come first (a store that lost updates
/// would show it here even on few cores).
fn slow_increment(doc: &Document) -> serde_json::Value {
    let next = increment(doc);
    std::thread::sleep(std::time::Duration::from_micros(100));
    next
}

/// The increment, yielding to other threads between reading and writing.
fn yielding_increment(doc: &Document) -> serde_json::Value {
    let next = increment(doc);
    std::thread::yield_now();
    next
}

fn increment(doc: &Document) -> serde_json::Value {
    let mut next = doc.value().to_value();
    next["count"] = json!(count(doc) + 1);
    next
}

#[test]
fn hundred_threads_incrementing_one_counter_end_at_one_hundred() {
    let store = Arc::new(Store::new());
    let id = store.insert(json!({"count": 0, "name": "c"})).unwrap();
    let handles: Vec<_> = (0..100)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.update_with(id, slow_increment).unwrap().version())
        })
        .collect();
    let mut versions: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let doc = store.get(id).unwrap();
    assert_eq!(count(&doc), 100);
    assert_eq!(doc.version(), 101);
    assert_eq!(doc.get("name").and_then(|v| v.as_str()), Some("c"));
    // Each successful update returned its own version.
    versions.sort_unstable();
    assert_eq!(versions, (2..=101).collect::<Vec<_>>());
}

#[test]
fn eight_threads_times_two_hundred_increments_are_exact() {
    let store = Store::new();
    store.create_index("by_count", ["count"]).unwrap();
    let a = store.insert(json!({"count": 0})).unwrap();
    let b = store.insert(json!({"count": 0})).unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let store = &store;
            s.spawn(move || {
                for i in 0..200 {
                    // Half the threads alternate between the two counters.
                    let id = if t % 2 == 0 || i % 2 == 0 { a } else { b };
                    store.update_with(id, yielding_increment).unwrap();
                }
            });
        }
    });
    let total_a = 4 * 200 + 4 * 100;
    let total_b = 4 * 100;
    assert_eq!(count(&store.get(a).unwrap()), total_a);
    assert_eq!(count(&store.get(b).unwrap()), total_b);
    assert_eq!(store.get(a).unwrap().version(), total_a + 1);
    assert_eq!(
        store
            .lookup("by_count", total_a)
            .unwrap()
            .map(|d| d.id())
            .collect::<Vec<_>>(),
        [a]
    );
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn compare_and_set_loses_no_update_either() {
    let store = Store::new();
    let id = store.insert(json!({"count": 0})).unwrap();
    let conflicts = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..50 {
                    loop {
                        let doc = store.get(id).unwrap();
                        match store.update_if(id, doc.version(), yielding_increment(&doc)) {
                            Ok(_) => break,
                            Err(Error::VersionConflict { .. }) => {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(other) => panic!("{other}"),
                        }
                    }
                }
            });
        }
    });
    assert_eq!(count(&store.get(id).unwrap()), 400);
    assert_eq!(store.get(id).unwrap().version(), 401);
}

#[test]
fn readers_see_only_current_matches_and_no_duplicates_while_writers_update() {
    const DOCS: u64 = 64;
    const KEYS: u64 = 5;
    const WRITES_PER_WRITER: u64 = 400;
    const READS_PER_READER: u64 = 300;
    let store = Store::new();
    store.create_index("by_k", ["k"]).unwrap();
    store.create_index("by_k_n", ["k", "n"]).unwrap();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    let ids: Vec<Id> = (0..DOCS)
        .map(|n| {
            store
                .insert(json!({"k": n % KEYS, "n": n, "tags": [n % KEYS]}))
                .unwrap()
        })
        .collect();

    std::thread::scope(|s| {
        for w in 0..4_u64 {
            let (store, ids) = (&store, &ids);
            s.spawn(move || {
                for i in 0..WRITES_PER_WRITER {
                    let slot = ((w * 7919 + i * 31) % DOCS) as usize;
                    let k = (w + i) % KEYS;
                    if i % 3 == 0 {
                        store
                            .update_with(ids[slot], |doc| {
                                let n = doc.get("n").and_then(|v| v.as_u64()).unwrap();
                                json!({"k": k, "n": n, "tags": [k, (k + 1) % KEYS]})
                            })
                            .unwrap();
                    } else {
                        store
                            .update(ids[slot], json!({"k": k, "n": slot, "tags": [k]}))
                            .unwrap();
                    }
                }
            });
        }
        for r in 0..4_u64 {
            let store = &store;
            s.spawn(move || {
                for i in 0..READS_PER_READER {
                    let key = (r + i) % KEYS;

                    let found: Vec<Document> = store.lookup("by_k", key).unwrap().collect();
                    let mut seen = HashSet::new();
                    for doc in &found {
                        assert_eq!(
                            doc.get("k").and_then(|v| v.as_u64()),
                            Some(key),
                            "lookup({key}) returned {doc:?}"
                        );
                        assert!(seen.insert(doc.id()), "duplicate {}", doc.id());
                    }

                    let prefix: Vec<Document> = store.prefix("by_k_n", key).unwrap().collect();
                    let mut seen = HashSet::new();
                    let mut last_n = None;
                    for doc in &prefix {
                        assert_eq!(doc.get("k").and_then(|v| v.as_u64()), Some(key));
                        assert!(seen.insert(doc.id()), "duplicate {}", doc.id());
                        let n = doc.get("n").and_then(|v| v.as_u64());
                        assert!(last_n <= n, "prefix out of order");
                        last_n = n;
                    }

                    let tagged: Vec<Document> = store.lookup("by_tag", key).unwrap().collect();
                    let mut seen = HashSet::new();
                    for doc in &tagged {
                        assert!(seen.insert(doc.id()), "duplicate {}", doc.id());
                        let tags = doc.get("tags").and_then(|v| v.as_array()).unwrap();
                        assert!(tags.iter().any(|t| t.as_u64() == Some(key)), "{doc:?}");
                    }

                    // A range: in key order, every key inside the range, no repeats.
                    let lo = key.min(KEYS - 2);
                    let ranged: Vec<Document> = store.range("by_k", lo..=lo + 1).unwrap().collect();
                    let mut seen = HashSet::new();
                    let mut last = lo;
                    for doc in &ranged {
                        let k = doc.get("k").and_then(|v| v.as_u64()).unwrap();
                        assert!((lo..=lo + 1).contains(&k), "range gave k = {k}");
                        assert!(k >= last, "range out of key order");
                        last = k;
                        assert!(seen.insert(doc.id()), "duplicate {}", doc.id());
                    }

                    // A full scan: every document exactly once, in id order.
                    let scanned: Vec<Id> = store.iter().unwrap().map(|d| d.id()).collect();
                    assert_eq!(scanned.len(), DOCS as usize);
                    assert!(scanned.windows(2).all(|w| w[0] < w[1]));

                    // One snapshot's indexes agree with its documents.
                    let snapshot = store.snapshot().unwrap();
                    let total: usize = (0..KEYS)
                        .map(|k| snapshot.lookup("by_k", k).unwrap().len())
                        .sum();
                    assert_eq!(total, DOCS as usize);
                }
            });
        }
    });
    assert_eq!(store.len().unwrap(), DOCS as usize);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    let total: usize = (0..KEYS)
        .map(|k| store.lookup("by_k", k).unwrap().len())
        .sum();
    assert_eq!(total, DOCS as usize);
}

#[test]
fn inserts_and_deletes_from_many_threads_keep_the_store_sound() {
    let store = Store::new();
    store
        .create_index_with("by_u", ["u"], IndexOptions::new().unique())
        .unwrap();
    store.create_index("by_t", ["t"]).unwrap();
    let clashes = AtomicUsize::new(0);
    let kept: Vec<Vec<Id>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8_u64)
            .map(|t| {
                let (store, clashes) = (&store, &clashes);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..100_u64 {
                        // Threads race for the same unique keys: exactly one wins each.
                        match store.insert(json!({"u": i, "t": t})) {
                            Ok(id) => mine.push(id),
                            Err(Error::UniqueViolation { .. }) => {
                                clashes.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(other) => panic!("{other}"),
                        }
                        if i % 4 == 0
                            && let Some(id) = mine.pop()
                        {
                            store.delete(id).unwrap();
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let kept: Vec<Id> = kept.into_iter().flatten().collect();
    assert_eq!(store.len().unwrap(), kept.len());
    for id in &kept {
        assert!(store.contains(*id).unwrap());
    }
    let distinct: HashSet<u64> = store
        .iter()
        .unwrap()
        .map(|d| d.get("u").and_then(|v| v.as_u64()).unwrap())
        .collect();
    assert_eq!(distinct.len(), kept.len(), "a unique key is held twice");
    assert!(clashes.load(Ordering::Relaxed) > 0 || kept.len() <= 100);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn a_panicking_update_with_leaves_the_document_and_the_store_as_they_were() {
    let store = Store::new();
    store.create_index("by_count", ["count"]).unwrap();
    let id = store.insert(json!({"count": 7})).unwrap();
    let before = store.get(id).unwrap();

    let outcome = catch_unwind(AssertUnwindSafe(|| {
        store.update_with(id, |_doc| -> serde_json::Value {
            panic!("closure failed on purpose");
        })
    }));
    assert!(outcome.is_err(), "the panic should reach the caller");

    let after = store.get(id).unwrap();
    assert_eq!(after.version(), 1);
    assert_eq!(*after, json!({"count": 7}));
    assert!(after.ptr_eq(&before));
    assert_eq!(store.lookup("by_count", 7).unwrap().count(), 1);
    assert_eq!(store.len().unwrap(), 1);

    // The store is still usable, from this thread and from others.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10 {
                    store.update_with(id, increment).unwrap();
                }
                store.insert(json!({"count": 0})).unwrap();
            });
        }
    });
    assert_eq!(count(&store.get(id).unwrap()), 47);
    assert_eq!(store.len().unwrap(), 5);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn panicking_update_with_in_one_thread_while_others_write() {
    let store = Store::new();
    let id = store.insert(json!({"count": 0})).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..20 {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    store.update_with(id, |doc| {
                        if count(doc) < u64::MAX {
                            panic!("nope");
                        }
                        increment(doc)
                    })
                }));
                assert!(outcome.is_err());
            }
        });
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    store.update_with(id, yielding_increment).unwrap();
                }
            });
        }
    });
    let doc = store.get(id).unwrap();
    assert_eq!(count(&doc), 200);
    assert_eq!(doc.version(), 201);
}

#[test]
fn a_panicking_clone_filtered_predicate_leaves_the_original_unchanged() {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    let ids: Vec<Id> = (0..50)
        .map(|n| store.insert(json!({"n": n})).unwrap())
        .collect();
    let before: Vec<Document> = store.iter().unwrap().collect();

    let mut calls = 0;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        store.clone_filtered(|doc| {
            calls += 1;
            if doc.get("n").and_then(|v| v.as_u64()) == Some(25) {
                panic!("predicate failed on purpose");
            }
            true
        })
    }));
    assert!(outcome.is_err());
    assert_eq!(calls, 26);

    let after: Vec<Document> = store.iter().unwrap().collect();
    assert_eq!(after.len(), before.len());
    assert!(after.iter().zip(&before).all(|(a, b)| a.ptr_eq(b)));
    assert_eq!(store.by_index("by_n").unwrap().len(), 50);
    assert_eq!(store.indexes().unwrap().len(), 1);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    // Still writable, and a later filtered clone works.
    store.update(ids[0], json!({"n": 100})).unwrap();
    let clone = store.clone_filtered(|_| true).unwrap();
    assert_eq!(clone.len().unwrap(), 50);
}

#[test]
fn a_store_shared_by_arc_across_spawned_threads() {
    let store = Arc::new(Store::new());
    store.create_index("by_t", ["t"]).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    store.insert(json!({"t": t, "i": i})).unwrap();
                }
                store.lookup("by_t", t).unwrap().count()
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), 25);
    }
    assert_eq!(store.len().unwrap(), 100);
    // Ids are unique and the scan is in id order.
    let scanned: Vec<Id> = store.iter().unwrap().map(|d| d.id()).collect();
    assert!(scanned.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn creating_and_dropping_indexes_while_writers_run_keeps_them_consistent() {
    let store = Store::new();
    let ids: Vec<Id> = (0..200_u64)
        .map(|n| store.insert(json!({"n": n, "m": n % 10})).unwrap())
        .collect();
    std::thread::scope(|s| {
        for w in 0..3_u64 {
            let (store, ids) = (&store, &ids);
            s.spawn(move || {
                for i in 0..300_u64 {
                    let slot = ((w * 61 + i * 7) % 200) as usize;
                    store
                        .update(ids[slot], json!({"n": slot, "m": (i + w) % 10}))
                        .unwrap();
                    if i % 50 == 0 {
                        let id = store.insert(json!({"n": 1000 + i, "m": 0})).unwrap();
                        store.delete(id).unwrap();
                    }
                }
            });
        }
        s.spawn(|| {
            for round in 0..10 {
                let name = format!("by_m_{round}");
                store.create_index(&name, ["m"]).unwrap();
                store
                    .create_index_with("by_n", ["n"], IndexOptions::new().unique())
                    .unwrap();
                let snapshot = store.snapshot().unwrap();
                let indexed: usize = (0..10_u64)
                    .map(|m| snapshot.lookup(name.as_str(), m).unwrap().len())
                    .sum();
                assert_eq!(indexed, snapshot.len());
                store.drop_index("by_n").unwrap();
                if round % 2 == 0 {
                    store.drop_index(&name).unwrap();
                }
            }
        });
    });
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    assert_eq!(store.len().unwrap(), 200);
    assert_eq!(store.indexes().unwrap().len(), 5);
}

#[test]
fn cloning_while_writers_run_gives_sound_independent_stores() {
    let store = Store::new();
    store.create_index("by_k", ["k"]).unwrap();
    let ids: Vec<Id> = (0..100_u64)
        .map(|n| store.insert(json!({"k": n % 7})).unwrap())
        .collect();
    let clones: Vec<Store> = std::thread::scope(|s| {
        for w in 0..3_u64 {
            let (store, ids) = (&store, &ids);
            s.spawn(move || {
                for i in 0..300_u64 {
                    let slot = ((w * 37 + i * 13) % 100) as usize;
                    store.update(ids[slot], json!({"k": (i * w) % 7})).unwrap();
                }
            });
        }
        let cloner = s.spawn(|| {
            (0..30)
                .map(|i| {
                    if i % 2 == 0 {
                        store.clone()
                    } else {
                        store.clone_filtered(|doc| doc.id() < ids[50]).unwrap()
                    }
                })
                .collect::<Vec<Store>>()
        });
        cloner.join().unwrap()
    });
    for (i, clone) in clones.iter().enumerate() {
        assert_eq!(clone.verify().unwrap(), Vec::<String>::new(), "clone {i}");
        let expected = if i % 2 == 0 { 100 } else { 50 };
        assert_eq!(clone.len().unwrap(), expected);
        let indexed: usize = (0..7_u64)
            .map(|k| clone.lookup("by_k", k).unwrap().len())
            .sum();
        assert_eq!(indexed, expected);
    }
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn closing_while_other_threads_work_fails_them_cleanly() {
    let store = Store::new();
    store.create_index("by_k", ["k"]).unwrap();
    let id = store.insert(json!({"k": 0, "count": 0})).unwrap();
    let before = store.snapshot().unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut closed_seen = false;
                for i in 0..500_u64 {
                    let results = [
                        store.update_with(id, increment).map(|_| ()),
                        store.insert(json!({"k": i})).map(|_| ()),
                        store.lookup("by_k", 0).map(|_| ()),
                        store.iter().map(|_| ()),
                    ];
                    for result in results {
                        match result {
                            Ok(()) => assert!(!closed_seen, "an operation succeeded after Closed"),
                            Err(Error::Closed) => closed_seen = true,
                            Err(other) => panic!("unexpected {other}"),
                        }
                    }
                }
            });
        }
        s.spawn(|| {
            while store.len().map(|n| n < 200).unwrap_or(false) {
                std::thread::yield_now();
            }
            store.close();
        });
    });
    assert!(store.is_closed());
    assert_eq!(store.get(id), Err(Error::Closed));
    assert_eq!(before.len(), 1);
    assert_eq!(before.get(id).unwrap().version(), 1);
}
