//! Transactions as a user sees them: all or nothing, read-your-writes,
//! versions, checks at commit, rollback on error or panic, bounded retries,
//! and transactions across typed collections and schemaless stores.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use docstore::{Db, Document, Error, IndexOptions, Indexed, Store, TxOptions, commit_testing};
use serde_json::{Value, json};

const fn assert_send_sync<T: Send + Sync>() {}
const fn assert_send<T: Send>() {}
const _: () = assert_send_sync::<Db>();
const _: () = assert_send_sync::<docstore::DbSnapshot>();
const _: () = assert_send::<docstore::Transaction<'static>>();

fn n(doc: &Document) -> i64 {
    doc.get("n").and_then(|v| v.as_i64()).unwrap()
}

fn ns(iter: impl Iterator<Item = Document>) -> Vec<i64> {
    iter.map(|d| n(&d)).collect()
}

#[test]
fn reads_see_the_snapshot_plus_own_writes_in_key_order() {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    let ids: Vec<_> = [10, 20, 30, 40]
        .iter()
        .map(|n| store.insert(json!({"n": n})).unwrap())
        .collect();
    store
        .transaction(|tx| {
            let added = tx.insert(json!({"n": 25}))?;
            tx.update(ids[0], json!({"n": 35}))?;
            tx.delete(ids[1])?;
            // A tie with 35: ties in id order, the older id first.
            let tie = tx.insert(json!({"n": 35}))?;
            assert_eq!(ns(tx.range("by_n", ..)?), [25, 30, 35, 35, 40]);
            assert_eq!(ns(tx.range("by_n", 20..=35)?), [25, 30, 35, 35]);
            let ties: Vec<_> = tx.lookup("by_n", 35)?.map(|d| d.id()).collect();
            assert_eq!(ties, [ids[0], tie]);
            assert_eq!(tx.lookup("by_n", 20)?.count(), 0);
            assert_eq!(tx.get(added)?.version(), 1);
            assert_eq!(tx.get(ids[0])?.version(), 2);
            assert_eq!(tx.get(ids[1]), Err(Error::NotFound { id: ids[1] }));
            assert!(!tx.contains(ids[1])?);
            assert_eq!(tx.len()?, 5);
            assert_eq!(ns(tx.iter()?), [35, 30, 40, 25, 35]);
            // Nobody else sees any of it yet.
            assert_eq!(ns(store.range("by_n", ..)?), [10, 20, 30, 40]);
            Ok::<_, Error>(())
        })
        .unwrap();
    assert_eq!(ns(store.range("by_n", ..).unwrap()), [25, 30, 35, 35, 40]);
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn prefix_get_unique_and_multi_key_queries_merge_own_writes() {
    let store = Store::new();
    store.create_index("by_city_age", ["city", "age"]).unwrap();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    let ada = store
        .insert(json!({"city": "Paris", "age": 30, "email": "ada@x", "tags": ["a", "b"]}))
        .unwrap();
    store
        .transaction(|tx| {
            let bob = tx.insert(
                json!({"city": "Paris", "age": 20, "email": "bob@x", "tags": ["b", "c", "b"]}),
            )?;
            let paris: Vec<_> = tx.prefix("by_city_age", "Paris")?.map(|d| d.id()).collect();
            assert_eq!(paris, [bob, ada]);
            assert_eq!(
                tx.get_unique("by_email", "bob@x")?.map(|d| d.id()),
                Some(bob)
            );
            assert_eq!(
                tx.get_unique("by_city_age", ("Paris", 20)),
                Err(Error::NotUnique {
                    index: "by_city_age".into()
                })
            );
            // Each document once, at its first key in the range.
            let tagged: Vec<_> = tx.range("by_tag", "a"..="c")?.map(|d| d.id()).collect();
            assert_eq!(tagged, [ada, bob]);
            tx.delete(ada)?;
            assert_eq!(tx.get_unique("by_email", "ada@x")?, None);
            assert_eq!(tx.by_index("by_tag")?.count(), 1);
            Ok::<_, Error>(())
        })
        .unwrap();
    assert_eq!(store.len().unwrap(), 1);
}

#[test]
fn a_document_gets_one_new_version_per_transaction() {
    let store = Store::new();
    let id = store.insert(json!({"n": 0})).unwrap();
    let inserted = store
        .transaction(|tx| {
            for i in 1..=5 {
                assert_eq!(tx.update(id, json!({"n": i}))?, 2);
            }
            let new = tx.insert(json!({"n": 0}))?;
            tx.update(new, json!({"n": 1}))?;
            assert_eq!(tx.update_if(id, 2, json!({"n": 6}))?, 2);
            Ok::<_, Error>(new)
        })
        .unwrap();
    assert_eq!(store.get(id).unwrap().version(), 2);
    assert_eq!(n(&store.get(id).unwrap()), 6);
    assert_eq!(store.get(inserted).unwrap().version(), 1);
}

#[test]
fn commits_take_gapless_sequence_numbers_and_report_each_change_once() {
    let db = Db::new();
    let a = db.store("a").unwrap();
    let b = db.store("b").unwrap();
    let x = a.insert(json!({"n": 1})).unwrap();
    commit_testing::listen();
    let y = db
        .transaction(|tx| {
            tx.store(&a).update(x, json!({"n": 2}))?;
            tx.store(&a).update(x, json!({"n": 3}))?;
            tx.store(&b).insert(json!({"n": 1}))
        })
        .unwrap();
    b.insert(json!({"n": 2})).unwrap();
    db.transaction(|tx| tx.store(&b).delete(y).map(drop))
        .unwrap();
    let mut heard = commit_testing::take();
    heard.sort();
    // Seq 1 was the plain insert into a, seq 3 the plain insert into b; the
    // first transaction is one commit (seq 2) in both stores.
    let mut expected = vec![
        (2, vec![(x, Some(1), Some(2))]),
        (2, vec![(y, None, Some(1))]),
        (4, vec![(y, Some(1), None)]),
    ];
    expected.sort();
    assert_eq!(heard, expected);
}

#[test]
fn a_unique_key_is_checked_at_commit_against_the_store_and_the_transaction() {
    let store = Store::new();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    let ada = store.insert(json!({"email": "ada@x"})).unwrap();

    // Against a document committed after the transaction began.
    let tx = store.begin().unwrap();
    let mine = tx.store(&store).insert(json!({"email": "bob@x"})).unwrap();
    tx.store(&store)
        .update(ada, json!({"email": "ada@y"}))
        .unwrap();
    let bob = store.insert(json!({"email": "bob@x"})).unwrap();
    let error = tx.commit().unwrap_err();
    assert_eq!(
        error,
        Error::UniqueViolation {
            index: "by_email".into(),
            key: "\"bob@x\"".into(),
            existing: bob,
        }
    );
    assert!(!store.contains(mine).unwrap());
    assert_eq!(store.get(ada).unwrap().version(), 1);

    // Two documents of the transaction itself.
    let result = store.transaction(|tx| {
        tx.insert(json!({"email": "cy@x"}))?;
        tx.insert(json!({"email": "cy@x"}))
    });
    assert!(matches!(result, Err(Error::UniqueViolation { ref index, .. }) if index == "by_email"));
    assert_eq!(store.len().unwrap(), 2);

    // A key the transaction frees can be taken in the same transaction.
    store
        .transaction(|tx| {
            tx.update(ada, json!({"email": "ada@z"}))?;
            tx.insert(json!({"email": "ada@x"}))
        })
        .unwrap();
    assert_eq!(store.lookup("by_email", "ada@x").unwrap().count(), 1);
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn update_if_and_delete_if_check_the_version_the_transaction_sees() {
    let store = Store::new();
    let id = store.insert(json!({"n": 1})).unwrap();
    let result = store.transaction(|tx| tx.update_if(id, 7, json!({"n": 2})));
    assert_eq!(
        result,
        Err(Error::VersionConflict {
            id,
            expected: 7,
            actual: 1
        })
    );
    // A version that changes after the transaction read it: a conflict.
    let tx = store.begin().unwrap();
    tx.store(&store).update_if(id, 1, json!({"n": 2})).unwrap();
    store.update(id, json!({"n": 3})).unwrap();
    assert!(matches!(tx.commit(), Err(Error::Conflict { id: Some(c), .. }) if c == id));
    assert_eq!(n(&store.get(id).unwrap()), 3);
    store
        .transaction(|tx| tx.delete_if(id, 2).map(drop))
        .unwrap();
    assert!(store.is_empty().unwrap());
}

#[test]
fn an_error_from_the_closure_commits_nothing_and_is_returned() {
    #[derive(Debug, PartialEq)]
    enum Mine {
        Store(Error),
        OutOfStock,
    }
    impl From<Error> for Mine {
        fn from(error: Error) -> Self {
            Mine::Store(error)
        }
    }
    let store = Store::new();
    let id = store.insert(json!({"n": 1})).unwrap();
    let result: Result<(), Mine> = store.transaction(|tx| {
        tx.update(id, json!({"n": 0}))?;
        tx.insert(json!({"n": 2}))?;
        Err(Mine::OutOfStock)
    });
    assert_eq!(result, Err(Mine::OutOfStock));
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.get(id).unwrap().version(), 1);
}

#[test]
fn a_panic_in_the_closure_commits_nothing_and_goes_on() {
    let db = Db::new();
    let store = db.store("s").unwrap();
    let id = store.insert(json!({"n": 1})).unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        db.transaction(|tx| {
            tx.store(&store).update(id, json!({"n": 2}))?;
            tx.store(&store).insert(json!({"n": 3}))?;
            if n(&tx.store(&store).get(id)?) == 2 {
                panic!("boom");
            }
            Ok::<_, Error>(())
        })
    }));
    let payload = panicked.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(n(&store.get(id).unwrap()), 1);
    assert!(store.verify().unwrap().is_empty());
    // The store goes on working, transactions included.
    db.transaction(|tx| tx.store(&store).update(id, json!({"n": 5})))
        .unwrap();
    assert_eq!(store.get(id).unwrap().version(), 2);
}

#[test]
fn dropping_an_explicit_transaction_rolls_it_back() {
    let store = Store::new();
    let id = store.insert(json!({"n": 1})).unwrap();
    {
        let tx = store.begin().unwrap();
        tx.store(&store).update(id, json!({"n": 2})).unwrap();
        tx.store(&store).insert(json!({"n": 3})).unwrap();
    }
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(n(&store.get(id).unwrap()), 1);
}

#[test]
fn conflicts_are_retried_a_bounded_number_of_times_then_returned() {
    let store = Store::new();
    let id = store.insert(json!({"n": 0})).unwrap();
    let runs = Cell::new(0);
    // Every run is overtaken by a write to what it read.
    let result = store.transaction_with(TxOptions::new().retries(3), |tx| {
        runs.set(runs.get() + 1);
        let seen = n(&tx.get(id)?);
        store.update(id, json!({"n": seen + 100})).unwrap();
        tx.update(id, json!({"n": seen + 1}))
    });
    assert_eq!(runs.get(), 4);
    assert!(matches!(result, Err(Error::Conflict { id: Some(c), .. }) if c == id));
    assert_eq!(n(&store.get(id).unwrap()), 400);

    // A conflict that goes away is retried until the transaction commits.
    let runs = Cell::new(0);
    let value = store
        .transaction(|tx| {
            runs.set(runs.get() + 1);
            let seen = n(&tx.get(id)?);
            if runs.get() < 3 {
                store.update(id, json!({"n": seen + 100})).unwrap();
            }
            tx.update(id, json!({"n": seen + 1}))?;
            Ok::<_, Error>(seen)
        })
        .unwrap();
    assert_eq!((runs.get(), value), (3, 600));
    assert_eq!(n(&store.get(id).unwrap()), 601);
}

#[test]
fn an_index_created_or_dropped_after_the_snapshot_is_a_conflict() {
    let store = Store::new();
    let id = store.insert(json!({"n": 1})).unwrap();
    let tx = store.begin().unwrap();
    tx.store(&store).update(id, json!({"n": 2})).unwrap();
    store.create_index("by_n", ["n"]).unwrap();
    let error = tx.commit().unwrap_err();
    assert!(matches!(error, Error::Conflict { id: None, .. }), "{error}");
    assert!(error.to_string().contains("index"), "{error}");
    assert!(store.verify().unwrap().is_empty());

    let tx = store.begin().unwrap();
    tx.store(&store).insert(json!({"n": 3})).unwrap();
    store.drop_index("by_n").unwrap();
    assert!(matches!(tx.commit(), Err(Error::Conflict { .. })));
    assert_eq!(store.len().unwrap(), 1);
}

#[test]
fn read_only_transactions_always_commit() {
    let store = Store::new();
    let id = store.insert(json!({"n": 1})).unwrap();
    let tx = store.begin().unwrap();
    assert_eq!(n(&tx.store(&store).get(id).unwrap()), 1);
    store.update(id, json!({"n": 2})).unwrap();
    assert_eq!(n(&tx.store(&store).get(id).unwrap()), 1);
    tx.commit().unwrap();
}

#[test]
fn a_closed_store_refuses_the_commit() {
    let store = Store::new();
    let id = store.insert(json!({"n": 1})).unwrap();
    let tx = store.begin().unwrap();
    tx.store(&store).update(id, json!({"n": 2})).unwrap();
    store.close();
    assert_eq!(tx.commit(), Err(Error::Closed));
    assert!(store.begin().is_err());
}

#[test]
fn stores_of_another_database_are_refused() {
    let db = Db::new();
    let other = Db::new();
    let mine = db.store("s").unwrap();
    let theirs = other.store("s").unwrap();
    let alone = Store::new();
    let tx = db.begin().unwrap();
    assert_eq!(
        tx.store(&theirs).insert(json!({})),
        Err(Error::ForeignStore)
    );
    assert_eq!(tx.store(&alone).len(), Err(Error::ForeignStore));
    tx.store(&mine).insert(json!({})).unwrap();
    tx.commit().unwrap();
    assert_eq!((mine.len().unwrap(), theirs.len().unwrap()), (1, 0));
    let tx = alone.begin().unwrap();
    assert_eq!(tx.store(&mine).len(), Err(Error::ForeignStore));
}

#[test]
fn a_store_added_after_the_transaction_began_is_a_conflict() {
    let db = Db::new();
    let tx = db.begin().unwrap();
    let late = db.store("late").unwrap();
    assert!(matches!(
        tx.store(&late).insert(json!({})),
        Err(Error::Conflict { .. })
    ));
    // The closure form retries it on a cut that has the store.
    db.transaction(|tx| tx.store(&late).insert(json!({})))
        .unwrap();
    assert_eq!(late.len().unwrap(), 1);
}

#[test]
fn a_name_holds_one_type_of_document() {
    #[derive(Indexed, Clone)]
    struct User {
        #[index]
        name: String,
    }
    let db = Db::new();
    let users = db.collection::<User>("users").unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &users,
        &db.collection::<User>("users").unwrap()
    ));
    let error = db.store("users").unwrap_err();
    assert!(matches!(error, Error::WrongType { ref name, .. } if name == "users"));
    assert!(error.to_string().contains("User"), "{error}");
    db.store("events").unwrap();
    assert!(db.collection::<User>("events").is_err());
    assert_eq!(db.names(), ["users", "events"]);
}

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Product {
    #[index(unique)]
    sku: String,
    stock: u32,
}

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Order {
    #[index]
    customer: String,
    sku: String,
    quantity: u32,
}

#[test]
fn one_transaction_spans_typed_collections_and_a_schemaless_store() {
    let db = Db::new();
    let products = db.collection::<Product>("products").unwrap();
    let orders = db.collection::<Order>("orders").unwrap();
    let audit = db.store("audit").unwrap();
    products
        .insert(Product {
            sku: "tea".into(),
            stock: 2,
        })
        .unwrap();

    let place = |customer: &str| {
        db.transaction(|tx| {
            let products = tx.collection(&products);
            let tea = products
                .get_unique(Product::sku, "tea")?
                .ok_or(Error::InvalidDocument {
                    reason: "no tea".into(),
                })?;
            if tea.stock == 0 {
                return Ok(None);
            }
            products.update(
                tea.id(),
                Product {
                    stock: tea.stock - 1,
                    ..(*tea).clone()
                },
            )?;
            let order = tx.collection(&orders).insert(Order {
                customer: customer.into(),
                sku: "tea".into(),
                quantity: 1,
            })?;
            // Its own insert shows in its typed query.
            assert_eq!(
                tx.collection(&orders)
                    .lookup(Order::customer, customer)?
                    .count(),
                1
            );
            tx.store(&audit)
                .insert(json!({"order": order.to_string()}))?;
            Ok::<_, Error>(Some(order))
        })
    };
    assert!(place("ada").unwrap().is_some());
    assert!(place("bob").unwrap().is_some());
    assert_eq!(place("cy").unwrap(), None);

    let snapshot = db.snapshot();
    assert_eq!(snapshot.collection(&orders).unwrap().len(), 2);
    assert_eq!(snapshot.store(&audit).unwrap().len(), 2);
    let tea = products.get_unique(Product::sku, "tea").unwrap().unwrap();
    assert_eq!((tea.stock, tea.version()), (0, 3));
    let _: Vec<Value> = audit
        .iter()
        .unwrap()
        .map(|d| d.value().to_value())
        .collect();
}

#[test]
fn concurrent_transactions_lose_no_update_and_are_seen_whole_across_stores() {
    const THREADS: usize = 4;
    const MOVES: i64 = 200;
    let db = Db::new();
    let from = db.store("from").unwrap();
    let to = db.store("to").unwrap();
    let a = from.insert(json!({"n": 10_000})).unwrap();
    let b = to.insert(json!({"n": 0})).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let movers: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..MOVES {
                        db.transaction_with(TxOptions::new().retries(u32::MAX), |tx| {
                            let (f, t) = (tx.store(&from), tx.store(&to));
                            let (x, y) = (n(&f.get(a)?), n(&t.get(b)?));
                            f.update(a, json!({"n": x - 1}))?;
                            t.update(b, json!({"n": y + 1}))
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        let watcher = s.spawn(|| {
            let mut looks = 0_u64;
            loop {
                let last = done.load(std::sync::atomic::Ordering::Acquire);
                // Both stores as of one moment: never one move half seen.
                let snapshot = db.snapshot();
                let x = n(&snapshot.store(&from).unwrap().get(a).unwrap());
                let y = n(&snapshot.store(&to).unwrap().get(b).unwrap());
                assert_eq!(x + y, 10_000);
                // Inside a transaction too.
                db.transaction(|tx| {
                    let x = n(&tx.store(&from).get(a)?);
                    let y = n(&tx.store(&to).get(b)?);
                    assert_eq!(x + y, 10_000);
                    Ok::<_, Error>(())
                })
                .unwrap();
                looks += 1;
                if last {
                    break looks;
                }
            }
        });
        for mover in movers {
            mover.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        watcher.join().unwrap();
    });
    let moved = THREADS as i64 * MOVES;
    assert_eq!(n(&from.get(a).unwrap()), 10_000 - moved);
    assert_eq!(n(&to.get(b).unwrap()), moved);
    // One version per transaction, none lost.
    assert_eq!(to.get(b).unwrap().version(), moved as u64 + 1);
    assert_eq!(db.snapshot().seq(), 2 + moved as u64);
}

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Sku {
    #[key]
    sku: String,
    price: u32,
}

#[test]
fn a_transaction_cannot_change_an_own_key_and_keeps_its_writes_when_refused() {
    let skus = docstore::Collection::<Sku>::new();
    let id = skus
        .insert(Sku {
            sku: "A-1".into(),
            price: 1,
        })
        .unwrap();
    skus.transaction(|tx| {
        tx.update(
            id,
            Sku {
                sku: "A-1".into(),
                price: 2,
            },
        )?;
        let refused = tx.update(
            id,
            Sku {
                sku: "B-2".into(),
                price: 3,
            },
        );
        assert!(matches!(refused, Err(Error::KeyChanged { id: d, .. }) if d == id));
        // The refused write left the transaction's earlier one as it was.
        assert_eq!(tx.get(id)?.price, 2);
        Ok::<_, Error>(())
    })
    .unwrap();
    let stored = skus.get(id).unwrap();
    assert_eq!(
        (stored.sku.as_str(), stored.price, stored.version()),
        ("A-1", 2, 2)
    );
}

#[test]
fn range_within_merges_own_writes_and_is_validated() {
    let store = Store::new();
    store.create_index("by_city_age", ["city", "age"]).unwrap();
    for (city, age) in [("Paris", 20), ("Paris", 40), ("Rome", 30)] {
        store.insert(json!({"city": city, "age": age})).unwrap();
    }
    let ages = |tx: &docstore::TxStore<'_>| -> Vec<i64> {
        tx.range_within("by_city_age", "Paris", 25..)
            .unwrap()
            .map(|d| d.get("age").and_then(|v| v.as_i64()).unwrap())
            .collect()
    };
    let tx = store.begin().unwrap();
    tx.store(&store)
        .insert(json!({"city": "Paris", "age": 30}))
        .unwrap();
    assert_eq!(ages(&tx.store(&store)), [30, 40]);
    // Outside what it read: another city, a Paris age under 25.
    store.insert(json!({"city": "Rome", "age": 50})).unwrap();
    store.insert(json!({"city": "Paris", "age": 10})).unwrap();
    tx.commit().unwrap();

    let tx = store.begin().unwrap();
    assert_eq!(ages(&tx.store(&store)), [30, 40]);
    tx.store(&store)
        .insert(json!({"city": "Lyon", "age": 1}))
        .unwrap();
    // Inside it: a phantom.
    store.insert(json!({"city": "Paris", "age": 99})).unwrap();
    let error = tx.commit().unwrap_err();
    assert_eq!(error.index(), "by_city_age");
}
