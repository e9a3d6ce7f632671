//! The most hostile shape for every operation that takes a document or a key:
//! sizes at each limit, the deepest nesting, the widest arrays, the longest
//! strings, the most indexes. Each test counts the work done (calls of the
//! user's key code, keys produced) rather than timing it, so a quadratic or
//! combinatorial regression fails on any machine; and `verify()` stays empty.

use std::sync::atomic::{AtomicUsize, Ordering};

use docstore::{Collection, Error, IndexOptions, Indexed, MAX_DEPTH, Store};
use serde_json::{Map, Value, json};

/// Calls of `Hostile`'s computed keys, by every index together.
static KEY_CALLS: AtomicUsize = AtomicUsize::new(0);

fn calls() -> usize {
    KEY_CALLS.swap(0, Ordering::Relaxed)
}

/// A document whose computed keys are each up to 10,000 strings, the longest
/// being as long as the document makes them.
#[derive(Indexed, Clone, Debug)]
#[indexed(computed(by_word: Vec<String> = words, each))]
#[indexed(computed(by_len: usize = text_len))]
#[indexed(computed(by_text: String = whole, unique))]
struct Hostile {
    text: String,
    #[index(each)]
    numbers: Vec<u128>,
}

impl Hostile {
    fn words(&self) -> Vec<String> {
        KEY_CALLS.fetch_add(1, Ordering::Relaxed);
        self.text.split(' ').map(str::to_owned).collect()
    }

    fn text_len(&self) -> usize {
        KEY_CALLS.fetch_add(1, Ordering::Relaxed);
        self.text.len()
    }

    fn whole(&self) -> String {
        KEY_CALLS.fetch_add(1, Ordering::Relaxed);
        self.text.clone()
    }
}

fn hostile(words: usize, word_len: usize, salt: u128) -> Hostile {
    let text = (0..words)
        .map(|w| format!("{w:0width$}", width = word_len))
        .collect::<Vec<_>>()
        .join(" ");
    Hostile {
        text,
        numbers: (0..words as u128).map(|n| u128::MAX - n - salt).collect(),
    }
}

#[test]
fn every_typed_operation_runs_key_code_a_bounded_number_of_times() -> Result<(), Error> {
    let items = Collection::<Hostile>::new();
    // Three computed indexes: a write keys the new version once per index and
    // the old one once per index; a query keys nothing.
    let _ = calls();
    let big = items.insert(hostile(10_000, 8, 0))?;
    assert_eq!(calls(), 3);
    let small = items.insert(hostile(3, 1, 20_000))?;
    assert_eq!(calls(), 3);
    items.update(big, hostile(10_000, 9, 0))?;
    assert_eq!(calls(), 6);
    items.update_with(small, |old| Hostile {
        text: format!("{} extra", old.text),
        numbers: old.numbers.clone(),
    })?;
    assert_eq!(calls(), 6);
    let declined = items.try_update_with(big, |_| None)?;
    assert!(declined.is_declined());
    assert_eq!(declined.document().version(), 2);
    assert_eq!(calls(), 0);

    assert_eq!(items.range(Hostile::by_word, ..)?.len(), 2);
    assert_eq!(items.lookup(Hostile::by_word, "000009999")?.len(), 1);
    assert_eq!(items.range(Hostile::numbers, u128::MAX - 9_999..)?.len(), 1);
    assert_eq!(items.by_index(Hostile::numbers)?.rev().count(), 2);
    let longest = items.get(big)?.text.clone();
    assert_eq!(
        items
            .get_unique(Hostile::by_text, longest.as_str())?
            .map(|d| d.id()),
        Some(big)
    );
    assert_eq!(calls(), 0);

    // A refused write (a 10,001st distinct key) keys the document, and nothing else.
    let refused = items.insert(hostile(10_001, 1, 0));
    assert!(
        matches!(refused, Err(ref rejected) if matches!(rejected.error(), Error::InvalidKey { .. }))
    );
    assert!(calls() <= 3);

    // verify and clone_filtered rebuild every index: once per document each.
    assert!(items.verify()?.is_empty());
    assert_eq!(calls(), 2 * 3);
    let copy = items.clone_filtered(|doc| doc.id() == big)?;
    assert_eq!(calls(), 3);
    assert_eq!(copy.len()?, 1);
    items.delete(small)?;
    assert_eq!(calls(), 3);
    assert!(items.verify()?.is_empty());
    Ok(())
}

#[test]
fn a_store_with_a_hundred_indexes_keeps_every_one_exact() -> Result<(), Error> {
    let store = Store::new();
    for i in 0..100 {
        let options = match i % 3 {
            0 => IndexOptions::new(),
            1 => IndexOptions::new().multi_key(),
            _ => IndexOptions::new().covering(),
        };
        store.create_index_with(
            &format!("i{i}"),
            [format!("f{}", i % 10), "tags".to_owned()],
            options,
        )?;
    }
    let mut ids = Vec::new();
    for n in 0..50 {
        let mut fields = Map::new();
        for f in 0..10 {
            fields.insert(format!("f{f}"), json!(n * 10 + f));
        }
        fields.insert("tags".into(), json!(["a", "b", n]));
        ids.push(store.insert(Value::Object(fields))?);
    }
    for id in &ids[..25] {
        store.update_with(*id, |doc| {
            let mut next = doc.to_value();
            next["tags"] = json!([]);
            next
        })?;
    }
    for i in (0..100).step_by(2) {
        store.drop_index(&format!("i{i}"))?;
    }
    // Index 1 is multi-key on (f1, tags): an empty array gives no key.
    assert_eq!(store.by_index("i1")?.count(), 25);
    assert_eq!(store.prefix("i1", (11,))?.count(), 0);
    assert_eq!(store.prefix("i1", (261,))?.count(), 1);
    assert_eq!(store.lookup("i1", (261, "b"))?.count(), 1);
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn megabyte_strings_as_composite_keys_prefixes_and_bounds() -> Result<(), Error> {
    let store = Store::new();
    store.create_index("by_s_n", ["s", "n"])?;
    store.create_index_with("by_tags", ["tags"], IndexOptions::new().multi_key())?;
    let long = "\0x".repeat(1 << 19);
    let longer = format!("{long}\0");
    let a = store.insert(json!({"s": long, "n": 1, "tags": [long, longer, long]}))?;
    let b = store.insert(json!({"s": longer, "n": 0, "tags": [longer]}))?;
    assert_eq!(
        store
            .prefix("by_s_n", (long.as_str(),))?
            .map(|d| d.id())
            .collect::<Vec<_>>(),
        [a]
    );
    let all: Vec<_> = store
        .range("by_s_n", (long.as_str(),)..=(longer.as_str(),))?
        .map(|d| d.id())
        .collect();
    assert_eq!(all, [a, b]);
    let tagged: Vec<_> = store
        .range("by_tags", long.as_str()..)?
        .map(|d| d.id())
        .collect();
    assert_eq!(tagged, [a, b]);
    assert_eq!(store.lookup("by_tags", longer.as_str())?.count(), 2);
    assert!(store.verify()?.is_empty());
    Ok(())
}

/// `{"a": {"a": ... value}}` with `levels` objects around `value`.
fn wrapped(levels: usize, value: Value) -> Value {
    (0..levels).fold(value, |inner, _| json!({ "a": inner }))
}

#[test]
fn the_deepest_document_is_keyed_queried_and_rebuilt() -> Result<(), Error> {
    let store = Store::new();
    let path: Vec<&str> = vec!["a"; 3];
    store.create_index_with("deep", [path.join(".")], IndexOptions::new().multi_key())?;
    // The document is level 1; 3 objects more, then arrays to the limit.
    let innermost = (0..MAX_DEPTH - 5).fold(json!([]), |inner, _| json!([inner]));
    let document = wrapped(3, json!([innermost, 1]));
    let id = store.insert(document.clone())?;
    assert_eq!(store.get(id)?.to_value(), document);
    assert_eq!(store.lookup("deep", innermost)?.count(), 1);
    assert_eq!(store.lookup("deep", 1)?.count(), 1);
    store.create_index("deep_whole", ["a"])?;
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn an_index_created_over_hostile_documents_finishes_and_is_exact() -> Result<(), Error> {
    let store = Store::new();
    let wide: Vec<u32> = (0..20_000).collect();
    let items: Vec<Value> = (0..5_000)
        .map(|n| json!({"sku": n % 100, "qty": n}))
        .collect();
    let combos = store.insert(json!({"a": wide, "b": wide, "c": [], "items": items}))?;
    let repeated = store.insert(json!({"a": vec![1; 20_000], "b": vec![2; 20_000], "c": [3]}))?;
    let too_many = store.insert(
        json!({"a": (0..101).collect::<Vec<_>>(), "b": (0..100).collect::<Vec<_>>(), "c": [0]}),
    )?;
    store.create_index_with(
        "sku_qty",
        ["items.sku", "items.qty"],
        IndexOptions::new().multi_key(),
    )?;
    assert_eq!(store.lookup("sku_qty", (7, 4_907))?.count(), 1);
    assert_eq!(store.prefix("sku_qty", (7,))?.count(), 1);
    // 101 x 100 x 1 keys is one document past the cap: the index is refused.
    let refused = store.create_index_with("abc", ["a", "b", "c"], IndexOptions::new().multi_key());
    assert!(
        matches!(refused, Err(Error::InvalidKey { .. })),
        "{refused:?}"
    );
    store.delete(too_many)?;
    store.create_index_with("abc", ["a", "b", "c"], IndexOptions::new().multi_key())?;
    assert_eq!(
        store.by_index("abc")?.map(|d| d.id()).collect::<Vec<_>>(),
        [repeated]
    );
    store.update(combos, json!({"a": [1], "b": [2], "c": [3, 4]}))?;
    assert_eq!(store.lookup("abc", (1, 2, 4))?.count(), 1);
    assert_eq!(store.lookup("abc", (1, 2, 3))?.count(), 2);
    assert!(store.verify()?.is_empty());
    Ok(())
}
