//! The change feed as a user sees it: change sets in commit order with their
//! sequence numbers, typed subscriptions, nothing for what did not commit,
//! lag instead of blocking writers, snapshots aligned with subscriptions, and
//! replaying a feed to rebuild the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use docstore::{
    Change, ChangeSet, Collection, Db, DbChangeSet, Error, Event, Id, Indexed, Object, Store,
    Subscription,
};
use serde_json::{Value, json};

fn next_set<T>(subscription: &Subscription<T>) -> T {
    match subscription.try_recv() {
        Ok(Some(Event::Changes(set))) => set,
        other => panic!(
            "expected a change set, got {:?}",
            other.map(|e| e.is_some())
        ),
    }
}

/// A replica of a store: id -> (version, document).
type Model = BTreeMap<Id, (u64, Value)>;

fn apply(model: &mut Model, set: &ChangeSet<Object>) {
    for change in set.changes() {
        match change.after() {
            Some(new) => {
                model.insert(new.id(), (new.version(), new.to_value()));
            }
            None => {
                model.remove(&change.id());
            }
        }
    }
}

fn model_of(snapshot: &docstore::Snapshot<Object>) -> Model {
    snapshot
        .iter()
        .map(|d| (d.id(), (d.version(), d.to_value())))
        .collect()
}

#[test]
fn a_subscription_receives_each_write_after_it_in_order() {
    let store = Store::new();
    let before = store.insert(json!({"n": 0})).unwrap();
    let changes = store.subscribe().unwrap();
    let id = store.insert(json!({"n": 1})).unwrap();
    store.update(id, json!({"n": 2})).unwrap();
    store.delete(before).unwrap();

    let inserted = next_set(&changes);
    assert!(
        matches!(inserted.changes(), [Change::Inserted(d)] if d.id() == id && *d == json!({"n": 1}))
    );
    let updated = next_set(&changes);
    match updated.changes() {
        [Change::Updated { old, new }] => {
            assert_eq!((old.version(), new.version()), (1, 2));
            assert_eq!(**new, json!({"n": 2}));
        }
        other => panic!("{other:?}"),
    }
    let deleted = next_set(&changes);
    assert!(matches!(deleted.changes(), [Change::Deleted(d)] if d.id() == before));
    assert_eq!(
        [inserted.seq(), updated.seq(), deleted.seq()],
        [
            changes.start_seq() + 1,
            changes.start_seq() + 2,
            changes.start_seq() + 3
        ]
    );
    assert!(changes.try_recv().unwrap().is_none());
}

#[test]
fn failed_writes_and_rolled_back_transactions_deliver_nothing() {
    let store = Store::new();
    store
        .create_index_with(
            "by_email",
            ["email"],
            docstore::IndexOptions::new().unique(),
        )
        .unwrap();
    let id = store.insert(json!({"email": "a"})).unwrap();
    let changes = store.subscribe().unwrap();
    assert!(store.insert(json!({"email": "a"})).is_err());
    assert!(store.update_if(id, 7, json!({"email": "b"})).is_err());
    let failed: Result<(), Error> = store.transaction(|tx| {
        tx.insert(json!({"email": "c"}))?;
        Err(Error::Closed)
    });
    assert!(failed.is_err());
    assert!(changes.try_recv().unwrap().is_none());
    store.update(id, json!({"email": "b"})).unwrap();
    assert_eq!(next_set(&changes).changes().len(), 1);
}

#[test]
fn a_transaction_is_one_change_set() {
    let store = Store::new();
    let a = store.insert(json!({"n": 1})).unwrap();
    let changes = store.subscribe().unwrap();
    store
        .transaction(|tx| {
            tx.update(a, json!({"n": 2}))?;
            tx.update(a, json!({"n": 3}))?;
            tx.insert(json!({"n": 4}))?;
            Ok::<_, Error>(())
        })
        .unwrap();
    let set = next_set(&changes);
    assert_eq!(set.changes().len(), 2);
    match &set.changes()[0] {
        Change::Updated { old, new } => {
            assert_eq!((old.version(), new.version()), (1, 2));
            assert_eq!(**new, json!({"n": 3}));
        }
        other => panic!("{other:?}"),
    }
    assert!(changes.try_recv().unwrap().is_none());
}

#[derive(Indexed, Clone, Debug, PartialEq)]
struct User {
    #[index]
    name: String,
    age: u32,
}

#[test]
fn a_typed_subscription_yields_typed_documents() {
    let users = Collection::<User>::new();
    let changes = users.subscribe().unwrap();
    let id = users
        .insert(User {
            name: "ada".into(),
            age: 36,
        })
        .unwrap();
    let set = next_set(&changes);
    match set.changes() {
        [Change::Inserted(user)] => {
            assert_eq!(user.id(), id);
            assert_eq!(user.age, 36);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_db_subscription_sees_every_store_in_one_gapless_order() {
    let db = Db::new();
    let events = db.store("events").unwrap();
    let users = db.collection::<User>("users").unwrap();
    let changes = db.subscribe();
    let event = events.insert(json!({"kind": "signup"})).unwrap();
    db.transaction(|tx| {
        tx.collection(&users).insert(User {
            name: "bob".into(),
            age: 20,
        })?;
        tx.store(&events).delete(event)?;
        Ok::<_, Error>(())
    })
    .unwrap();
    let first: DbChangeSet = next_set(&changes);
    let second: DbChangeSet = next_set(&changes);
    assert_eq!(second.seq(), first.seq() + 1);
    assert_eq!(first.stores(), 1);
    assert!(first.collection(&users).is_none());
    assert_eq!(second.stores(), 2);
    let added = second.collection(&users).unwrap();
    assert!(matches!(added.changes(), [Change::Inserted(u)] if u.name == "bob"));
    assert!(matches!(
        second.store(&events).unwrap().changes(),
        [Change::Deleted(_)]
    ));
}

#[test]
fn blocking_receivers_and_the_iterator_end_when_the_store_closes() {
    let store = Arc::new(Store::new());
    let changes = store.subscribe().unwrap();
    assert!(
        changes
            .recv_timeout(Duration::from_millis(1))
            .unwrap()
            .is_none()
    );
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for n in 0..10 {
                store.insert(json!({ "n": n })).unwrap();
            }
            store.close();
        })
    };
    let received: Vec<u64> = changes
        .map(|event| match event {
            Event::Changes(set) => set.seq(),
            Event::Lagged { .. } => panic!("lagged"),
        })
        .collect();
    writer.join().unwrap();
    assert_eq!(received, (1..=10).collect::<Vec<_>>());
    let after = store.subscribe();
    assert!(matches!(after, Err(Error::Closed)));
}

#[test]
fn dropping_the_store_ends_its_subscriptions() {
    let store = Store::new();
    let changes = store.subscribe().unwrap();
    store.insert(json!({"n": 1})).unwrap();
    drop(store);
    assert!(matches!(changes.recv(), Ok(Event::Changes(_))));
    assert!(matches!(changes.recv(), Err(Error::Closed)));
}

#[test]
fn a_subscriber_that_never_reads_lags_and_never_holds_writers_back() {
    let store = Store::new();
    let changes = store.subscribe_with_capacity(8).unwrap();
    let start = changes.start_seq();
    for n in 0..10_000 {
        store.insert(json!({ "n": n })).unwrap();
    }
    // Bounded memory: what it holds never passes its capacity.
    assert!(changes.len() <= 8);
    let mut seqs = Vec::new();
    let mut missed = 0;
    let mut resumed_at = None;
    while let Some(event) = changes.try_recv().unwrap() {
        match event {
            Event::Changes(set) => seqs.push(set.seq()),
            Event::Lagged {
                missed: m,
                next_seq,
            } => {
                missed += m;
                resumed_at = Some(next_seq);
            }
        }
    }
    assert_eq!(seqs.len() as u64 + missed, 10_000);
    assert_eq!(
        seqs,
        (start + 1..=start + seqs.len() as u64).collect::<Vec<_>>()
    );
    assert_eq!(resumed_at, Some(start + 10_001));
    // It goes on from there.
    store.insert(json!({"n": -1})).unwrap();
    assert_eq!(next_set(&changes).seq(), start + 10_001);
}

#[test]
fn a_lagged_subscriber_resyncs_to_an_aligned_snapshot() {
    let store = Store::new();
    let mut changes = store.subscribe_with_capacity(2).unwrap();
    for n in 0..10 {
        store.insert(json!({ "n": n })).unwrap();
    }
    let mut lagged = false;
    while let Some(event) = changes.try_recv().unwrap() {
        lagged |= matches!(event, Event::Lagged { .. });
    }
    assert!(lagged);
    let snapshot = store.resync(&mut changes).unwrap();
    assert_eq!(snapshot.len(), 10);
    assert_eq!(changes.start_seq(), snapshot.seq());
    assert_eq!(changes.capacity(), 2);
    let mut model = model_of(&snapshot);
    store.insert(json!({"n": 10})).unwrap();
    let set = next_set(&changes);
    assert_eq!(set.seq(), snapshot.seq() + 1);
    apply(&mut model, &set);
    assert_eq!(model, model_of(&store.snapshot().unwrap()));
}

/// Writes of 8 threads, single writes and transactions mixed, on a store of
/// a database that has a second store with a writer of its own.
fn mixed_writes(db: &Db, store: &Store, other: &Store, per_thread: usize) {
    std::thread::scope(|s| {
        for t in 0..8u64 {
            s.spawn(move || {
                let mut ids: Vec<Id> = Vec::new();
                let mut x = t + 1;
                for i in 0..per_thread {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    match x % 5 {
                        0 | 1 => ids.push(store.insert(json!({"t": t, "i": i})).unwrap()),
                        2 if !ids.is_empty() => {
                            let id = ids[(x / 8) as usize % ids.len()];
                            store
                                .update(id, json!({"t": t, "i": i, "u": true}))
                                .unwrap();
                        }
                        3 if !ids.is_empty() => {
                            let id = ids.swap_remove((x / 8) as usize % ids.len());
                            store.delete(id).unwrap();
                        }
                        _ => {
                            let added = db
                                .transaction(|tx| {
                                    let a = tx.store(store).insert(json!({"t": t, "tx": i}))?;
                                    let b = tx.store(store).insert(json!({"t": t, "tx2": i}))?;
                                    tx.store(other).insert(json!({"t": t}))?;
                                    tx.store(store).delete(b)?;
                                    Ok::<_, Error>(a)
                                })
                                .unwrap();
                            ids.push(added);
                        }
                    }
                }
            });
        }
        s.spawn(move || {
            for i in 0..per_thread {
                other.insert(json!({ "other": i })).unwrap();
            }
        });
    });
}

#[test]
fn replaying_the_feed_rebuilds_the_final_state_with_gapless_seqs() {
    let db = Db::new();
    let store = db.store("main").unwrap();
    let other = db.store("other").unwrap();
    let (start, from_db) = db.snapshot_and_subscribe();
    let from_store = store.subscribe_with_capacity(1_000_000).unwrap();
    assert_eq!(start.seq(), 0);
    // Fewer commits than the buffer holds, so that nothing is dropped.
    mixed_writes(&db, &store, &other, 100);
    assert!(db.snapshot().seq() < docstore::DEFAULT_BUFFER as u64);

    let end = db.snapshot();
    let mut model = Model::new();
    let mut seqs = Vec::new();
    while let Some(event) = from_db.try_recv().unwrap() {
        let Event::Changes(set) = event else {
            panic!("lagged")
        };
        seqs.push(set.seq());
        if let Some(part) = set.store(&store) {
            apply(&mut model, &part);
        }
    }
    assert_eq!(seqs, (1..=end.seq()).collect::<Vec<_>>());
    assert_eq!(model, model_of(&end.store(&store).unwrap()));

    // The store's own subscription sees its commits only, in the same order.
    let mut replica = Model::new();
    let mut last = 0;
    while let Some(event) = from_store.try_recv().unwrap() {
        let Event::Changes(set) = event else {
            panic!("lagged")
        };
        assert!(set.seq() > last);
        last = set.seq();
        apply(&mut replica, &set);
    }
    assert_eq!(replica, model);
}

#[test]
fn snapshot_and_subscribe_has_no_gap_and_no_duplicate_under_concurrent_writers() {
    for _ in 0..20 {
        let db = Db::new();
        let store = db.store("main").unwrap();
        let other = db.store("other").unwrap();
        let (snapshot, changes) = std::thread::scope(|s| {
            s.spawn(|| mixed_writes(&db, &store, &other, 40));
            std::thread::sleep(Duration::from_micros(200));
            store.snapshot_and_subscribe().unwrap()
        });
        let mut model = model_of(&snapshot);
        let mut last = snapshot.seq();
        while let Some(event) = changes.try_recv().unwrap() {
            let Event::Changes(set) = event else {
                panic!("lagged")
            };
            assert!(set.seq() > last, "a change set seen twice or out of order");
            last = set.seq();
            apply(&mut model, &set);
        }
        assert_eq!(model, model_of(&store.snapshot().unwrap()));
    }
}

#[test]
fn db_snapshot_and_subscribe_has_no_gap_and_no_duplicate_under_concurrent_writers() {
    for _ in 0..20 {
        let db = Db::new();
        let store = db.store("main").unwrap();
        let other = db.store("other").unwrap();
        let (snapshot, changes) = std::thread::scope(|s| {
            s.spawn(|| mixed_writes(&db, &store, &other, 40));
            std::thread::sleep(Duration::from_micros(200));
            db.snapshot_and_subscribe()
        });
        let mut model = model_of(&snapshot.store(&store).unwrap());
        let mut next = snapshot.seq() + 1;
        while let Some(event) = changes.try_recv().unwrap() {
            let Event::Changes(set) = event else {
                panic!("lagged")
            };
            assert_eq!(set.seq(), next);
            next += 1;
            if let Some(part) = set.store(&store) {
                apply(&mut model, &part);
            }
        }
        assert_eq!(next - 1, db.snapshot().seq());
        assert_eq!(model, model_of(&store.snapshot().unwrap()));
    }
}
