//! Watches as a user sees them: a subscription to one query's result hears
//! the writes that change it (a document entering, leaving, or changing
//! within it) and nothing else, checked against a model over random writes.

use std::collections::BTreeMap;

use docstore::{Change, Collection, Error, Event, Id, Indexed, Store};
use serde_json::json;

fn heard<T>(watch: &docstore::Subscription<T>) -> usize {
    let mut count = 0;
    while let Some(event) = watch.try_recv().unwrap() {
        assert!(matches!(event, Event::Changes(_)));
        count += 1;
    }
    count
}

#[test]
fn a_key_watch_hears_its_key_only() {
    let store = Store::new();
    store.create_index("by_city", ["city"]).unwrap();
    let paris = store.watch("by_city", "Paris").unwrap();
    let rome = store.insert(json!({"city": "Rome"})).unwrap();
    assert_eq!(heard(&paris), 0);
    // Entering the result.
    store.update(rome, json!({"city": "Paris"})).unwrap();
    assert_eq!(heard(&paris), 1);
    // Changing within it.
    store
        .update(rome, json!({"city": "Paris", "note": "moved"}))
        .unwrap();
    assert_eq!(heard(&paris), 1);
    // Leaving it.
    store.update(rome, json!({"city": "Oslo"})).unwrap();
    assert_eq!(heard(&paris), 1);
    store.delete(rome).unwrap();
    assert_eq!(heard(&paris), 0);
}

#[test]
fn watching_a_missing_index_or_a_bad_key_fails() {
    let store = Store::new();
    assert!(matches!(
        store.watch("nope", 1),
        Err(Error::IndexNotFound { .. })
    ));
    store.create_index("by_pair", ["a", "b"]).unwrap();
    assert!(store.watch("by_pair", 1).is_err());
}

#[derive(Indexed, Clone, Debug)]
struct Order {
    #[index]
    customer: String,
    #[index]
    total: u32,
}

#[test]
fn typed_watches_take_index_handles() {
    let orders = Collection::<Order>::new();
    let ada = orders.watch(Order::customer, "ada").unwrap();
    let big = orders.watch_range(Order::total, 100u32..).unwrap();
    let small = orders
        .insert(Order {
            customer: "ada".into(),
            total: 5,
        })
        .unwrap();
    orders
        .insert(Order {
            customer: "bob".into(),
            total: 500,
        })
        .unwrap();
    let Some(Event::Changes(set)) = ada.try_recv().unwrap() else {
        panic!("ada's order")
    };
    assert!(matches!(set.changes(), [Change::Inserted(o)] if o.id() == small));
    assert!(ada.try_recv().unwrap().is_none());
    let Some(Event::Changes(set)) = big.try_recv().unwrap() else {
        panic!("bob's order")
    };
    assert!(matches!(set.changes(), [Change::Inserted(o)] if o.customer == "bob"));
    assert!(big.try_recv().unwrap().is_none());
}

#[test]
fn watches_agree_with_a_model_over_random_writes() {
    let store = Store::new();
    store.create_index("by_k", ["k"]).unwrap();
    // Many watches on keys no write uses: they must stay silent.
    let others: Vec<_> = (0..1000)
        .map(|i| store.watch("by_k", format!("other-{i}")).unwrap())
        .collect();
    let key_watches: Vec<_> = (0..10)
        .map(|k| (k, store.watch("by_k", k).unwrap()))
        .collect();
    let ranges = [(2, 5), (0, 1), (7, 20)];
    let range_watches: Vec<_> = ranges
        .iter()
        .map(|&(a, b)| ((a, b), store.watch_range("by_k", a..b).unwrap()))
        .collect();
    let mut model: BTreeMap<Id, i64> = BTreeMap::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = (x % 12) as i64;
        let ids: Vec<Id> = model.keys().copied().collect();
        let (old, new) = match (x >> 8) % 3 {
            0 => {
                let id = store.insert(json!({ "k": k })).unwrap();
                model.insert(id, k);
                (None, Some(k))
            }
            1 if !ids.is_empty() => {
                let id = ids[(x >> 16) as usize % ids.len()];
                store.update(id, json!({ "k": k })).unwrap();
                (model.insert(id, k), Some(k))
            }
            _ if !ids.is_empty() => {
                let id = ids[(x >> 16) as usize % ids.len()];
                store.delete(id).unwrap();
                (model.remove(&id), None)
            }
            _ => continue,
        };
        let touches = |hit: &dyn Fn(i64) -> bool| old.is_some_and(hit) || new.is_some_and(hit);
        for (key, watch) in &key_watches {
            let expected = usize::from(touches(&|k| k == *key));
            assert_eq!(
                heard(watch),
                expected,
                "watch on {key}, write {old:?} -> {new:?}"
            );
        }
        for ((a, b), watch) in &range_watches {
            let expected = usize::from(touches(&|k| *a <= k && k < *b));
            assert_eq!(
                heard(watch),
                expected,
                "watch on {a}..{b}, write {old:?} -> {new:?}"
            );
        }
    }
    assert!(
        others
            .iter()
            .all(|watch| watch.try_recv().unwrap().is_none())
    );
}

#[test]
fn a_transaction_is_heard_once_by_a_watch_it_touches() {
    let store = Store::new();
    store.create_index("by_k", ["k"]).unwrap();
    let one = store.watch("by_k", 1).unwrap();
    store
        .transaction(|tx| {
            tx.insert(json!({"k": 1}))?;
            tx.insert(json!({"k": 1}))?;
            tx.insert(json!({"k": 2}))?;
            Ok::<_, Error>(())
        })
        .unwrap();
    let Some(Event::Changes(set)) = one.try_recv().unwrap() else {
        panic!("the transaction")
    };
    // The whole change set: a watch says when to look, not what to skip.
    assert_eq!(set.changes().len(), 3);
    assert!(one.try_recv().unwrap().is_none());
}
