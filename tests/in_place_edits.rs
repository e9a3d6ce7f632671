//! `modify`: editing a stored document in place, typed through `&mut T` and
//! schemaless through `&mut serde_json::Value`, committed atomically.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use docstore::{Collection, Error, Id, Indexed, Store};
use serde_json::json;

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Order {
    #[index]
    status: Status,
    #[index]
    items: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    New,
    Paid,
}

impl docstore::IndexKey for Status {
    fn write_key(&self, out: &mut docstore::KeyWriter) {
        (*self as u8).write_key(out);
    }
}

#[test]
fn a_typed_edit_changes_one_field_and_the_indexes_follow() -> Result<(), Error> {
    let orders = Collection::<Order>::new();
    let id = orders.insert(Order {
        status: Status::New,
        items: 2,
    })?;

    let paid = orders.modify(id, |order| order.status = Status::Paid)?;

    assert_eq!(paid.version(), 2);
    assert_eq!(
        *paid,
        Order {
            status: Status::Paid,
            items: 2
        }
    );
    assert_eq!(orders.lookup(Order::status, &Status::New)?.count(), 0);
    assert_eq!(orders.lookup(Order::status, &Status::Paid)?.count(), 1);
    assert!(orders.verify()?.is_empty());
    Ok(())
}

#[test]
fn concurrent_typed_edits_lose_nothing() -> Result<(), Error> {
    let orders = Collection::<Order>::new();
    let id = orders.insert(Order {
        status: Status::New,
        items: 0,
    })?;
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    let _ = orders.modify(id, |order| order.items += 1);
                }
            });
        }
    });
    let last = orders.get(id)?;
    assert_eq!(last.items, 100);
    assert_eq!(last.version(), 101);
    Ok(())
}

#[test]
fn a_panicking_edit_leaves_the_document_as_it_was() -> Result<(), Error> {
    let orders = Collection::<Order>::new();
    let id = orders.insert(Order {
        status: Status::New,
        items: 1,
    })?;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        orders.modify(id, |order| {
            order.items = 99;
            panic!("changed my mind");
        })
    }));
    assert!(outcome.is_err());
    let kept = orders.get(id)?;
    assert_eq!((kept.items, kept.version()), (1, 1));
    assert_eq!(orders.lookup(Order::items, 99)?.count(), 0);
    Ok(())
}

#[test]
fn editing_a_missing_document_is_not_found() {
    let orders = Collection::<Order>::new();
    let missing = Id::nil();
    assert_eq!(
        orders.modify(missing, |order| order.items += 1).err(),
        Some(Error::NotFound { id: missing })
    );
    let store = Store::new();
    assert_eq!(
        store.modify(missing, |doc| doc["n"] = json!(1)).err(),
        Some(Error::NotFound { id: missing })
    );
}

#[test]
fn a_schemaless_edit_changes_the_json_in_place() -> Result<(), Error> {
    let store = Store::new();
    store.create_index("by_status", ["status"])?;
    let id = store.insert(json!({"status": "new", "lines": [{"sku": "a"}]}))?;

    let paid = store.modify(id, |order| {
        order["status"] = json!("paid");
        if let Some(lines) = order["lines"].as_array_mut() {
            lines.push(json!({"sku": "b"}));
        }
    })?;

    assert_eq!(
        *paid,
        json!({"status": "paid", "lines": [{"sku": "a"}, {"sku": "b"}]})
    );
    assert_eq!(paid.version(), 2);
    assert_eq!(store.lookup("by_status", "paid")?.count(), 1);
    assert_eq!(store.lookup("by_status", "new")?.count(), 0);
    Ok(())
}

#[test]
fn concurrent_schemaless_edits_lose_nothing() -> Result<(), Error> {
    let store = Store::new();
    let id = store.insert(json!({"hits": 0}))?;
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    let _ = store.modify(id, |doc| {
                        let hits = doc["hits"].as_u64().unwrap_or(0);
                        doc["hits"] = json!(hits + 1);
                    });
                }
            });
        }
    });
    assert_eq!(*store.get(id)?, json!({"hits": 100}));
    Ok(())
}

#[test]
fn a_schemaless_edit_that_leaves_no_object_is_refused() -> Result<(), Error> {
    let store = Store::new();
    let id = store.insert(json!({"n": 1}))?;
    let refused = store.modify(id, |doc| *doc = json!([1, 2]));
    assert!(matches!(refused, Err(Error::InvalidDocument { .. })));
    assert_eq!(store.get(id)?.version(), 1);
    Ok(())
}

#[test]
fn a_panicking_schemaless_edit_leaves_the_document_as_it_was() -> Result<(), Error> {
    let store = Store::new();
    store.create_index("by_n", ["n"])?;
    let id = store.insert(json!({"n": 1}))?;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        store.modify(id, |doc| {
            doc["n"] = json!(2);
            panic!("changed my mind");
        })
    }));
    assert!(outcome.is_err());
    assert_eq!(*store.get(id)?, json!({"n": 1}));
    assert_eq!(store.lookup("by_n", 2)?.count(), 0);
    assert!(store.verify()?.is_empty());
    Ok(())
}
