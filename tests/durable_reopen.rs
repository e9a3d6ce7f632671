//! A durable database keeps what was committed across close and reopen:
//! documents, versions, index definitions, typed collections, transactions.

use std::path::PathBuf;

use docstore::{DurableDb, DurableOptions, Error, Indexed, SyncPolicy};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("docstore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[derive(Indexed, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    #[index(unique)]
    sku: String,
    stock: u32,
}

#[test]
fn documents_versions_and_indexes_come_back() {
    let dir = fresh_dir("reopen");
    let (a, b, c) = {
        let (db, recovery) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
        assert_eq!(recovery.last_seq, 0);
        let users = db.store("users").unwrap();
        users.create_index("by_city", ["city"]).unwrap();
        let a = users
            .insert(json!({"name": "Ada", "city": "London"}))
            .unwrap();
        let b = users
            .insert(json!({"name": "Bob", "city": "Paris"}))
            .unwrap();
        let c = users.insert(json!({"name": "Cy", "city": "Rome"})).unwrap();
        users
            .update(b, json!({"name": "Bob", "city": "London"}))
            .unwrap();
        users.delete(c).unwrap();
        db.close().unwrap();
        (a, b, c)
    };
    let (db, recovery) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    assert_eq!(recovery.cut, None);
    let users = db.store("users").unwrap();
    assert_eq!(users.len().unwrap(), 2);
    assert_eq!(users.get(a).unwrap().version(), 1);
    assert_eq!(users.get(b).unwrap().version(), 2);
    assert_eq!(users.get(c).unwrap_err(), Error::NotFound { id: c });
    let londoners: Vec<_> = users
        .lookup("by_city", "London")
        .unwrap()
        .map(|d| d.id())
        .collect();
    assert_eq!(londoners, [a, b]);
    assert!(users.verify().unwrap().is_empty());
    // New ids keep growing after the recovered ones.
    let d = users.insert(json!({"name": "Di"})).unwrap();
    assert!(d > b);
    drop(users);
    drop(db);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn typed_collections_and_transactions_come_back() {
    let dir = fresh_dir("typed");
    {
        let (db, _) = DurableDb::open(&dir, DurableOptions::new().sync(SyncPolicy::Never)).unwrap();
        let items = db.collection::<Item>("items").unwrap();
        let orders = db.store("orders").unwrap();
        items
            .insert(Item {
                sku: "tea".into(),
                stock: 3,
            })
            .unwrap();
        db.transaction(|tx| {
            let items = tx.collection(&items);
            let tea = items.get_unique(Item::sku, "tea")?.expect("in stock");
            items.update(
                tea.id(),
                Item {
                    stock: tea.stock - 1,
                    ..(*tea).clone()
                },
            )?;
            tx.store(&orders).insert(json!({"sku": "tea"}))?;
            Ok::<_, Error>(())
        })
        .unwrap();
    }
    let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    let items = db.collection::<Item>("items").unwrap();
    let tea = items.get_unique(Item::sku, "tea").unwrap().unwrap();
    assert_eq!((tea.stock, tea.version()), (2, 2));
    assert_eq!(db.store("orders").unwrap().len().unwrap(), 1);
    assert!(matches!(db.store("items"), Err(Error::WrongType { .. })));
    drop((items, db));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn checkpoints_replace_the_log() {
    let dir = fresh_dir("checkpoint");
    let mut ids = Vec::new();
    {
        let (db, _) = DurableDb::open(&dir, DurableOptions::new().sync(SyncPolicy::Never)).unwrap();
        let store = db.store("s").unwrap();
        store.create_index("by_n", ["n"]).unwrap();
        for n in 0..100 {
            ids.push(store.insert(json!({"n": n})).unwrap());
        }
        db.checkpoint().unwrap();
        for id in &ids[..10] {
            store.delete(*id).unwrap();
        }
    }
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".ckpt")).count(),
        1,
        "{names:?}"
    );
    let (db, recovery) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    assert_eq!(recovery.checkpoint, Some(102));
    assert_eq!(recovery.replayed, 10);
    let store = db.store("s").unwrap();
    assert_eq!(store.len().unwrap(), 90);
    assert_eq!(store.range("by_n", 0..50).unwrap().count(), 40);
    drop((store, db));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_second_open_of_the_directory_fails_at_once() {
    let dir = fresh_dir("locked");
    let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    assert!(matches!(
        DurableDb::open(&dir, DurableOptions::new()),
        Err(Error::Locked { .. })
    ));
    drop(db);
    assert!(DurableDb::open(&dir, DurableOptions::new()).is_ok());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_single_store_or_collection_opens_on_its_own() {
    let dir = fresh_dir("single");
    let id = {
        let (items, _) = docstore::Collection::<Item>::open(&dir, DurableOptions::new()).unwrap();
        let id = items
            .insert(Item {
                sku: "tea".into(),
                stock: 1,
            })
            .unwrap();
        items.close().unwrap();
        id
    };
    let (items, recovery) =
        docstore::Collection::<Item>::open(&dir, DurableOptions::new()).unwrap();
    assert_eq!(recovery.cut, None);
    assert_eq!(items.get(id).unwrap().sku, "tea");
    drop(items);
    // The same directory holds a typed collection, not a schemaless store.
    assert!(matches!(
        docstore::Store::open(&dir, DurableOptions::new()),
        Err(Error::WrongType { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}

mod v2 {
    use docstore::Indexed;
    use serde::{Deserialize, Serialize};

    /// `Item` with a field added (optional) and `stock` removed.
    #[derive(Indexed, Clone, Debug, Serialize, Deserialize)]
    pub struct Item {
        #[index]
        pub sku: String,
        pub note: Option<String>,
    }

    /// `Item` whose `sku` changed type: old documents no longer fit.
    #[derive(Indexed, Clone, Debug, Serialize, Deserialize)]
    pub struct Renumbered {
        pub sku: u64,
    }
}

#[test]
fn types_may_gain_and_lose_fields_and_a_misfit_is_named() {
    let dir = fresh_dir("evolve");
    let id = {
        let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
        let items = db.collection::<Item>("items").unwrap();
        let id = items
            .insert(Item {
                sku: "tea".into(),
                stock: 3,
            })
            .unwrap();
        drop(items);
        db.close().unwrap();
        id
    };
    {
        let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
        let items = db.collection::<v2::Item>("items").unwrap();
        let tea = items.get(id).unwrap();
        assert_eq!((tea.sku.as_str(), tea.note.as_deref()), ("tea", None));
        // The changed declarations are built on open: `sku` is no longer unique.
        assert_eq!(items.lookup(v2::Item::sku, "tea").unwrap().count(), 1);
    }
    let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    match db.collection::<v2::Renumbered>("items") {
        Err(Error::Undecodable {
            collection,
            id: bad,
            message,
        }) => {
            assert_eq!((collection.as_str(), bad), ("items", id));
            assert!(message.contains("expected u64"), "{message}");
        }
        other => panic!("expected an undecodable document, got {other:?}"),
    }
    drop(db);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_closed_store_is_never_checkpointed_empty() {
    let dir = fresh_dir("closed");
    let (db, _) = DurableDb::open(&dir, DurableOptions::new().sync(SyncPolicy::Never)).unwrap();
    let store = db.store("s").unwrap();
    let id = store.insert(json!({"n": 1})).unwrap();
    store.close();
    assert_eq!(db.checkpoint(), Err(Error::Closed));
    drop((store, db));
    let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    assert_eq!(db.store("s").unwrap().get(id).unwrap(), json!({"n": 1}));
    drop(db);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_log_numbers_commits_as_the_database_does() {
    let dir = fresh_dir("one-seq");
    let seq = {
        let (db, _) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
        let users = db.store("users").unwrap();
        let changes = users.subscribe().unwrap();
        users.create_index("by_city", ["city"]).unwrap();
        let id = users.insert(json!({"city": "Oslo"})).unwrap();
        db.transaction(|tx| tx.store(&users).update(id, json!({"city": "Rome"})))
            .unwrap();
        // Making the store and its index were logged as commits of their own.
        assert_eq!(db.snapshot().seq(), 4);
        let seqs: Vec<u64> = (0..2)
            .map(|_| match changes.recv().unwrap() {
                docstore::Event::Changes(set) => set.seq(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(seqs, [3, 4]);
        db.snapshot().seq()
    };
    let (db, recovery) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    // The clock goes on from where the log stopped.
    assert_eq!(recovery.last_seq, seq);
    assert_eq!(db.snapshot().seq(), seq);
    let users = db.store("users").unwrap();
    users.insert(json!({"city": "Lima"})).unwrap();
    assert_eq!(db.snapshot().seq(), seq + 1);
    drop(users);
    db.checkpoint().unwrap();
    drop(db);
    let (db, recovery) = DurableDb::open(&dir, DurableOptions::new()).unwrap();
    assert_eq!(
        (recovery.checkpoint, recovery.last_seq),
        (Some(seq + 1), seq + 1)
    );
    assert_eq!(db.snapshot().seq(), seq + 1);
    drop(db);
    std::fs::remove_dir_all(&dir).ok();
}
