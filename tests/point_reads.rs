//! Point reads (get, contains, lookups of a few results) as a user relies on
//! them: always the current documents, never part of a transaction, and in
//! step with snapshots after every kind of write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use docstore::{Db, Error, Id, IndexOptions, ManualClock, Store};
use serde_json::json;

fn round_of(store: &Store, id: Id) -> u64 {
    let doc = store.get(id).unwrap();
    doc.get("round").and_then(|round| round.as_u64()).unwrap()
}

/// Every round, one transaction moves `ids` (many of them, or few) to the
/// round's number; readers read them in order and must never see a later
/// document at an earlier round than an earlier one.
fn readers_see_whole_transactions(documents: usize) {
    let store = Store::new();
    store
        .create_index_with("by_name", ["name"], IndexOptions::new().unique())
        .unwrap();
    let ids: Vec<Id> = (0..documents)
        .map(|n| {
            store
                .insert(json!({"name": format!("doc-{n}"), "round": 0}))
                .unwrap()
        })
        .collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 1..=200u64 {
                store
                    .transaction(|tx| {
                        for (n, id) in ids.iter().enumerate() {
                            tx.update(*id, json!({"name": format!("doc-{n}"), "round": round}))?;
                        }
                        Ok::<(), Error>(())
                    })
                    .unwrap();
            }
            done.store(true, Ordering::Release);
        });
        for reader in 0..2 {
            let (store, ids, done) = (&store, &ids, &done);
            s.spawn(move || {
                let mut passes = 0;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let mut last = 0;
                    for (n, id) in ids.iter().enumerate() {
                        let round = if reader == 0 {
                            round_of(store, *id)
                        } else {
                            let name = format!("doc-{n}");
                            let doc = store.get_unique("by_name", name.as_str()).unwrap();
                            let doc = doc.expect("every name is held");
                            doc.get("round").and_then(|round| round.as_u64()).unwrap()
                        };
                        assert!(
                            round >= last,
                            "document {n} read at round {round} after an earlier one at {last}"
                        );
                        last = round;
                    }
                    passes += 1;
                    if finished {
                        assert_eq!(last, 200);
                        break;
                    }
                }
                assert!(passes >= 1);
            });
        }
    });
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn readers_never_see_part_of_a_large_transaction() {
    readers_see_whole_transactions(40);
}

#[test]
fn readers_never_see_part_of_a_small_transaction() {
    readers_see_whole_transactions(3);
}

#[test]
fn a_lookup_never_returns_a_document_that_lost_the_key() {
    let store = Store::new();
    store.create_index("by_tag", ["tag"]).unwrap();
    let ids: Vec<Id> = (0..4)
        .map(|n| store.insert(json!({"tag": "red", "n": n})).unwrap())
        .collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 0..300 {
                let tag = if round % 2 == 0 { "blue" } else { "red" };
                let id = ids[round % ids.len()];
                store.update(id, json!({"tag": tag, "n": round})).unwrap();
            }
            done.store(true, Ordering::Release);
        });
        s.spawn(|| {
            while !done.load(Ordering::Acquire) {
                for tag in ["red", "blue"] {
                    for doc in store.lookup("by_tag", tag).unwrap() {
                        assert_eq!(doc.get("tag").and_then(|t| t.as_str()), Some(tag));
                    }
                }
            }
        });
    });
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn gets_agree_with_snapshots_after_every_kind_of_write() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let store = Store::with_clock(clock.clone());
    store.create_index("by_n", ["n"]).unwrap();
    let ids: Vec<Id> = (0..50)
        .map(|n| store.insert(json!({ "n": n })).unwrap())
        .collect();
    store.update(ids[0], json!({"n": 100})).unwrap();
    store.delete(ids[1]).unwrap();
    store
        .transaction(|tx| {
            for id in &ids[2..30] {
                tx.update(*id, json!({"n": 7}))?;
            }
            tx.delete(ids[30])?;
            tx.insert(json!({"n": 1000}))?;
            Ok::<(), Error>(())
        })
        .unwrap();
    store
        .transaction(|tx| tx.update(ids[31], json!({"n": 8})))
        .unwrap();
    let brief = store
        .insert_with_ttl(json!({"n": 2000}), Duration::from_secs(60))
        .unwrap();
    clock.advance(Duration::from_secs(61));
    assert!(!store.contains(brief).unwrap());
    assert!(store.verify().unwrap().is_empty());

    let snapshot = store.snapshot().unwrap();
    for id in ids.iter().chain([&brief]) {
        let (live, held) = (store.get(*id).ok(), snapshot.get(*id).ok());
        assert_eq!(live.map(|d| d.version()), held.map(|d| d.version()));
        assert_eq!(store.contains(*id).unwrap(), snapshot.contains(*id));
    }
    assert_eq!(store.lookup("by_n", 7).unwrap().count(), 28);

    // A clone reads its own documents, and the original its own.
    let clone = store.clone();
    clone.update(ids[0], json!({"n": 101})).unwrap();
    store.delete(ids[2]).unwrap();
    assert_eq!(clone.get(ids[0]).unwrap().version(), 3);
    assert_eq!(store.get(ids[0]).unwrap().version(), 2);
    assert!(clone.contains(ids[2]).unwrap());
    assert!(!store.contains(ids[2]).unwrap());
    let kept = store
        .clone_filtered(|doc| doc.get("n").and_then(|n| n.as_u64()) == Some(7))
        .unwrap();
    assert_eq!(kept.len().unwrap(), 27);
    assert_eq!(kept.get(ids[3]).unwrap().version(), 2);
    assert!(matches!(kept.get(ids[0]), Err(Error::NotFound { .. })));
    for checked in [&store, &clone, &kept] {
        assert!(checked.verify().unwrap().is_empty());
    }
}

#[test]
fn a_transaction_across_stores_shows_in_both_or_neither() {
    let db = Db::new();
    let (a, b) = (db.store("a").unwrap(), db.store("b").unwrap());
    let ids: Vec<(Id, Id)> = (0..12)
        .map(|_| {
            (
                a.insert(json!({"round": 0})).unwrap(),
                b.insert(json!({"round": 0})).unwrap(),
            )
        })
        .collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 1..=100u64 {
                db.transaction(|tx| {
                    let (ta, tb) = (tx.store(&a), tx.store(&b));
                    for (ia, ib) in &ids {
                        ta.update(*ia, json!({ "round": round }))?;
                        tb.update(*ib, json!({ "round": round }))?;
                    }
                    Ok::<(), Error>(())
                })
                .unwrap();
            }
            done.store(true, Ordering::Release);
        });
        s.spawn(|| {
            while !done.load(Ordering::Acquire) {
                for (ia, ib) in &ids {
                    let first = round_of(&a, *ia);
                    let second = round_of(&b, *ib);
                    assert!(second >= first, "b at {second} after a at {first}");
                }
            }
        });
    });
    assert!(a.verify().unwrap().is_empty());
    assert!(b.verify().unwrap().is_empty());
}

#[test]
fn a_closed_store_answers_every_point_read_with_closed() {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    let id = store.insert(json!({"n": 1})).unwrap();
    store.close();
    assert!(matches!(store.get(id), Err(Error::Closed)));
    assert!(matches!(store.contains(id), Err(Error::Closed)));
    assert!(matches!(store.lookup("by_n", 1), Err(Error::Closed)));
}

#[test]
fn results_read_lazily_keep_their_snapshot_s_documents_after_writes() {
    let store = Store::new();
    store.create_index("by_group", ["group"]).unwrap();
    let ids: Vec<Id> = (0..100)
        .map(|n| store.insert(json!({"group": 1, "n": n})).unwrap())
        .collect();
    // More results than a lookup reads at once: read from a snapshot.
    let mut results = store.lookup("by_group", 1).unwrap();
    let snapshot = store.snapshot().unwrap();
    let mut range = snapshot.range("by_group", 0..2).unwrap();
    assert_eq!(results.next().map(|d| d.version()), Some(1));
    assert_eq!(range.next().map(|d| d.version()), Some(1));
    for id in &ids {
        store.update(*id, json!({"group": 1, "n": -1})).unwrap();
    }
    store.delete(ids[50]).unwrap();
    assert_eq!(results.len(), 99);
    assert!(results.all(|d| d.version() == 1 && d.get("n").and_then(|n| n.as_i64()) != Some(-1)));
    assert!(range.all(|d| d.version() == 1));
    assert_eq!(store.lookup("by_group", 1).unwrap().count(), 99);
    assert!(
        store
            .lookup("by_group", 1)
            .unwrap()
            .all(|d| d.version() == 2)
    );
}
