//! Group commit with `SyncPolicy::Always`: commits waiting for the disk at
//! the same time share one fsync, and none is visible before it is on disk.

use std::sync::Arc;

use docstore::durable_testing::SimFs;
use docstore::{Capacity, DurableDb, DurableOptions, Object, SyncPolicy};
use serde_json::json;

#[test]
fn concurrent_commits_of_one_store_share_an_fsync_and_wait_for_it_to_be_seen() {
    let fs = SimFs::new(1);
    let options = DurableOptions::new()
        .sync(SyncPolicy::Always)
        .no_automatic_checkpoints()
        .filesystem(Arc::new(fs.clone()));
    let (db, _) = DurableDb::open("/db", options).unwrap();
    let store = db.store("s").unwrap();
    let before = db.fsyncs();
    let writes = fs.writes();
    fs.hold_syncs();
    std::thread::scope(|s| {
        let committers: Vec<_> = (0..4)
            .map(|n| {
                let store = &store;
                s.spawn(move || store.insert(json!({"n": n})).unwrap())
            })
            .collect();
        // Every frame is written (the fsync is held back) ...
        while fs.writes() < writes + 4 {
            std::thread::yield_now();
        }
        // ... and none is visible, to readers or snapshots.
        assert_eq!(store.len().unwrap(), 0);
        assert_eq!(db.snapshot().store(&store).unwrap().len(), 0);
        fs.release_syncs();
        let ids: Vec<_> = committers.into_iter().map(|c| c.join().unwrap()).collect();
        for id in ids {
            assert!(store.contains(id).unwrap());
        }
    });
    let fsyncs = db.fsyncs() - before;
    // The first committer's fsync may cover its frame alone; the other three
    // share the next one.
    assert!(fsyncs <= 2, "4 commits took {fsyncs} fsyncs");
    assert_eq!(store.len().unwrap(), 4);
}

#[test]
fn updates_build_on_commits_still_waiting_for_the_disk() {
    let fs = SimFs::new(2);
    let options = DurableOptions::new()
        .sync(SyncPolicy::Always)
        .no_automatic_checkpoints()
        .filesystem(Arc::new(fs.clone()));
    let (db, _) = DurableDb::open("/db", options).unwrap();
    let store = db.store("s").unwrap();
    let id = store.insert(json!({"n": 0})).unwrap();
    fs.hold_syncs();
    let writes = fs.writes();
    std::thread::scope(|s| {
        let a = s.spawn(|| store.update(id, json!({"n": 1})).unwrap());
        while fs.writes() < writes + 1 {
            std::thread::yield_now();
        }
        let b = s.spawn(|| {
            store
                .update_with(
                    id,
                    |doc| json!({"n": doc.get("n").and_then(|n| n.as_u64()).unwrap_or(0) + 10}),
                )
                .unwrap()
        });
        assert_eq!(store.get(id).unwrap(), json!({"n": 0}));
        fs.release_syncs();
        assert_eq!(a.join().unwrap(), 2);
        b.join().unwrap();
    });
    assert_eq!(store.get(id).unwrap(), json!({"n": 11}));
    drop(store);
    drop(db);
    let (db, _) = DurableDb::open(
        "/db",
        DurableOptions::new().filesystem(Arc::new(fs.clone())),
    )
    .unwrap();
    assert_eq!(db.store("s").unwrap().get(id).unwrap(), json!({"n": 11}));
}

#[derive(docstore::Indexed, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Order {
    #[index(unique)]
    customer: String,
    total: u32,
}

fn order(n: u32) -> Order {
    Order {
        customer: format!("c{n}"),
        total: n,
    }
}

fn held_open(seed: u64) -> (SimFs, DurableDb) {
    let fs = SimFs::new(seed);
    let options = DurableOptions::new()
        .sync(SyncPolicy::Always)
        .no_automatic_checkpoints()
        .filesystem(Arc::new(fs.clone()));
    let (db, _) = DurableDb::open("/db", options).unwrap();
    (fs, db)
}

/// Waits until `count` more frames than `before` reached the files.
fn wait_for_writes(fs: &SimFs, before: u64, count: u64) {
    while fs.writes() < before + count {
        std::thread::yield_now();
    }
}

#[test]
fn concurrent_commits_of_a_typed_collection_share_an_fsync() {
    let (fs, db) = held_open(3);
    let orders = db.collection::<Order>("orders").unwrap();
    let before = db.fsyncs();
    let writes = fs.writes();
    fs.hold_syncs();
    std::thread::scope(|s| {
        let committers: Vec<_> = (0..4)
            .map(|n| {
                let orders = &orders;
                s.spawn(move || orders.insert(order(n)).unwrap())
            })
            .collect();
        // Each committer's frame is written while the first fsync is held
        // back: none of them waits for the disk under the writer lock.
        wait_for_writes(&fs, writes, 4);
        assert_eq!(orders.len().unwrap(), 0);
        assert_eq!(orders.lookup(Order::customer, "c1").unwrap().count(), 0);
        fs.release_syncs();
        for committer in committers {
            let id = committer.join().unwrap();
            assert!(orders.contains(id).unwrap());
        }
    });
    let fsyncs = db.fsyncs() - before;
    assert!(fsyncs <= 2, "4 typed commits took {fsyncs} fsyncs");
    assert_eq!(orders.len().unwrap(), 4);
    assert_eq!(orders.lookup(Order::customer, "c3").unwrap().count(), 1);
}

#[test]
fn concurrent_transactions_share_an_fsync_and_appear_whole() {
    let (fs, db) = held_open(4);
    let orders = db.collection::<Order>("orders").unwrap();
    let log = db.store("log").unwrap();
    let before = db.fsyncs();
    let writes = fs.writes();
    fs.hold_syncs();
    std::thread::scope(|s| {
        let committers: Vec<_> = (0..4)
            .map(|n| {
                let (db, orders, log) = (&db, &orders, &log);
                s.spawn(move || {
                    db.transaction(|tx| {
                        tx.collection(orders).insert(order(n))?;
                        tx.store(log).insert(json!({"placed": n}))
                    })
                    .unwrap()
                })
            })
            .collect();
        wait_for_writes(&fs, writes, 4);
        // Nothing of any transaction is visible, in either store or in a
        // snapshot of the database.
        assert_eq!(orders.len().unwrap(), 0);
        assert_eq!(log.len().unwrap(), 0);
        let snapshot = db.snapshot();
        assert_eq!(snapshot.collection(&orders).unwrap().len(), 0);
        assert_eq!(snapshot.store(&log).unwrap().len(), 0);
        fs.release_syncs();
        for committer in committers {
            committer.join().unwrap();
        }
    });
    let fsyncs = db.fsyncs() - before;
    assert!(fsyncs <= 2, "4 transactions took {fsyncs} fsyncs");
    let snapshot = db.snapshot();
    assert_eq!(snapshot.collection(&orders).unwrap().len(), 4);
    assert_eq!(snapshot.store(&log).unwrap().len(), 4);
}

#[test]
fn a_transaction_builds_on_a_commit_still_waiting_for_the_disk() {
    let (fs, db) = held_open(5);
    let orders = db.collection::<Order>("orders").unwrap();
    let writes = fs.writes();
    fs.hold_syncs();
    std::thread::scope(|s| {
        let first = s.spawn(|| orders.insert(order(1)).unwrap());
        wait_for_writes(&fs, writes, 1);
        assert_eq!(orders.len().unwrap(), 0);
        // The transaction checks its unique key against the insert that is
        // not on disk yet (nor visible) ...
        let taken = db.transaction(|tx| tx.collection(&orders).insert(order(1)));
        assert!(
            matches!(taken, Err(docstore::Error::UniqueViolation { .. })),
            "{taken:?}"
        );
        // ... and one that commits goes in after it, sharing its fsync.
        let second = s.spawn(|| {
            db.transaction(|tx| tx.collection(&orders).insert(order(2)))
                .unwrap()
        });
        wait_for_writes(&fs, writes, 2);
        assert_eq!(orders.len().unwrap(), 0);
        fs.release_syncs();
        first.join().unwrap();
        second.join().unwrap();
    });
    assert_eq!(orders.len().unwrap(), 2);
}

#[test]
fn a_failed_shared_fsync_fails_every_commit_sharing_it_and_hands_documents_back() {
    let (fs, db) = held_open(6);
    let orders = db.collection::<Order>("orders").unwrap();
    let log = db.store("log").unwrap();
    let kept = orders.insert(order(0)).unwrap();
    let writes = fs.writes();
    fs.hold_syncs();
    fs.inject(docstore::durable_testing::Fault::SyncError);
    std::thread::scope(|s| {
        let inserts: Vec<_> = (1..4)
            .map(|n| {
                let orders = &orders;
                s.spawn(move || orders.insert(order(n)))
            })
            .collect();
        let (db, orders, log) = (&db, &orders, &log);
        let transaction = s.spawn(move || {
            db.transaction(|tx| {
                tx.collection(orders).update(kept, order(9))?;
                tx.store(log).insert(json!({"n": 9}))
            })
        });
        wait_for_writes(&fs, writes, 4);
        fs.release_syncs();
        let mut handed_back = Vec::new();
        for insert in inserts {
            let rejected = insert.join().unwrap().unwrap_err();
            assert!(
                matches!(rejected.error(), docstore::Error::Io { .. }),
                "{}",
                rejected.error()
            );
            handed_back.push(rejected.into_document().total);
        }
        handed_back.sort_unstable();
        assert_eq!(handed_back, [1, 2, 3]);
        assert!(transaction.join().unwrap().is_err());
    });
    // None of them became visible, and the database refuses writes now.
    assert_eq!(orders.len().unwrap(), 1);
    assert_eq!(orders.get(kept).unwrap().value(), &order(0));
    assert_eq!(log.len().unwrap(), 0);
    assert!(matches!(
        orders.insert(order(5)).unwrap_err().error(),
        docstore::Error::WritesRefused { .. }
    ));
}

/// Starts an insert into a store holding one synced document, holds its
/// fsync back, gives the store `capacity` meanwhile, and returns how many
/// documents readers and a snapshot saw then; after the fsync is let go,
/// the store holds both.
fn documents_seen_while_a_capacity_is_given(
    seed: u64,
    capacity: Capacity<Object>,
) -> (usize, usize) {
    let (fs, db) = held_open(seed);
    let store = db.store("s").unwrap();
    store.insert(json!({"n": 1})).unwrap();
    let writes = fs.writes();
    fs.hold_syncs();
    let seen = std::thread::scope(|s| {
        let waiting = s.spawn(|| store.insert(json!({"n": 2})).unwrap());
        wait_for_writes(&fs, writes, 1);
        let given = store.set_capacity(capacity);
        let seen = (
            store.len().unwrap(),
            db.snapshot().store(&store).unwrap().len(),
        );
        // Let the commit finish before asserting, so that a failure cannot
        // leave it waiting for ever.
        fs.release_syncs();
        let id = waiting.join().unwrap();
        given.unwrap();
        assert!(store.contains(id).unwrap());
        seen
    });
    assert_eq!(store.len().unwrap(), 2);
    store.verify().unwrap();
    seen
}

#[test]
fn a_weighed_capacity_given_while_a_commit_waits_for_the_disk_does_not_reveal_it() {
    let capacity = Capacity::weighed(1_000, |_: &Object| 10);
    assert_eq!(
        documents_seen_while_a_capacity_is_given(3, capacity),
        (1, 1)
    );
}

#[test]
fn a_counted_capacity_given_while_a_commit_waits_for_the_disk_does_not_reveal_it() {
    assert_eq!(
        documents_seen_while_a_capacity_is_given(4, Capacity::documents(10)),
        (1, 1)
    );
}
