//! Documents with their own keys: a `#[key]` field addresses a document as its
//! id does, stays unique, and cannot change once stored.

use std::thread;

use docstore::{Collection, Error, Indexed};

/// A cache in front of a database, keyed by the database's primary key.
#[derive(Indexed, Clone, Debug, PartialEq)]
struct Product {
    #[key]
    sku: String,
    #[index]
    category: String,
    price: u32,
}

fn product(sku: &str, price: u32) -> Product {
    Product {
        sku: sku.into(),
        category: "tools".into(),
        price,
    }
}

#[test]
fn a_document_is_found_by_its_key() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    let id = products.insert(product("A-1", 30))?;

    let found = products.get_key("A-1")?.expect("stored");
    assert_eq!(found.id(), id);
    assert_eq!(found.price, 30);
    let sku = String::from("A-1");
    assert_eq!(products.get_key(&sku)?.map(|p| p.id()), Some(id));
    assert!(products.get_key("Z-9")?.is_none());
    // The key is an index like any other, with its handle.
    assert_eq!(products.lookup(Product::sku, "A-1")?.count(), 1);
    Ok(())
}

#[test]
fn inserting_a_taken_key_is_refused_naming_it() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    let first = products.insert(product("A-1", 30))?;
    let refused = products.insert(product("A-1", 99)).unwrap_err();
    assert_eq!(
        *refused,
        Error::UniqueViolation {
            index: "sku".into(),
            key: "\"A-1\"".into(),
            existing: first,
        }
    );
    assert!(refused.index() == Product::sku);
    assert_eq!(refused.into_document().price, 99);
    assert_eq!(products.len()?, 1);
    Ok(())
}

#[test]
fn an_update_that_would_change_the_key_is_refused_naming_both() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    let id = products.insert(product("A-1", 30))?;

    let refused = products.update(id, product("B-2", 30)).unwrap_err();
    assert_eq!(
        *refused,
        Error::KeyChanged {
            index: "sku".into(),
            id,
            old: "\"A-1\"".into(),
            new: "\"B-2\"".into(),
        }
    );
    let text = refused.to_string();
    assert!(
        text.contains("\"A-1\"") && text.contains("\"B-2\""),
        "{text}"
    );

    let by_closure = products.modify(id, |p| p.sku = "C-3".into());
    assert!(matches!(by_closure, Err(Error::KeyChanged { .. })));
    let by_replace = products.update_with(id, |p| Product {
        sku: "D-4".into(),
        ..p.clone()
    });
    assert!(matches!(by_replace, Err(Error::KeyChanged { .. })));

    let kept = products.get(id)?;
    assert_eq!((kept.sku.as_str(), kept.version()), ("A-1", 1));
    // Changing anything else is fine.
    assert_eq!(products.update(id, product("A-1", 25))?, 2);
    assert!(products.verify()?.is_empty());
    Ok(())
}

#[test]
fn update_key_replaces_the_document_with_the_same_key() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    let id = products.insert(product("A-1", 30))?;
    assert_eq!(products.update_key(product("A-1", 25))?, 2);
    let stored = products.get(id)?;
    assert_eq!((stored.price, stored.version()), (25, 2));

    let refused = products.update_key(product("Z-9", 1)).unwrap_err();
    assert_eq!(
        *refused,
        Error::KeyNotFound {
            index: "sku".into(),
            key: "\"Z-9\"".into(),
        }
    );
    assert_eq!(refused.into_document(), product("Z-9", 1));
    Ok(())
}

#[test]
fn upsert_inserts_then_replaces_and_returns_what_it_replaced() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    assert!(products.upsert(product("A-1", 30))?.is_none());
    let replaced = products.upsert(product("A-1", 25))?.expect("replaced");
    assert_eq!((replaced.price, replaced.version()), (30, 1));
    let now = products.get_key("A-1")?.expect("stored");
    assert_eq!((now.id(), now.price, now.version()), (replaced.id(), 25, 2));
    assert_eq!(products.len()?, 1);
    Ok(())
}

#[test]
fn concurrent_upserts_of_one_key_leave_one_document() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    let replaced: usize = thread::scope(|s| {
        let writers: Vec<_> = (0..4u32)
            .map(|writer| {
                let products = &products;
                s.spawn(move || {
                    (0..25)
                        .filter(|n| {
                            let price = writer * 100 + n;
                            matches!(products.upsert(product("A-1", price)), Ok(Some(_)))
                        })
                        .count()
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    assert_eq!(products.len()?, 1);
    // The first upsert inserted; every other one replaced, one version each.
    assert_eq!(replaced, 99);
    assert_eq!(products.get_key("A-1")?.map(|p| p.version()), Some(100));
    assert!(products.verify()?.is_empty());
    Ok(())
}

#[test]
fn delete_key_removes_the_document_once() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    let id = products.insert(product("A-1", 30))?;
    let removed = products.delete_key("A-1")?.expect("present");
    assert_eq!(removed.id(), id);
    assert!(products.delete_key("A-1")?.is_none());
    assert!(!products.contains(id)?);
    // The key is free again.
    products.insert(product("A-1", 31))?;
    Ok(())
}

#[test]
fn modify_key_edits_in_place_by_key() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    products.insert(product("A-1", 30))?;
    let cheaper = products.modify_key("A-1", |p| p.price -= 5)?;
    assert_eq!((cheaper.price, cheaper.version()), (25, 2));
    assert_eq!(
        products.modify_key("Z-9", |p| p.price = 0).err(),
        Some(Error::KeyNotFound {
            index: "sku".into(),
            key: "\"Z-9\"".into()
        })
    );
    assert!(matches!(
        products.modify_key("A-1", |p| p.sku.push('x')),
        Err(Error::KeyChanged { .. })
    ));
    Ok(())
}

#[test]
fn ids_stay_the_engines_identity() -> Result<(), Error> {
    let products = Collection::<Product>::new();
    let id = products.insert(product("A-1", 30))?;
    products.upsert(product("A-1", 20))?;
    // Queries by other indexes, snapshots and ids all see one document.
    let by_category: Vec<_> = products
        .lookup(Product::category, "tools")?
        .map(|p| p.id())
        .collect();
    assert_eq!(by_category, [id]);
    assert_eq!(products.get(id)?.price, 20);
    Ok(())
}

/// Any key type works: here a number.
#[derive(Indexed, Clone, Debug)]
struct Account {
    #[key]
    number: u64,
    owner: String,
}

#[test]
fn a_numeric_key_works_by_value() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    accounts.insert(Account {
        number: 7,
        owner: "Ada".into(),
    })?;
    assert_eq!(
        accounts.get_key(7)?.map(|a| a.owner.clone()),
        Some("Ada".into())
    );
    assert!(accounts.delete_key(8)?.is_none());
    assert!(accounts.delete_key(7)?.is_some());
    Ok(())
}

/// A generic cache entry keyed by the id of what it caches.
#[derive(Indexed, Clone, Debug)]
struct Cached<T> {
    #[key]
    id: u64,
    value: T,
}

#[test]
fn a_generic_struct_has_its_own_key_too() -> Result<(), Error> {
    let cache = Collection::<Cached<String>>::new();
    cache.upsert(Cached {
        id: 1,
        value: "one".to_owned(),
    })?;
    cache.upsert(Cached {
        id: 1,
        value: "uno".to_owned(),
    })?;
    assert_eq!(
        cache.get_key(1)?.map(|c| c.value.clone()),
        Some("uno".into())
    );
    assert_eq!(cache.len()?, 1);
    Ok(())
}
