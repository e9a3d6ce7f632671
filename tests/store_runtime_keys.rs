//! Run-time composite keys: a schemaless store whose indexes come from a
//! configuration file queries them with one JSON value per field, and a JSON
//! array given where a composite key is expected is refused, never answered
//! with nothing.

use docstore::{Error, IndexOptions, Store};
use serde_json::{Value, json};

/// An event store whose index fields are only known at run time.
fn events() -> (Store, Vec<docstore::Id>) {
    let store = Store::new();
    let config: Vec<(&str, Vec<&str>)> = vec![
        ("by_geo_type", vec!["geo", "type"]),
        ("by_geo_type_at", vec!["geo", "type", "at"]),
    ];
    for (name, fields) in &config {
        store.create_index(name, fields).unwrap();
    }
    store
        .create_index_with("by_ref", ["ref"], IndexOptions::new().unique())
        .unwrap();
    let ids = [
        json!({"geo": "FR", "type": "purchase", "at": 3, "ref": "a"}),
        json!({"geo": "FR", "type": "purchase", "at": 1, "ref": "b"}),
        json!({"geo": "FR", "type": "view", "at": 2, "ref": "c"}),
        json!({"geo": "DE", "type": "purchase", "at": 5, "ref": "d"}),
    ]
    .into_iter()
    .map(|doc| store.insert(doc).unwrap())
    .collect();
    (store, ids)
}

fn refs(found: impl Iterator<Item = docstore::Document>) -> Vec<String> {
    found
        .map(|doc| doc.get("ref").and_then(|r| r.as_str()).unwrap().to_owned())
        .collect()
}

/// The key fields a request carries, as parsed from JSON at run time.
fn request_key(fields: &[&str], request: &Value) -> Vec<Value> {
    fields.iter().map(|field| request[field].clone()).collect()
}

#[test]
fn a_vec_of_values_is_a_composite_key_for_lookup_and_get_unique() {
    let (store, _) = events();
    let key = request_key(&["geo", "type"], &json!({"geo": "FR", "type": "purchase"}));
    assert_eq!(refs(store.lookup("by_geo_type", &key).unwrap()), ["a", "b"]);
    assert_eq!(
        refs(store.lookup("by_geo_type", key.clone()).unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        refs(store.lookup("by_geo_type", key.as_slice()).unwrap()),
        ["a", "b"]
    );
    let array = [json!("FR"), json!("view")];
    assert_eq!(refs(store.lookup("by_geo_type", &array).unwrap()), ["c"]);
    assert_eq!(refs(store.lookup("by_geo_type", array).unwrap()), ["c"]);

    // A one-field index takes a one-element slice.
    let found = store.get_unique("by_ref", vec![json!("d")]).unwrap();
    let geo = found
        .unwrap()
        .get("geo")
        .and_then(|g| g.as_str())
        .map(str::to_owned);
    assert_eq!(geo.as_deref(), Some("DE"));
    // The same arity rule as tuples: every field, no more, no less.
    assert!(matches!(
        store.lookup("by_geo_type", vec![json!("FR")]),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.lookup("by_geo_type", vec![json!("FR"), json!("view"), json!(1)]),
        Err(Error::InvalidKey { .. })
    ));
}

#[test]
fn leading_values_are_a_prefix_and_range_bounds() {
    let (store, _) = events();
    let leading = vec![json!("FR")];
    assert_eq!(
        refs(store.prefix("by_geo_type_at", &leading).unwrap()),
        ["b", "a", "c"]
    );
    let two = vec![json!("FR"), json!("purchase")];
    assert_eq!(
        refs(store.prefix("by_geo_type_at", &two).unwrap()),
        ["b", "a"]
    );
    // Bounds with the leading fields only, as with tuples.
    let from = vec![json!("FR"), json!("purchase"), json!(2)];
    let to = vec![json!("FR"), json!("view")];
    assert_eq!(
        refs(store.range("by_geo_type_at", from..=to).unwrap()),
        ["a", "c"]
    );
    assert_eq!(
        refs(store.range("by_geo_type_at", ..vec![json!("FR")]).unwrap()),
        ["d"]
    );
    // The same as the tuple spelling, bound for bound.
    let tuple: Vec<_> = store
        .range("by_geo_type_at", ("FR", "purchase", 2)..=("FR", "view", 9))
        .unwrap()
        .map(|doc| doc.id())
        .collect();
    let values: Vec<_> = store
        .range(
            "by_geo_type_at",
            vec![json!("FR"), json!("purchase"), json!(2)]
                ..=vec![json!("FR"), json!("view"), json!(9)],
        )
        .unwrap()
        .map(|doc| doc.id())
        .collect();
    assert_eq!(tuple, values);
    assert_eq!(values.len(), 2);
}

#[test]
fn a_json_array_is_one_value_so_composite_indexes_refuse_it_everywhere() {
    let (store, _) = events();
    let mistake = json!(["FR", "purchase"]);
    let refused = |result: Result<usize, Error>| match result {
        Err(Error::InvalidKey { index, reason }) => {
            assert_eq!(index, "by_geo_type");
            assert!(reason.contains("a JSON array is one value"), "{reason}");
            assert!(reason.contains("one per field"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    };
    refused(store.lookup("by_geo_type", &mistake).map(Iterator::count));
    refused(store.prefix("by_geo_type", &mistake).map(Iterator::count));
    refused(
        store
            .range("by_geo_type", mistake.clone()..)
            .map(Iterator::count),
    );
    refused(
        store
            .range("by_geo_type", ..=mistake.clone())
            .map(Iterator::count),
    );
    refused(
        store
            .range_within("by_geo_type", mistake.clone(), ..json!("x"))
            .map(Iterator::count),
    );
    let id = store.iter().unwrap().next().unwrap().id();
    refused(
        store
            .after("by_geo_type", mistake.clone(), id)
            .map(Iterator::count),
    );
    let snapshot = store.snapshot().unwrap();
    refused(
        snapshot
            .prefix("by_geo_type", &mistake)
            .map(Iterator::count),
    );
    let message = store
        .prefix("by_geo_type", &mistake)
        .unwrap_err()
        .to_string();
    assert!(message.contains("geo, type"), "{message}");
}

#[test]
fn an_array_meant_as_an_array_is_spelled_as_one_field() {
    let store = Store::new();
    store
        .create_index("by_path_kind", ["path", "kind"])
        .unwrap();
    store.create_index("by_path", ["path"]).unwrap();
    store
        .insert(json!({"path": ["usr", "bin"], "kind": "dir"}))
        .unwrap();
    let path = json!(["usr", "bin"]);
    // On a one-field index a JSON array is simply the key.
    assert_eq!(store.lookup("by_path", &path).unwrap().count(), 1);
    assert_eq!(store.prefix("by_path", &path).unwrap().count(), 1);
    // On a composite index, say which field it is: a tuple or a slice.
    assert_eq!(store.prefix("by_path_kind", (&path,)).unwrap().count(), 1);
    assert_eq!(
        store
            .prefix("by_path_kind", vec![path.clone()])
            .unwrap()
            .count(),
        1
    );
    assert_eq!(
        store
            .lookup("by_path_kind", [path.clone(), json!("dir")])
            .unwrap()
            .count(),
        1
    );
}
