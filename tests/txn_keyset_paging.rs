//! Keyset paging inside transactions: `after` and `range_after` give the page
//! a snapshot would, with the transaction's own writes, and conflict only with
//! writes on the page (from the resume position to the range's end).

use docstore::{Collection, Error, Id, Indexed, Store};
use serde_json::{Value, json};

fn store_of(keys: &[i64]) -> (Store, Vec<Id>) {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    store.create_index("by_tag", ["tags[]"]).unwrap();
    let ids = keys
        .iter()
        .map(|n| {
            store
                .insert(json!({"n": n, "tags": [n % 3, n % 5]}))
                .unwrap()
        })
        .collect();
    (store, ids)
}

fn ns(page: impl Iterator<Item = docstore::Versioned<docstore::Object>>) -> Vec<Value> {
    page.map(|doc| doc.to_value()["n"].clone()).collect()
}

#[test]
fn every_page_is_the_snapshots_page_when_nothing_was_written() {
    // Ties on every key, and a multi-key index where a document has two keys.
    let (store, _) = store_of(&[5, 1, 3, 3, 1, 4, 2, 5, 3, 0, 7]);
    let tx = store.begin().unwrap();
    let view = tx.store(&store);
    for index in ["by_n", "by_tag"] {
        let field = if index == "by_n" { "n" } else { "tags" };
        for doc in store.by_index(index).unwrap() {
            let keys: Vec<Value> = match &doc.to_value()[field] {
                Value::Array(tags) => tags.clone(),
                one => vec![one.clone()],
            };
            for key in keys {
                let key = key.as_i64().unwrap();
                let want: Vec<Id> = store
                    .after(index, key, doc.id())
                    .unwrap()
                    .map(|d| d.id())
                    .collect();
                let got: Vec<Id> = view
                    .after(index, key, doc.id())
                    .unwrap()
                    .map(|d| d.id())
                    .collect();
                assert_eq!(got, want, "{index} after ({key}, {})", doc.id());
                let want: Vec<Id> = store
                    .range_after(index, 1..=4, key, doc.id())
                    .unwrap()
                    .map(|d| d.id())
                    .collect();
                let got: Vec<Id> = view
                    .range_after(index, 1..=4, key, doc.id())
                    .unwrap()
                    .map(|d| d.id())
                    .collect();
                assert_eq!(got, want, "{index} 1..=4 after ({key}, {})", doc.id());
            }
        }
    }
}

#[test]
fn a_page_shows_the_transactions_own_writes() {
    let (store, ids) = store_of(&[1, 2, 3, 4]);
    store
        .transaction(|tx| {
            tx.insert(json!({"n": 3, "tags": []}))?;
            tx.delete(ids[3])?;
            tx.update(ids[0], json!({"n": 9, "tags": []}))?;
            assert_eq!(
                ns(tx.after("by_n", 2, ids[1])?),
                [json!(3), json!(3), json!(9)]
            );
            // Before the position, its own writes stay off the page.
            assert_eq!(ns(tx.range_after("by_n", ..=3, 3, ids[2])?), [json!(3)]);
            Ok::<_, Error>(())
        })
        .unwrap();
}

#[test]
fn a_write_before_the_position_or_past_the_range_does_not_conflict() {
    let (store, ids) = store_of(&[1, 2, 3, 4, 5, 6]);
    let tx = store.begin().unwrap();
    let page: Vec<Id> = tx
        .store(&store)
        .range_after("by_n", ..5, 2, ids[1])
        .unwrap()
        .map(|d| d.id())
        .collect();
    assert_eq!(page, [ids[2], ids[3]]);
    tx.store(&store)
        .update(ids[2], json!({"n": 3, "seen": true}))
        .unwrap();
    // Before the page, and past the range's end.
    store.insert(json!({"n": 1, "tags": []})).unwrap();
    store.update(ids[0], json!({"n": 0, "tags": []})).unwrap();
    store.insert(json!({"n": 7, "tags": []})).unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_write_on_the_page_is_a_conflict() {
    for write in [
        // A document moving onto the page, one leaving it, a new one on it.
        |store: &Store, ids: &[Id]| store.update(ids[0], json!({"n": 4})).map(drop),
        |store: &Store, ids: &[Id]| store.delete(ids[3]).map(drop),
        |store: &Store, _: &[Id]| store.insert(json!({"n": 2})).map(drop),
    ] {
        let (store, ids) = store_of(&[1, 2, 3, 4, 5]);
        let tx = store.begin().unwrap();
        assert_eq!(
            ns(tx.store(&store).after("by_n", 2, ids[1]).unwrap()).len(),
            3
        );
        tx.store(&store).insert(json!({"n": 10})).unwrap();
        write(&store, &ids).unwrap();
        let conflict = tx.commit().unwrap_err();
        assert!(
            matches!(&conflict, Error::Conflict { index: Some(index), read, .. }
                if index == "by_n" && read.contains("after key 2")),
            "{conflict:?}"
        );
    }
}

#[derive(Indexed, Clone)]
struct Task {
    #[index]
    priority: u32,
}

#[test]
fn a_typed_collection_pages_by_its_handles() {
    let tasks = Collection::<Task>::new();
    let ids: Vec<Id> = [3, 1, 2, 1]
        .into_iter()
        .map(|priority| tasks.insert(Task { priority }).unwrap())
        .collect();
    tasks
        .transaction(|tx| {
            tx.insert(Task { priority: 1 })?;
            let page: Vec<u32> = tx
                .after(Task::priority, 1, ids[1])?
                .map(|t| t.priority)
                .collect();
            assert_eq!(page, [1, 1, 2, 3]);
            let page: Vec<u32> = tx
                .range_after(Task::priority, ..3, 1, ids[3])?
                .map(|t| t.priority)
                .collect();
            assert_eq!(page, [1, 2]);
            Ok::<_, Error>(())
        })
        .unwrap();
}
