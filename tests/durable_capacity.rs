//! A capacity given to a durable store while commits wait for the disk
//! reveals none of them: `SyncPolicy::Always` shows a commit only once it is
//! on disk, whatever else changes the store meanwhile.

use std::sync::Arc;

use docstore::durable_testing::SimFs;
use docstore::{Capacity, DurableDb, DurableOptions, Object, SyncPolicy};
use serde_json::json;

/// Opens a durable store holding one synced document, starts a second
/// insert whose fsync is held back, gives the store `capacity` meanwhile,
/// and returns how many documents readers and a snapshot saw then; after the
/// fsync is let go, the store holds both.
fn documents_seen_while_a_commit_waits(seed: u64, capacity: Capacity<Object>) -> (usize, usize) {
    let fs = SimFs::new(seed);
    let options = DurableOptions::new()
        .sync(SyncPolicy::Always)
        .no_automatic_checkpoints()
        .filesystem(Arc::new(fs.clone()));
    let (db, _) = DurableDb::open("/db", options).unwrap();
    let store = db.store("s").unwrap();
    store.insert(json!({"n": 1})).unwrap();
    let writes = fs.writes();
    fs.hold_syncs();
    let seen = std::thread::scope(|s| {
        let waiting = s.spawn(|| store.insert(json!({"n": 2})).unwrap());
        while fs.writes() < writes + 1 {
            std::thread::yield_now();
        }
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
    assert_eq!(documents_seen_while_a_commit_waits(3, capacity), (1, 1));
}

#[test]
fn a_counted_capacity_given_while_a_commit_waits_for_the_disk_does_not_reveal_it() {
    assert_eq!(
        documents_seen_while_a_commit_waits(4, Capacity::documents(10)),
        (1, 1)
    );
}
