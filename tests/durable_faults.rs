//! I/O faults injected through the file seam: a short write, a full disk, a
//! failed fsync. The commit they hit fails and is not applied; after a failed
//! fsync every write is refused and reads go on.

use std::sync::Arc;

use docstore::durable_testing::{Fault, SimFs};
use docstore::{DurableDb, DurableOptions, Error, SyncPolicy};
use serde_json::json;

fn open(fs: &SimFs, sync: SyncPolicy) -> DurableDb {
    let options = DurableOptions::new()
        .sync(sync)
        .no_automatic_checkpoints()
        .filesystem(Arc::new(fs.clone()));
    DurableDb::open("/db", options).unwrap().0
}

#[test]
fn a_short_write_or_a_full_disk_fails_only_the_commit_it_hits() {
    for fault in [Fault::ShortWrite, Fault::NoSpace] {
        for sync in [SyncPolicy::Always, SyncPolicy::Never] {
            let fs = SimFs::new(1);
            let db = open(&fs, sync);
            let store = db.store("s").unwrap();
            let kept = store.insert(json!({"n": 1})).unwrap();
            fs.inject(fault);
            let error = store.insert(json!({"n": 2})).unwrap_err();
            assert!(matches!(error, Error::Io { .. }), "{error}");
            fs.inject(fault);
            assert!(store.update(kept, json!({"n": 3})).is_err());
            fs.inject(fault);
            let failed = db.transaction(|tx| tx.store(&store).insert(json!({"n": 4})));
            assert!(failed.is_err());
            assert_eq!(store.len().unwrap(), 1);
            assert_eq!(store.get(kept).unwrap().version(), 1);
            // The log is whole again: later commits go on and come back.
            let later = store.insert(json!({"n": 5})).unwrap();
            drop(store);
            drop(db);
            let db = open(&fs, sync);
            let store = db.store("s").unwrap();
            assert_eq!(store.len().unwrap(), 2);
            assert_eq!(store.get(kept).unwrap(), json!({"n": 1}));
            assert_eq!(store.get(later).unwrap(), json!({"n": 5}));
        }
    }
}

#[test]
fn after_a_failed_fsync_writes_are_refused_and_reads_go_on() {
    let fs = SimFs::new(2);
    let db = open(&fs, SyncPolicy::Always);
    let store = db.store("s").unwrap();
    let kept = store.insert(json!({"n": 1})).unwrap();
    fs.inject(Fault::SyncError);
    let error = store.insert(json!({"n": 2})).unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
    // Not visible: the commit never returned successfully.
    assert_eq!(store.len().unwrap(), 1);
    let refused = store.insert(json!({"n": 3})).unwrap_err();
    assert!(matches!(refused, Error::WritesRefused { .. }), "{refused}");
    assert!(refused.to_string().contains("fsync"), "{refused}");
    assert!(matches!(
        store.delete(kept),
        Err(Error::WritesRefused { .. })
    ));
    assert!(matches!(db.flush(), Err(Error::WritesRefused { .. })));
    assert!(matches!(db.checkpoint(), Err(Error::WritesRefused { .. })));
    assert_eq!(store.get(kept).unwrap(), json!({"n": 1}));
    drop(store);
    drop(db);
    // Reopening recovers what is on disk: the acknowledged commit, and the
    // failed one or not (its bytes may have reached the disk), nothing else.
    let db = open(&fs, SyncPolicy::Always);
    let store = db.store("s").unwrap();
    assert!(matches!(store.len().unwrap(), 1 | 2));
    assert_eq!(store.get(kept).unwrap(), json!({"n": 1}));
    store.insert(json!({"n": 4})).unwrap();
}

#[test]
fn a_failed_flush_refuses_later_writes() {
    let fs = SimFs::new(3);
    let db = open(&fs, SyncPolicy::Never);
    let store = db.store("s").unwrap();
    store.insert(json!({"n": 1})).unwrap();
    fs.inject(Fault::SyncError);
    assert!(matches!(db.flush(), Err(Error::Io { .. })));
    assert!(matches!(
        store.insert(json!({"n": 2})),
        Err(Error::WritesRefused { .. })
    ));
    assert_eq!(store.len().unwrap(), 1);
}
