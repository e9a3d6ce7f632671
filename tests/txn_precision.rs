//! Conflicts are precise: transactions whose reads and writes do not overlap
//! both commit, whatever they touch; the ones that do overlap (the controls
//! here) conflict.

use docstore::{Db, Error, Id, Indexed, Store, Transaction};
use serde_json::json;

/// A store of documents keyed 0, 10, 20, ..., 90, indexed by key and by
/// (group, key).
fn setup() -> (Store, Vec<Id>) {
    let store = Store::new();
    store.create_index("by_key", ["key"]).unwrap();
    store
        .create_index("by_group_key", ["group", "key"])
        .unwrap();
    let ids = (0..10)
        .map(|i| store.insert(doc(i * 10)).unwrap())
        .collect();
    (store, ids)
}

fn doc(key: i64) -> serde_json::Value {
    json!({"key": key, "group": if key < 50 { "low" } else { "high" }})
}

/// Runs two transactions side by side: both begin, then `first` and `second`
/// run, then both commit, `first` first. Returns the second commit's result.
fn side_by_side(
    store: &Store,
    first: impl FnOnce(&Transaction<'_>),
    second: impl FnOnce(&Transaction<'_>),
) -> Result<(), Error> {
    let t1 = store.begin().unwrap();
    let t2 = store.begin().unwrap();
    first(&t1);
    second(&t2);
    t1.commit().unwrap();
    t2.commit()
}

#[test]
fn transactions_on_different_documents_both_commit() {
    let (store, ids) = setup();
    let result = side_by_side(
        &store,
        |tx| {
            let s = tx.store(&store);
            s.get(ids[0]).unwrap();
            s.update(ids[0], doc(1)).unwrap();
        },
        |tx| {
            let s = tx.store(&store);
            s.get(ids[1]).unwrap();
            s.update(ids[1], doc(11)).unwrap();
            s.delete(ids[2]).unwrap();
        },
    );
    assert_eq!(result, Ok(()));
    assert_eq!(store.len().unwrap(), 9);
}

#[test]
fn transactions_on_disjoint_ranges_of_one_index_both_commit() {
    let (store, ids) = setup();
    let result = side_by_side(
        &store,
        |tx| {
            let s = tx.store(&store);
            assert_eq!(s.range("by_key", 0..30).unwrap().count(), 3);
            s.update(ids[1], doc(15)).unwrap();
        },
        |tx| {
            let s = tx.store(&store);
            assert_eq!(s.range("by_key", 30..=60).unwrap().count(), 4);
            assert_eq!(s.lookup("by_key", 70).unwrap().count(), 1);
            s.update(ids[4], doc(45)).unwrap();
        },
    );
    assert_eq!(result, Ok(()));
}

#[test]
fn a_range_read_and_an_insert_outside_it_both_commit() {
    let (store, _) = setup();
    let result = side_by_side(
        &store,
        |tx| {
            tx.store(&store).insert(doc(95)).unwrap();
            tx.store(&store)
                .insert(json!({"key": -5, "group": "none"}))
                .unwrap();
        },
        |tx| {
            let s = tx.store(&store);
            assert_eq!(s.range("by_key", 10..=50).unwrap().count(), 5);
            assert_eq!(s.prefix("by_group_key", "low").unwrap().count(), 5);
            s.insert(doc(33)).unwrap();
        },
    );
    assert_eq!(result, Ok(()));
    assert_eq!(store.len().unwrap(), 13);
}

#[test]
fn a_read_of_an_absent_id_and_unrelated_inserts_both_commit() {
    let (store, ids) = setup();
    let gone = ids[9];
    store.delete(gone).unwrap();
    let result = side_by_side(
        &store,
        |tx| {
            tx.store(&store).insert(doc(100)).unwrap();
        },
        |tx| {
            assert!(!tx.store(&store).contains(gone).unwrap());
            tx.store(&store).insert(doc(110)).unwrap();
        },
    );
    assert_eq!(result, Ok(()));
}

#[test]
fn an_insert_a_move_in_or_a_move_out_of_a_range_read_is_a_conflict() {
    type Write = fn(&Transaction<'_>, &Store, &[Id]);
    let cases: [(&str, Write); 3] = [
        ("insert into it", |tx, store, _| {
            tx.store(store).insert(doc(25)).unwrap();
        }),
        ("move into it", |tx, store, ids| {
            tx.store(store).update(ids[8], doc(25)).unwrap();
        }),
        ("move out of it", |tx, store, ids| {
            tx.store(store).update(ids[2], doc(85)).unwrap();
        }),
    ];
    for (case, write) in cases {
        let (store, ids) = setup();
        let result = side_by_side(
            &store,
            |tx| write(tx, &store, &ids),
            |tx| {
                let s = tx.store(&store);
                assert_eq!(s.range("by_key", 10..40).unwrap().count(), 3);
                s.insert(doc(1000)).unwrap();
            },
        );
        let Err(Error::Conflict { read, .. }) = result else {
            panic!("{case}: expected a conflict, got {result:?}");
        };
        assert!(read.contains("by_key"), "{case}: {read}");
    }
}

#[test]
fn a_changed_document_within_a_range_read_is_a_conflict() {
    let (store, ids) = setup();
    let result = side_by_side(
        &store,
        // Same key, new content: the range's results changed.
        |tx| {
            tx.store(&store)
                .update(ids[2], json!({"key": 20, "group": "low", "note": "x"}))
                .unwrap();
        },
        |tx| {
            tx.store(&store).range("by_key", 10..40).unwrap().count();
            tx.store(&store).insert(doc(1000)).unwrap();
        },
    );
    assert!(matches!(result, Err(Error::Conflict { .. })));
}

#[derive(Indexed, Clone)]
struct User {
    #[index]
    city: String,
}

#[derive(Indexed, Clone)]
struct Order {
    #[index]
    total: u32,
}

#[test]
fn transactions_on_different_collections_of_a_db_both_commit() {
    let db = Db::new();
    let users = db.collection::<User>("users").unwrap();
    let orders = db.collection::<Order>("orders").unwrap();
    let t1 = db.begin().unwrap();
    let t2 = db.begin().unwrap();
    assert_eq!(
        t1.collection(&users)
            .lookup(User::city, "Paris")
            .unwrap()
            .count(),
        0
    );
    t1.collection(&users)
        .insert(User {
            city: "Paris".into(),
        })
        .unwrap();
    assert_eq!(
        t2.collection(&orders)
            .range(Order::total, 10..)
            .unwrap()
            .count(),
        0
    );
    t2.collection(&orders).insert(Order { total: 12 }).unwrap();
    t1.commit().unwrap();
    t2.commit().unwrap();
    assert_eq!((users.len().unwrap(), orders.len().unwrap()), (1, 1));
}
