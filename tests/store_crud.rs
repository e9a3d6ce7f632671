//! Insert, get, update, delete, ids and versions of the schemaless store, as a
//! user of the `docstore` crate sees them.

use docstore::{Error, Id, Num, Store, ValueRef};
use serde_json::{Value, json};

fn store_with(docs: &[Value]) -> (Store, Vec<Id>) {
    let store = Store::new();
    let ids = docs
        .iter()
        .map(|doc| store.insert(doc.clone()).expect("insert"))
        .collect();
    (store, ids)
}

#[test]
fn insert_then_get_reads_the_document_back_at_version_1() {
    let store = Store::new();
    assert!(store.is_empty().unwrap());
    let id = store
        .insert(json!({"name": "Ada", "age": 36, "langs": ["en", "fr"]}))
        .unwrap();
    let doc = store.get(id).unwrap();
    assert_eq!(doc.id(), id);
    assert_eq!(doc.version(), 1);
    assert_eq!(
        *doc,
        json!({"name": "Ada", "age": 36, "langs": ["en", "fr"]})
    );
    assert_eq!(doc.get("name").and_then(|v| v.as_str()), Some("Ada"));
    assert_eq!(doc.get("age").and_then(|v| v.as_u64()), Some(36));
    assert!(doc.get("missing").is_none());
    assert_eq!(store.len().unwrap(), 1);
    assert!(!store.is_empty().unwrap());
    assert!(store.contains(id).unwrap());
    assert!(!store.contains(Id::nil()).unwrap());
}

#[test]
fn empty_object_is_a_valid_document() {
    let store = Store::new();
    let id = store.insert(json!({})).unwrap();
    assert_eq!(*store.get(id).unwrap(), json!({}));
    assert_eq!(store.get(id).unwrap().value().len(), 0);
}

#[test]
fn ids_are_uuid_v7_and_strictly_increasing_in_insertion_order() {
    let store = Store::new();
    let ids: Vec<Id> = (0..2_000)
        .map(|n| store.insert(json!({ "n": n })).unwrap())
        .collect();
    for id in &ids {
        assert_eq!(id.to_uuid().get_version_num(), 7, "{id} is not v7");
        // RFC 9562 variant: the top two bits of byte 8 are `10`.
        assert_eq!(id.to_bytes()[8] >> 6, 0b10, "{id} has the wrong variant");
    }
    for pair in ids.windows(2) {
        assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
    }
    // Iteration (id order) is insertion order.
    let scanned: Vec<Id> = store.iter().unwrap().map(|doc| doc.id()).collect();
    assert_eq!(scanned, ids);
    let ns: Vec<u64> = store
        .iter()
        .unwrap()
        .map(|doc| doc.get("n").and_then(|v| v.as_u64()).unwrap())
        .collect();
    assert_eq!(ns, (0..2_000).collect::<Vec<u64>>());
}

#[test]
fn id_display_parse_and_serde_round_trip() {
    let store = Store::new();
    let id = store.insert(json!({"a": 1})).unwrap();
    let text = id.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(
        text.char_indices()
            .filter(|&(_, c)| c == '-')
            .map(|(i, _)| i)
            .collect::<Vec<_>>(),
        [8, 13, 18, 23]
    );
    assert!(text.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    assert_eq!(&text[14..15], "7", "version nibble of {text}");
    assert_eq!(text.parse::<Id>(), Ok(id));
    assert_eq!(text.to_uppercase().parse::<Id>(), Ok(id));
    assert_eq!(id.to_uuid().to_string(), text);
    assert_eq!(Id::from_uuid(id.to_uuid()), id);

    let serialized = serde_json::to_string(&id).unwrap();
    assert_eq!(serialized, format!("\"{text}\""));
    let back: Id = serde_json::from_str(&serialized).unwrap();
    assert_eq!(back, id);

    assert!("not-a-uuid".parse::<Id>().is_err());
    assert!("".parse::<Id>().is_err());
    assert!(serde_json::from_str::<Id>("\"nope\"").is_err());
    assert!(serde_json::from_str::<Id>("42").is_err());
    // The parsed id finds the document.
    assert_eq!(store.get(text.parse().unwrap()).unwrap().id(), id);
}

#[test]
fn update_replaces_the_whole_document_and_bumps_the_version() {
    let store = Store::new();
    let id = store
        .insert(json!({"name": "Ada", "age": 36, "city": "London"}))
        .unwrap();
    assert_eq!(
        store.update(id, json!({"name": "Ada", "age": 37})).unwrap(),
        2
    );
    let doc = store.get(id).unwrap();
    assert_eq!(doc.version(), 2);
    // Full replace: the field left out is gone.
    assert_eq!(*doc, json!({"name": "Ada", "age": 37}));
    assert!(doc.get("city").is_none());
    for expected in 3..=10 {
        assert_eq!(
            store.update(id, json!({ "v": expected })).unwrap(),
            expected
        );
        assert_eq!(store.get(id).unwrap().version(), expected);
    }
    assert_eq!(store.len().unwrap(), 1);
    // Versions are per document.
    let other = store.insert(json!({"x": 1})).unwrap();
    assert_eq!(store.get(other).unwrap().version(), 1);
    assert_eq!(store.get(id).unwrap().version(), 10);
}

#[test]
fn update_with_returns_the_stored_document_at_the_next_version() {
    let store = Store::new();
    let id = store.insert(json!({"hits": 41, "keep": "me"})).unwrap();
    let stored = store
        .update_with(id, |doc| {
            assert_eq!(doc.version(), 1);
            let hits = doc.get("hits").and_then(|v| v.as_u64()).unwrap();
            let mut next = doc.value().to_value();
            next["hits"] = json!(hits + 1);
            next
        })
        .unwrap();
    assert_eq!(stored.id(), id);
    assert_eq!(stored.version(), 2);
    assert_eq!(*stored, json!({"hits": 42, "keep": "me"}));
    assert_eq!(store.get(id).unwrap(), stored);
}

#[test]
fn non_object_documents_are_refused_and_nothing_is_stored() {
    let (store, ids) = store_with(&[json!({"a": 1})]);
    let bad = [
        json!([1, 2, 3]),
        json!([]),
        json!("a string"),
        json!(42),
        json!(4.5),
        json!(null),
        json!(true),
    ];
    for document in bad {
        match store.insert(document.clone()) {
            Err(Error::InvalidDocument { reason }) => {
                assert!(!reason.is_empty(), "no reason for {document}");
            }
            other => panic!("insert({document}) gave {other:?}"),
        }
        assert_eq!(store.len().unwrap(), 1, "after insert({document})");

        // Updates refuse them too, and leave the document as it was.
        assert!(matches!(
            store.update(ids[0], document.clone()),
            Err(Error::InvalidDocument { .. })
        ));
        assert!(matches!(
            store.update_if(ids[0], 1, document.clone()),
            Err(Error::InvalidDocument { .. })
        ));
        let returned = document.clone();
        assert!(matches!(
            store.update_with(ids[0], move |_| returned.clone()),
            Err(Error::InvalidDocument { .. })
        ));
        let doc = store.get(ids[0]).unwrap();
        assert_eq!(doc.version(), 1);
        assert_eq!(*doc, json!({"a": 1}));
    }
    let all: Vec<Value> = store
        .iter()
        .unwrap()
        .map(|d| d.value().to_value())
        .collect();
    assert_eq!(all, [json!({"a": 1})]);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn invalid_document_reason_says_why() {
    let store = Store::new();
    let error = store.insert(json!([1])).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("object"), "{text}");
    assert!(text.contains("array"), "{text}");
}

#[test]
fn documents_read_back_exactly_as_written() {
    let original = json!({
        "float_integral": 5.0,
        "float": 2.5,
        "tiny": 1e-300,
        "huge": 1.7976931348623157e308,
        "third": 0.1,
        "int": 5,
        "zero": 0,
        "negative": -7,
        "u64_max": u64::MAX,
        "i64_min": i64::MIN,
        "i64_max": i64::MAX,
        "two_pow_53_plus_1": 9_007_199_254_740_993_u64,
        "string": "héllo, 世界 🦀",
        "with_nul": "a\u{0}b",
        "long_string": "x".repeat(500),
        "empty_string": "",
        "bool_t": true,
        "bool_f": false,
        "null": null,
        "empty_array": [],
        "empty_object": {},
        "nested": {
            "array": [1, [2, [3.5, null, {"deep": [[]]}]], {"b": true}],
            "object": {"a": {"b": {"c": {"d": "e"}}}},
            "a.b": "dotted key"
        },
        "big_array": (0..300).collect::<Vec<u32>>()
    });
    let store = Store::new();
    let id = store.insert(original.clone()).unwrap();
    let doc = store.get(id).unwrap();

    assert_eq!(doc.value().to_value(), original);
    assert_eq!(*doc, original);
    assert_eq!(serde_json::to_value(&doc).unwrap(), original);
    assert_eq!(
        serde_json::from_str::<Value>(&serde_json::to_string(&doc).unwrap()).unwrap(),
        original
    );

    // Representation is kept, not only the value.
    let back = doc.value().to_value();
    assert!(back["float_integral"].is_f64());
    assert!(!back["float_integral"].is_u64());
    assert!(back["int"].is_u64());
    assert_eq!(back["u64_max"].as_u64(), Some(u64::MAX));
    assert_eq!(back["i64_min"].as_i64(), Some(i64::MIN));
    assert_eq!(
        back["two_pow_53_plus_1"].as_u64(),
        Some(9_007_199_254_740_993)
    );
    assert_eq!(back["third"].as_f64(), Some(0.1));

    // The read API agrees.
    assert!(matches!(
        doc.get("float_integral"),
        Some(ValueRef::Number(Num::Float(f))) if f == 5.0
    ));
    assert!(matches!(
        doc.get("int"),
        Some(ValueRef::Number(Num::PosInt(5)))
    ));
    assert!(matches!(
        doc.get("i64_min"),
        Some(ValueRef::Number(Num::NegInt(i64::MIN)))
    ));
    assert_eq!(doc.get("u64_max").and_then(|v| v.as_u64()), Some(u64::MAX));
    assert_eq!(
        doc.get("with_nul").and_then(|v| v.as_str()),
        Some("a\u{0}b")
    );
    assert!(doc.get("null").is_some_and(|v| v.is_null()));
    assert_eq!(
        doc.get_path(&["nested", "object", "a", "b", "c", "d"])
            .and_then(|v| v.as_str()),
        Some("e")
    );
    assert_eq!(
        doc.get("nested")
            .and_then(|n| n.get("a.b"))
            .and_then(|v| v.as_str()),
        Some("dotted key")
    );
    let big = doc.get("big_array").and_then(|v| v.as_array()).unwrap();
    assert_eq!(big.len(), 300);
    assert_eq!(big.get(299).and_then(|v| v.as_u64()), Some(299));
    // 5 is not 5.0 for equality of documents (as in serde_json).
    assert_ne!(*doc, {
        let mut changed = original.clone();
        changed["float_integral"] = json!(5);
        changed
    });
}

#[test]
fn negative_zero_keeps_its_sign() {
    let store = Store::new();
    let id = store.insert(json!({"z": -0.0})).unwrap();
    let z = store.get(id).unwrap().value().to_value()["z"]
        .as_f64()
        .unwrap();
    assert_eq!(z, 0.0);
    assert!(z.is_sign_negative());
}

#[test]
fn update_if_with_the_current_version_succeeds() {
    let store = Store::new();
    let id = store.insert(json!({"stock": 5})).unwrap();
    assert_eq!(store.update_if(id, 1, json!({"stock": 4})).unwrap(), 2);
    assert_eq!(store.update_if(id, 2, json!({"stock": 3})).unwrap(), 3);
    let doc = store.get(id).unwrap();
    assert_eq!(doc.version(), 3);
    assert_eq!(*doc, json!({"stock": 3}));
}

#[test]
fn update_if_with_a_stale_version_conflicts_and_changes_nothing() {
    let store = Store::new();
    let id = store.insert(json!({"stock": 5})).unwrap();
    store.update(id, json!({"stock": 4})).unwrap();
    let before = store.get(id).unwrap();

    let error = store.update_if(id, 1, json!({"stock": 0})).unwrap_err();
    assert_eq!(
        error,
        Error::VersionConflict {
            id,
            expected: 1,
            actual: 2
        }
    );
    let text = error.to_string();
    assert!(text.contains('1') && text.contains('2'), "{text}");
    assert!(text.contains(&id.to_string()), "{text}");

    // A version from the future conflicts too.
    assert_eq!(
        store.update_if(id, 7, json!({"stock": 0})),
        Err(Error::VersionConflict {
            id,
            expected: 7,
            actual: 2
        })
    );
    assert_eq!(
        store.update_if(id, 0, json!({"stock": 0})),
        Err(Error::VersionConflict {
            id,
            expected: 0,
            actual: 2
        })
    );
    let after = store.get(id).unwrap();
    assert_eq!(after.version(), 2);
    assert_eq!(*after, json!({"stock": 4}));
    assert!(after.ptr_eq(&before), "the stored version was replaced");
}

#[test]
fn delete_returns_the_document_and_removes_it() {
    let (store, ids) = store_with(&[json!({"n": 0}), json!({"n": 1}), json!({"n": 2})]);
    store.update(ids[1], json!({"n": 10})).unwrap();
    let deleted = store.delete(ids[1]).unwrap();
    assert_eq!(deleted.id(), ids[1]);
    assert_eq!(deleted.version(), 2);
    assert_eq!(*deleted, json!({"n": 10}));
    assert_eq!(store.len().unwrap(), 2);
    assert!(!store.contains(ids[1]).unwrap());
    assert_eq!(store.get(ids[1]), Err(Error::NotFound { id: ids[1] }));
    let left: Vec<Id> = store.iter().unwrap().map(|d| d.id()).collect();
    assert_eq!(left, [ids[0], ids[2]]);
    // Deleting again is NotFound.
    assert_eq!(store.delete(ids[1]), Err(Error::NotFound { id: ids[1] }));
}

#[test]
fn delete_if_checks_the_version() {
    let (store, ids) = store_with(&[json!({"n": 0})]);
    let id = ids[0];
    store.update(id, json!({"n": 1})).unwrap();
    assert_eq!(
        store.delete_if(id, 1),
        Err(Error::VersionConflict {
            id,
            expected: 1,
            actual: 2
        })
    );
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.get(id).unwrap().version(), 2);
    let deleted = store.delete_if(id, 2).unwrap();
    assert_eq!(*deleted, json!({"n": 1}));
    assert_eq!(store.len().unwrap(), 0);
    assert_eq!(store.delete_if(id, 2), Err(Error::NotFound { id }));
}

#[test]
fn operations_on_missing_or_deleted_ids_are_not_found_naming_the_id() {
    let (store, ids) = store_with(&[json!({"n": 0}), json!({"n": 1})]);
    store.delete(ids[0]).unwrap();
    let never: Id = "01900000-0000-7000-8000-000000000000".parse().unwrap();
    for id in [ids[0], Id::nil(), never] {
        let not_found = Error::NotFound { id };
        assert_eq!(store.get(id), Err(not_found.clone()));
        assert_eq!(store.update(id, json!({"n": 5})), Err(not_found.clone()));
        assert_eq!(
            store.update_if(id, 1, json!({"n": 5})),
            Err(not_found.clone())
        );
        let mut called = false;
        assert_eq!(
            store.update_with(id, |_| {
                called = true;
                json!({"n": 5})
            }),
            Err(not_found.clone())
        );
        assert!(!called, "update_with ran its closure on a missing document");
        assert_eq!(store.delete(id), Err(not_found.clone()));
        assert_eq!(store.delete_if(id, 1), Err(not_found.clone()));
        assert!(!store.contains(id).unwrap());
        assert!(not_found.to_string().contains(&id.to_string()));
    }
    // Nothing was created by the failed updates.
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(*store.get(ids[1]).unwrap(), json!({"n": 1}));
}

#[test]
fn a_readers_handle_keeps_its_version_after_updates_and_delete() {
    let store = Store::new();
    let id = store.insert(json!({"n": 1, "tags": ["a"]})).unwrap();
    let v1 = store.get(id).unwrap();
    let v1_clone = v1.clone();
    store.update(id, json!({"n": 2})).unwrap();
    let v2 = store.get(id).unwrap();
    store.update(id, json!({"n": 3})).unwrap();
    assert_eq!(v1.version(), 1);
    assert_eq!(*v1, json!({"n": 1, "tags": ["a"]}));
    assert_eq!(v2.version(), 2);
    assert_eq!(*v2, json!({"n": 2}));
    assert!(v1.ptr_eq(&v1_clone));
    assert!(!v1.ptr_eq(&v2));
    store.delete(id).unwrap();
    assert_eq!(*v1, json!({"n": 1, "tags": ["a"]}));
    assert_eq!(v1.into_value().to_value(), json!({"n": 1, "tags": ["a"]}));
}

#[test]
fn what_a_reader_does_with_its_copy_never_changes_the_store() {
    let store = Store::new();
    let id = store.insert(json!({"n": 1, "list": [1, 2]})).unwrap();
    let mut copy = store.get(id).unwrap().value().to_value();
    copy["n"] = json!(99);
    copy["list"].as_array_mut().unwrap().push(json!(3));
    // Taking the value out of a handle (a clone: the store shares it) and
    // dropping it leaves the stored one alone.
    let owned = store.get(id).unwrap().into_value();
    assert_eq!(owned, json!({"n": 1, "list": [1, 2]}));
    drop(owned);
    assert_eq!(*store.get(id).unwrap(), json!({"n": 1, "list": [1, 2]}));
    assert_eq!(store.get(id).unwrap().version(), 1);
}

#[test]
fn mutating_the_callers_value_after_insert_does_not_change_the_store() {
    let store = Store::new();
    let mut mine = json!({"name": "Ada", "tags": ["x"], "address": {"city": "London"}});
    let id = store.insert(mine.clone()).unwrap();
    mine["name"] = json!("Grace");
    mine["tags"].as_array_mut().unwrap().push(json!("y"));
    mine["address"]["city"] = json!("Paris");
    assert_eq!(
        *store.get(id).unwrap(),
        json!({"name": "Ada", "tags": ["x"], "address": {"city": "London"}})
    );
    // Same for updates.
    let mut update = json!({"name": "Bob"});
    store.update(id, update.clone()).unwrap();
    update["name"] = json!("Eve");
    assert_eq!(*store.get(id).unwrap(), json!({"name": "Bob"}));
}

#[test]
fn store_is_usable_through_default_and_debug() {
    let store = Store::default();
    store.insert(json!({"a": 1})).unwrap();
    let debug = format!("{store:?}");
    assert!(debug.contains("len"), "{debug}");
    let doc = store.iter().unwrap().next().unwrap();
    let shown = format!("{doc:?}");
    assert!(shown.contains(&doc.id().to_string()), "{shown}");
}

fn nested(levels: usize) -> Value {
    // `levels` counts the document itself: nested(1) is `{}`.
    let mut value = json!({});
    for _ in 1..levels {
        value = json!({ "a": value });
    }
    value
}

#[test]
fn nesting_limit_is_enforced_without_panicking() {
    let store = Store::new();
    let deepest = nested(docstore::MAX_DEPTH);
    let id = store.insert(deepest.clone()).unwrap();
    assert_eq!(*store.get(id).unwrap(), deepest);

    let too_deep = nested(docstore::MAX_DEPTH + 1);
    assert!(matches!(
        store.insert(too_deep.clone()),
        Err(Error::InvalidDocument { .. })
    ));
    assert!(matches!(
        store.update(id, too_deep),
        Err(Error::InvalidDocument { .. })
    ));
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.get(id).unwrap().version(), 1);
}

#[test]
fn try_update_with_can_decline_and_still_rejects_non_objects() {
    let store = Store::new();
    let id = store.insert(json!({"n": 1})).unwrap();
    let declined = store.try_update_with(id, |_| None).unwrap();
    assert!(declined.is_declined());
    assert_eq!(declined.document().version(), 1);
    assert_eq!(
        store
            .try_update_with(id, |_| Some(json!([1])))
            .err()
            .map(|e| matches!(e, Error::InvalidDocument { .. })),
        Some(true)
    );
    assert_eq!(store.get(id).unwrap().version(), 1);
    let bumped = store
        .try_update_with(id, |_| Some(json!({"n": 2})))
        .unwrap();
    assert!(bumped.is_changed());
    let bumped = bumped.into_document();
    assert_eq!(
        (bumped.version(), bumped.get("n").and_then(|v| v.as_u64())),
        (2, Some(2))
    );
}
