//! Hostile and careless inputs to the schemaless [`Store`]: each gets a clear
//! error or a defined result, never a panic, and the store stays consistent
//! (`verify()` finds nothing) afterwards. Also: `verify()` finds planted
//! corruption, and closures that panic leave the store exactly as it was.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use docstore::{Error, Id, IndexOptions, Iter, MAX_DEPTH, Object, Store};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

fn ids(iter: Iter<Object>) -> Vec<Id> {
    iter.map(|d| d.id()).collect()
}

/// One index as a dump shows it: definition and content in order.
#[derive(Debug, PartialEq)]
struct IndexDump {
    name: String,
    fields: Vec<String>,
    unique: bool,
    multi_key: bool,
    content: Vec<(Id, u64)>,
}

/// Everything observable about a store: documents with ids and versions, index
/// definitions, and every index's content in order.
#[derive(Debug, PartialEq)]
struct Dump {
    documents: Vec<(Id, u64, Value)>,
    indexes: Vec<IndexDump>,
}

fn dump(store: &Store) -> Dump {
    let documents = store
        .iter()
        .expect("iter")
        .map(|d| (d.id(), d.version(), d.to_value()))
        .collect();
    let indexes = store
        .indexes()
        .expect("indexes")
        .iter()
        .map(|info| IndexDump {
            name: info.name().to_owned(),
            fields: info.fields().to_vec(),
            unique: info.is_unique(),
            multi_key: info.is_multi_key(),
            content: store
                .by_index(info.name())
                .expect("by_index")
                .map(|d| (d.id(), d.version()))
                .collect(),
        })
        .collect();
    Dump { documents, indexes }
}

fn assert_sound(store: &Store) {
    assert_eq!(store.verify(), Ok(Vec::new()), "verify() found problems");
}

fn is_invalid_document<T: std::fmt::Debug>(result: &Result<T, Error>) -> bool {
    matches!(result, Err(Error::InvalidDocument { .. }))
}

/// `{"a": {"a": ... {}}}` nesting `depth` levels, the document itself being
/// level 1. Built iteratively and by moving (`json!` would copy the inner
/// value at each level).
fn nested_objects(depth: usize) -> Value {
    let mut value = Value::Object(Map::new());
    for _ in 1..depth {
        let mut map = Map::new();
        map.insert("a".to_owned(), value);
        value = Value::Object(map);
    }
    value
}

/// `{"a": [[...[]...]]}`: the document, then `depth - 1` levels of arrays.
fn nested_arrays(depth: usize) -> Value {
    let mut value = Value::Array(Vec::new());
    for _ in 2..depth {
        value = Value::Array(vec![value]);
    }
    let mut map = Map::new();
    map.insert("a".to_owned(), value);
    Value::Object(map)
}

/// Runs `f` on a thread with a big stack: for values so deep that serde_json's
/// own recursive `Drop` would overflow a normal one.
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the big-stack thread");
}

// ---------------------------------------------------------------------------
// Deep nesting.
// ---------------------------------------------------------------------------

#[test]
fn nesting_up_to_the_limit_is_stored_exactly() {
    let store = Store::new();
    store.create_index("deep", ["a.a.a"]).expect("index");
    for depth in [1, 2, 100, MAX_DEPTH] {
        for document in [nested_objects(depth), nested_arrays(depth)] {
            let id = store.insert(document.clone()).expect("accepted");
            assert_eq!(
                store.get(id).expect("get").to_value(),
                document,
                "depth {depth}"
            );
        }
    }
    // An index over a deeply nested field, and a deep key, work.
    let found = ids(store.lookup("deep", nested_objects(97)).expect("lookup"));
    assert_eq!(found.len(), 1);
    assert_sound(&store);
}

#[test]
fn nesting_past_the_limit_is_refused_and_nothing_changes() {
    let store = Store::new();
    store.create_index("a", ["a"]).expect("index");
    let id = store.insert(json!({"a": 1})).expect("insert");
    let before = dump(&store);
    for depth in [MAX_DEPTH + 1, MAX_DEPTH + 2, 1_000] {
        for document in [nested_objects(depth), nested_arrays(depth)] {
            assert!(
                is_invalid_document(&store.insert(document.clone())),
                "insert at depth {depth}"
            );
            assert!(
                is_invalid_document(&store.update(id, document.clone())),
                "update at depth {depth}"
            );
            assert!(is_invalid_document(&store.update_if(
                id,
                1,
                document.clone()
            )));
            let refused = store.update_with(id, |_| document.clone());
            assert!(
                is_invalid_document(&refused),
                "update_with at depth {depth}"
            );
        }
    }
    assert_eq!(dump(&store), before, "a refused document changed the store");
    // The error says why.
    let error = store.insert(nested_objects(1_000)).expect_err("refused");
    assert!(error.to_string().contains("invalid document"), "{error}");
    assert_sound(&store);
}

#[test]
fn extremely_deep_documents_and_keys_are_refused_without_overflowing() {
    on_big_stack(|| {
        let store = Store::new();
        store.create_index("a", ["a"]).expect("index");
        let id = store.insert(json!({"a": 1})).expect("insert");
        for depth in [10_000, 100_000] {
            assert!(is_invalid_document(&store.insert(nested_objects(depth))));
            assert!(is_invalid_document(&store.insert(nested_arrays(depth))));
            assert!(is_invalid_document(
                &store.update(id, nested_objects(depth))
            ));
            // As a query key: refused as a key, not a crash.
            let key = nested_arrays(depth)["a"].clone();
            assert!(matches!(
                store.lookup("a", &key),
                Err(Error::InvalidKey { .. })
            ));
            assert!(matches!(
                store.range("a", key.clone()..),
                Err(Error::InvalidKey { .. })
            ));
        }
        assert_eq!(store.len(), Ok(1));
        assert_sound(&store);
    });
}

#[test]
fn a_query_key_nested_too_deeply_is_an_invalid_key() {
    let store = Store::new();
    store.create_index("a", ["a"]).expect("index");
    store.insert(json!({"a": 1})).expect("insert");
    let key = nested_arrays(1_000)["a"].clone();
    let error = store.lookup("a", &key).expect_err("refused");
    assert!(
        matches!(error, Error::InvalidKey { ref index, .. } if index == "a"),
        "{error}"
    );
    assert!(matches!(
        store.prefix("a", &key),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.range("a", ..=key),
        Err(Error::InvalidKey { .. })
    ));
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Size.
// ---------------------------------------------------------------------------

#[test]
fn a_one_megabyte_string_is_stored_indexed_and_found() {
    let store = Store::new();
    store.create_index("s", ["s"]).expect("index");
    let big: String = "ab\u{e9}\0".repeat(1 << 18);
    assert!(big.len() >= 1 << 20);
    let mut bigger = big.clone();
    bigger.push('z');
    let id = store.insert(json!({ "s": big })).expect("insert");
    let other = store.insert(json!({ "s": bigger })).expect("insert");
    let small = store.insert(json!({"s": "ab"})).expect("insert");
    assert_eq!(store.get(id).expect("get").to_value(), json!({ "s": big }));
    assert_eq!(ids(store.lookup("s", big.as_str()).expect("lookup")), [id]);
    assert_eq!(
        ids(store.by_index("s").expect("by_index")),
        [small, id, other]
    );
    assert_eq!(
        ids(store.range("s", big.as_str()..).expect("range")),
        [id, other]
    );
    assert_eq!(
        ids(store
            .range("s", (Bound::Excluded(big.as_str()), Bound::Unbounded))
            .expect("range")),
        [other]
    );
    assert_sound(&store);
}

#[test]
fn a_hundred_thousand_element_array_is_stored_and_keyed_whole() {
    let store = Store::new();
    store.create_index("v", ["v"]).expect("index");
    let big: Vec<u64> = (0..100_000).collect();
    let id = store.insert(json!({ "v": big })).expect("insert");
    assert_eq!(store.get(id).expect("get").to_value(), json!({ "v": big }));
    assert_eq!(ids(store.lookup("v", json!(big)).expect("lookup")), [id]);
    let mut shorter = big.clone();
    shorter.pop();
    assert!(ids(store.lookup("v", json!(shorter)).expect("lookup")).is_empty());
    assert_eq!(
        ids(store.range("v", json!(shorter)..).expect("range")),
        [id]
    );
    assert_sound(&store);
}

#[test]
fn a_multi_key_index_refuses_a_document_with_too_many_keys() {
    let store = Store::new();
    store
        .create_index_with("tags", ["tags"], IndexOptions::new().multi_key())
        .expect("index");
    let ok = store.insert(json!({"tags": ["a", "b"]})).expect("insert");
    let before = dump(&store);
    let many: Vec<u64> = (0..100_000).collect();
    let refused = store.insert(json!({ "tags": many }));
    assert!(
        matches!(refused, Err(Error::InvalidKey { ref index, .. }) if index == "tags"),
        "{refused:?}"
    );
    let refused = store.update(ok, json!({ "tags": many }));
    assert!(
        matches!(refused, Err(Error::InvalidKey { .. })),
        "{refused:?}"
    );
    assert_eq!(dump(&store), before, "a refused write changed the store");

    // Creating such an index over a store that already holds the document
    // fails the same way and leaves no index behind.
    let plain = Store::new();
    plain
        .insert(json!({ "tags": many }))
        .expect("no index, no limit");
    let refused = plain.create_index_with("tags", ["tags"], IndexOptions::new().multi_key());
    assert!(
        matches!(refused, Err(Error::InvalidKey { .. })),
        "{refused:?}"
    );
    assert_eq!(plain.indexes().expect("indexes"), []);
    assert_sound(&store);
    assert_sound(&plain);
}

#[test]
fn twenty_thousand_fields() {
    let store = Store::new();
    let mut map = Map::new();
    for i in 0..20_000 {
        map.insert(format!("f{i}"), json!(i));
    }
    let document = Value::Object(map);
    store.create_index("last", ["f19999"]).expect("index");
    let id = store.insert(document.clone()).expect("insert");
    let stored = store.get(id).expect("get");
    assert_eq!(stored.to_value(), document);
    assert_eq!(stored.get("f12345").and_then(|v| v.as_u64()), Some(12_345));
    assert_eq!(stored.len(), 20_000);
    assert_eq!(ids(store.lookup("last", 19_999).expect("lookup")), [id]);
    store
        .create_index("first", ["f0"])
        .expect("index on a populated store");
    assert_eq!(ids(store.lookup("first", 0).expect("lookup")), [id]);
    let updated = store
        .update_with(id, |d| {
            let mut next = d.to_value();
            next["f19999"] = json!(-1);
            next
        })
        .expect("update_with");
    assert_eq!(updated.version(), 2);
    assert_eq!(ids(store.lookup("last", -1).expect("lookup")), [id]);
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Numbers.
// ---------------------------------------------------------------------------

#[test]
fn numbers_at_every_extreme_read_back_exactly_and_order_right() {
    let store = Store::new();
    store.create_index("n", ["n"]).expect("index");
    // Ascending, with equal keys grouped.
    let ladder: Vec<Vec<Value>> = vec![
        vec![json!(f64::MIN)],
        vec![json!(-1e308)],
        vec![json!(i64::MIN), json!(-9_223_372_036_854_775_808.0)],
        vec![json!(-1)],
        vec![json!(-5e-324)],
        vec![json!(0), json!(0.0), json!(-0.0)],
        vec![json!(5e-324)],
        vec![json!(f64::MIN_POSITIVE)],
        vec![json!(1)],
        vec![
            json!(9_007_199_254_740_992u64),
            json!(9_007_199_254_740_992.0),
        ],
        vec![json!(9_007_199_254_740_993u64)],
        vec![json!(i64::MAX)],
        vec![json!(u64::MAX)],
        vec![json!(1e308)],
        vec![json!(f64::MAX)],
    ];
    let mut group_of = BTreeMap::new();
    let mut inserted = Vec::new();
    for (g, values) in ladder.iter().enumerate().rev() {
        for value in values {
            let id = store.insert(json!({ "n": value })).expect("insert");
            group_of.insert(id, g);
            inserted.push((id, value.clone()));
        }
    }
    for (id, value) in &inserted {
        let back = store.get(*id).expect("get").to_value()["n"].clone();
        assert_eq!(&back, value);
        assert_eq!(back.as_u64(), value.as_u64(), "{value}: same integer");
        assert_eq!(back.as_i64(), value.as_i64(), "{value}: same integer");
        assert_eq!(
            back.is_f64(),
            value.is_f64(),
            "{value}: same representation"
        );
        if let (Some(a), Some(b)) = (back.as_f64(), value.as_f64()) {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{value}: same bits (the sign of zero too)"
            );
        }
    }
    let order: Vec<usize> = ids(store.by_index("n").expect("by_index"))
        .iter()
        .map(|id| group_of[id])
        .collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted, "index order of the extremes");
    // -0.0 is the key 0.
    let zeros = ids(store.lookup("n", 0).expect("lookup"));
    assert_eq!(zeros.len(), 3);
    assert_eq!(ids(store.lookup("n", -0.0).expect("lookup")), zeros);
    // Infinite bounds take every number; NaN is no key.
    let all = ids(store
        .range("n", f64::NEG_INFINITY..=f64::INFINITY)
        .expect("range"));
    assert_eq!(all.len(), inserted.len());
    assert!(matches!(
        store.lookup("n", f64::NAN),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.range("n", f64::NAN..1.0),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.range("n", 0.0..f64::NAN),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.get_unique("n", f64::NAN),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.get_unique("n", 1),
        Err(Error::NotUnique { .. })
    ));
    // Large integers beyond 64 bits as query keys order too.
    assert_eq!(ids(store.range("n", u128::MAX..).expect("range")).len(), 2);
    assert_eq!(ids(store.range("n", ..i128::MIN).expect("range")).len(), 2);
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Strings and field names.
// ---------------------------------------------------------------------------

#[test]
fn odd_strings_are_keys_like_any_other() {
    let store = Store::new();
    store.create_index("s", ["s"]).expect("index");
    let strings = [
        "",
        "\0",
        "\0\0",
        "\0a",
        "a",
        "a\0",
        "a\0b",
        "ab",
        "\u{7f}",
        "\u{80}",
        "\u{e9}",
        "\u{fffd}",
        "\u{feff}",
        "\u{10ffff}",
        "\\x00",
        "\\u0000",
        "\u{1F600}",
        "A",
        " ",
        "\n",
    ];
    let mut by_string = Vec::new();
    for s in strings {
        by_string.push((s, store.insert(json!({ "s": s })).expect("insert")));
    }
    for (s, id) in &by_string {
        assert_eq!(
            ids(store.lookup("s", *s).expect("lookup")),
            [*id],
            "lookup({s:?})"
        );
        assert_eq!(store.get(*id).expect("get").to_value(), json!({ "s": s }));
    }
    by_string.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let want: Vec<Id> = by_string.iter().map(|(_, id)| *id).collect();
    assert_eq!(
        ids(store.by_index("s").expect("by_index")),
        want,
        "strings order by bytes"
    );
    // A range between strings with NUL bytes.
    let between = strings
        .iter()
        .filter(|s| s.as_bytes() >= b"\0".as_slice() && s.as_bytes() < b"a".as_slice())
        .count();
    assert_eq!(
        ids(store.range("s", "\0".."a").expect("range")).len(),
        between
    );
    assert_sound(&store);
}

#[test]
fn odd_field_names_are_kept_and_indexable() {
    let store = Store::new();
    let document =
        json!({"": 1, "\0": 2, "\u{e9}t\u{e9}": 3, " ": 4, "a\\b": 5, "a.b": 6, "a": {"b": 7}});
    let id = store.insert(document.clone()).expect("insert");
    assert_eq!(store.get(id).expect("get").to_value(), document);
    store.create_index("nul", ["\0"]).expect("index");
    store
        .create_index("accent", ["\u{e9}t\u{e9}"])
        .expect("index");
    store.create_index("space", [" "]).expect("index");
    store.create_index("backslash", [r"a\\b"]).expect("index");
    assert_eq!(ids(store.lookup("nul", 2).expect("lookup")), [id]);
    assert_eq!(ids(store.lookup("accent", 3).expect("lookup")), [id]);
    assert_eq!(ids(store.lookup("space", 4).expect("lookup")), [id]);
    assert_eq!(ids(store.lookup("backslash", 5).expect("lookup")), [id]);
    // The empty field name cannot be addressed by a path: a clear error.
    let refused = store.create_index("empty", [""]);
    assert!(
        matches!(refused, Err(Error::InvalidIndex { ref name, .. }) if name == "empty"),
        "{refused:?}"
    );
    assert_sound(&store);
}

#[test]
fn a_dot_in_a_path_descends_and_an_escaped_dot_names_a_field() {
    let store = Store::new();
    store.create_index("escaped", [r"a\.b"]).expect("index");
    store.create_index("nested", ["a.b"]).expect("index");
    store.create_index("deeper", [r"x\.y.z"]).expect("index");
    let both = store
        .insert(json!({"a.b": 1, "a": {"b": 2}}))
        .expect("insert");
    let flat = store.insert(json!({"a.b": 2})).expect("insert");
    let nested = store.insert(json!({"a": {"b": 1}})).expect("insert");
    let mixed = store
        .insert(json!({"x.y": {"z": 9}, "x": {"y": {"z": 8}}}))
        .expect("insert");
    assert_eq!(ids(store.lookup("escaped", 1).expect("lookup")), [both]);
    assert_eq!(ids(store.lookup("escaped", 2).expect("lookup")), [flat]);
    assert_eq!(ids(store.lookup("nested", 2).expect("lookup")), [both]);
    assert_eq!(ids(store.lookup("nested", 1).expect("lookup")), [nested]);
    assert_eq!(ids(store.lookup("deeper", 9).expect("lookup")), [mixed]);
    assert!(ids(store.lookup("deeper", 8).expect("lookup")).is_empty());
    // Paths never index into arrays.
    store.create_index("into_array", ["l.0"]).expect("index");
    store.insert(json!({"l": [5]})).expect("insert");
    assert_eq!(store.by_index("into_array").expect("by_index").count(), 0);
    // The path is reported as written.
    let infos = store.indexes().expect("indexes");
    assert_eq!(infos[0].fields(), [r"a\.b"]);
    // Malformed paths are refused, naming the index; nothing is created.
    for bad in ["", ".", "a.", ".a", "a..b", r"a\", r"a\b", r"a\.b."] {
        let refused = store.create_index("bad", [bad]);
        assert!(
            matches!(refused, Err(Error::InvalidIndex { ref name, .. }) if name == "bad"),
            "{bad:?}: {refused:?}"
        );
    }
    assert!(matches!(
        store.create_index("none", Vec::<&str>::new()),
        Err(Error::EmptyIndex { .. })
    ));
    assert_eq!(store.indexes().expect("indexes").len(), 4);
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Indexes over arrays and objects, and ranges with mixed-type bounds.
// ---------------------------------------------------------------------------

#[test]
fn fields_holding_arrays_and_objects_are_keys_in_the_one_order() {
    let store = Store::new();
    store.create_index("v", ["v"]).expect("index");
    store
        .create_index_with("each", ["v"], IndexOptions::new().multi_key())
        .expect("index");
    // Ascending: booleans, numbers, strings, arrays, objects (null: not indexed).
    let values = [
        json!(false),
        json!(true),
        json!(-1),
        json!(1),
        json!("s"),
        json!([]),
        json!([1]),
        json!([1, 2]),
        json!([2]),
        json!([[1]]),
        json!({}),
        json!({"a": 1}),
        json!({"a": 1, "b": []}),
        json!({"b": 0}),
    ];
    let null = store.insert(json!({"v": null})).expect("insert");
    let mut inserted = Vec::new();
    for value in values.iter().rev() {
        inserted.push(store.insert(json!({ "v": value })).expect("insert"));
    }
    inserted.reverse();
    assert_eq!(
        ids(store.by_index("v").expect("by_index")),
        inserted,
        "plain index order"
    );
    assert!(!ids(store.by_index("v").expect("by_index")).contains(&null));
    for (value, id) in values.iter().zip(&inserted) {
        assert_eq!(
            ids(store.lookup("v", value).expect("lookup")),
            [*id],
            "lookup({value})"
        );
    }
    assert_eq!(
        ids(store.lookup("v", json!({"a": 1.0})).expect("lookup")),
        [inserted[11]]
    );
    assert_eq!(
        ids(store.lookup("v", json!([1.0, 2.0])).expect("lookup")),
        [inserted[7]]
    );
    // Multi-key: an array gives its elements; an empty array gives none.
    let mut ones = ids(store.lookup("each", 1).expect("lookup"));
    ones.sort();
    let mut want = vec![inserted[3], inserted[6], inserted[7]];
    want.sort();
    assert_eq!(ones, want);
    assert_eq!(
        ids(store.lookup("each", json!([1])).expect("lookup")),
        [inserted[9]]
    );
    assert!(!ids(store.by_index("each").expect("by_index")).contains(&inserted[5]));
    assert_sound(&store);

    // Ranges whose bounds have different types.
    let range = |start: Bound<Value>, end: Bound<Value>| {
        ids(store.range("v", (start, end)).expect("range"))
    };
    use Bound::{Excluded, Included, Unbounded};
    assert_eq!(
        range(Included(json!(1)), Excluded(json!("t"))),
        inserted[3..5]
    );
    assert_eq!(
        range(Included(json!(true)), Included(json!([]))),
        inserted[1..6]
    );
    assert_eq!(
        range(Excluded(json!("s")), Excluded(json!({}))),
        inserted[5..10]
    );
    assert_eq!(range(Included(json!(null)), Unbounded), inserted);
    assert_eq!(range(Unbounded, Excluded(json!(false))), []);
    assert_eq!(range(Included(json!([9])), Unbounded), inserted[9..]);
    // Inverted, by value or by type: empty, not a panic.
    assert_eq!(range(Included(json!("z")), Included(json!(1))), []);
    assert_eq!(range(Included(json!({})), Excluded(json!(null))), []);
    assert_eq!(range(Excluded(json!(1)), Excluded(json!(1))), []);
    assert_eq!(range(Included(json!(1)), Excluded(json!(1))), []);
    assert_eq!(range(Included(json!(1)), Included(json!(1))), [inserted[3]]);
    assert_eq!(
        ids(store.range("v", json!("z")..json!(1)).expect("range")),
        []
    );
    assert_eq!(
        ids(store.range("v", json!("z")..=json!(1)).expect("range")),
        []
    );
}

#[test]
fn composite_bounds_of_every_length_and_type() {
    let store = Store::new();
    store.create_index("ca", ["city", "age"]).expect("index");
    let paris_20 = store
        .insert(json!({"city": "Paris", "age": 20}))
        .expect("insert");
    let paris_x = store
        .insert(json!({"city": "Paris", "age": "x"}))
        .expect("insert");
    let rome_1 = store
        .insert(json!({"city": "Rome", "age": 1}))
        .expect("insert");
    let one_a = store
        .insert(json!({"city": 1, "age": [1]}))
        .expect("insert");
    store.insert(json!({"city": "Rome"})).expect("insert");
    assert_eq!(
        ids(store.by_index("ca").expect("by_index")),
        [one_a, paris_20, paris_x, rome_1]
    );
    // A bound with only the leading field: ("Rome",) as an exclusive end stops before Rome.
    assert_eq!(
        ids(store.range("ca", ("Paris",)..("Rome",)).expect("range")),
        [paris_20, paris_x]
    );
    // A bound with only the leading fields stands for every key that starts
    // with them: an inclusive end takes them, an exclusive start skips them.
    assert_eq!(
        ids(store.range("ca", ("Paris",)..=("Paris",)).expect("range")),
        [paris_20, paris_x]
    );
    assert_eq!(
        ids(store.range("ca", ..=("Paris",)).expect("range")),
        [one_a, paris_20, paris_x]
    );
    let after_paris = (Bound::Excluded(("Paris",)), Bound::Unbounded);
    assert_eq!(
        ids(store.range("ca", after_paris).expect("range")),
        [rome_1]
    );
    let around = (
        Bound::Excluded((json!(1),)),
        Bound::Included((json!("Paris"),)),
    );
    assert_eq!(
        ids(store.range("ca", around).expect("range")),
        [paris_20, paris_x]
    );
    let (from, to) = ((json!("Paris"), json!(20)), (json!("Paris"), json!("x")));
    assert_eq!(
        ids(store.range("ca", from..=to).expect("range")),
        [paris_20, paris_x]
    );
    assert_eq!(
        ids(store.range("ca", ("Paris", "x")..).expect("range")),
        [paris_x, rome_1]
    );
    assert_eq!(
        ids(store
            .range("ca", (json!(0), json!(null))..(json!("P"), json!(0)))
            .expect("range")),
        [one_a]
    );
    assert_eq!(
        ids(store.prefix("ca", "Paris").expect("prefix")),
        [paris_20, paris_x]
    );
    assert_eq!(
        ids(store.prefix("ca", ("Paris", 20)).expect("prefix")),
        [paris_20]
    );
    // Too many fields: an invalid key naming the index, not a panic.
    for refused in [
        store.lookup("ca", "Paris").map(|_| ()),
        store.lookup("ca", ("Paris", 20, 1)).map(|_| ()),
        store.prefix("ca", ("Paris", 20, 1)).map(|_| ()),
        store.range("ca", ("Paris", 20, 1)..).map(|_| ()),
        store.range("ca", ..("Paris", 20, 1)).map(|_| ()),
    ] {
        assert!(
            matches!(refused, Err(Error::InvalidKey { ref index, .. }) if index == "ca"),
            "{refused:?}"
        );
    }
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Ids.
// ---------------------------------------------------------------------------

#[test]
fn ids_that_do_not_exist_are_not_found() {
    let store = Store::new();
    store.create_index("n", ["n"]).expect("index");
    let live = store.insert(json!({"n": 1})).expect("insert");
    let deleted = store.insert(json!({"n": 2})).expect("insert");
    store.delete(deleted).expect("delete");
    let parsed: Id = "0190a6e2-8f3b-7c4d-9e5f-0123456789ab"
        .parse()
        .expect("a valid UUID");
    let max = Id::from_u128(u128::MAX);
    let before = dump(&store);
    for id in [Id::nil(), deleted, parsed, max] {
        let not_found = Err(Error::NotFound { id });
        assert_eq!(store.get(id).map(|_| ()), not_found);
        assert_eq!(store.contains(id), Ok(false));
        assert_eq!(
            store.update(id, json!({"n": 3})),
            Err(Error::NotFound { id })
        );
        assert_eq!(
            store.update_if(id, 1, json!({"n": 3})),
            Err(Error::NotFound { id })
        );
        let mut called = false;
        let result = store.update_with(id, |_| {
            called = true;
            json!({})
        });
        assert_eq!(result.map(|_| ()), not_found);
        assert!(
            !called,
            "update_with ran its closure for a missing document"
        );
        assert_eq!(store.delete(id).map(|_| ()), not_found);
        assert_eq!(store.delete_if(id, 1).map(|_| ()), not_found);
        let message = store.get(id).expect_err("missing").to_string();
        assert!(
            message.contains(&id.to_string()),
            "the error names the id: {message}"
        );
    }
    assert_eq!(dump(&store), before);
    // Ids round-trip through text and serde; garbage text is a parse error.
    let text = live.to_string();
    assert_eq!(text.parse::<Id>(), Ok(live));
    assert_eq!(text.to_uppercase().parse::<Id>(), Ok(live));
    let json = serde_json::to_value(live).expect("serialize");
    assert_eq!(json, json!(text));
    assert_eq!(
        serde_json::from_value::<Id>(json).expect("deserialize"),
        live
    );
    let long = "x".repeat(100_000);
    for garbage in [
        "",
        "nil",
        "0190a6e2-8f3b-7c4d-9e5f-0123456789a",
        "\0",
        "\u{10ffff}",
        long.as_str(),
    ] {
        let error = garbage.parse::<Id>().expect_err("not an id");
        assert!(
            error.to_string().len() < 1_000,
            "the parse error stays short"
        );
    }
    assert!(serde_json::from_value::<Id>(json!(42)).is_err());
    assert!(serde_json::from_value::<Id>(json!("nope")).is_err());
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Non-object documents and update_with returning garbage.
// ---------------------------------------------------------------------------

#[test]
fn non_objects_are_refused_and_nothing_changes() {
    let store = Store::new();
    store.create_index("n", ["n"]).expect("index");
    let id = store.insert(json!({"n": 1})).expect("insert");
    let before = dump(&store);
    for value in [
        json!(null),
        json!(true),
        json!(1),
        json!(-0.0),
        json!("{}"),
        json!([]),
        json!([{"n": 1}]),
    ] {
        assert!(
            is_invalid_document(&store.insert(value.clone())),
            "insert({value})"
        );
        assert!(
            is_invalid_document(&store.update(id, value.clone())),
            "update({value})"
        );
        assert!(
            is_invalid_document(&store.update_if(id, 1, value.clone())),
            "update_if({value})"
        );
        let mut calls = 0;
        let result = store.update_with(id, |_| {
            calls += 1;
            value.clone()
        });
        assert!(
            is_invalid_document(&result),
            "update_with returning {value}"
        );
        assert_eq!(calls, 1, "a refused closure result is not retried");
        let message = result.expect_err("refused").to_string();
        assert!(message.contains("object"), "the error says why: {message}");
    }
    assert_eq!(dump(&store), before);
    assert_eq!(store.get(id).expect("get").version(), 1);
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Close racing everything.
// ---------------------------------------------------------------------------

/// Every call made while another thread closes the store returns its normal
/// result or `Closed`, never panics; once a thread has seen `Closed`, it never
/// sees success again; afterwards everything is `Closed`, and snapshots taken
/// before stay readable.
#[test]
fn operations_racing_close_return_ok_or_closed() {
    const THREADS: usize = 8;
    const CLOSERS: usize = 3;
    const OPS: usize = 400;
    for round in 0..4 {
        let store = Arc::new(Store::new());
        store.create_index("t", ["t"]).expect("index");
        store
            .create_index_with("u", ["u"], IndexOptions::new().unique())
            .expect("index");
        for i in 0..50 {
            store
                .insert(json!({"t": 0, "u": format!("seed{i}")}))
                .expect("insert");
        }
        let held = store.snapshot().expect("snapshot");
        let held_iter = store.iter().expect("iter");
        let ops_done = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(THREADS + CLOSERS));
        let mut workers = Vec::new();
        for t in 0..THREADS {
            let (store, ops_done, start) = (
                Arc::clone(&store),
                Arc::clone(&ops_done),
                Arc::clone(&start),
            );
            workers.push(thread::spawn(move || {
                start.wait();
                let mut mine: Vec<Id> = Vec::new();
                let mut seen_closed = false;
                let mut check = |what: &str, ok: bool, closed: bool| {
                    assert!(ok || closed, "{what}: neither Ok nor Closed");
                    if closed {
                        seen_closed = true;
                    } else {
                        assert!(
                            !seen_closed,
                            "{what}: succeeded after the store was seen closed"
                        );
                    }
                };
                let closed = |e: &Error| *e == Error::Closed;
                for i in 0..OPS {
                    let name = format!("idx{t}_{i}");
                    match i % 14 {
                        0 | 1 => {
                            let r = store.insert(json!({"t": t, "u": format!("{t}-{i}")}));
                            check("insert", r.is_ok(), r.as_ref().is_err_and(closed));
                            mine.extend(r);
                        }
                        2 => {
                            let id = mine.last().copied().unwrap_or(Id::nil());
                            let r = store.get(id);
                            let ok = r.is_ok()
                                || (id == Id::nil()
                                    && r.as_ref().is_err_and(|e| *e == Error::NotFound { id }));
                            check("get", ok, r.as_ref().is_err_and(closed));
                        }
                        3 => {
                            if let Some(id) = mine.last().copied() {
                                let r = store.update(id, json!({"t": t, "u": format!("{t}-{i}")}));
                                check("update", r.is_ok(), r.as_ref().is_err_and(closed));
                            }
                        }
                        4 => {
                            if let Some(id) = mine.last().copied() {
                                let r = store.update_with(id, |d| {
                                    let mut next = d.to_value();
                                    next["n"] = json!(i);
                                    next
                                });
                                check("update_with", r.is_ok(), r.as_ref().is_err_and(closed));
                            }
                        }
                        5 => {
                            if let Some(id) = mine.pop() {
                                let r = store.delete(id);
                                check("delete", r.is_ok(), r.as_ref().is_err_and(closed));
                            }
                        }
                        6 => {
                            let r = store.lookup("t", t).map(Iterator::count);
                            check("lookup", r.is_ok(), r.as_ref().is_err_and(closed));
                        }
                        7 => {
                            let r = store
                                .range("u", "0".."9")
                                .map(|it| it.rev().take(3).count());
                            check("range", r.is_ok(), r.as_ref().is_err_and(closed));
                        }
                        8 => {
                            let r = store.iter().map(Iterator::count);
                            check("iter", r.is_ok(), r.as_ref().is_err_and(closed));
                        }
                        9 => {
                            let r = store.create_index(&name, ["t"]);
                            check("create_index", r.is_ok(), r.as_ref().is_err_and(closed));
                            if r.is_ok() {
                                let r = store.drop_index(&name);
                                check("drop_index", r.is_ok(), r.as_ref().is_err_and(closed));
                            }
                        }
                        10 => {
                            let r = store.verify();
                            check(
                                "verify",
                                r.as_ref().is_ok_and(Vec::is_empty),
                                r.as_ref().is_err_and(closed),
                            );
                        }
                        11 => {
                            let r = store.clone_filtered(|d| d.version() > 1);
                            check("clone_filtered", r.is_ok(), r.as_ref().is_err_and(closed));
                            if let Ok(copy) = r {
                                assert_eq!(copy.verify(), Ok(Vec::new()));
                            }
                        }
                        12 => {
                            let copy = (*store).clone();
                            let r = copy.len();
                            check("clone", r.is_ok(), r.as_ref().is_err_and(closed));
                            assert_eq!(copy.is_closed(), r.is_err());
                        }
                        _ => {
                            let r = store.cursor().map(|mut c| {
                                c.advance(5);
                                c.prev().is_some()
                            });
                            check("cursor", r.is_ok(), r.as_ref().is_err_and(closed));
                        }
                    }
                    ops_done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for c in 0..CLOSERS {
            let (store, ops_done, start) = (
                Arc::clone(&store),
                Arc::clone(&ops_done),
                Arc::clone(&start),
            );
            workers.push(thread::spawn(move || {
                start.wait();
                // Close part-way through: after a number of operations, not a time.
                let after = (round * 700 + c * 50) % (THREADS * OPS / 2);
                while ops_done.load(Ordering::Relaxed) < after {
                    thread::yield_now();
                }
                store.close();
                assert!(store.is_closed());
            }));
        }
        for worker in workers {
            worker.join().expect("no thread panicked");
        }
        assert!(store.is_closed());
        store.close();
        assert_eq!(store.len(), Err(Error::Closed));
        assert_eq!(store.get(Id::nil()).map(|_| ()), Err(Error::Closed));
        assert_eq!(store.insert(json!({})), Err(Error::Closed));
        assert_eq!(store.update(Id::nil(), json!({})), Err(Error::Closed));
        assert_eq!(store.delete(Id::nil()).map(|_| ()), Err(Error::Closed));
        assert_eq!(store.create_index("x", ["x"]), Err(Error::Closed));
        assert_eq!(store.drop_index("t"), Err(Error::Closed));
        assert_eq!(store.lookup("t", 0).map(|_| ()), Err(Error::Closed));
        assert_eq!(store.snapshot().map(|_| ()), Err(Error::Closed));
        assert_eq!(store.verify(), Err(Error::Closed));
        assert!(store.clone().is_closed());
        // What was taken before close is still readable.
        assert_eq!(held.len(), 50);
        assert_eq!(held_iter.count(), 50);
        assert_eq!(held.lookup("t", 0).expect("held").count(), 50);
    }
}

/// The specification: "close() makes every later operation fail with the
/// closed error". That includes calls whose arguments are also wrong.
#[test]
fn a_closed_store_answers_closed_even_to_bad_arguments() {
    let store = Store::new();
    let id = store.insert(json!({})).expect("insert");
    store.close();
    assert_eq!(store.insert(json!(1)), Err(Error::Closed));
    assert_eq!(store.update(id, json!(1)), Err(Error::Closed));
    assert_eq!(store.update_if(id, 1, json!(1)), Err(Error::Closed));
    assert_eq!(
        store.create_index("x", Vec::<&str>::new()),
        Err(Error::Closed)
    );
    assert_eq!(store.create_index("x", ["a..b"]), Err(Error::Closed));
}

// ---------------------------------------------------------------------------
// verify() finds planted corruption.
// ---------------------------------------------------------------------------

#[test]
fn verify_finds_a_planted_corruption() {
    let store = Store::new();
    store.create_index("by_city", ["city"]).expect("index");
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .expect("index");
    let paris = store
        .insert(json!({"city": "Paris", "tags": ["a", "b"]}))
        .expect("insert");
    let rome = store.insert(json!({"city": "Rome"})).expect("insert");
    assert_sound(&store);
    // Nothing to remove: nothing changes.
    assert!(!store.corrupt_index_for_tests("no_such_index", paris));
    assert!(!store.corrupt_index_for_tests("by_tag", rome));
    assert!(!store.corrupt_index_for_tests("by_city", Id::nil()));
    assert_sound(&store);
    // A snapshot and a clone taken before the corruption stay sound.
    let clone = store.clone();
    assert!(store.corrupt_index_for_tests("by_city", paris));
    let problems = store.verify().expect("verify");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("by_city"),
        "the problem names the index: {problems:?}"
    );
    assert!(
        problems[0].contains(&paris.to_string()),
        "the problem names the document: {problems:?}"
    );
    assert_sound(&clone);
    // Each missing entry is reported.
    assert!(store.corrupt_index_for_tests("by_tag", paris));
    assert!(store.corrupt_index_for_tests("by_tag", paris));
    let problems = store.verify().expect("verify");
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(problems.iter().filter(|p| p.contains("by_tag")).count(), 2);
    // Rebuilding the index repairs it.
    store.drop_index("by_city").expect("drop");
    store.drop_index("by_tag").expect("drop");
    store.create_index("by_city", ["city"]).expect("index");
    assert_sound(&store);
}

#[test]
fn verify_finds_a_covering_entry_holding_another_version() {
    let store = Store::new();
    store
        .create_index_with("by_city", ["city"], IndexOptions::new().covering())
        .expect("index");
    let paris = store.insert(json!({"city": "Paris"})).expect("insert");
    store
        .update(paris, json!({"city": "Paris", "n": 2}))
        .expect("update");
    assert_sound(&store);
    assert!(!store.stale_index_entries_for_tests("by_city", Id::nil()));
    assert!(store.stale_index_entries_for_tests("by_city", paris));
    let problems = store.verify().expect("verify");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("by_city") && problems[0].contains(&paris.to_string()),
        "the problem names the index and the document: {problems:?}"
    );
    // An update re-points every entry of the document, even under an unchanged key.
    store
        .update(paris, json!({"city": "Paris", "n": 3}))
        .expect("update");
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Panic safety.
// ---------------------------------------------------------------------------

fn populated() -> Store {
    let store = Store::new();
    store.create_index("by_city", ["city"]).expect("index");
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .expect("index");
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .expect("index");
    for i in 0..40 {
        store
            .insert(json!({"city": if i % 2 == 0 { "Paris" } else { "Rome" }, "email": format!("{i}@x"), "tags": ["a", i.to_string()], "n": i}))
            .expect("insert");
    }
    store
}

#[test]
fn a_panicking_update_with_closure_leaves_the_store_as_it_was() {
    let store = Arc::new(populated());
    let id = store.iter().expect("iter").nth(7).expect("a document").id();
    let before = dump(&store);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        store.update_with(id, |_| -> Value { panic!("the closure panics") })
    }));
    assert!(outcome.is_err(), "the panic reaches the caller");
    assert_eq!(
        dump(&store),
        before,
        "a panicking closure changed the store"
    );
    assert_sound(&store);

    // A closure that panics only on a retry, while other threads write the same document.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        thread::spawn(move || {
            let mut writes = 0u64;
            while !stop.load(Ordering::Acquire) || writes < 50 {
                store
                    .update_with(id, |d| {
                        let mut next = d.to_value();
                        next["n"] = json!(next["n"].as_u64().unwrap_or(0) + 1);
                        next
                    })
                    .expect("another thread's update_with");
                writes += 1;
            }
            writes
        })
    };
    for _ in 0..50 {
        let mut calls = 0;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            store.update_with(id, |d| {
                calls += 1;
                if calls > 1 {
                    panic!("panics on a retry");
                }
                thread::yield_now();
                d.to_value()
            })
        }));
        assert!(outcome.is_err() || calls == 1);
    }
    stop.store(true, Ordering::Release);
    let writes = writer.join().expect("the other thread kept working");
    let n = store
        .get(id)
        .expect("get")
        .get("n")
        .and_then(|v| v.as_u64());
    let successes = store.get(id).expect("get").version() - 1 - writes;
    assert_eq!(
        n,
        Some(7 + writes),
        "every other write landed, no panicking one did"
    );
    assert!(successes <= 50);
    assert_sound(&store);

    // Other threads use the store normally after a panic.
    let before = dump(&store);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        store.update_with(id, |_| -> Value { panic!("again") })
    }));
    assert_eq!(dump(&store), before);
    let others: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                let new = store
                    .insert(json!({"city": "Oslo", "email": format!("t{t}@x")}))
                    .expect("insert");
                store
                    .update(new, json!({"city": "Lima", "email": format!("t{t}@x")}))
                    .expect("update");
                store.lookup("by_city", "Lima").expect("lookup").count()
            })
        })
        .collect();
    for other in others {
        assert!(other.join().expect("no panic") >= 1);
    }
    assert_eq!(store.len(), Ok(44));
    assert_sound(&store);
}

#[test]
fn a_panicking_clone_filtered_predicate_leaves_the_store_as_it_was() {
    let store = Arc::new(populated());
    let before = dump(&store);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut seen = 0;
        store.clone_filtered(|_| {
            seen += 1;
            assert!(seen < 20, "the predicate panics part-way");
            true
        })
    }));
    assert!(outcome.is_err(), "the panic reaches the caller");
    assert_eq!(
        dump(&store),
        before,
        "a panicking predicate changed the store"
    );
    assert_sound(&store);
    // Writers and readers in other threads carry on, during and after.
    let writer = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            for i in 0..100 {
                store
                    .insert(json!({"city": "Oslo", "email": format!("w{i}@x")}))
                    .expect("insert");
            }
        })
    };
    for _ in 0..10 {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            store.clone_filtered(|_| -> bool { panic!("always") })
        }));
    }
    writer.join().expect("the writer kept working");
    assert_eq!(store.len(), Ok(140));
    let kept = store
        .clone_filtered(|d| d.get("city").and_then(|c| c.as_str()) == Some("Oslo"))
        .expect("clone");
    assert_eq!(kept.len(), Ok(100));
    assert_sound(&kept);
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// Odd index names and repeated definitions.
// ---------------------------------------------------------------------------

#[test]
fn odd_index_names_and_repeated_definitions() {
    let store = Store::new();
    store.insert(json!({"a": 1, "b": 1})).expect("insert");
    store.insert(json!({"a": 1, "b": 2})).expect("insert");
    for name in ["", "\0", "a.b", "\u{1F600}", " "] {
        store
            .create_index(name, ["a"])
            .expect("any string names an index");
        assert_eq!(
            store.lookup(name, 1).expect("lookup").count(),
            2,
            "{name:?}"
        );
    }
    assert!(
        matches!(store.create_index("", ["b"]), Err(Error::IndexExists { ref name }) if name.is_empty())
    );
    assert!(
        matches!(store.lookup("nope", 1), Err(Error::IndexNotFound { ref name }) if name == "nope")
    );
    assert!(matches!(
        store.drop_index("nope"),
        Err(Error::IndexNotFound { .. })
    ));
    assert!(matches!(
        store.get_unique("", 1),
        Err(Error::NotUnique { .. })
    ));
    // A unique index over clashing documents fails and leaves nothing behind;
    // the same definition over distinct keys then succeeds.
    let refused = store.create_index_with("u", ["a"], IndexOptions::new().unique());
    assert!(
        matches!(refused, Err(Error::UniqueViolation { ref index, .. }) if index == "u"),
        "{refused:?}"
    );
    assert!(
        store
            .indexes()
            .expect("indexes")
            .iter()
            .all(|i| i.name() != "u")
    );
    store
        .create_index_with("u", ["b"], IndexOptions::new().unique())
        .expect("distinct keys");
    // The same fields under two names; many indexes at once.
    for i in 0..200 {
        store
            .create_index(&format!("i{i}"), ["a", "b"])
            .expect("index");
    }
    assert_eq!(store.indexes().expect("indexes").len(), 206);
    store.insert(json!({"a": 2, "b": 3})).expect("insert");
    assert_sound(&store);
    for i in 0..200 {
        store.drop_index(&format!("i{i}")).expect("drop");
    }
    assert_sound(&store);
}

// ---------------------------------------------------------------------------
// The depth limit is the JSON text's.
// ---------------------------------------------------------------------------

#[test]
fn a_document_at_the_depth_limit_round_trips_through_json_text() {
    on_big_stack(|| {
        let store = Store::new();
        for document in [nested_objects(MAX_DEPTH), nested_arrays(MAX_DEPTH)] {
            let id = store.insert(document.clone()).expect("accepted");
            let text = serde_json::to_string(&store.get(id).expect("get")).expect("to text");
            let back: Value = serde_json::from_str(&text).expect("serde_json reads it back");
            assert_eq!(back, document);
            assert_eq!(store.insert(back).map(|_| ()), Ok(()));
        }
        // One level more is what serde_json refuses to parse, and so does the store.
        for document in [nested_objects(MAX_DEPTH + 1), nested_arrays(MAX_DEPTH + 1)] {
            let text = serde_json::to_string(&document).expect("to text");
            let parsed = serde_json::from_str::<Value>(&text);
            assert!(
                parsed.is_err_and(|error| error.to_string().contains("recursion limit")),
                "serde_json's limit moved"
            );
            assert!(is_invalid_document(&store.insert(document)));
        }
        assert_sound(&store);
    });
}
