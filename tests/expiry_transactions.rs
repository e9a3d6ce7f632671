//! Deadlines inside transactions: `insert_with_ttl`, `expire_at` and
//! `persist` are buffered and published with the transaction's writes, all or
//! nothing; a deadline the transaction read that changed before it commits
//! is a conflict.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use docstore::{Collection, Db, Error, Indexed, ManualClock, Store, Sweeping};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000)
}

#[test]
fn a_document_inserted_with_a_ttl_in_a_transaction_expires_after_commit() {
    let clock = ManualClock::new(start());
    let store = Store::with_clock(clock.clone());
    let tx = store.begin().unwrap();
    let id = tx
        .store(&store)
        .insert_with_ttl(json!({"n": 1}), MINUTE)
        .unwrap();
    assert_eq!(
        tx.store(&store).deadline(id).unwrap(),
        Some(start() + MINUTE)
    );
    assert!(!store.contains(id).unwrap());
    tx.commit().unwrap();
    assert_eq!(store.deadline(id).unwrap(), Some(start() + MINUTE));
    clock.advance(MINUTE);
    assert!(!store.contains(id).unwrap());
    assert_eq!(store.len().unwrap(), 0);
}

#[test]
fn deadlines_set_in_a_transaction_that_fails_are_never_set() {
    let clock = ManualClock::new(start());
    let store = Store::with_clock(clock.clone());
    let a = store.insert(json!({"n": 1})).unwrap();
    let b = store.insert(json!({"n": 2})).unwrap();
    let tx = store.begin().unwrap();
    tx.store(&store).expire_at(a, start() + MINUTE).unwrap();
    tx.store(&store).get(b).unwrap();
    let id = tx
        .store(&store)
        .insert_with_ttl(json!({"n": 3}), MINUTE)
        .unwrap();
    // Another writer changes what the transaction read.
    store.update(b, json!({"n": 20})).unwrap();
    assert!(matches!(tx.commit(), Err(Error::Conflict { .. })));
    assert_eq!(store.deadline(a).unwrap(), None);
    assert!(!store.contains(id).unwrap());

    let tx = store.begin().unwrap();
    tx.store(&store).expire_at(a, start() + MINUTE).unwrap();
    tx.rollback();
    assert_eq!(store.deadline(a).unwrap(), None);
}

#[test]
fn expire_at_and_persist_in_a_transaction_take_effect_with_its_writes() {
    let clock = ManualClock::new(start());
    let store = Store::with_clock(clock.clone());
    let a = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let b = store.insert(json!({"n": 2})).unwrap();
    store
        .transaction(|tx| {
            tx.persist(a)?;
            tx.expire_at(b, start() + MINUTE)?;
            assert_eq!(tx.deadline(a)?, None);
            tx.update(b, json!({"n": 3})).map(drop)
        })
        .unwrap();
    assert_eq!(store.deadline(a).unwrap(), None);
    assert_eq!(store.deadline(b).unwrap(), Some(start() + MINUTE));
    clock.advance(MINUTE);
    assert!(store.contains(a).unwrap());
    assert!(!store.contains(b).unwrap());
    // A document the transaction does not see has no deadline to set.
    let tx = store.begin().unwrap();
    assert!(matches!(
        tx.store(&store).expire_at(b, start()),
        Err(Error::NotFound { .. })
    ));
    // A document it deleted keeps no deadline.
    let tx = store.begin().unwrap();
    tx.store(&store).expire_at(a, start() + MINUTE * 5).unwrap();
    tx.store(&store).delete(a).unwrap();
    tx.commit().unwrap();
    assert!(!store.contains(a).unwrap());
}

#[test]
fn a_deadline_read_by_a_transaction_and_changed_before_its_commit_conflicts() {
    let clock = ManualClock::new(start());
    let store = Store::with_clock(clock.clone());
    let a = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let b = store.insert(json!({"n": 2})).unwrap();
    let tx = store.begin().unwrap();
    assert_eq!(
        tx.store(&store).deadline(a).unwrap(),
        Some(start() + MINUTE)
    );
    tx.store(&store).update(b, json!({"n": 3})).unwrap();
    store.persist(a).unwrap();
    assert!(matches!(
        tx.commit(),
        Err(Error::Conflict { id: Some(id), .. }) if id == a
    ));
    // A deadline of a document it did not read changes nothing for it.
    let c = store.insert(json!({"n": 6})).unwrap();
    let tx = store.begin().unwrap();
    assert_eq!(tx.store(&store).deadline(a).unwrap(), None);
    tx.store(&store).update(b, json!({"n": 4})).unwrap();
    store.expire_at(c, start() + MINUTE).unwrap();
    tx.commit().unwrap();
}

#[derive(Indexed, Clone, Debug)]
struct Session {
    #[index(unique)]
    token: String,
}

#[test]
fn typed_collections_and_databases_set_deadlines_in_transactions() {
    let clock = ManualClock::new(start());
    let db = Db::with_clock(clock.clone());
    let sessions = db.collection::<Session>("sessions").unwrap();
    let log = db.store("log").unwrap();
    let (session, entry) = db
        .transaction(|tx| {
            let session = tx.collection(&sessions).insert_with_ttl(
                Session {
                    token: "abc".into(),
                },
                MINUTE,
            )?;
            let entry = tx.store(&log).insert(json!({"login": "abc"}))?;
            tx.store(&log).expire_at(entry, start() + MINUTE * 2)?;
            Ok::<_, Error>((session, entry))
        })
        .unwrap();
    assert_eq!(sessions.deadline(session).unwrap(), Some(start() + MINUTE));
    clock.advance(MINUTE);
    assert!(
        sessions
            .get_unique(Session::token, "abc")
            .unwrap()
            .is_none()
    );
    assert!(log.contains(entry).unwrap());
    db.transaction(|tx| {
        tx.collection(&sessions)
            .persist(session)
            .or_else(|e| match e {
                Error::NotFound { .. } => Ok(()),
                other => Err(other),
            })
    })
    .unwrap();
    clock.advance(MINUTE);
    assert!(!log.contains(entry).unwrap());

    let alone = Collection::<Session>::with_clock(clock.clone());
    let id = alone
        .transaction(|tx| tx.insert_with_ttl(Session { token: "x".into() }, MINUTE))
        .unwrap();
    clock.advance(MINUTE);
    assert!(!alone.contains(id).unwrap());
}

#[test]
fn a_transaction_that_only_sets_deadlines_keeps_the_feed_in_order() {
    let clock = ManualClock::new(start());
    let db = Db::with_clock(clock.clone());
    let store = db.store("s").unwrap();
    let id = store.insert(json!({"n": 1})).unwrap();
    let changes = db.subscribe();
    let own = store.subscribe().unwrap();
    db.transaction(|tx| tx.store(&store).expire_at(id, start() + MINUTE))
        .unwrap();
    let later = store.insert(json!({"n": 2})).unwrap();
    let mut heard = Vec::new();
    let mut seqs = Vec::new();
    while let Some(docstore::Event::Changes(set)) = changes.try_recv().unwrap() {
        seqs.push(set.seq());
        let part = set.store(&store).unwrap();
        heard.extend(part.changes().iter().map(|change| match change {
            docstore::Change::Inserted(doc) => doc.id(),
            other => panic!("{other:?}"),
        }));
    }
    assert_eq!(heard, [later]);
    // Deadlines alone take no sequence number: the database's stay gapless.
    assert_eq!(seqs, [changes.start_seq() + 1]);
    let mut own_heard = Vec::new();
    while let Some(docstore::Event::Changes(set)) = own.try_recv().unwrap() {
        own_heard.extend(set.changes().iter().map(|change| match change {
            docstore::Change::Inserted(doc) => doc.id(),
            other => panic!("{other:?}"),
        }));
    }
    assert_eq!(own_heard, [later]);
    assert_eq!(store.deadline(id).unwrap(), Some(start() + MINUTE));
}

#[test]
fn a_database_transaction_that_only_sets_deadlines_is_seen_whole_by_snapshots() {
    let clock = ManualClock::new(start());
    let db = Db::with_clock(clock);
    // Many stores, so that a snapshot takes long enough to meet the commit.
    let stores: Vec<_> = (0..32)
        .map(|n| {
            let store = db.store(&format!("s{n}")).unwrap();
            store.set_sweeping(Sweeping::Manual);
            store
        })
        .collect();
    let done = AtomicBool::new(false);
    let halves = std::thread::scope(|s| {
        s.spawn(|| {
            for n in 0..300 {
                let ids = db
                    .transaction(|tx| {
                        let insert = |store: &Arc<Store>| tx.store(store).insert(json!({ "n": n }));
                        stores.iter().map(insert).collect::<Result<Vec<_>, _>>()
                    })
                    .unwrap();
                // Deadlines only, all already passed: each document is
                // hidden from the moment the commit is seen.
                db.transaction(|tx| {
                    for (store, id) in stores.iter().zip(&ids) {
                        tx.store(store).expire_at(*id, start() - MINUTE)?;
                    }
                    Ok::<_, Error>(())
                })
                .unwrap();
            }
            done.store(true, Ordering::Release);
        });
        let reader = s.spawn(|| {
            let mut halves = 0;
            while !done.load(Ordering::Acquire) {
                let snapshot = db.snapshot();
                let seen: Vec<usize> = stores
                    .iter()
                    .map(|store| snapshot.store(store).unwrap().len())
                    .collect();
                halves += usize::from(seen.iter().any(|len| *len != seen[0]));
            }
            halves
        });
        reader.join().unwrap()
    });
    assert_eq!(
        halves, 0,
        "snapshots that saw the deadlines in some stores only"
    );
}
