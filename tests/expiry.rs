//! Expiry with a manual clock: documents with deadlines are hidden from every
//! read once the deadline passes, removed by commits the feed hears as
//! `Expired`, kept by `persist`, carried by clones, never brought back by a
//! clock stepping back, and a conflict for a transaction that read them.

use std::time::{Duration, UNIX_EPOCH};

use docstore::{
    Change, Collection, Db, Error, Event, IndexOptions, Indexed, ManualClock, Store, Sweeping,
};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

fn store_at_epoch() -> (ManualClock, Store) {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let store = Store::with_clock(clock.clone());
    // What is due goes at reads, writes and `sweep()` only, so that the
    // counts of what each removed are exact.
    store.set_sweeping(Sweeping::Manual);
    (clock, store)
}

#[test]
fn every_read_hides_a_document_from_its_deadline_on() {
    let (clock, store) = store_at_epoch();
    store
        .create_index_with("by_token", ["token"], IndexOptions::new().unique())
        .unwrap();
    let session = store
        .insert_with_ttl(json!({"token": "abc"}), MINUTE)
        .unwrap();
    let kept = store.insert(json!({"token": "xyz"})).unwrap();

    clock.advance(MINUTE - Duration::from_secs(1));
    assert!(store.contains(session).unwrap());
    assert_eq!(store.len().unwrap(), 2);
    assert_eq!(store.lookup("by_token", "abc").unwrap().count(), 1);

    clock.advance(Duration::from_secs(1));
    assert!(matches!(store.get(session), Err(Error::NotFound { .. })));
    assert!(!store.contains(session).unwrap());
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.iter().unwrap().len(), 1);
    assert_eq!(store.lookup("by_token", "abc").unwrap().count(), 0);
    assert!(store.get_unique("by_token", "abc").unwrap().is_none());
    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.len(), 1);
    assert!(snapshot.contains(kept));
    // Its key no longer blocks an insert.
    store.insert(json!({"token": "abc"})).unwrap();
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn expiry_is_a_commit_the_feed_hears_and_sweep_forces_it() {
    let (clock, store) = store_at_epoch();
    let ids: Vec<_> = (0..5)
        .map(|n| {
            store
                .insert_with_ttl(json!({ "n": n }), MINUTE * (n + 1))
                .unwrap()
        })
        .collect();
    let changes = store.subscribe().unwrap();
    clock.advance(MINUTE * 2);
    assert_eq!(store.sweep().unwrap(), 2);
    assert_eq!(store.sweep().unwrap(), 0);
    let mut expired = Vec::new();
    let mut seqs = Vec::new();
    while let Some(Event::Changes(set)) = changes.try_recv().unwrap() {
        seqs.push(set.seq());
        for change in set.changes() {
            match change {
                Change::Expired(old) => expired.push(old.id()),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(expired, ids[..2]);
    assert_eq!(seqs, [changes.start_seq() + 1, changes.start_seq() + 2]);
    assert_eq!(store.len().unwrap(), 3);
}

#[test]
fn persist_takes_the_deadline_off_and_expire_at_sets_one() {
    let (clock, store) = store_at_epoch();
    let a = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let b = store.insert(json!({"n": 2})).unwrap();
    assert!(store.deadline(a).unwrap().is_some());
    store.persist(a).unwrap();
    assert_eq!(store.deadline(a).unwrap(), None);
    store.expire_at(b, clock.now_for_tests() + MINUTE).unwrap();
    // Updates keep the deadline.
    store.update(b, json!({"n": 3})).unwrap();
    clock.advance(MINUTE * 2);
    assert!(store.contains(a).unwrap());
    assert!(!store.contains(b).unwrap());
    assert!(matches!(
        store.expire_at(b, UNIX_EPOCH),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(store.persist(b), Err(Error::NotFound { .. })));
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
fn a_hidden_document_never_comes_back_when_the_clock_steps_back() {
    let (clock, store) = store_at_epoch();
    let start = clock.now_for_tests();
    let id = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let later = store.insert_with_ttl(json!({"n": 2}), MINUTE * 3).unwrap();
    clock.advance(MINUTE * 2);
    assert!(!store.contains(id).unwrap());
    clock.set(start);
    assert!(!store.contains(id).unwrap());
    assert!(store.contains(later).unwrap());
    // The store keeps the latest time it saw: stepping back does not delay
    // a deadline already passed either.
    clock.set(start + MINUTE * 3);
    assert!(!store.contains(later).unwrap());
}

#[test]
fn deadlines_survive_clone_and_filtered_clone() {
    let (clock, store) = store_at_epoch();
    let a = store
        .insert_with_ttl(json!({"keep": true}), MINUTE)
        .unwrap();
    let b = store
        .insert_with_ttl(json!({"keep": false}), MINUTE)
        .unwrap();
    let copy = store.clone();
    let filtered = store
        .clone_filtered(|doc| doc.get("keep").and_then(|k| k.as_bool()) == Some(true))
        .unwrap();
    assert_eq!(copy.deadline(a).unwrap(), store.deadline(a).unwrap());
    assert_eq!(filtered.deadline(a).unwrap(), store.deadline(a).unwrap());
    assert!(matches!(filtered.deadline(b), Err(Error::NotFound { .. })));
    clock.advance(MINUTE);
    assert_eq!(copy.len().unwrap(), 0);
    assert_eq!(filtered.len().unwrap(), 0);
    assert_eq!(store.len().unwrap(), 0);
}

#[test]
fn a_transaction_that_read_a_document_that_expired_conflicts() {
    let (clock, store) = store_at_epoch();
    let id = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let other = store.insert(json!({"n": 0})).unwrap();
    let tx = store.begin().unwrap();
    assert_eq!(tx.store(&store).get(id).unwrap().version(), 1);
    tx.store(&store).update(other, json!({"n": 5})).unwrap();
    clock.advance(MINUTE);
    assert_eq!(store.sweep().unwrap(), 1);
    assert!(matches!(tx.commit(), Err(Error::Conflict { .. })));
    // A transaction begun after the deadline does not see it.
    let tx = store.begin().unwrap();
    assert!(matches!(
        tx.store(&store).get(id),
        Err(Error::NotFound { .. })
    ));
}

#[derive(Indexed, Clone, Debug)]
struct Session {
    #[index(unique)]
    token: String,
}

#[test]
fn typed_collections_expire_the_same_way() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let sessions = Collection::<Session>::with_clock(clock.clone());
    let changes = sessions.subscribe().unwrap();
    let id = sessions
        .insert_with_ttl(
            Session {
                token: "abc".into(),
            },
            MINUTE,
        )
        .unwrap();
    clock.advance(MINUTE);
    assert!(
        sessions
            .get_unique(Session::token, "abc")
            .unwrap()
            .is_none()
    );
    sessions
        .insert(Session {
            token: "abc".into(),
        })
        .unwrap();
    let mut heard = Vec::new();
    while let Some(Event::Changes(set)) = changes.try_recv().unwrap() {
        heard.extend(set.changes().iter().map(|c| match c {
            Change::Inserted(_) => "inserted",
            Change::Expired(old) if old.id() == id => "expired",
            _ => "other",
        }));
    }
    assert_eq!(heard, ["inserted", "expired", "inserted"]);
}

#[test]
fn a_database_snapshot_or_transaction_removes_what_is_due_first() {
    let db = Db::new();
    let sessions = db.store("sessions").unwrap();
    // The removal heard below is the cut's own, not a sweeper thread's
    // racing it.
    sessions.set_sweeping(Sweeping::Manual);
    let changes = db.subscribe();
    // Due at once, on the system clock every store of a database reads.
    let id = sessions
        .insert_with_ttl(json!({"n": 1}), Duration::ZERO)
        .unwrap();
    let snapshot = db.snapshot();
    assert_eq!(snapshot.store(&sessions).unwrap().len(), 0);
    let tx = db.begin().unwrap();
    assert!(matches!(
        tx.store(&sessions).get(id),
        Err(Error::NotFound { .. })
    ));
    let mut heard = Vec::new();
    while let Some(Event::Changes(set)) = changes.try_recv().unwrap() {
        let part = set.store(&sessions).unwrap();
        heard.extend(
            part.changes()
                .iter()
                .map(|c| matches!(c, Change::Expired(_))),
        );
    }
    assert_eq!(heard, [false, true]);
}
