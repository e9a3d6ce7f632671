//! Secondary indexes of the schemaless store: definitions, what goes into them,
//! unique and multi-key indexes, and the errors around them.

use docstore::{Error, Id, IndexInfo, IndexOptions, Store};
use serde_json::{Value, json};

fn ids(iter: impl Iterator<Item = docstore::Document>) -> Vec<Id> {
    iter.map(|doc| doc.id()).collect()
}

fn names(store: &Store) -> Vec<String> {
    store
        .indexes()
        .unwrap()
        .iter()
        .map(|info| info.name().to_owned())
        .collect()
}

fn assert_sound(store: &Store) {
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn single_field_index_finds_documents_by_value() {
    let store = Store::new();
    store.create_index("by_city", ["city"]).unwrap();
    let paris1 = store.insert(json!({"name": "a", "city": "Paris"})).unwrap();
    let rome = store.insert(json!({"name": "b", "city": "Rome"})).unwrap();
    let paris2 = store.insert(json!({"name": "c", "city": "Paris"})).unwrap();
    assert_eq!(
        ids(store.lookup("by_city", "Paris").unwrap()),
        [paris1, paris2]
    );
    assert_eq!(ids(store.lookup("by_city", "Rome").unwrap()), [rome]);
    assert_eq!(store.lookup("by_city", "Oslo").unwrap().count(), 0);
    // A key of another type is simply another key.
    assert_eq!(store.lookup("by_city", 5).unwrap().count(), 0);
    // Lookups accept String, &String and Value keys too.
    let city = String::from("Paris");
    assert_eq!(store.lookup("by_city", &city).unwrap().count(), 2);
    assert_eq!(store.lookup("by_city", city.clone()).unwrap().count(), 2);
    assert_eq!(store.lookup("by_city", json!("Paris")).unwrap().count(), 2);
    let key = json!("Paris");
    assert_eq!(store.lookup("by_city", &key).unwrap().count(), 2);
    // And the index name may be a &String.
    let name = String::from("by_city");
    assert_eq!(store.lookup(&name, "Rome").unwrap().count(), 1);
    assert_sound(&store);
}

#[test]
fn index_follows_updates_and_deletes() {
    let store = Store::new();
    store.create_index("by_city", ["city"]).unwrap();
    let id = store.insert(json!({"city": "Paris"})).unwrap();
    store.update(id, json!({"city": "Rome"})).unwrap();
    assert_eq!(store.lookup("by_city", "Paris").unwrap().count(), 0);
    assert_eq!(ids(store.lookup("by_city", "Rome").unwrap()), [id]);
    store.update_with(id, |_| json!({"city": "Oslo"})).unwrap();
    assert_eq!(store.lookup("by_city", "Rome").unwrap().count(), 0);
    assert_eq!(ids(store.lookup("by_city", "Oslo").unwrap()), [id]);
    store.update_if(id, 3, json!({"city": "Lima"})).unwrap();
    assert_eq!(ids(store.lookup("by_city", "Lima").unwrap()), [id]);
    // An update that keeps the key keeps the document findable at its new version.
    store.update(id, json!({"city": "Lima", "x": 1})).unwrap();
    let found: Vec<_> = store.lookup("by_city", "Lima").unwrap().collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].version(), 5);
    assert_eq!(*found[0], json!({"city": "Lima", "x": 1}));
    store.delete(id).unwrap();
    assert_eq!(store.by_index("by_city").unwrap().count(), 0);
    assert_sound(&store);
}

#[test]
fn composite_index_over_several_fields() {
    let store = Store::new();
    store.create_index("by_city_age", ["city", "age"]).unwrap();
    let a = store.insert(json!({"city": "Paris", "age": 30})).unwrap();
    let b = store.insert(json!({"city": "Paris", "age": 20})).unwrap();
    let c = store.insert(json!({"city": "Rome", "age": 30})).unwrap();
    let d = store.insert(json!({"city": "Paris", "age": 30.0})).unwrap();
    assert_eq!(
        ids(store.lookup("by_city_age", ("Paris", 30)).unwrap()),
        [a, d]
    );
    assert_eq!(
        ids(store.lookup("by_city_age", ("Paris", 20)).unwrap()),
        [b]
    );
    assert_eq!(ids(store.lookup("by_city_age", ("Rome", 30)).unwrap()), [c]);
    assert_eq!(
        store.lookup("by_city_age", ("Rome", 20)).unwrap().count(),
        0
    );
    assert_eq!(
        ids(store
            .lookup("by_city_age", (json!("Paris"), json!(30)))
            .unwrap()),
        [a, d]
    );
    // Composite keys order field by field.
    assert_eq!(ids(store.by_index("by_city_age").unwrap()), [b, a, d, c]);
    let info = &store.indexes().unwrap()[0];
    assert_eq!(info.name(), "by_city_age");
    assert_eq!(info.fields(), ["city", "age"]);
    assert!(!info.is_unique());
    assert!(!info.is_multi_key());
    assert_sound(&store);
}

#[test]
fn dotted_paths_reach_into_nested_objects() {
    let store = Store::new();
    store.create_index("by_zip", ["address.zip"]).unwrap();
    store.create_index("by_deep", ["a.b.c"]).unwrap();
    let x = store
        .insert(json!({"address": {"zip": "75001", "city": "Paris"}}))
        .unwrap();
    let y = store.insert(json!({"address": {"zip": 10001}})).unwrap();
    // Not reachable: no address, address not an object, address an array.
    store.insert(json!({"zip": "75001"})).unwrap();
    store.insert(json!({"address": "75001"})).unwrap();
    store
        .insert(json!({"address": [{"zip": "75001"}]}))
        .unwrap();
    store.insert(json!({"address": {"zip": null}})).unwrap();
    let deep = store.insert(json!({"a": {"b": {"c": true}}})).unwrap();

    assert_eq!(ids(store.lookup("by_zip", "75001").unwrap()), [x]);
    assert_eq!(ids(store.lookup("by_zip", 10001).unwrap()), [y]);
    assert_eq!(ids(store.by_index("by_zip").unwrap()), [y, x]);
    assert_eq!(ids(store.lookup("by_deep", true).unwrap()), [deep]);

    // Moving the nested value moves the entry.
    store
        .update(x, json!({"address": {"zip": "13001"}}))
        .unwrap();
    assert_eq!(store.lookup("by_zip", "75001").unwrap().count(), 0);
    assert_eq!(ids(store.lookup("by_zip", "13001").unwrap()), [x]);
    assert_sound(&store);
}

#[test]
fn escaped_dot_names_a_field_whose_name_holds_a_dot() {
    let store = Store::new();
    store.create_index("literal", ["a\\.b"]).unwrap();
    store.create_index("nested", ["a.b"]).unwrap();
    store.create_index("backslash", ["c\\\\d"]).unwrap();
    let literal = store.insert(json!({"a.b": 1})).unwrap();
    let nested = store.insert(json!({"a": {"b": 1}})).unwrap();
    let slash = store.insert(json!({"c\\d": 1})).unwrap();
    assert_eq!(ids(store.lookup("literal", 1).unwrap()), [literal]);
    assert_eq!(ids(store.lookup("nested", 1).unwrap()), [nested]);
    assert_eq!(ids(store.lookup("backslash", 1).unwrap()), [slash]);
    // The definition keeps the field text as given.
    let infos = store.indexes().unwrap();
    assert_eq!(infos[0].fields(), ["a\\.b"]);
    assert_sound(&store);
}

#[test]
fn creating_an_index_indexes_existing_documents() {
    let store = Store::new();
    let mut expected = Vec::new();
    for n in 0..500_u64 {
        let id = store
            .insert(json!({"n": n, "even": n % 2 == 0, "nested": {"m": n % 7}}))
            .unwrap();
        if n % 7 == 3 {
            expected.push(id);
        }
    }
    store.create_index("by_m", ["nested.m"]).unwrap();
    store.create_index("by_even_n", ["even", "n"]).unwrap();
    assert_eq!(ids(store.lookup("by_m", 3).unwrap()), expected);
    assert_eq!(store.by_index("by_m").unwrap().len(), 500);
    assert_eq!(store.lookup("by_even_n", (true, 42)).unwrap().count(), 1);
    assert_eq!(store.lookup("by_even_n", (false, 42)).unwrap().count(), 0);
    assert_sound(&store);
}

#[test]
fn duplicate_index_name_is_index_exists() {
    let store = Store::new();
    store.create_index("by_city", ["city"]).unwrap();
    let before = store.indexes().unwrap();
    assert_eq!(
        store.create_index("by_city", ["other"]),
        Err(Error::IndexExists {
            name: "by_city".into()
        })
    );
    assert_eq!(
        store.create_index_with("by_city", ["city"], IndexOptions::new().unique()),
        Err(Error::IndexExists {
            name: "by_city".into()
        })
    );
    assert_eq!(store.indexes().unwrap(), before);
    assert_eq!(before[0].fields(), ["city"]);
}

#[test]
fn index_with_no_fields_is_empty_index() {
    let store = Store::new();
    assert_eq!(
        store.create_index("nothing", Vec::<&str>::new()),
        Err(Error::EmptyIndex {
            name: "nothing".into()
        })
    );
    assert_eq!(
        store.create_index("nothing", [] as [String; 0]),
        Err(Error::EmptyIndex {
            name: "nothing".into()
        })
    );
    assert!(store.indexes().unwrap().is_empty());
    assert_eq!(
        store.lookup("nothing", 1).map(|_| ()),
        Err(Error::IndexNotFound {
            name: "nothing".into()
        })
    );
}

#[test]
fn malformed_field_paths_are_invalid_index() {
    let store = Store::new();
    store.insert(json!({"a": 1})).unwrap();
    for path in ["", ".", "a.", ".a", "a..b", "a\\", "a\\b", "a\\x.c"] {
        match store.create_index("bad", [path]) {
            Err(Error::InvalidIndex { name, reason }) => {
                assert_eq!(name, "bad");
                assert!(!reason.is_empty());
            }
            other => panic!("path {path:?} gave {other:?}"),
        }
        // One bad path among good ones spoils the whole definition.
        assert!(matches!(
            store.create_index("bad", ["a", path]),
            Err(Error::InvalidIndex { .. })
        ));
        assert!(store.indexes().unwrap().is_empty(), "after {path:?}");
    }
    // The name is still free.
    store.create_index("bad", ["a"]).unwrap();
    assert_eq!(store.lookup("bad", 1).unwrap().count(), 1);
}

#[test]
fn unknown_index_is_index_not_found_everywhere() {
    let store = Store::new();
    store.insert(json!({"a": 1})).unwrap();
    let missing = || Error::IndexNotFound {
        name: "nope".into(),
    };
    assert_eq!(store.drop_index("nope"), Err(missing()));
    assert_eq!(store.lookup("nope", 1).map(|_| ()), Err(missing()));
    assert_eq!(store.range("nope", 1..2).map(|_| ()), Err(missing()));
    assert_eq!(store.range("nope", ..).map(|_| ()), Err(missing()));
    assert_eq!(store.prefix("nope", 1).map(|_| ()), Err(missing()));
    assert_eq!(store.by_index("nope").map(|_| ()), Err(missing()));
    assert_eq!(store.get_unique("nope", 1).map(|_| ()), Err(missing()));
    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.lookup("nope", 1).map(|_| ()), Err(missing()));
    assert!(missing().to_string().contains("nope"));
}

#[test]
fn missing_and_null_fields_are_left_out_until_an_update_adds_them() {
    let store = Store::new();
    store.create_index("by_age", ["age"]).unwrap();
    store.create_index("by_city_age", ["city", "age"]).unwrap();
    let has = store.insert(json!({"city": "Paris", "age": 30})).unwrap();
    let missing = store.insert(json!({"city": "Paris"})).unwrap();
    let null = store.insert(json!({"city": "Paris", "age": null})).unwrap();

    assert_eq!(ids(store.by_index("by_age").unwrap()), [has]);
    assert_eq!(ids(store.by_index("by_city_age").unwrap()), [has]);
    assert_eq!(ids(store.range("by_age", ..).unwrap()), [has]);
    assert_eq!(store.lookup("by_age", json!(null)).unwrap().count(), 0);
    assert_eq!(store.prefix("by_city_age", "Paris").unwrap().count(), 1);

    // Giving them the field puts them in.
    store
        .update(missing, json!({"city": "Paris", "age": 30}))
        .unwrap();
    store
        .update_with(null, |_| json!({"city": "Paris", "age": 30}))
        .unwrap();
    assert_eq!(
        ids(store.lookup("by_age", 30).unwrap()),
        [has, missing, null]
    );
    assert_eq!(
        ids(store.lookup("by_city_age", ("Paris", 30)).unwrap()),
        [has, missing, null]
    );

    // Taking it away (missing or null) takes them out again.
    store.update(has, json!({"city": "Paris"})).unwrap();
    store
        .update(missing, json!({"city": null, "age": 30}))
        .unwrap();
    assert_eq!(ids(store.lookup("by_age", 30).unwrap()), [missing, null]);
    assert_eq!(ids(store.by_index("by_city_age").unwrap()), [null]);
    assert_sound(&store);
}

#[test]
fn unique_index_refuses_a_clashing_insert_and_changes_nothing() {
    let store = Store::new();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    store.create_index("by_name", ["name"]).unwrap();
    let ada = store
        .insert(json!({"email": "ada@example.com", "name": "Ada"}))
        .unwrap();
    let error = store
        .insert(json!({"email": "ada@example.com", "name": "Impostor"}))
        .unwrap_err();
    match &error {
        Error::UniqueViolation {
            index,
            key,
            existing,
        } => {
            assert_eq!(index, "by_email");
            assert!(key.contains("ada@example.com"), "{key}");
            assert_eq!(*existing, ada);
        }
        other => panic!("expected UniqueViolation, got {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains("by_email") && text.contains("ada@example.com"),
        "{text}"
    );
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.lookup("by_name", "Impostor").unwrap().count(), 0);
    assert_eq!(store.by_index("by_name").unwrap().count(), 1);
    assert_sound(&store);
}

#[test]
fn unique_index_refuses_a_clashing_update_and_changes_nothing() {
    let store = Store::new();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    store.create_index("by_name", ["name"]).unwrap();
    let a = store.insert(json!({"email": "a@x", "name": "A"})).unwrap();
    let b = store.insert(json!({"email": "b@x", "name": "B"})).unwrap();

    for attempt in [
        store.update(b, json!({"email": "a@x", "name": "B2"})),
        store.update_if(b, 1, json!({"email": "a@x", "name": "B2"})),
        store
            .update_with(b, |_| json!({"email": "a@x", "name": "B2"}))
            .map(|doc| doc.version()),
    ] {
        assert!(
            matches!(&attempt, Err(Error::UniqueViolation { index, existing, .. })
                if index == "by_email" && *existing == a),
            "{attempt:?}"
        );
    }
    let doc = store.get(b).unwrap();
    assert_eq!(doc.version(), 1);
    assert_eq!(*doc, json!({"email": "b@x", "name": "B"}));
    assert_eq!(store.get(a).unwrap().version(), 1);
    assert_eq!(store.lookup("by_name", "B2").unwrap().count(), 0);
    assert_eq!(ids(store.lookup("by_email", "b@x").unwrap()), [b]);
    assert_eq!(ids(store.lookup("by_email", "a@x").unwrap()), [a]);

    // Keeping one's own key is no clash; freeing a key lets another take it.
    assert_eq!(
        store
            .update(a, json!({"email": "a@x", "name": "A2"}))
            .unwrap(),
        2
    );
    store.update(a, json!({"email": "new@x"})).unwrap();
    store.update(b, json!({"email": "a@x"})).unwrap();
    store.delete(b).unwrap();
    let c = store.insert(json!({"email": "a@x"})).unwrap();
    assert_eq!(
        store.get_unique("by_email", "a@x").unwrap().map(|d| d.id()),
        Some(c)
    );
    assert_sound(&store);
}

#[test]
fn unique_index_treats_equal_numbers_as_one_key_and_ignores_missing_fields() {
    let store = Store::new();
    store
        .create_index_with("by_n", ["n"], IndexOptions::new().unique())
        .unwrap();
    store.insert(json!({"n": 5})).unwrap();
    assert!(matches!(
        store.insert(json!({"n": 5.0})),
        Err(Error::UniqueViolation { .. })
    ));
    store.insert(json!({"n": 5.5})).unwrap();
    // Documents without the field (or with null) never clash.
    store.insert(json!({})).unwrap();
    store.insert(json!({})).unwrap();
    store.insert(json!({"n": null})).unwrap();
    store.insert(json!({"n": null})).unwrap();
    assert_eq!(store.len().unwrap(), 6);
    assert_eq!(store.by_index("by_n").unwrap().count(), 2);
    assert_sound(&store);
}

#[test]
fn unique_composite_index_clashes_only_on_the_whole_key() {
    let store = Store::new();
    store
        .create_index_with("by_pair", ["a", "b"], IndexOptions::new().unique())
        .unwrap();
    store.insert(json!({"a": 1, "b": 1})).unwrap();
    store.insert(json!({"a": 1, "b": 2})).unwrap();
    store.insert(json!({"a": 2, "b": 1})).unwrap();
    match store.insert(json!({"a": 1, "b": 2})) {
        Err(Error::UniqueViolation { index, key, .. }) => {
            assert_eq!(index, "by_pair");
            assert!(key.contains('1') && key.contains('2'), "{key}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.len().unwrap(), 3);
}

#[test]
fn creating_a_unique_index_over_clashing_documents_fails_and_leaves_no_index() {
    let store = Store::new();
    store.create_index("by_name", ["name"]).unwrap();
    let first = store.insert(json!({"email": "x@y", "name": "1"})).unwrap();
    store
        .insert(json!({"email": "other", "name": "2"}))
        .unwrap();
    let second = store.insert(json!({"email": "x@y", "name": "3"})).unwrap();
    let before = store.indexes().unwrap();

    match store.create_index_with("by_email", ["email"], IndexOptions::new().unique()) {
        Err(Error::UniqueViolation { index, key, .. }) => {
            assert_eq!(index, "by_email");
            assert!(key.contains("x@y"), "{key}");
        }
        other => panic!("expected UniqueViolation, got {other:?}"),
    }
    assert_eq!(store.indexes().unwrap(), before);
    assert_eq!(
        store.lookup("by_email", "x@y").map(|_| ()),
        Err(Error::IndexNotFound {
            name: "by_email".into()
        })
    );
    // Documents untouched.
    assert_eq!(store.len().unwrap(), 3);
    assert_eq!(store.get(first).unwrap().version(), 1);
    // After the clash is resolved, the name is free and the index builds.
    store
        .update(second, json!({"email": "z@y", "name": "3"}))
        .unwrap();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    assert_eq!(
        store.get_unique("by_email", "x@y").unwrap().map(|d| d.id()),
        Some(first)
    );
    assert_sound(&store);
}

#[test]
fn multi_key_index_finds_a_document_under_each_element() {
    let store = Store::new();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    let a = store.insert(json!({"tags": ["red", "green"]})).unwrap();
    let b = store
        .insert(json!({"tags": ["green", "blue", "green"]}))
        .unwrap();
    let scalar = store.insert(json!({"tags": "red"})).unwrap();
    let empty = store.insert(json!({"tags": []})).unwrap();

    assert_eq!(ids(store.lookup("by_tag", "red").unwrap()), [a, scalar]);
    assert_eq!(ids(store.lookup("by_tag", "green").unwrap()), [a, b]);
    assert_eq!(ids(store.lookup("by_tag", "blue").unwrap()), [b]);
    // The array itself is not a key.
    assert_eq!(
        store
            .lookup("by_tag", json!(["red", "green"]))
            .unwrap()
            .count(),
        0
    );
    // An empty array gives no keys.
    assert!(!ids(store.by_index("by_tag").unwrap()).contains(&empty));

    // An update removes the document from elements it no longer has.
    store
        .update(a, json!({"tags": ["green", "yellow"]}))
        .unwrap();
    assert_eq!(ids(store.lookup("by_tag", "red").unwrap()), [scalar]);
    assert_eq!(ids(store.lookup("by_tag", "green").unwrap()), [a, b]);
    assert_eq!(ids(store.lookup("by_tag", "yellow").unwrap()), [a]);
    store.update(b, json!({"tags": []})).unwrap();
    assert_eq!(ids(store.lookup("by_tag", "green").unwrap()), [a]);
    assert_eq!(store.lookup("by_tag", "blue").unwrap().count(), 0);
    store.update(empty, json!({"tags": ["blue"]})).unwrap();
    assert_eq!(ids(store.lookup("by_tag", "blue").unwrap()), [empty]);
    store.delete(a).unwrap();
    assert_eq!(store.lookup("by_tag", "yellow").unwrap().count(), 0);

    let info = &store.indexes().unwrap()[0];
    assert!(info.is_multi_key());
    assert_sound(&store);
}

#[test]
fn multi_key_index_built_over_existing_documents() {
    let store = Store::new();
    let a = store.insert(json!({"tags": [1, 2, 3]})).unwrap();
    let b = store.insert(json!({"tags": [3, 4]})).unwrap();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    assert_eq!(ids(store.lookup("by_tag", 3).unwrap()), [a, b]);
    assert_eq!(ids(store.lookup("by_tag", 4.0).unwrap()), [b]);
    assert_sound(&store);
}

#[test]
fn unique_multi_key_index_clashes_on_any_shared_element() {
    let store = Store::new();
    store
        .create_index_with(
            "by_alias",
            ["aliases"],
            IndexOptions::new().unique().multi_key(),
        )
        .unwrap();
    let a = store.insert(json!({"aliases": ["x", "y", "x"]})).unwrap();
    assert!(matches!(
        store.insert(json!({"aliases": ["z", "y"]})),
        Err(Error::UniqueViolation { existing, .. }) if existing == a
    ));
    store.insert(json!({"aliases": ["z"]})).unwrap();
    // A document keeping its own elements does not clash with itself.
    store
        .update(a, json!({"aliases": ["y", "x", "w"]}))
        .unwrap();
    assert_eq!(store.len().unwrap(), 2);
    assert_sound(&store);
}

#[test]

fn multi_key_range_returns_each_document_once() {
    // SPEC: a query "never returns one twice". A document with several keys in
    // the range of a multi-key index is one match.
    let store = Store::new();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    let a = store.insert(json!({"tags": [1, 2, 3]})).unwrap();
    let b = store.insert(json!({"tags": [2]})).unwrap();
    let found = ids(store.range("by_tag", 1..=3).unwrap());
    let mut unique = found.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(found.len(), unique.len(), "duplicates in {found:?}");
    assert_eq!(unique, [a, b]);
    assert_eq!(store.range("by_tag", 1..=3).unwrap().len(), 2);
    assert_eq!(ids(store.by_index("by_tag").unwrap()).len(), 2);
    assert_eq!(ids(store.range("by_tag", ..).unwrap()).len(), 2);
}

#[test]
fn plain_index_over_an_array_field_keys_the_whole_array() {
    let store = Store::new();
    store.create_index("by_tags", ["tags"]).unwrap();
    let a = store.insert(json!({"tags": ["red", "green"]})).unwrap();
    let b = store.insert(json!({"tags": ["red"]})).unwrap();
    let empty = store.insert(json!({"tags": []})).unwrap();
    assert_eq!(store.lookup("by_tags", "red").unwrap().count(), 0);
    assert_eq!(
        ids(store.lookup("by_tags", json!(["red", "green"])).unwrap()),
        [a]
    );
    assert_eq!(ids(store.lookup("by_tags", json!(["red"])).unwrap()), [b]);
    assert_eq!(ids(store.lookup("by_tags", json!([])).unwrap()), [empty]);
    // Arrays order element by element, a prefix first: [] < ["red"] < ["red", "green"].
    assert_eq!(ids(store.by_index("by_tags").unwrap()), [empty, b, a]);
    assert!(!store.indexes().unwrap()[0].is_multi_key());
    assert_sound(&store);
}

#[test]
fn drop_index_removes_it_and_frees_the_name() {
    let store = Store::new();
    store.create_index("a", ["x"]).unwrap();
    store.create_index("b", ["y"]).unwrap();
    store.create_index("c", ["z"]).unwrap();
    store.insert(json!({"x": 1, "y": 2, "z": 3})).unwrap();
    assert_eq!(names(&store), ["a", "b", "c"]);
    store.drop_index("b").unwrap();
    assert_eq!(names(&store), ["a", "c"]);
    assert_eq!(
        store.lookup("b", 2).map(|_| ()),
        Err(Error::IndexNotFound { name: "b".into() })
    );
    assert_eq!(
        store.drop_index("b"),
        Err(Error::IndexNotFound { name: "b".into() })
    );
    // Other indexes still answer; the name can be reused with a new definition.
    assert_eq!(store.lookup("a", 1).unwrap().count(), 1);
    store.create_index("b", ["x"]).unwrap();
    assert_eq!(store.lookup("b", 1).unwrap().count(), 1);
    assert_eq!(store.lookup("b", 2).unwrap().count(), 0);
    assert_eq!(names(&store), ["a", "c", "b"]);
    assert_sound(&store);
}

#[test]
fn dropping_a_unique_index_lifts_its_constraint() {
    let store = Store::new();
    store
        .create_index_with("u", ["k"], IndexOptions::new().unique())
        .unwrap();
    store.insert(json!({"k": 1})).unwrap();
    assert!(store.insert(json!({"k": 1})).is_err());
    store.drop_index("u").unwrap();
    store.insert(json!({"k": 1})).unwrap();
    assert_eq!(store.len().unwrap(), 2);
}

#[test]
fn indexes_lists_definitions_in_creation_order() {
    let store = Store::new();
    store.create_index("plain", ["a"]).unwrap();
    store
        .create_index_with("uniq", ["b.c", "d"], IndexOptions::new().unique())
        .unwrap();
    store
        .create_index_with("multi", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    let infos: Vec<IndexInfo> = store.indexes().unwrap();
    let summary: Vec<(&str, Vec<String>, bool, bool)> = infos
        .iter()
        .map(|i| {
            (
                i.name(),
                i.fields().to_vec(),
                i.is_unique(),
                i.is_multi_key(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("plain", vec!["a".to_owned()], false, false),
            ("uniq", vec!["b.c".to_owned(), "d".to_owned()], true, false),
            ("multi", vec!["tags".to_owned()], false, true),
        ]
    );
    let shown = infos[1].to_string();
    assert!(
        shown.contains("uniq") && shown.contains("unique"),
        "{shown}"
    );
}

#[test]
fn verify_stays_empty_through_a_mixed_workload() {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    store.create_index("by_pair", ["p.a", "p.b"]).unwrap();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    store
        .create_index_with("by_u", ["u"], IndexOptions::new().unique())
        .unwrap();
    let sentinel = store.insert(json!({"u": -1})).unwrap();
    let mut live = Vec::new();
    for n in 0..300_u64 {
        let doc = json!({
            "n": n % 17,
            "p": {"a": n % 3, "b": if n % 5 == 0 { Value::Null } else { json!(n) }},
            "tags": (0..n % 4).map(|t| t * n % 5).collect::<Vec<_>>(),
            "u": n,
        });
        live.push(store.insert(doc).unwrap());
        if n % 3 == 0 {
            let id = live[(n as usize * 7) % live.len()];
            let _ = store.update(id, json!({"n": n, "u": n + 1000, "tags": [n % 2]}));
        }
        if n % 7 == 0 {
            let id = live.remove((n as usize * 11) % live.len());
            store.delete(id).unwrap();
        }
        // Failing writes on the way.
        assert!(store.insert(json!({"u": -1})).is_err());
        if let Some(&first) = live.first() {
            assert!(store.update(first, json!({"u": -1.0})).is_err());
        }
    }
    store.drop_index("by_n").unwrap();
    store.create_index("by_n", ["n"]).unwrap();
    assert_sound(&store);
    assert_eq!(store.len().unwrap(), live.len() + 1);
    assert_eq!(store.get(sentinel).unwrap().version(), 1);
}

#[test]
fn a_huge_multi_key_array_is_indexed_fully_or_refused_cleanly() {
    let store = Store::new();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    let keep = store.insert(json!({"tags": [1]})).unwrap();
    for size in [1_000_u64, 20_000] {
        let tags: Vec<u64> = (0..size).collect();
        match store.insert(json!({ "tags": tags })) {
            Ok(id) => {
                assert_eq!(ids(store.lookup("by_tag", size - 1).unwrap()), [id]);
                assert_eq!(store.lookup("by_tag", size / 2).unwrap().count(), 1);
            }
            Err(Error::InvalidKey { index, .. }) => {
                assert_eq!(index, "by_tag");
                assert!(store.lookup("by_tag", size - 1).unwrap().next().is_none());
            }
            Err(other) => panic!("{size} tags: {other}"),
        }
    }
    assert_eq!(ids(store.lookup("by_tag", 1).unwrap()).first(), Some(&keep));
    assert_sound(&store);
}
