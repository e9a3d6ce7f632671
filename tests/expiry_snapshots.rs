//! Snapshots, database snapshots and transactions taken before a deadline:
//! every read through them hides the document from the deadline on, and all
//! their reads agree (counts, iterators, queries, unique lookups), whatever
//! the clock does afterwards.

use std::time::{Duration, UNIX_EPOCH};

use docstore::{Db, Error, IndexOptions, ManualClock, Store, Sweeping};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

fn store() -> (ManualClock, Store) {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let store = Store::with_clock(clock.clone());
    // Nothing is removed behind the tests' backs: they show what reads hide.
    store.set_sweeping(Sweeping::Manual);
    store
        .create_index_with("by_token", ["token"], IndexOptions::new().unique())
        .unwrap();
    store.create_index("by_n", ["n"]).unwrap();
    (clock, store)
}

#[test]
fn a_snapshot_taken_before_a_deadline_hides_the_document_after_it() {
    let (clock, store) = store();
    let session = store
        .insert_with_ttl(json!({"token": "abc", "n": 1}), MINUTE)
        .unwrap();
    let kept = store.insert(json!({"token": "xyz", "n": 2})).unwrap();
    let snapshot = store.snapshot().unwrap();
    let seq = snapshot.seq();
    assert_eq!(snapshot.len(), 2);

    clock.advance(MINUTE);
    assert!(!snapshot.contains(session));
    assert!(matches!(snapshot.get(session), Err(Error::NotFound { .. })));
    assert_eq!(snapshot.len(), 1);
    assert!(!snapshot.is_empty());
    assert_eq!(snapshot.iter().len(), 1);
    assert_eq!(snapshot.iter().count(), 1);
    let documents = snapshot.documents();
    assert_eq!(documents.len(), 1);
    let ids: Vec<_> = documents.map(|doc| doc.id()).collect();
    assert_eq!(ids, [kept]);
    assert_eq!((&snapshot).into_iter().count(), 1);
    assert_eq!(snapshot.cursor().count(), 1);
    assert_eq!(snapshot.lookup("by_token", "abc").unwrap().count(), 0);
    assert!(snapshot.get_unique("by_token", "abc").unwrap().is_none());
    assert_eq!(snapshot.range("by_n", ..).unwrap().len(), 1);
    assert_eq!(snapshot.by_index("by_n").unwrap().len(), 1);
    assert_eq!(snapshot.by_index("by_token").unwrap().count(), 1);
    // The same commit, read later.
    assert_eq!(snapshot.seq(), seq);
    // Nothing was swept: the snapshot hides the document by itself.
    assert!(store.snapshot().is_ok());
}

#[test]
fn a_document_hidden_from_a_snapshot_never_comes_back() {
    let (clock, store) = store();
    let start = clock.now_for_tests();
    let first = store
        .insert_with_ttl(json!({"token": "a", "n": 1}), MINUTE)
        .unwrap();
    let second = store
        .insert_with_ttl(json!({"token": "b", "n": 2}), MINUTE * 2)
        .unwrap();
    let snapshot = store.snapshot().unwrap();
    let copy = snapshot.clone();
    clock.advance(MINUTE);
    assert!(!snapshot.contains(first));
    assert!(snapshot.contains(second));
    clock.set(start);
    assert!(!snapshot.contains(first));
    assert!(!copy.contains(first));
    assert_eq!(snapshot.len(), 1);
    clock.set(start + MINUTE * 2);
    assert!(snapshot.is_empty());
    assert_eq!(copy.by_index("by_n").unwrap().count(), 0);
}

#[test]
fn a_snapshot_and_its_subscription_agree_on_what_expired() {
    let (clock, store) = store();
    let id = store
        .insert_with_ttl(json!({"token": "a", "n": 1}), MINUTE)
        .unwrap();
    let (snapshot, changes) = store.snapshot_and_subscribe().unwrap();
    clock.advance(MINUTE);
    assert!(!snapshot.contains(id));
    assert_eq!(store.sweep().unwrap(), 1);
    let set = match changes.try_recv().unwrap() {
        Some(docstore::Event::Changes(set)) => set,
        other => panic!("{other:?}"),
    };
    assert_eq!(set.seq(), snapshot.seq() + 1);
    assert!(matches!(&set.changes()[0], docstore::Change::Expired(old) if old.id() == id));
}

#[test]
fn a_database_snapshot_hides_what_expires_after_it() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let db = Db::with_clock(clock.clone());
    let sessions = db.store("sessions").unwrap();
    let id = sessions.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let snapshot = db.snapshot();
    assert_eq!(snapshot.store(&sessions).unwrap().len(), 1);
    clock.advance(MINUTE);
    let view = snapshot.store(&sessions).unwrap();
    assert!(!view.contains(id));
    assert_eq!(view.len(), 0);
}

#[test]
fn a_transaction_reads_as_of_its_start_and_conflicts_if_what_it_read_expired() {
    let (clock, store) = store();
    let id = store
        .insert_with_ttl(json!({"token": "a", "n": 1}), MINUTE)
        .unwrap();
    let other = store.insert(json!({"token": "b", "n": 2})).unwrap();
    let tx = store.begin().unwrap();
    assert_eq!(tx.store(&store).len().unwrap(), 2);
    tx.store(&store).get(id).unwrap();
    tx.store(&store)
        .update(other, json!({"token": "b", "n": 3}))
        .unwrap();
    clock.advance(MINUTE);
    // Nothing swept it yet: the commit finds it past its deadline.
    assert!(matches!(tx.commit(), Err(Error::Conflict { .. })));

    // A transaction that never read it is not disturbed, and its unique key is free.
    let later = store
        .insert_with_ttl(json!({"token": "c", "n": 4}), MINUTE)
        .unwrap();
    let tx = store.begin().unwrap();
    tx.store(&store)
        .update(other, json!({"token": "b", "n": 5}))
        .unwrap();
    clock.advance(MINUTE);
    tx.store(&store)
        .insert(json!({"token": "c", "n": 6}))
        .unwrap();
    tx.commit().unwrap();
    assert!(!store.contains(later).unwrap());
    assert_eq!(store.lookup("by_token", "c").unwrap().count(), 1);
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn a_transaction_that_first_reaches_a_store_after_a_deadline_does_not_see_it() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let db = Db::with_clock(clock.clone());
    let sessions = db.store("sessions").unwrap();
    let id = sessions.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let tx = db.begin().unwrap();
    clock.advance(MINUTE);
    assert!(matches!(
        tx.store(&sessions).get(id),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(tx.store(&sessions).len().unwrap(), 0);
    assert_eq!(tx.store(&sessions).iter().unwrap().count(), 0);
}

trait Now {
    fn now_for_tests(&self) -> std::time::SystemTime;
}

impl Now for ManualClock {
    fn now_for_tests(&self) -> std::time::SystemTime {
        docstore::Clock::now(self)
    }
}

#[test]
fn reading_a_snapshot_by_reference_counts_down_past_hidden_documents() {
    let (clock, store) = store();
    let mut kept = Vec::new();
    // Enough documents for several leaves, one in three of them due.
    for n in 0..200 {
        let document = json!({"token": format!("t{n}"), "n": n});
        if n % 3 == 1 {
            store.insert_with_ttl(document, MINUTE).unwrap();
        } else {
            kept.push(store.insert(document).unwrap());
        }
    }
    let snapshot = store.snapshot().unwrap();
    clock.advance(MINUTE);
    let mut documents = snapshot.documents();
    let mut read = Vec::new();
    while let Some(document) = documents.next() {
        read.push(document.id());
        assert_eq!(documents.len(), kept.len() - read.len());
    }
    assert_eq!(read, kept);
    assert_eq!(documents.len(), 0);
}
