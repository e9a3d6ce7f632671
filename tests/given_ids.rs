//! Inserting with an id the caller chose: refused if taken, never collided with
//! by the ids the store makes.

use std::thread;

use docstore::{Collection, Error, Id, IndexOptions, Indexed, Store};
use serde_json::json;

fn id(text: &str) -> Id {
    text.parse().expect("a UUID")
}

#[test]
fn a_document_keeps_the_id_it_was_given() -> Result<(), Error> {
    let store = Store::new();
    let given = id("0190a6e2-8f3b-7c4d-9e5f-0123456789ab");
    store.insert_with_id(given, json!({"name": "Ada"}))?;
    let ada = store.get(given)?;
    assert_eq!((ada.id(), ada.version()), (given, 1));
    assert_eq!(*ada, json!({"name": "Ada"}));
    assert_eq!(store.update(given, json!({"name": "Ada L."}))?, 2);
    Ok(())
}

#[test]
fn a_taken_id_is_refused_and_nothing_changes() -> Result<(), Error> {
    let store = Store::new();
    let made = store.insert(json!({"n": 1}))?;
    assert_eq!(
        store.insert_with_id(made, json!({"n": 2})),
        Err(Error::IdTaken { id: made })
    );
    assert_eq!(*store.get(made)?, json!({"n": 1}));
    assert_eq!(store.len()?, 1);
    let refused = store.insert_with_id(made, json!({"n": 2})).unwrap_err();
    assert!(refused.to_string().contains(&made.to_string()), "{refused}");
    Ok(())
}

#[test]
fn the_nil_id_cannot_be_given() {
    let store = Store::new();
    assert_eq!(
        store.insert_with_id(Id::nil(), json!({})),
        Err(Error::IdTaken { id: Id::nil() })
    );
    assert_eq!(store.len().ok(), Some(0));
}

#[test]
fn a_given_id_is_still_checked_against_unique_indexes() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with("by_email", ["email"], IndexOptions::new().unique())?;
    store.insert(json!({"email": "a@x"}))?;
    let refused = store.insert_with_id(
        id("0190a6e2-0000-7000-8000-000000000001"),
        json!({"email": "a@x"}),
    );
    assert!(matches!(refused, Err(Error::UniqueViolation { .. })));
    Ok(())
}

#[test]
fn made_ids_never_collide_with_given_ones() -> Result<(), Error> {
    // Ids the store is about to make: take them from a clone made now, which
    // continues from the same point, and give them to the original first.
    let store = Store::new();
    store.insert(json!({"seed": true}))?;
    let twin = store.clone();
    let upcoming: Vec<Id> = (0..200)
        .map(|n| twin.insert(json!({"n": n})))
        .collect::<Result<_, _>>()?;
    for (n, id) in upcoming.iter().enumerate() {
        store.insert_with_id(*id, json!({"given": n}))?;
    }
    for n in 0..500 {
        let made = store.insert(json!({"made": n}))?;
        assert!(!upcoming.contains(&made));
    }
    assert_eq!(store.len()?, 701);
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn concurrent_given_and_made_ids_all_land() -> Result<(), Error> {
    let store = Store::new();
    let given: Vec<Id> = {
        let source = Store::new();
        (0..100)
            .map(|_| source.insert(json!({})))
            .collect::<Result<_, _>>()?
    };
    thread::scope(|s| {
        s.spawn(|| {
            for id in &given {
                store.insert_with_id(*id, json!({"given": true})).ok();
            }
        });
        s.spawn(|| {
            for _ in 0..100 {
                store.insert(json!({"given": false})).ok();
            }
        });
    });
    assert_eq!(store.len()?, 200);
    for id in &given {
        assert_eq!(
            store.get(*id)?.get("given").and_then(|v| v.as_bool()),
            Some(true)
        );
    }
    Ok(())
}

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Row {
    #[index]
    name: String,
}

#[test]
fn a_typed_collection_takes_given_ids_too() -> Result<(), Error> {
    let rows = Collection::<Row>::new();
    let given = id("0190a6e2-8f3b-7c4d-9e5f-0123456789ab");
    rows.insert_with_id(given, Row { name: "a".into() })?;
    let refused = rows
        .insert_with_id(given, Row { name: "b".into() })
        .unwrap_err();
    assert_eq!(*refused, Error::IdTaken { id: given });
    assert_eq!(refused.into_document().name, "b");
    assert_eq!(rows.get(given)?.name, "a");
    Ok(())
}
