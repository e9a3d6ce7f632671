//! Gets of a store with deadlines, read through the id hash: whichever way a
//! deadline was set, taken off or carried over (a write, `expire_at`,
//! `persist`, a transaction small or large, a database transaction, a
//! rewrite, a clone), a get sees the document until its deadline and never
//! after, and the hash holds the very deadline the store does (`verify`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use docstore::{Db, Error, Id, ManualClock, Store, Sweeping};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000)
}

fn store_at_start() -> (ManualClock, Store) {
    let clock = ManualClock::new(start());
    let store = Store::with_clock(clock.clone());
    store.set_sweeping(Sweeping::Manual);
    (clock, store)
}

/// Whether a get finds `id`, checking that contains agrees and that the
/// store is consistent (the hash's deadlines included).
fn found(store: &Store, id: Id) -> bool {
    let got = match store.get(id) {
        Ok(document) => document.id() == id,
        Err(Error::NotFound { .. }) => false,
        Err(error) => panic!("get {id}: {error}"),
    };
    assert_eq!(store.contains(id).unwrap(), got, "contains {id}");
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    got
}

#[test]
fn a_write_with_a_deadline_is_found_until_it_and_not_after() {
    let (clock, store) = store_at_start();
    let session = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let plain = store.insert(json!({"n": 2})).unwrap();
    clock.advance(MINUTE - Duration::from_micros(1));
    assert!(found(&store, session));
    clock.advance(Duration::from_micros(1));
    assert!(!found(&store, session));
    assert!(found(&store, plain));
}

#[test]
fn a_rewrite_keeps_the_deadline_and_persist_takes_it_off() {
    let (clock, store) = store_at_start();
    let rewritten = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let persisted = store.insert_with_ttl(json!({"n": 2}), MINUTE).unwrap();
    let later = store.insert(json!({"n": 3})).unwrap();
    store.update(rewritten, json!({"n": 10})).unwrap();
    store.persist(persisted).unwrap();
    store.expire_at(later, start() + MINUTE * 2).unwrap();
    assert!(found(&store, rewritten));
    clock.advance(MINUTE);
    assert!(!found(&store, rewritten));
    assert!(found(&store, persisted));
    assert!(found(&store, later));
    clock.advance(MINUTE);
    assert!(!found(&store, later));
    assert!(found(&store, persisted));
}

#[test]
fn an_expire_at_in_the_past_hides_the_document_at_once() {
    let (_clock, store) = store_at_start();
    let id = store.insert(json!({"n": 1})).unwrap();
    assert!(found(&store, id));
    store.expire_at(id, start() - MINUTE).unwrap();
    assert!(!found(&store, id));
}

/// A transaction of `writes` documents (small ones apply in place, large
/// ones build a new state) that inserts with deadlines, rewrites with a
/// past deadline and takes a deadline off, all at once.
fn a_transaction_s_deadlines_show_with_its_writes(writes: usize) {
    let (clock, store) = store_at_start();
    let rewritten = store.insert(json!({"n": 0})).unwrap();
    let persisted = store.insert_with_ttl(json!({"n": 0}), MINUTE).unwrap();
    let inserted: Vec<Id> = store
        .transaction(|tx| {
            tx.update(rewritten, json!({"n": 1}))?;
            tx.expire_at(rewritten, start() - MINUTE)?;
            tx.persist(persisted)?;
            (0..writes)
                .map(|n| tx.insert_with_ttl(json!({ "n": n }), MINUTE))
                .collect::<Result<Vec<_>, Error>>()
        })
        .unwrap();
    assert!(!found(&store, rewritten));
    assert!(inserted.iter().all(|id| found(&store, *id)));
    clock.advance(MINUTE);
    assert!(inserted.iter().all(|id| !found(&store, *id)));
    assert!(found(&store, persisted));
}

#[test]
fn a_small_transaction_s_deadlines_show_with_its_writes() {
    a_transaction_s_deadlines_show_with_its_writes(2);
}

#[test]
fn a_large_transaction_s_deadlines_show_with_its_writes() {
    a_transaction_s_deadlines_show_with_its_writes(40);
}

#[test]
fn a_transaction_that_only_sets_deadlines_shows_them() {
    let (clock, store) = store_at_start();
    let ids: Vec<Id> = (0..3)
        .map(|n| store.insert(json!({ "n": n })).unwrap())
        .collect();
    store
        .transaction(|tx| {
            tx.expire_at(ids[0], start() + MINUTE)?;
            tx.expire_at(ids[1], start())
        })
        .unwrap();
    assert!(found(&store, ids[0]));
    assert!(!found(&store, ids[1]));
    assert!(found(&store, ids[2]));
    clock.advance(MINUTE);
    assert!(!found(&store, ids[0]));
    assert!(found(&store, ids[2]));
}

#[test]
fn a_database_transaction_s_deadlines_show_in_every_store() {
    let clock = ManualClock::new(start());
    let db = Db::with_clock(clock.clone());
    let (a, b) = (db.store("a").unwrap(), db.store("b").unwrap());
    a.set_sweeping(Sweeping::Manual);
    b.set_sweeping(Sweeping::Manual);
    let (ia, ib) = (
        a.insert(json!({"n": 1})).unwrap(),
        b.insert(json!({"n": 2})).unwrap(),
    );
    db.transaction(|tx| {
        tx.store(&a).expire_at(ia, start() + MINUTE)?;
        tx.store(&b).expire_at(ib, start() + MINUTE)
    })
    .unwrap();
    assert!(found(&a, ia) && found(&b, ib));
    clock.advance(MINUTE);
    assert!(!found(&a, ia) && !found(&b, ib));
}

#[test]
fn clones_read_their_documents_deadlines() {
    let (clock, store) = store_at_start();
    let session = store
        .insert_with_ttl(json!({"keep": true}), MINUTE)
        .unwrap();
    let plain = store.insert(json!({"keep": true})).unwrap();
    let copy = store.clone();
    let filtered = store.clone_filtered(|_| true).unwrap();
    for store in [&copy, &filtered] {
        assert!(found(store, session));
    }
    clock.advance(MINUTE);
    for store in [&copy, &filtered] {
        assert!(!found(store, session));
        assert!(found(store, plain));
    }
}
