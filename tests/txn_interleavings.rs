//! Commits driven through each interleaving deterministically: a commit is
//! held at one of its stages (the test-only pause points of the `testing`
//! feature) while another commit, a plain write or reads run, and then let go.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};

use docstore::{CommitStage, Db, Document, Error, Store, Transaction};
use serde_json::json;

/// Holds a transaction's commit at one stage until the test lets it go.
struct Held {
    reached: Receiver<()>,
    release: Sender<()>,
}

impl Held {
    fn at(tx: &mut Transaction<'_>, at: CommitStage) -> Held {
        let (reached_tx, reached) = channel();
        let (release, release_rx) = channel::<()>();
        let release_rx = Mutex::new(release_rx);
        tx.pause_for_tests(move |stage| {
            if stage == at {
                reached_tx.send(()).unwrap();
                release_rx.lock().unwrap().recv().unwrap();
            }
        });
        Held { reached, release }
    }

    fn wait(&self) {
        self.reached.recv().unwrap();
    }

    fn go(&self) {
        self.release.send(()).unwrap();
    }
}

fn n(doc: &Document) -> i64 {
    doc.get("n").and_then(|v| v.as_i64()).unwrap()
}

/// A transaction that reads document `id` and writes `n + add` to it.
fn increment<'a>(store: &'a Store, tx: &Transaction<'a>, id: docstore::Id, add: i64) {
    let seen = n(&tx.store(store).get(id).unwrap());
    tx.store(store)
        .update(id, json!({"n": seen + add}))
        .unwrap();
}

#[test]
fn a_commit_waiting_on_one_held_after_validation_conflicts() {
    for stage in [
        CommitStage::Validated,
        CommitStage::Building,
        CommitStage::Built,
    ] {
        let store = Store::new();
        let id = store.insert(json!({"n": 0})).unwrap();
        let mut first = store.begin().unwrap();
        let second = store.begin().unwrap();
        increment(&store, &first, id, 1);
        increment(&store, &second, id, 10);
        let held = Held::at(&mut first, stage);
        std::thread::scope(|s| {
            let first = s.spawn(|| first.commit());
            held.wait();
            // `second` needs the writer lock `first` holds: whenever it gets
            // it, `first` has published, and what `second` read is stale.
            let second = s.spawn(|| second.commit());
            held.go();
            assert_eq!(first.join().unwrap(), Ok(()));
            assert!(matches!(
                second.join().unwrap(),
                Err(Error::Conflict { .. })
            ));
        });
        assert_eq!(n(&store.get(id).unwrap()), 1, "{stage:?}");
    }
}

#[test]
fn a_commit_held_before_locking_loses_to_one_that_overtakes_it() {
    let store = Store::new();
    let id = store.insert(json!({"n": 0})).unwrap();
    let mut first = store.begin().unwrap();
    let second = store.begin().unwrap();
    increment(&store, &first, id, 1);
    increment(&store, &second, id, 10);
    let held = Held::at(&mut first, CommitStage::BeforeLocking);
    std::thread::scope(|s| {
        let first = s.spawn(|| first.commit());
        held.wait();
        second.commit().unwrap();
        held.go();
        assert!(matches!(first.join().unwrap(), Err(Error::Conflict { .. })));
    });
    assert_eq!(n(&store.get(id).unwrap()), 10);
}

#[test]
fn a_plain_write_that_overtakes_a_held_commit_makes_it_conflict() {
    let store = Store::new();
    let id = store.insert(json!({"n": 0})).unwrap();
    let mut tx = store.begin().unwrap();
    increment(&store, &tx, id, 1);
    let held = Held::at(&mut tx, CommitStage::BeforeLocking);
    std::thread::scope(|s| {
        let commit = s.spawn(|| tx.commit());
        held.wait();
        store.update(id, json!({"n": 100})).unwrap();
        held.go();
        assert!(matches!(
            commit.join().unwrap(),
            Err(Error::Conflict { .. })
        ));
    });
    assert_eq!(n(&store.get(id).unwrap()), 100);
}

#[test]
fn commits_of_different_documents_both_succeed_in_every_interleaving() {
    for stage in [
        CommitStage::BeforeLocking,
        CommitStage::Validated,
        CommitStage::Building,
        CommitStage::Built,
    ] {
        let store = Store::new();
        store.create_index("by_n", ["n"]).unwrap();
        let a = store.insert(json!({"n": 0})).unwrap();
        let b = store.insert(json!({"n": 100})).unwrap();
        let mut first = store.begin().unwrap();
        let second = store.begin().unwrap();
        increment(&store, &first, a, 1);
        // A range read disjoint from what `first` writes.
        assert_eq!(second.store(&store).range("by_n", 50..).unwrap().count(), 1);
        increment(&store, &second, b, 1);
        let held = Held::at(&mut first, stage);
        std::thread::scope(|s| {
            let first = s.spawn(|| first.commit());
            held.wait();
            let second = s.spawn(|| second.commit());
            if stage == CommitStage::BeforeLocking {
                // Let `second` finish before `first` goes on.
                assert_eq!(second.join().unwrap(), Ok(()));
                held.go();
            } else {
                held.go();
                assert_eq!(second.join().unwrap(), Ok(()));
            }
            assert_eq!(first.join().unwrap(), Ok(()), "{stage:?}");
        });
        assert_eq!(
            (n(&store.get(a).unwrap()), n(&store.get(b).unwrap())),
            (1, 101)
        );
        assert!(store.verify().unwrap().is_empty());
    }
}

#[test]
fn point_reads_and_other_stores_go_on_while_a_large_commit_builds() {
    const LARGE: usize = 100_000;
    let db = Db::new();
    let store = db.store("big").unwrap();
    let other = db.store("other").unwrap();
    store.create_index("by_n", ["n"]).unwrap();
    let existing: Vec<_> = (0..100)
        .map(|i| store.insert(json!({"n": i})).unwrap())
        .collect();
    let mut tx = db.begin().unwrap();
    for i in 0..LARGE {
        tx.store(&store).insert(json!({"n": 1000 + i})).unwrap();
    }
    tx.store(&store)
        .update(existing[0], json!({"n": -1}))
        .unwrap();
    let held = Held::at(&mut tx, CommitStage::Building);
    std::thread::scope(|s| {
        let commit = s.spawn(|| tx.commit());
        held.wait();
        // The commit holds the store's writer lock and is halfway through
        // building its new state: readers are not held up, and see the state
        // before it, whole.
        let mut gets = 0;
        for round in 0..10 {
            for (i, id) in existing.iter().enumerate() {
                assert_eq!(n(&store.get(*id).unwrap()), i as i64, "round {round}");
                gets += 1;
            }
        }
        assert_eq!(gets, 1000);
        assert_eq!(store.len().unwrap(), 100);
        assert_eq!(store.range("by_n", 1000..).unwrap().count(), 0);
        // Another store of the database takes writes meanwhile.
        other.insert(json!({"n": 1})).unwrap();
        db.transaction(|tx| tx.store(&other).insert(json!({"n": 2})))
            .unwrap();
        assert_eq!(other.len().unwrap(), 2);
        held.go();
        assert_eq!(commit.join().unwrap(), Ok(()));
    });
    assert_eq!(store.len().unwrap(), LARGE + 100);
    assert_eq!(store.range("by_n", 1000..).unwrap().count(), LARGE);
    assert_eq!(n(&store.get(existing[0]).unwrap()), -1);
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn readers_see_a_transaction_in_every_store_or_in_none() {
    let db = Db::new();
    let a = db.store("a").unwrap();
    let b = db.store("b").unwrap();
    let x = a.insert(json!({"n": 0})).unwrap();
    let y = b.insert(json!({"n": 0})).unwrap();
    let mut tx = db.begin().unwrap();
    tx.store(&a).update(x, json!({"n": 1})).unwrap();
    tx.store(&b).update(y, json!({"n": 1})).unwrap();
    let held = Held::at(&mut tx, CommitStage::Built);
    std::thread::scope(|s| {
        let commit = s.spawn(|| tx.commit());
        held.wait();
        // Built in both stores, published in neither.
        assert_eq!((n(&a.get(x).unwrap()), n(&b.get(y).unwrap())), (0, 0));
        let snapshot = db.snapshot();
        held.go();
        assert_eq!(commit.join().unwrap(), Ok(()));
        assert_eq!(n(&snapshot.store(&a).unwrap().get(x).unwrap()), 0);
        assert_eq!(n(&snapshot.store(&b).unwrap().get(y).unwrap()), 0);
    });
    let snapshot = db.snapshot();
    assert_eq!(n(&snapshot.store(&a).unwrap().get(x).unwrap()), 1);
    assert_eq!(n(&snapshot.store(&b).unwrap().get(y).unwrap()), 1);
}
