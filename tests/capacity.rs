//! Bounded stores: a capacity in documents or weight is never exceeded once a
//! write returns, what is evicted is delivered as `Evicted` and logged like a
//! delete, pinned documents stay, and a capacity they fill refuses writes.

use std::collections::HashSet;
use std::sync::Arc;

use docstore::{
    Capacity, Change, ChangeSet, Collection, Db, DurableDb, DurableOptions, Error, Event, Indexed,
    Object, Store, Subscription,
};
use serde_json::json;

fn drain<D>(feed: &Subscription<ChangeSet<D>>) -> Vec<Change<D>>
where
    D: Clone + std::fmt::Debug + Send + Sync + 'static,
{
    let mut changes = Vec::new();
    while let Some(event) = feed.try_recv().unwrap() {
        match event {
            Event::Changes(set) => changes.extend(set.changes().iter().cloned()),
            other => panic!("unexpected {other:?}"),
        }
    }
    changes
}

#[test]
fn a_full_store_evicts_one_document_per_insert_and_the_feed_hears_each() {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    store.set_capacity(Capacity::documents(10)).unwrap();
    let feed = store.subscribe_with_capacity(1000).unwrap();
    let ids: Vec<_> = (0..25)
        .map(|n| store.insert(json!({ "n": n })).unwrap())
        .collect();
    assert_eq!(store.len().unwrap(), 10);
    let changes = drain(&feed);
    let evicted: HashSet<_> = changes
        .iter()
        .filter_map(|change| match change {
            Change::Evicted(old) => Some(old.id()),
            _ => None,
        })
        .collect();
    assert_eq!(evicted.len(), 15);
    for id in &ids {
        assert_ne!(store.contains(*id).unwrap(), evicted.contains(id));
    }
    assert!(store.verify().unwrap().is_empty());
    assert_eq!(store.stats().unwrap().evicted, 15);
}

#[test]
fn lowering_the_capacity_evicts_at_once() {
    let store = Store::new();
    for n in 0..20 {
        store.insert(json!({ "n": n })).unwrap();
    }
    store.set_capacity(Capacity::documents(20)).unwrap();
    assert_eq!(store.len().unwrap(), 20);
    store.set_capacity(Capacity::documents(5)).unwrap();
    assert_eq!(store.len().unwrap(), 5);
    assert_eq!(
        store.set_capacity(Capacity::weighed(5, |_: &Object| 1)),
        Err(Error::InvalidCapacity {
            reason: "a store's capacity stays counted in documents, or weighed, as it was \
                     first given"
                .into()
        })
    );
}

#[derive(Indexed, Clone, Debug)]
struct Blob {
    #[key]
    name: String,
    body: Vec<u8>,
}

fn blob(name: usize, size: usize) -> Blob {
    Blob {
        name: format!("b{name}"),
        body: vec![0; size],
    }
}

#[test]
fn a_weighed_capacity_bounds_the_total_weight_of_very_different_documents() {
    let blobs = Collection::<Blob>::new();
    let limit = 10_000;
    blobs
        .set_capacity(Capacity::weighed(limit, |blob: &Blob| {
            blob.body.len() as u64
        }))
        .unwrap();
    let mut seed = 7_u64;
    for n in 0..500 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // From 1 byte to 4 KiB, most small.
        let size = 1 + ((seed >> 33) % 64).pow(2) as usize;
        blobs.insert(blob(n, size)).unwrap();
        let total: u64 = blobs.iter().unwrap().map(|b| b.body.len() as u64).sum();
        assert!(total <= limit, "{total} over {limit} after insert {n}");
        assert_eq!(blobs.stats().unwrap().bytes, total);
    }
    // Growing a document also makes room.
    let small = blobs.insert(blob(1000, 1)).unwrap();
    blobs.update(small, blob(1000, 9_000)).unwrap();
    let total: u64 = blobs.iter().unwrap().map(|b| b.body.len() as u64).sum();
    assert!(total <= limit);
    assert!(blobs.contains(small).unwrap());
    // One document over the whole capacity is refused, and nothing is evicted.
    let before = blobs.len().unwrap();
    let refused = blobs.insert(blob(2000, 10_001)).unwrap_err();
    assert!(matches!(
        refused.error(),
        Error::OverCapacity { capacity: 10_000, needed, .. } if *needed > 10_000
    ));
    assert_eq!(blobs.len().unwrap(), before);
    assert!(blobs.verify().unwrap().is_empty());
}

#[test]
fn a_weighed_capacity_given_late_weighs_what_is_there() {
    let blobs = Collection::<Blob>::new();
    for n in 0..10 {
        blobs.insert(blob(n, 100)).unwrap();
    }
    blobs
        .set_capacity(Capacity::weighed(450, |blob: &Blob| blob.body.len() as u64))
        .unwrap();
    assert_eq!(blobs.len().unwrap(), 4);
    assert_eq!(blobs.stats().unwrap().bytes, 400);
}

#[test]
fn the_weight_follows_updates_and_deletes_alone_or_in_a_transaction() {
    let blobs = Collection::<Blob>::new();
    blobs
        .set_capacity(Capacity::weighed(10_000, |blob: &Blob| {
            blob.body.len() as u64
        }))
        .unwrap();
    let ids: Vec<_> = (0..4)
        .map(|n| blobs.insert(blob(n, 100)).unwrap())
        .collect();
    assert_eq!(blobs.stats().unwrap().bytes, 400);
    blobs.update(ids[0], blob(0, 250)).unwrap();
    assert_eq!(blobs.stats().unwrap().bytes, 550);
    blobs.delete(ids[1]).unwrap();
    assert_eq!(blobs.stats().unwrap().bytes, 450);
    blobs.transaction(|tx| tx.delete(ids[0]).map(drop)).unwrap();
    assert_eq!(blobs.stats().unwrap().bytes, 200);
    blobs.delete(ids[2]).unwrap();
    assert_eq!(blobs.stats().unwrap().bytes, 100);
}

#[test]
fn a_transaction_weighs_what_it_writes_and_stays_within_the_bound() {
    let blobs = Collection::<Blob>::new();
    blobs
        .set_capacity(Capacity::weighed(1_000, |blob: &Blob| {
            blob.body.len() as u64
        }))
        .unwrap();
    let first = blobs
        .transaction(|tx| {
            let first = tx.insert(blob(0, 100))?;
            tx.insert(blob(1, 300))?;
            Ok::<_, Error>(first)
        })
        .unwrap();
    assert_eq!(blobs.stats().unwrap().bytes, 400);
    blobs
        .transaction(|tx| tx.update(first, blob(0, 200)).map(drop))
        .unwrap();
    assert_eq!(blobs.stats().unwrap().bytes, 500);
    // Each transaction writes more than the room left: older documents go.
    for n in 2..12 {
        blobs
            .transaction(|tx| tx.insert(blob(n, 300)).map(drop))
            .unwrap();
        let stats = blobs.stats().unwrap();
        assert!(stats.bytes <= 1_000, "{} bytes after {n}", stats.bytes);
        let weighed: u64 = blobs.iter().unwrap().map(|b| b.body.len() as u64).sum();
        assert_eq!(stats.bytes, weighed);
    }
}

#[test]
fn pinned_documents_survive_and_a_capacity_they_fill_refuses_writes() {
    let store = Store::new();
    store.set_capacity(Capacity::documents(3)).unwrap();
    let pinned: Vec<_> = (0..2)
        .map(|n| store.insert(json!({ "pinned": n })).unwrap())
        .collect();
    for id in &pinned {
        store.pin(*id).unwrap();
    }
    for n in 0..50 {
        store.insert(json!({ "n": n })).unwrap();
        assert!(pinned.iter().all(|id| store.contains(*id).unwrap()));
        assert_eq!(store.len().unwrap(), 3);
    }
    let third = store
        .iter()
        .unwrap()
        .find(|d| !pinned.contains(&d.id()))
        .unwrap();
    store.pin(third.id()).unwrap();
    let refused = store.insert(json!({ "n": "more" })).unwrap_err();
    assert_eq!(
        refused,
        Error::OverCapacity {
            capacity: 3,
            needed: 4,
            pinned: 3
        }
    );
    assert!(refused.to_string().contains("pinned documents hold 3"));
    assert_eq!(store.len().unwrap(), 3);
    // Lowering the capacity below the pinned set is refused the same way.
    assert!(matches!(
        store.set_capacity(Capacity::documents(2)),
        Err(Error::OverCapacity { pinned: 3, .. })
    ));
    assert!(store.unpin(third.id()).unwrap());
    assert!(!store.unpin(third.id()).unwrap());
    store.insert(json!({ "n": "more" })).unwrap();
    assert!(!store.contains(third.id()).unwrap());
    assert_eq!(
        store.pin(third.id()),
        Err(Error::NotFound { id: third.id() })
    );
}

#[test]
fn an_eviction_conflicts_with_a_transaction_that_read_the_document() {
    let store = Store::new();
    store.set_capacity(Capacity::documents(2)).unwrap();
    let a = store.insert(json!({"n": "a"})).unwrap();
    let b = store.insert(json!({"n": "b"})).unwrap();
    let tx = store.begin().unwrap();
    let read = tx.store(&store);
    read.get(a).unwrap();
    read.get(b).unwrap();
    read.insert(json!({"n": "written"})).unwrap();
    store.insert(json!({"n": "c"})).unwrap();
    assert!(matches!(tx.commit(), Err(Error::Conflict { .. })));
    assert_eq!(store.stats().unwrap().conflicts, 1);
}

#[test]
fn each_collection_of_a_db_has_its_own_capacity() {
    let db = Db::new();
    let small = db.store("small").unwrap();
    let large = db.store("large").unwrap();
    small.set_capacity(Capacity::documents(2)).unwrap();
    large.set_capacity(Capacity::documents(20)).unwrap();
    let feed = db.subscribe();
    for n in 0..10 {
        small.insert(json!({ "n": n })).unwrap();
        large.insert(json!({ "n": n })).unwrap();
    }
    assert_eq!(small.len().unwrap(), 2);
    assert_eq!(large.len().unwrap(), 10);
    let mut evicted = 0;
    let mut seqs = Vec::new();
    while let Some(Event::Changes(set)) = feed.try_recv().unwrap() {
        seqs.push(set.seq());
        for part in [set.store(&small), set.store(&large)].into_iter().flatten() {
            evicted += part
                .changes()
                .iter()
                .filter(|c| matches!(c, Change::Evicted(_)))
                .count();
        }
    }
    assert_eq!(evicted, 8);
    // Evictions take their own sequence numbers: 20 inserts and 8 evictions.
    assert_eq!(seqs, (1..=28).collect::<Vec<_>>());
}

#[test]
fn under_writers_and_readers_on_many_threads_no_write_returns_over_capacity() {
    let store = Arc::new(Store::new());
    store.create_index("by_n", ["n"]).unwrap();
    let limit = 50;
    store.set_capacity(Capacity::documents(limit)).unwrap();
    let feed = store.subscribe_with_capacity(100_000).unwrap();
    let threads = 4;
    let writes = 400;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let store = &store;
            scope.spawn(move || {
                let mut mine = Vec::new();
                let mut seed = t as u64 + 1;
                for n in 0..writes {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    match seed % 4 {
                        0 if !mine.is_empty() => {
                            let id = mine[(seed as usize / 4) % mine.len()];
                            let _ = store.get(id);
                        }
                        1 if !mine.is_empty() => {
                            let id = mine[(seed as usize / 4) % mine.len()];
                            match store.update(id, json!({ "n": n, "t": t })) {
                                Ok(_) | Err(Error::NotFound { .. }) => {}
                                Err(other) => panic!("{other}"),
                            }
                        }
                        _ => mine.push(store.insert(json!({ "n": n, "t": t })).unwrap()),
                    }
                    // No state a reader can see holds more than the capacity.
                    assert!(store.len().unwrap() <= limit);
                }
            });
        }
    });
    assert!(store.len().unwrap() <= limit);
    assert!(store.verify().unwrap().is_empty());
    // Every document inserted is either still there or was heard evicted.
    let changes = drain(&feed);
    let inserted: HashSet<_> = changes
        .iter()
        .filter(|c| matches!(c, Change::Inserted(_)))
        .map(Change::id)
        .collect();
    let evicted: HashSet<_> = changes
        .iter()
        .filter(|c| matches!(c, Change::Evicted(_)))
        .map(Change::id)
        .collect();
    let present: HashSet<_> = store.iter().unwrap().map(|d| d.id()).collect();
    assert_eq!(inserted.len(), evicted.len() + present.len());
    assert!(present.is_disjoint(&evicted));
    assert_eq!(store.stats().unwrap().evicted, evicted.len() as u64);
}

#[test]
fn a_durable_store_logs_evictions_as_deletes() {
    let dir = std::env::temp_dir().join(format!("docstore-capacity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let kept: HashSet<_> = {
        let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
        let cache = db.store("cache").unwrap();
        cache.set_capacity(Capacity::documents(3)).unwrap();
        for n in 0..10 {
            cache.insert(json!({ "n": n })).unwrap();
        }
        let kept = cache.iter().unwrap().map(|d| d.id()).collect();
        db.close().unwrap();
        kept
    };
    let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    let cache = db.store("cache").unwrap();
    // The capacity is not stored: only what it evicted.
    assert_eq!(cache.capacity().map(|c| c.limit()), None);
    let reopened: HashSet<_> = cache.iter().unwrap().map(|d| d.id()).collect();
    assert_eq!(reopened, kept);
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_transaction_over_the_capacity_is_evicted_for_before_its_commit_returns() {
    let store = Store::new();
    store.set_capacity(Capacity::documents(3)).unwrap();
    let feed = store.subscribe().unwrap();
    let ids = store
        .transaction(|tx| {
            (0..5)
                .map(|n| tx.insert(json!({ "n": n })))
                .collect::<Result<Vec<_>, Error>>()
        })
        .unwrap();
    assert_eq!(store.len().unwrap(), 3);
    let changes = drain(&feed);
    let evicted: Vec<_> = changes
        .iter()
        .filter(|c| matches!(c, Change::Evicted(_)))
        .map(Change::id)
        .collect();
    assert_eq!(evicted.len(), 2);
    assert!(evicted.iter().all(|id| ids.contains(id)));
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn a_watch_hears_the_eviction_of_a_document_under_its_key() {
    let store = Store::new();
    store.create_index("by_city", ["city"]).unwrap();
    store.set_capacity(Capacity::documents(1)).unwrap();
    let paris = store.insert(json!({"city": "Paris"})).unwrap();
    let watch = store.watch("by_city", "Paris").unwrap();
    store.insert(json!({"city": "Rome"})).unwrap();
    let heard = drain(&watch);
    assert!(
        matches!(heard.as_slice(), [Change::Evicted(old)] if old.id() == paris),
        "{heard:?}"
    );
}

#[test]
fn a_clone_keeps_the_capacity_its_pins_and_what_was_read() {
    let store = Store::new();
    store.set_capacity(Capacity::documents(4)).unwrap();
    let ids: Vec<_> = (0..4)
        .map(|n| store.insert(json!({ "n": n })).unwrap())
        .collect();
    store.pin(ids[0]).unwrap();
    for _ in 0..3 {
        store.get(ids[1]).unwrap();
    }
    let copy = store.clone();
    assert_eq!(copy.capacity().map(|c| c.limit()), Some(4));
    for n in 4..40 {
        copy.insert(json!({ "n": n })).unwrap();
        copy.get(ids[1]).unwrap();
    }
    assert_eq!(copy.len().unwrap(), 4);
    assert!(copy.contains(ids[0]).unwrap(), "the pin was not kept");
    assert!(
        copy.contains(ids[1]).unwrap(),
        "the document read was evicted"
    );
    assert!(copy.unpin(ids[0]).unwrap());
    // The original is untouched by what its copy evicted.
    assert_eq!(store.len().unwrap(), 4);
    assert!(ids.iter().all(|id| store.contains(*id).unwrap()));
    assert!(copy.verify().unwrap().is_empty());
}

#[test]
fn a_filtered_clone_keeps_the_capacity_and_weighs_what_it_kept() {
    let blobs = Collection::<Blob>::new();
    blobs
        .set_capacity(Capacity::weighed(1_000, |blob: &Blob| {
            blob.body.len() as u64
        }))
        .unwrap();
    for n in 0..6 {
        blobs.insert(blob(n, 100 * (n + 1))).unwrap();
    }
    // 100 + ... + 600 is over 1,000: only the last few fit.
    let held = blobs.stats().unwrap().bytes;
    assert!(held <= 1_000);
    let small = blobs.clone_filtered(|blob| blob.body.len() <= 400).unwrap();
    let kept: u64 = small.iter().unwrap().map(|b| b.body.len() as u64).sum();
    assert_eq!(small.stats().unwrap().bytes, kept);
    assert_eq!(
        small.capacity().map(|c| (c.limit(), c.is_weighed())),
        Some((1_000, true))
    );
    small.insert(blob(10, 900)).unwrap();
    assert!(small.stats().unwrap().bytes <= 1_000);
    assert_eq!(blobs.stats().unwrap().bytes, held);
}

#[test]
fn a_store_without_a_capacity_clones_without_one() {
    let store = Store::new();
    store.insert(json!({ "n": 1 })).unwrap();
    assert!(store.clone().capacity().is_none());
    assert!(store.clone_filtered(|_| true).unwrap().capacity().is_none());
}
