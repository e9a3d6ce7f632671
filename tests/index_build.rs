//! Creating an index on a store that keeps taking writes: writers are never
//! held up by the build, and the finished index is exact.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use docstore::{Error, IndexOptions, Store};
use serde_json::json;

/// A store whose index builds stop after reading their snapshot until `go`
/// receives; `reached` tells when a build got there.
fn paused_store() -> (Store, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let store = Store::new();
    let (reached_tx, reached) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let reached_tx = Mutex::new(reached_tx);
    let go_rx = Mutex::new(go_rx);
    store.set_index_build_hook_for_tests(move |round| {
        if round == 0 {
            let _ = reached_tx.lock().map(|tx| tx.send(()));
            let _ = go_rx.lock().map(|rx| rx.recv());
        }
    });
    (store, reached, go)
}

#[test]
fn writes_complete_while_a_build_is_paused_and_the_index_is_exact() -> Result<(), Error> {
    let (store, reached, go) = paused_store();
    let mut ids = Vec::new();
    for n in 0..2_000 {
        ids.push(store.insert(json!({"n": n, "group": n % 10}))?);
    }
    let store = Arc::new(store);
    let builder = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.create_index("by_group", ["group"]))
    };
    reached.recv().expect("the build reached its pause");
    // The build holds no lock: all of these complete while it is paused,
    // more than one small round's worth, so catching up takes rounds.
    for (n, id) in ids.iter().enumerate().take(500) {
        store.update(*id, json!({"n": n, "group": 100 + n % 3}))?;
    }
    for id in &ids[500..700] {
        store.delete(*id)?;
    }
    for n in 0..300 {
        store.insert(json!({"n": n, "group": 200}))?;
    }
    go.send(()).expect("resume the build");
    builder.join().expect("the build thread")?;
    assert!(store.verify()?.is_empty());
    assert_eq!(store.lookup("by_group", 200)?.count(), 300);
    assert_eq!(store.lookup("by_group", 100)?.count(), 167);
    // Of groups 0..10, only documents 700.. are left as they were.
    assert_eq!(store.lookup("by_group", 0)?.count(), 130);
    Ok(())
}

#[test]
fn a_multi_key_build_catches_up_with_documents_gaining_and_losing_keys() -> Result<(), Error> {
    let (store, reached, go) = paused_store();
    let mut ids = Vec::new();
    for n in 0..200 {
        ids.push(
            store.insert(json!({"tags": if n % 2 == 0 { json!([n, n + 1]) } else { json!(n) }}))?,
        );
    }
    let store = Arc::new(store);
    let builder = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            store.create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        })
    };
    reached.recv().expect("paused");
    for (n, id) in ids.iter().enumerate() {
        // Half the documents had two keys; now a quarter have.
        let tags = if n % 4 == 1 {
            json!([n, 1_000 + n, n])
        } else {
            json!(n)
        };
        store.update(*id, json!({ "tags": tags }))?;
    }
    go.send(()).expect("resume");
    builder.join().expect("the build thread")?;
    assert!(store.verify()?.is_empty());
    assert_eq!(store.range("by_tag", 1_000..)?.len(), 50);
    assert_eq!(store.by_index("by_tag")?.len(), 200);
    Ok(())
}

#[test]
fn a_unique_key_passed_between_documents_during_a_build_is_no_violation() -> Result<(), Error> {
    let (store, reached, go) = paused_store();
    let ada = store.insert(json!({"email": "a@x"}))?;
    let store = Arc::new(store);
    let builder = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            store.create_index_with("by_email", ["email"], IndexOptions::new().unique())
        })
    };
    reached.recv().expect("paused");
    // Inserted first, in id order: the catch-up must drop ada's key before
    // checking the newcomer's.
    store.update(ada, json!({"email": "b@x"}))?;
    let bob = store.insert(json!({"email": "a@x"}))?;
    go.send(()).expect("resume");
    builder.join().expect("the build thread")?;
    assert_eq!(
        store.get_unique("by_email", "a@x")?.map(|d| d.id()),
        Some(bob)
    );
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn a_duplicate_written_during_a_build_fails_it_and_leaves_no_index() -> Result<(), Error> {
    let (store, reached, go) = paused_store();
    store.insert(json!({"email": "a@x"}))?;
    let store = Arc::new(store);
    let builder = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            store.create_index_with("by_email", ["email"], IndexOptions::new().unique())
        })
    };
    reached.recv().expect("paused");
    store.insert(json!({"email": "a@x"}))?;
    go.send(()).expect("resume");
    let result = builder.join().expect("the build thread");
    assert!(
        matches!(result, Err(Error::UniqueViolation { .. })),
        "{result:?}"
    );
    assert_eq!(store.indexes()?, []);
    // Writes go on as before, and a later build works.
    store.insert(json!({"email": "c@x"}))?;
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn a_build_ends_under_writes_that_never_stop() -> Result<(), Error> {
    let store = Arc::new(Store::new());
    let mut ids = Vec::new();
    for n in 0..5_000 {
        ids.push(store.insert(json!({"n": n, "m": n}))?);
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        thread::spawn(move || -> Result<u64, Error> {
            let mut writes = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = ids[(writes % 5_000) as usize];
                store.update(id, json!({"n": writes, "m": writes % 7}))?;
                writes += 1;
            }
            Ok(writes)
        })
    };
    for round in 0..5 {
        store.create_index(&format!("by_m_{round}"), ["m"])?;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().expect("the writer")?;
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn a_build_ends_after_nine_rounds_however_fast_writes_come() -> Result<(), Error> {
    let store = Arc::new(Store::new());
    let mut ids = Vec::new();
    for n in 0..1_000 {
        ids.push(store.insert(json!({"n": n, "m": n % 10}))?);
    }
    let rounds = Arc::new(Mutex::new(Vec::new()));
    {
        // Before every round, more writes than a round finishes under the
        // lock: writers always outrun the catch-up.
        let (writer, rounds) = (Arc::clone(&store), Arc::clone(&rounds));
        store.set_index_build_hook_for_tests(move |round| {
            if let Ok(mut rounds) = rounds.lock() {
                rounds.push(round);
            }
            for (k, id) in ids.iter().enumerate().take(100) {
                let _ = writer.update(*id, json!({"n": round * 1_000 + k, "m": round}));
            }
        });
    }
    store.create_index("by_m", ["m"])?;
    // Round 0 right after the first pass, 8 rounds outside the lock; the
    // ninth catch-up ran under the lock with one round's writes.
    assert_eq!(*rounds.lock().expect("rounds"), (0..=8).collect::<Vec<_>>());
    // The last round's 100 updates, and the 90 of documents 100.. with m = 8.
    assert_eq!(store.lookup("by_m", 8)?.count(), 190);
    assert_eq!(store.lookup("by_m", 7)?.count(), 90);
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn a_build_racing_close_answers_closed_and_the_store_stays_closed() -> Result<(), Error> {
    let (store, reached, go) = paused_store();
    store.insert(json!({"a": 1}))?;
    let store = Arc::new(store);
    let builder = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.create_index("by_a", ["a"]))
    };
    reached.recv().expect("paused");
    store.close();
    go.send(()).expect("resume");
    let result = builder.join().expect("the build thread");
    assert!(matches!(result, Err(Error::Closed)), "{result:?}");
    Ok(())
}

/// The keying work an index build over items' skus and quantities does on its
/// own thread, with `meanwhile` run while the build is paused after its first
/// pass.
fn build_work(
    store: &Arc<Store>,
    reached: &mpsc::Receiver<()>,
    go: &mpsc::Sender<()>,
    meanwhile: impl FnOnce(),
) -> u64 {
    let builder = {
        let store = Arc::clone(store);
        thread::spawn(move || {
            Store::key_work_for_tests();
            let built = store.create_index_with(
                "by_item",
                ["items.sku", "items.qty"],
                IndexOptions::new().multi_key(),
            );
            (built, Store::key_work_for_tests())
        })
    };
    reached.recv().expect("the build reached its pause");
    meanwhile();
    go.send(()).expect("resume the build");
    let (built, work) = builder.join().expect("the build thread");
    assert_eq!(built, Ok(()));
    work
}

#[test]
fn a_transaction_committed_during_a_build_is_caught_up_not_rebuilt() -> Result<(), Error> {
    let (store, reached, go) = paused_store();
    let store = Arc::new(store);
    let mut ids = Vec::new();
    for n in 0..1_000 {
        let items = json!([{"sku": format!("a{n}"), "qty": 1}, {"sku": format!("b{n}"), "qty": 2}]);
        ids.push(store.insert(json!({"n": n, "items": items}))?);
    }
    let quiet = build_work(&store, &reached, &go, || {});
    store.drop_index("by_item")?;

    let busy = build_work(&store, &reached, &go, || {
        let committed = store.transaction(|tx| {
            for id in &ids[..10] {
                tx.update(*id, json!({"items": [{"sku": "moved", "qty": 3}]}))?;
            }
            tx.delete(ids[10])?;
            tx.insert(json!({"items": [{"sku": "new", "qty": 4}]}))
        });
        assert!(committed.is_ok());
    });
    // Catching up keys the 12 documents the transaction wrote, old and new
    // versions; a rebuild would key all 1,000 again.
    assert!(busy > quiet, "the build caught up: {busy} vs {quiet}");
    assert!(busy < quiet + quiet / 10, "no rebuild: {busy} vs {quiet}");
    assert!(store.verify()?.is_empty());
    assert_eq!(store.lookup("by_item", ("moved", 3))?.count(), 10);
    assert_eq!(store.lookup("by_item", ("new", 4))?.count(), 1);
    assert_eq!(store.prefix("by_item", "a10")?.count(), 0);
    assert_eq!(store.prefix("by_item", "a11")?.count(), 1);
    Ok(())
}

#[test]
fn a_write_during_a_build_copies_no_node_of_the_indexes() -> Result<(), Error> {
    let store = Store::new();
    store.create_index("by_group", ["group"])?;
    let mut ids = Vec::new();
    for n in 0..5_000 {
        ids.push(store.insert(json!({"n": n, "group": n % 10, "note": "a"}))?);
    }
    // What one write copies while a snapshot shares every tree: a change to
    // an unindexed field copies the path in the documents tree; a change of
    // group copies paths in the index too.
    let snapshot = store.snapshot()?;
    Store::node_copies_for_tests();
    store.update(ids[1], json!({"n": 1, "group": 1, "note": "b"}))?;
    let documents_path = Store::node_copies_for_tests();
    store.update(ids[4_000], json!({"n": 4_000, "group": 99, "note": "a"}))?;
    let with_index_paths = Store::node_copies_for_tests();
    drop(snapshot);
    assert!(documents_path > 0);
    assert!(with_index_paths > documents_path);

    let (reached_tx, reached) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let (reached_tx, go_rx) = (Mutex::new(reached_tx), Mutex::new(go_rx));
    store.set_index_build_hook_for_tests(move |round| {
        if round == 0 {
            let _ = reached_tx.lock().map(|tx| tx.send(()));
            let _ = go_rx.lock().map(|rx| rx.recv());
        }
    });
    let store = Arc::new(store);
    let builder = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.create_index("by_n", ["n"]))
    };
    reached.recv().expect("the build reached its pause");
    Store::node_copies_for_tests();
    store.update(ids[4_000], json!({"n": 4_000, "group": 98, "note": "a"}))?;
    assert_eq!(Store::node_copies_for_tests(), documents_path);
    go.send(()).expect("resume the build");
    builder.join().expect("the build thread")?;
    assert!(store.verify()?.is_empty());
    assert_eq!(store.lookup("by_group", 98)?.count(), 1);
    assert_eq!(store.lookup("by_n", 4_000)?.count(), 1);
    Ok(())
}
