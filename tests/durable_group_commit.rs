//! Group commit with `SyncPolicy::Always`: commits waiting for the disk at
//! the same time share one fsync, and none is visible before it is on disk.

use std::sync::Arc;

use docstore::durable_testing::SimFs;
use docstore::{DurableDb, DurableOptions, SyncPolicy};
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
