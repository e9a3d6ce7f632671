//! A store's life: clone, filtered clone, close, drop, and the error type.

use docstore::{Document, Error, Id, IndexInfo, IndexOptions, Store};
use serde_json::json;

fn ids(iter: impl Iterator<Item = Document>) -> Vec<Id> {
    iter.map(|doc| doc.id()).collect()
}

fn sample() -> (Store, Vec<Id>) {
    let store = Store::new();
    store.create_index("by_city", ["city"]).unwrap();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    let docs = [
        json!({"city": "Paris", "email": "a@x", "tags": ["t1", "t2"], "n": 0}),
        json!({"city": "Rome", "email": "b@x", "tags": ["t2"], "n": 1}),
        json!({"city": "Paris", "email": "c@x", "tags": [], "n": 2}),
        json!({"city": "Oslo", "email": "d@x", "tags": ["t1"], "n": 3}),
    ];
    let ids: Vec<Id> = docs
        .iter()
        .map(|doc| store.insert(doc.clone()).unwrap())
        .collect();
    // Give some documents versions above 1.
    store
        .update(
            ids[1],
            json!({"city": "Rome", "email": "b@x", "tags": ["t3"], "n": 1}),
        )
        .unwrap();
    store
        .update(
            ids[1],
            json!({"city": "Rome", "email": "b@x", "tags": ["t3"], "n": 11}),
        )
        .unwrap();
    store
        .update(
            ids[2],
            json!({"city": "Paris", "email": "c@x", "tags": ["t1"], "n": 2}),
        )
        .unwrap();
    (store, ids)
}

fn versions(store: &Store) -> Vec<(Id, u64)> {
    store
        .iter()
        .unwrap()
        .map(|doc| (doc.id(), doc.version()))
        .collect()
}

#[test]
fn a_clone_has_the_same_documents_ids_versions_and_indexes() {
    let (store, id) = sample();
    let clone = store.clone();
    assert_eq!(versions(&clone), versions(&store));
    assert_eq!(versions(&clone)[1], (id[1], 3));
    assert_eq!(clone.indexes().unwrap(), store.indexes().unwrap());
    for (a, b) in clone.iter().unwrap().zip(store.iter().unwrap()) {
        assert_eq!(a, b);
        assert_eq!(a.value().to_value(), b.value().to_value());
    }
    assert_eq!(
        ids(clone.lookup("by_city", "Paris").unwrap()),
        ids(store.lookup("by_city", "Paris").unwrap())
    );
    assert_eq!(
        ids(clone.lookup("by_tag", "t1").unwrap()),
        [id[0], id[2], id[3]]
    );
    // The unique index is still unique in the clone.
    assert!(matches!(
        clone.insert(json!({"email": "a@x"})),
        Err(Error::UniqueViolation { .. })
    ));
    assert_eq!(clone.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn a_clone_is_independent_both_ways() {
    let (store, id) = sample();
    let clone = store.clone();

    // Writes to the clone do not show in the original...
    clone
        .update(id[0], json!({"city": "Lima", "email": "a@x"}))
        .unwrap();
    clone.delete(id[3]).unwrap();
    let in_clone = clone
        .insert(json!({"city": "Paris", "email": "z@x"}))
        .unwrap();
    clone.create_index("by_n", ["n"]).unwrap();
    clone.drop_index("by_tag").unwrap();
    assert_eq!(store.get(id[0]).unwrap().version(), 1);
    assert_eq!(
        store
            .get(id[0])
            .unwrap()
            .get("city")
            .and_then(|v| v.as_str()),
        Some("Paris")
    );
    assert!(store.contains(id[3]).unwrap());
    assert!(!store.contains(in_clone).unwrap());
    assert_eq!(store.len().unwrap(), 4);
    assert_eq!(store.lookup("by_city", "Lima").unwrap().count(), 0);
    assert_eq!(store.indexes().unwrap().len(), 3);
    assert!(store.lookup("by_n", 1).is_err());
    assert_eq!(store.lookup("by_tag", "t1").unwrap().count(), 3);

    // ...and writes to the original do not show in the clone.
    store
        .update(id[1], json!({"city": "Oslo", "email": "b@x"}))
        .unwrap();
    store.delete(id[2]).unwrap();
    let in_store = store
        .insert(json!({"city": "Oslo", "email": "y@x"}))
        .unwrap();
    assert_eq!(clone.get(id[1]).unwrap().version(), 3);
    assert!(clone.contains(id[2]).unwrap());
    assert!(!clone.contains(in_store).unwrap());
    assert_eq!(
        ids(clone.lookup("by_city", "Oslo").unwrap()),
        Vec::<Id>::new()
    );
    assert_eq!(
        ids(clone.lookup("by_city", "Paris").unwrap()),
        [id[2], in_clone]
    );
    // A key freed in one is not freed in the other.
    store.delete(id[0]).unwrap();
    assert!(clone.insert(json!({"email": "a@x"})).is_err());
    store.insert(json!({"email": "a@x"})).unwrap();

    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    assert_eq!(clone.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn new_ids_in_a_clone_sort_after_the_copied_ones() {
    let (store, id) = sample();
    let clone = store.clone();
    let a = clone.insert(json!({"n": 100})).unwrap();
    let b = store.insert(json!({"n": 100})).unwrap();
    assert!(a > id[3] && b > id[3]);
    let scanned = ids(clone.iter().unwrap());
    assert_eq!(scanned.last(), Some(&a));
    assert!(scanned.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn cloning_a_large_store_is_cheap_and_independent() {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    let ids: Vec<Id> = (0..10_000_u64)
        .map(|n| store.insert(json!({"n": n, "s": "some text"})).unwrap())
        .collect();
    // Many clones of 10k documents: O(1) each, so this is instant; a deep copy
    // per clone would make this test crawl.
    let clones: Vec<Store> = (0..2_000).map(|_| store.clone()).collect();
    for (i, clone) in clones.iter().enumerate().take(20) {
        clone.update(ids[i], json!({"n": 1_000_000 + i})).unwrap();
    }
    assert_eq!(clones[0].len().unwrap(), 10_000);
    assert_eq!(store.lookup("by_n", 1_000_000).unwrap().count(), 0);
    assert_eq!(clones[0].lookup("by_n", 1_000_000).unwrap().count(), 1);
    assert_eq!(clones[1].lookup("by_n", 1_000_000).unwrap().count(), 0);
    assert_eq!(clones[1].lookup("by_n", 1_000_001).unwrap().count(), 1);
    assert_eq!(clones[500].lookup("by_n", 0).unwrap().count(), 1);
    assert_eq!(store.get(ids[0]).unwrap().version(), 1);
    drop(clones);
    assert_eq!(store.len().unwrap(), 10_000);
    assert_eq!(store.by_index("by_n").unwrap().len(), 10_000);
}

#[test]
fn clone_filtered_keeps_accepted_documents_with_their_ids_and_versions() {
    let (store, id) = sample();
    let paris = store
        .clone_filtered(|doc| doc.get("city").and_then(|v| v.as_str()) == Some("Paris"))
        .unwrap();
    assert_eq!(paris.len().unwrap(), 2);
    assert_eq!(versions(&paris), [(id[0], 1), (id[2], 2)]);
    for kept in paris.iter().unwrap() {
        assert_eq!(kept, store.get(kept.id()).unwrap());
    }
    // Same index definitions, rebuilt over the kept documents only.
    let defs: Vec<IndexInfo> = paris.indexes().unwrap();
    assert_eq!(defs, store.indexes().unwrap());
    assert_eq!(ids(paris.lookup("by_tag", "t1").unwrap()), [id[0], id[2]]);
    assert_eq!(paris.lookup("by_tag", "t3").unwrap().count(), 0);
    assert_eq!(paris.lookup("by_city", "Rome").unwrap().count(), 0);
    assert_eq!(paris.lookup("by_city", "Oslo").unwrap().count(), 0);
    assert_eq!(paris.get_unique("by_email", "b@x").unwrap(), None);
    assert_eq!(paris.by_index("by_email").unwrap().len(), 2);
    // A key held only by a dropped document is free in the clone.
    paris.insert(json!({"email": "b@x"})).unwrap();
    assert!(paris.insert(json!({"email": "a@x"})).is_err());
    // The original is untouched.
    assert_eq!(store.len().unwrap(), 4);
    assert_eq!(store.lookup("by_city", "Rome").unwrap().count(), 1);
    assert_eq!(paris.verify().unwrap(), Vec::<String>::new());
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn clone_filtered_is_independent_and_continues_ids_after_the_original() {
    let (store, id) = sample();
    // Keep none of the newest documents.
    let first_only = store.clone_filtered(|doc| doc.id() == id[0]).unwrap();
    let added = first_only.insert(json!({"n": 9})).unwrap();
    assert!(
        added > id[3],
        "a new id must sort after every id of the original"
    );
    first_only.delete(id[0]).unwrap();
    assert!(store.contains(id[0]).unwrap());
    store.update(id[0], json!({"n": 0})).unwrap();
    assert!(!first_only.contains(id[0]).unwrap());

    let none = store.clone_filtered(|_| false).unwrap();
    assert!(none.is_empty().unwrap());
    assert_eq!(none.indexes().unwrap().len(), 3);
    let all = store.clone_filtered(|_| true).unwrap();
    assert_eq!(versions(&all), versions(&store));
}

#[test]
fn clone_filtered_sees_each_document_once_at_its_current_version() {
    let (store, _) = sample();
    let mut seen = Vec::new();
    store
        .clone_filtered(|doc| {
            seen.push((doc.id(), doc.version()));
            true
        })
        .unwrap();
    assert_eq!(seen, versions(&store));
}

#[test]
fn every_operation_on_a_closed_store_fails_with_closed() {
    let (store, id) = sample();
    assert!(!store.is_closed());
    store.close();
    assert!(store.is_closed());
    let closed = Err::<(), Error>(Error::Closed);
    let check = |what: &str, result: Result<(), Error>| {
        assert_eq!(result, closed, "{what} on a closed store");
    };
    check("insert", store.insert(json!({"a": 1})).map(|_| ()));
    check(
        "insert_object",
        store
            .insert_object(docstore::Object::from_value(json!({"a": 1})).unwrap())
            .map(|_| ()),
    );
    check("get", store.get(id[0]).map(|_| ()));
    check("get missing", store.get(Id::nil()).map(|_| ()));
    check("contains", store.contains(id[0]).map(|_| ()));
    check("update", store.update(id[0], json!({"a": 2})).map(|_| ()));
    check(
        "update_if",
        store.update_if(id[0], 1, json!({"a": 2})).map(|_| ()),
    );
    let mut called = false;
    check(
        "update_with",
        store
            .update_with(id[0], |_| {
                called = true;
                json!({"a": 2})
            })
            .map(|_| ()),
    );
    assert!(!called, "update_with ran its closure on a closed store");
    check("delete", store.delete(id[0]).map(|_| ()));
    check("delete_if", store.delete_if(id[0], 1).map(|_| ()));
    check("len", store.len().map(|_| ()));
    check("is_empty", store.is_empty().map(|_| ()));
    check("create_index", store.create_index("new", ["a"]));
    check(
        "create_index_with",
        store.create_index_with("new", ["a"], IndexOptions::new().unique()),
    );
    check(
        "create_index existing",
        store.create_index("by_city", ["a"]),
    );
    check("drop_index", store.drop_index("by_city"));
    check("drop_index unknown", store.drop_index("nope"));
    check("lookup", store.lookup("by_city", "Paris").map(|_| ()));
    check("lookup unknown", store.lookup("nope", "Paris").map(|_| ()));
    check("range", store.range("by_city", ..).map(|_| ()));
    check("prefix", store.prefix("by_city", "Paris").map(|_| ()));
    check("by_index", store.by_index("by_city").map(|_| ()));
    check(
        "get_unique",
        store.get_unique("by_email", "a@x").map(|_| ()),
    );
    check("iter", store.iter().map(|_| ()));
    check("cursor", store.cursor().map(|_| ()));
    check("snapshot", store.snapshot().map(|_| ()));
    check("indexes", store.indexes().map(|_| ()));
    check("verify", store.verify().map(|_| ()));
    let mut kept = 0;
    check(
        "clone_filtered",
        store
            .clone_filtered(|_| {
                kept += 1;
                true
            })
            .map(|_| ()),
    );
    assert_eq!(kept, 0);
    // Debug still works.
    let shown = format!("{store:?}");
    assert!(shown.contains("closed"), "{shown}");
}

#[test]

fn a_closed_store_reports_closed_even_for_bad_arguments() {
    let (store, id) = sample();
    store.close();
    assert_eq!(store.insert(json!([1])), Err(Error::Closed));
    assert_eq!(store.update(id[0], json!("x")), Err(Error::Closed));
    assert_eq!(store.update_if(id[0], 1, json!(null)), Err(Error::Closed));
    assert_eq!(
        store.create_index("e", Vec::<&str>::new()),
        Err(Error::Closed)
    );
    assert_eq!(store.create_index("bad", ["a..b"]), Err(Error::Closed));
}

#[test]
fn close_is_idempotent() {
    let (store, _) = sample();
    store.close();
    store.close();
    assert!(store.is_closed());
    assert_eq!(store.len(), Err(Error::Closed));
    store.close();
    assert_eq!(store.insert(json!({})), Err(Error::Closed));
}

#[test]
fn reads_taken_before_close_stay_readable() {
    let (store, id) = sample();
    let snapshot = store.snapshot().unwrap();
    let iter = store.iter().unwrap();
    let mut cursor = store.by_index("by_city").unwrap().into_cursor();
    let lookup = store.lookup("by_city", "Paris").unwrap();
    let doc = store.get(id[1]).unwrap();
    store.close();

    assert_eq!(ids(iter), id);
    assert_eq!(ids(lookup), [id[0], id[2]]);
    assert_eq!(cursor.len(), 4);
    assert_eq!(cursor.next().map(|d| d.id()), Some(id[3]));
    cursor.advance(10);
    assert_eq!(cursor.prev().map(|d| d.id()), Some(id[1]));
    assert_eq!(snapshot.len(), 4);
    assert_eq!(snapshot.get(id[0]).unwrap().id(), id[0]);
    assert_eq!(snapshot.lookup("by_tag", "t1").unwrap().count(), 3);
    assert_eq!(snapshot.indexes().len(), 3);
    assert_eq!(doc.get("n").and_then(|v| v.as_u64()), Some(11));
}

#[test]
fn reads_taken_before_drop_stay_readable() {
    let (store, id) = sample();
    let snapshot = store.snapshot().unwrap();
    let mut cursor = store.cursor().unwrap();
    drop(store);
    assert_eq!(ids(snapshot.iter()), id);
    assert_eq!(cursor.next().map(|d| d.id()), Some(id[0]));
}

#[test]
fn cloning_a_closed_store_gives_a_closed_store() {
    let (store, _) = sample();
    let before_close = store.clone();
    store.close();
    let clone = store.clone();
    assert!(clone.is_closed());
    assert_eq!(clone.len(), Err(Error::Closed));
    assert_eq!(
        clone.insert(json!({"a": 1})).map(|_| ()),
        Err(Error::Closed)
    );
    // A clone taken before close is unaffected by it.
    assert!(!before_close.is_closed());
    assert_eq!(before_close.len().unwrap(), 4);
    before_close.insert(json!({"a": 1})).unwrap();
    // Closing a clone does not close the original.
    let (other, _) = sample();
    let twin = other.clone();
    twin.close();
    assert!(!other.is_closed());
    assert_eq!(other.len().unwrap(), 4);
}

#[test]
fn a_filtered_clone_of_an_open_store_is_open() {
    let (store, _) = sample();
    let filtered = store.clone_filtered(|_| true).unwrap();
    store.close();
    assert!(!filtered.is_closed());
    assert_eq!(filtered.len().unwrap(), 4);
}

fn assert_error<E: std::error::Error + Send + Sync + Clone + PartialEq + 'static>(_: &E) {}

#[test]
fn errors_are_std_errors_with_useful_messages() {
    let store = Store::new();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    let id = store.insert(json!({"email": "dup@x"})).unwrap();
    store.update(id, json!({"email": "dup@x", "v": 2})).unwrap();
    let missing = Id::nil();

    let cases: Vec<(Error, Vec<String>)> = vec![
        (store.get(missing).unwrap_err(), vec![missing.to_string()]),
        (store.insert(json!([1])).unwrap_err(), vec!["object".into()]),
        (
            store.create_index("by_email", ["x"]).unwrap_err(),
            vec!["by_email".into()],
        ),
        (
            store.create_index("empty", Vec::<&str>::new()).unwrap_err(),
            vec!["empty".into()],
        ),
        (store.drop_index("ghost").unwrap_err(), vec!["ghost".into()]),
        (
            store.create_index("bad_path", ["a..b"]).unwrap_err(),
            vec!["bad_path".into(), "a..b".into()],
        ),
        (
            store.lookup("by_email", ("a", "b")).unwrap_err(),
            vec!["by_email".into()],
        ),
        (
            store.update_if(id, 1, json!({})).unwrap_err(),
            vec![id.to_string(), "1".into(), "2".into()],
        ),
        (
            store.insert(json!({"email": "dup@x"})).unwrap_err(),
            vec!["by_email".into(), "dup@x".into()],
        ),
        (Error::Closed, vec!["closed".into()]),
    ];
    for (error, needles) in cases {
        assert_error(&error);
        let text = error.to_string();
        assert!(!text.is_empty());
        for needle in needles {
            assert!(text.contains(&needle), "{text:?} lacks {needle:?}");
        }
        // Usable as a boxed std error, with `?`.
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error.clone());
        assert_eq!(boxed.to_string(), text);
        assert!(boxed.source().is_none());
        let debug = format!("{error:?}");
        assert!(!debug.is_empty());
    }
    store.close();
    let text = store.len().unwrap_err().to_string();
    assert!(text.contains("closed"), "{text}");
}

#[test]
fn errors_work_with_the_question_mark_operator() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::new();
    let id = store.insert(json!({"a": 1}))?;
    assert_eq!(store.get(id)?.version(), 1);
    let result: Result<(), Box<dyn std::error::Error>> = (|| {
        store.get(Id::nil())?;
        Ok(())
    })();
    let error = result.unwrap_err();
    assert!(error.to_string().contains(&Id::nil().to_string()));
    assert_eq!(
        error.downcast_ref::<Error>(),
        Some(&Error::NotFound { id: Id::nil() })
    );
    Ok(())
}

#[test]
fn matching_on_the_non_exhaustive_error() {
    let store = Store::new();
    let described = match store.get(Id::nil()) {
        Ok(_) => "found",
        Err(Error::NotFound { .. }) => "not found",
        Err(Error::Closed) => "closed",
        Err(_) => "other",
    };
    assert_eq!(described, "not found");
}
