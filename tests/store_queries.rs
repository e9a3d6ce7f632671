//! Queries on the schemaless store: the key order, lookup, every range form,
//! prefix, result order, first/last k, exact lengths, get_unique.

use std::ops::Bound;

use docstore::{Document, Error, Id, IndexOptions, Store};
use serde_json::{Value, json};

fn ids(iter: impl Iterator<Item = Document>) -> Vec<Id> {
    iter.map(|doc| doc.id()).collect()
}

fn field(doc: &Document, name: &str) -> Value {
    doc.get(name).map(|v| v.to_value()).unwrap_or(Value::Null)
}

/// A store with an index "i" on field "k", holding one document per value in
/// `keys`, inserted in that order. Returns the ids, in the same order.
fn keyed(keys: &[Value]) -> (Store, Vec<Id>) {
    let store = Store::new();
    store.create_index("i", ["k"]).unwrap();
    let ids = keys
        .iter()
        .map(|k| store.insert(json!({ "k": k })).unwrap())
        .collect();
    (store, ids)
}

#[test]
fn key_order_is_null_bool_number_string_array_object() {
    // In the order the contract defines, a strictly increasing sequence.
    let ordered = vec![
        json!(false),
        json!(true),
        json!(-1e300),
        json!(-5),
        json!(-0.5),
        json!(0),
        json!(0.5),
        json!(5),
        json!(1e300),
        json!(""),
        json!("A"),
        json!("B"),
        json!("a"),
        json!("a\u{0}"),
        json!("a\u{0}b"),
        json!("aa"),
        json!("b"),
        json!("é"),
        json!("\u{FFFF}"),
        json!([]),
        json!([null]),
        json!([null, null]),
        json!([false]),
        json!([true]),
        json!([-1]),
        json!([1]),
        json!([1, 2]),
        json!([2]),
        json!([""]),
        json!(["a"]),
        json!([[]]),
        json!([[1]]),
        json!([{}]),
        json!({}),
        json!({"a": null}),
        json!({"a": 1}),
        json!({"a": 1, "b": 0}),
        json!({"a": 2}),
        json!({"b": 0}),
    ];
    // Insert in a scrambled order, with a null that the index leaves out.
    let mut scrambled: Vec<Value> = Vec::new();
    for step in 0..ordered.len() {
        scrambled.push(ordered[(step * 17 + 5) % ordered.len()].clone());
    }
    scrambled.insert(7, Value::Null);
    let mut distinct = scrambled.clone();
    distinct.sort_by_key(|v| v.to_string());
    distinct.dedup();
    assert_eq!(distinct.len(), ordered.len() + 1, "scramble lost values");

    let (store, _) = keyed(&scrambled);
    let seen: Vec<Value> = store
        .range("i", ..)
        .unwrap()
        .map(|doc| field(&doc, "k"))
        .collect();
    assert_eq!(seen, ordered);
    let backwards: Vec<Value> = store
        .range("i", ..)
        .unwrap()
        .rev()
        .map(|doc| field(&doc, "k"))
        .collect();
    let mut reversed = ordered.clone();
    reversed.reverse();
    assert_eq!(backwards, reversed);

    // Each type class is a contiguous block.
    let block = |range: (Bound<Value>, Bound<Value>)| -> Vec<Value> {
        store
            .range("i", range)
            .unwrap()
            .map(|doc| field(&doc, "k"))
            .collect()
    };
    use Bound::{Excluded, Included, Unbounded};
    assert_eq!(
        block((Included(json!(null)), Included(json!(true)))),
        [json!(false), json!(true)]
    );
    assert_eq!(
        block((Unbounded, Excluded(json!(false)))),
        Vec::<Value>::new()
    );
    assert_eq!(
        block((Excluded(json!(true)), Excluded(json!("")))),
        ordered[2..9]
    );
    assert_eq!(
        block((Included(json!("")), Excluded(json!([])))),
        ordered[9..19]
    );
    assert_eq!(
        block((Included(json!([])), Excluded(json!({})))),
        ordered[19..33]
    );
    assert_eq!(block((Included(json!({})), Unbounded)), ordered[33..]);
    assert_eq!(store.lookup("i", json!(null)).unwrap().count(), 0);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

#[test]
fn ints_and_floats_are_one_number_line() {
    let keys = [
        json!(6),
        json!(5.0),
        json!(5.5),
        json!(5),
        json!(4),
        json!(-1),
        json!(-1.5),
        json!(0),
        json!(-0.0),
        json!(0.0),
        json!(4.999_999_999_999_999),
    ];
    let (store, id) = keyed(&keys);
    // 5 and 5.0 are the same key; ties come in id order.
    assert_eq!(ids(store.lookup("i", 5).unwrap()), [id[1], id[3]]);
    assert_eq!(ids(store.lookup("i", 5.0).unwrap()), [id[1], id[3]]);
    assert_eq!(ids(store.lookup("i", 5_u8).unwrap()), [id[1], id[3]]);
    assert_eq!(ids(store.lookup("i", -0.0).unwrap()), [id[7], id[8], id[9]]);
    assert_eq!(ids(store.lookup("i", 0).unwrap()), [id[7], id[8], id[9]]);
    assert_eq!(ids(store.lookup("i", 5.5).unwrap()), [id[2]]);
    assert_eq!(ids(store.lookup("i", -1.5).unwrap()), [id[6]]);
    assert_eq!(store.lookup("i", 5.25).unwrap().count(), 0);
    // 5.5 sorts between 5 and 6.
    assert_eq!(
        ids(store.by_index("i").unwrap()),
        [
            id[6], id[5], id[7], id[8], id[9], id[4], id[10], id[1], id[3], id[2], id[0]
        ]
    );
    assert_eq!(ids(store.range("i", 5.1..6.0).unwrap()), [id[2]]);
    assert_eq!(ids(store.range("i", 5..6).unwrap()), [id[1], id[3], id[2]]);
    assert_eq!(
        ids(store
            .range("i", (Bound::Excluded(5), Bound::Included(6)))
            .unwrap()),
        [id[2], id[0]]
    );
}

#[test]
fn large_integers_compare_exactly() {
    let two53 = 1_u64 << 53;
    let keys = [
        json!(u64::MAX),
        json!(u64::MAX - 1),
        json!(two53 + 1),
        json!(two53),
        json!(two53 as f64),
        json!(18_446_744_073_709_551_616.0_f64), // 2^64, just above u64::MAX
        json!(i64::MIN),
        json!(i64::MIN + 1),
        json!(-9_223_372_036_854_775_808.0_f64), // -2^63 == i64::MIN exactly
        json!(i64::MAX),
        json!(9_223_372_036_854_775_808_u64), // i64::MAX + 1
    ];
    let (store, id) = keyed(&keys);
    assert_eq!(ids(store.lookup("i", u64::MAX).unwrap()), [id[0]]);
    assert_eq!(ids(store.lookup("i", u64::MAX - 1).unwrap()), [id[1]]);
    assert_eq!(ids(store.lookup("i", two53 + 1).unwrap()), [id[2]]);
    assert_eq!(ids(store.lookup("i", two53).unwrap()), [id[3], id[4]]);
    assert_eq!(
        ids(store.lookup("i", two53 as f64).unwrap()),
        [id[3], id[4]]
    );
    assert_eq!(ids(store.lookup("i", u64::MAX as f64).unwrap()), [id[5]]);
    assert_eq!(ids(store.lookup("i", i64::MIN).unwrap()), [id[6], id[8]]);
    assert_eq!(ids(store.lookup("i", i64::MIN + 1).unwrap()), [id[7]]);
    assert_eq!(ids(store.lookup("i", i64::MAX).unwrap()), [id[9]]);
    assert_eq!(
        ids(store.lookup("i", i64::MAX as u64 + 1).unwrap()),
        [id[10]]
    );
    assert_eq!(
        ids(store.by_index("i").unwrap()),
        [
            id[6], id[8], id[7], id[3], id[4], id[2], id[9], id[10], id[1], id[0], id[5]
        ]
    );
    assert_eq!(
        ids(store.range("i", u64::MAX - 1..=u64::MAX).unwrap()),
        [id[1], id[0]]
    );
    assert_eq!(
        ids(store.range("i", u64::MAX - 1..u64::MAX).unwrap()),
        [id[1]]
    );
    assert_eq!(ids(store.range("i", two53 + 1..).unwrap()).len(), 6);
    assert_eq!(
        ids(store.range("i", (two53 + 1)..(two53 + 2)).unwrap()),
        [id[2]]
    );
}

#[test]
fn lookup_returns_matches_in_id_order() {
    let keys: Vec<Value> = (0..60).map(|n| json!((n * 7) % 5)).collect();
    let (store, id) = keyed(&keys);
    for key in 0..5 {
        let expected: Vec<Id> = (0..60)
            .filter(|n| (n * 7) % 5 == key)
            .map(|n| id[n])
            .collect();
        assert_eq!(ids(store.lookup("i", key).unwrap()), expected);
        assert_eq!(store.lookup("i", key).unwrap().len(), 12);
    }
}

#[test]
fn results_come_in_key_order_with_ties_in_id_order() {
    let keys: Vec<Value> = (0..200_u64)
        .map(|n| match n % 4 {
            0 => json!((n * 13) % 11),
            1 => json!(((n * 13) % 11) as f64 + 0.5),
            2 => json!(format!("s{}", (n * 7) % 9)),
            _ => json!((n * 13 % 11) as f64),
        })
        .collect();
    let (store, id) = keyed(&keys);
    let got: Vec<(Value, Id)> = store
        .by_index("i")
        .unwrap()
        .map(|doc| (field(&doc, "k"), doc.id()))
        .collect();
    // Expected: numbers by value then strings by bytes, ties by id.
    let rank = |v: &Value| -> (u8, f64, String) {
        match v {
            Value::Number(n) => (0, n.as_f64().unwrap(), String::new()),
            Value::String(s) => (1, 0.0, s.clone()),
            _ => unreachable!(),
        }
    };
    let mut expected: Vec<(Value, Id)> = keys.iter().cloned().zip(id.iter().copied()).collect();
    expected.sort_by(|a, b| {
        let (ra, rb) = (rank(&a.0), rank(&b.0));
        ra.0.cmp(&rb.0)
            .then(ra.1.total_cmp(&rb.1))
            .then(ra.2.cmp(&rb.2))
            .then(a.1.cmp(&b.1))
    });
    assert_eq!(got, expected);
    // The same through a range over everything, and backwards.
    let ranged: Vec<Id> = ids(store.range("i", ..).unwrap());
    let expected_ids: Vec<Id> = expected.iter().map(|(_, id)| *id).collect();
    assert_eq!(ranged, expected_ids);
    let mut backwards = ids(store.range("i", ..).unwrap().rev());
    backwards.reverse();
    assert_eq!(backwards, expected_ids);
}

/// Every range form, checked against a filter over the same documents.
#[test]
fn every_range_form_matches_a_filter() {
    let mut keys: Vec<f64> = (0..=20).map(f64::from).collect();
    keys.extend([0.5, 3.5, 9.5, 10.0, 10.0, 19.5, 7.0]);
    let values: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            // Integral keys stored as ints half the time, as floats otherwise.
            if k.fract() == 0.0 && i % 2 == 0 {
                json!(k as u64)
            } else {
                json!(k)
            }
        })
        .collect();
    let (store, id) = keyed(&values);
    let expect = |keep: &dyn Fn(f64) -> bool| -> Vec<Id> {
        let mut hits: Vec<(f64, Id)> = keys
            .iter()
            .zip(&id)
            .filter(|(k, _)| keep(**k))
            .map(|(k, id)| (*k, *id))
            .collect();
        hits.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        hits.into_iter().map(|(_, id)| id).collect()
    };
    let (a, b) = (3, 10);
    let (fa, fb) = (f64::from(a), f64::from(b));
    assert_eq!(
        ids(store.range("i", a..b).unwrap()),
        expect(&|k| fa <= k && k < fb)
    );
    assert_eq!(
        ids(store.range("i", a..=b).unwrap()),
        expect(&|k| fa <= k && k <= fb)
    );
    assert_eq!(ids(store.range("i", a..).unwrap()), expect(&|k| fa <= k));
    assert_eq!(ids(store.range("i", ..b).unwrap()), expect(&|k| k < fb));
    assert_eq!(ids(store.range("i", ..=b).unwrap()), expect(&|k| k <= fb));
    assert_eq!(ids(store.range("i", ..).unwrap()), expect(&|_| true));
    assert_eq!(
        ids(store
            .range("i", (Bound::Excluded(a), Bound::Included(b)))
            .unwrap()),
        expect(&|k| fa < k && k <= fb)
    );
    assert_eq!(
        ids(store
            .range("i", (Bound::Excluded(a), Bound::Excluded(b)))
            .unwrap()),
        expect(&|k| fa < k && k < fb)
    );
    assert_eq!(
        ids(store
            .range("i", (Bound::Unbounded, Bound::Excluded(b)))
            .unwrap()),
        expect(&|k| k < fb)
    );
    assert_eq!(
        ids(store
            .range("i", (Bound::Excluded(a), Bound::<i32>::Unbounded))
            .unwrap()),
        expect(&|k| fa < k)
    );
    // Float bounds that fall between keys, and bounds as JSON values.
    assert_eq!(
        ids(store.range("i", 3.25..9.75).unwrap()),
        expect(&|k| (3.25..9.75).contains(&k))
    );
    assert_eq!(
        ids(store.range("i", json!(0.5)..=json!(19.5)).unwrap()),
        expect(&|k| (0.5..=19.5).contains(&k))
    );
    // Every pair of bounds over the key space, in every form.
    for lo in -1..=21 {
        for hi in -1..=21 {
            let (l, h) = (f64::from(lo), f64::from(hi));
            assert_eq!(
                ids(store.range("i", lo..hi).unwrap()),
                expect(&|k| l <= k && k < h),
                "{lo}..{hi}"
            );
            assert_eq!(
                ids(store.range("i", lo..=hi).unwrap()),
                expect(&|k| l <= k && k <= h),
                "{lo}..={hi}"
            );
            assert_eq!(
                ids(store
                    .range("i", (Bound::Excluded(lo), Bound::Excluded(hi)))
                    .unwrap()),
                expect(&|k| l < k && k < h),
                "({lo}, {hi})"
            );
        }
    }
}

#[test]
#[allow(clippy::reversed_empty_ranges)]
fn inverted_and_degenerate_ranges_are_empty_never_a_panic() {
    let keys: Vec<Value> = (0..20).map(|n| json!(n)).collect();
    let (store, id) = keyed(&keys);
    assert_eq!(store.range("i", 10..5).unwrap().count(), 0);
    assert_eq!(store.range("i", 10..=5).unwrap().len(), 0);
    assert_eq!(store.range("i", 10..5).unwrap().next_back(), None);
    assert_eq!(store.range("i", 5..5).unwrap().count(), 0);
    assert_eq!(store.range("i", "z".."a").unwrap().count(), 0);
    assert_eq!(store.range("i", json!("a")..json!(1)).unwrap().count(), 0);
    assert_eq!(
        store
            .range("i", (Bound::Excluded(5), Bound::Excluded(5)))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        store
            .range("i", (Bound::Excluded(5), Bound::Included(5)))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        store
            .range("i", (Bound::Included(5), Bound::Excluded(5)))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(ids(store.range("i", 5..=5).unwrap()), [id[5]]);
    assert!(store.range("i", 10..5).unwrap().into_cursor().is_empty());
    let mut cursor = store.range("i", 10..5).unwrap().into_cursor();
    cursor.advance(3);
    assert_eq!(cursor.prev(), None);
    assert_eq!(cursor.next(), None);
}

#[test]
fn nan_is_never_a_key_and_infinities_bound_the_numbers() {
    let (store, _) = keyed(&[
        json!(1),
        json!(-1e308),
        json!(1e308),
        json!("s"),
        json!(false),
    ]);
    for result in [
        store.lookup("i", f64::NAN).map(|_| ()),
        store.range("i", f64::NAN..1.0).map(|_| ()),
        store.range("i", ..=f64::NAN).map(|_| ()),
        store.prefix("i", f64::NAN).map(|_| ()),
        store.get_unique("i", f64::NAN).map(|_| ()),
    ] {
        assert!(
            matches!(&result, Err(Error::InvalidKey { index, .. }) if index == "i")
                // get_unique may refuse the plain index first.
                || matches!(&result, Err(Error::NotUnique { .. })),
            "{result:?}"
        );
    }
    assert_eq!(store.lookup("i", f64::INFINITY).unwrap().count(), 0);
    assert_eq!(
        store
            .range("i", f64::NEG_INFINITY..=f64::INFINITY)
            .unwrap()
            .count(),
        3
    );
    assert_eq!(store.range("i", ..f64::INFINITY).unwrap().count(), 4);
    assert_eq!(store.range("i", f64::INFINITY..).unwrap().count(), 1);
}

#[test]
fn first_k_and_last_k() {
    let keys: Vec<Value> = (0..100).map(|n| json!((n * 37) % 100)).collect();
    let (store, _) = keyed(&keys);
    let key_of = |doc: Document| doc.get("k").and_then(|v| v.as_u64()).unwrap();
    let first: Vec<u64> = store.range("i", ..).unwrap().take(5).map(key_of).collect();
    assert_eq!(first, [0, 1, 2, 3, 4]);
    let last: Vec<u64> = store
        .range("i", ..)
        .unwrap()
        .rev()
        .take(5)
        .map(key_of)
        .collect();
    assert_eq!(last, [99, 98, 97, 96, 95]);
    let mid_last: Vec<u64> = store
        .range("i", 10..20)
        .unwrap()
        .rev()
        .take(3)
        .map(key_of)
        .collect();
    assert_eq!(mid_last, [19, 18, 17]);
    // Taking more than there is gives all.
    assert_eq!(store.range("i", 95..).unwrap().take(50).count(), 5);
    assert_eq!(store.range("i", 95..).unwrap().rev().take(50).count(), 5);
    // skip/nth jump; both ends meet without overlap.
    let skipped: Vec<u64> = store.range("i", ..).unwrap().skip(97).map(key_of).collect();
    assert_eq!(skipped, [97, 98, 99]);
    assert_eq!(store.range("i", ..).unwrap().nth(42).map(key_of), Some(42));
    assert_eq!(
        store.range("i", ..).unwrap().nth_back(42).map(key_of),
        Some(57)
    );
    assert_eq!(store.range("i", ..).unwrap().last().map(key_of), Some(99));
    let mut both = store.range("i", 0..4).unwrap();
    let order: Vec<u64> = [
        both.next(),
        both.next_back(),
        both.next(),
        both.next_back(),
        both.next(),
        both.next_back(),
    ]
    .into_iter()
    .flatten()
    .map(key_of)
    .collect();
    assert_eq!(order, [0, 3, 1, 2]);
}

#[test]
fn result_lengths_are_exact() {
    let keys: Vec<Value> = (0..50).map(|n| json!(n % 10)).collect();
    let (store, _) = keyed(&keys);
    let mut it = store.range("i", 2..5).unwrap();
    assert_eq!(it.len(), 15);
    assert_eq!(it.size_hint(), (15, Some(15)));
    it.next();
    it.next_back();
    assert_eq!(it.len(), 13);
    assert_eq!(it.clone().count(), 13);
    assert_eq!(it.by_ref().take(13).count(), 13);
    assert_eq!(it.len(), 0);
    assert_eq!(it.next(), None);
    assert_eq!(store.lookup("i", 3).unwrap().len(), 5);
    assert_eq!(store.by_index("i").unwrap().len(), 50);
    assert_eq!(store.iter().unwrap().len(), 50);
    assert_eq!(store.prefix("i", 9).unwrap().len(), 5);
}

fn cities() -> (Store, Vec<Id>) {
    let store = Store::new();
    store.create_index("by_city_age", ["city", "age"]).unwrap();
    store
        .create_index("by_city_age_name", ["city", "age", "name"])
        .unwrap();
    store.create_index("by_city", ["city"]).unwrap();
    let docs = [
        json!({"city": "Paris", "age": 30, "name": "a"}),
        json!({"city": "Paris", "age": 20, "name": "b"}),
        json!({"city": "Rome", "age": 25, "name": "c"}),
        json!({"city": "Parisian", "age": 1, "name": "d"}),
        json!({"city": "Par", "age": 5, "name": "e"}),
        json!({"city": "Paris", "age": "unknown", "name": "f"}),
        json!({"city": "Paris", "age": 30, "name": "g"}),
        json!({"city": "Paris", "name": "h"}),
        json!({"city": "Paris", "age": 30.0, "name": "a"}),
    ];
    let ids = docs
        .iter()
        .map(|doc| store.insert(doc.clone()).unwrap())
        .collect();
    (store, ids)
}

#[test]
fn prefix_on_the_leading_fields_of_a_composite_index() {
    let (store, id) = cities();
    // One leading field, bare or as a 1-tuple: Paris only (not Par, Parisian),
    // in key order: 20, 30 (three, ties by id), then the string age.
    let paris = [id[1], id[0], id[6], id[8], id[5]];
    assert_eq!(ids(store.prefix("by_city_age", "Paris").unwrap()), paris);
    assert_eq!(ids(store.prefix("by_city_age", ("Paris",)).unwrap()), paris);
    assert_eq!(
        ids(store.prefix("by_city_age", json!("Paris")).unwrap()),
        paris
    );
    // All fields: the same as a lookup.
    assert_eq!(
        ids(store.prefix("by_city_age", ("Paris", 30)).unwrap()),
        [id[0], id[6], id[8]]
    );
    assert_eq!(
        ids(store.lookup("by_city_age", ("Paris", 30)).unwrap()),
        [id[0], id[6], id[8]]
    );
    // Two of three fields, and all three.
    assert_eq!(
        ids(store.prefix("by_city_age_name", ("Paris", 30)).unwrap()),
        [id[0], id[8], id[6]]
    );
    assert_eq!(
        ids(store
            .prefix("by_city_age_name", ("Paris", 30, "a"))
            .unwrap()),
        [id[0], id[8]]
    );
    // A string prefix of a value is not a key prefix.
    assert_eq!(store.prefix("by_city_age", "Pa").unwrap().count(), 0);
    assert_eq!(ids(store.prefix("by_city_age", "Par").unwrap()), [id[4]]);
    assert_eq!(store.prefix("by_city_age", "Oslo").unwrap().count(), 0);
    // On a single-field index a prefix is a lookup.
    assert_eq!(ids(store.prefix("by_city", "Rome").unwrap()), [id[2]]);
    // Prefix results can be read from both ends.
    assert_eq!(
        ids(store.prefix("by_city_age", "Paris").unwrap().rev().take(2)),
        [id[5], id[8]]
    );
}

#[test]
fn range_bounds_may_give_only_leading_fields() {
    let (store, id) = cities();
    // A partial bound sorts before every key that extends it.
    assert_eq!(
        ids(store.range("by_city_age", ("Paris",)..("Rome",)).unwrap()),
        [id[1], id[0], id[6], id[8], id[5], id[3]]
    );
    assert_eq!(
        ids(store
            .range("by_city_age", ("Paris", 25)..("Paris", 31))
            .unwrap()),
        [id[0], id[6], id[8]]
    );
    assert_eq!(
        ids(store
            .range("by_city_age", ("Paris", 30)..=("Paris", 30))
            .unwrap()),
        [id[0], id[6], id[8]]
    );
    assert_eq!(
        ids(store.range("by_city_age", ("Rome",)..).unwrap()),
        [id[2]]
    );
}

#[test]
fn wrong_number_of_key_fields_is_invalid_key() {
    let (store, _) = cities();
    let invalid = |result: Result<(), Error>, index: &str| match result {
        Err(Error::InvalidKey { index: got, reason }) => {
            assert_eq!(got, index);
            assert!(!reason.is_empty());
        }
        other => panic!("expected InvalidKey on {index}, got {other:?}"),
    };
    invalid(
        store.lookup("by_city_age", "Paris").map(|_| ()),
        "by_city_age",
    );
    invalid(
        store.lookup("by_city_age", ("Paris",)).map(|_| ()),
        "by_city_age",
    );
    invalid(
        store.lookup("by_city_age", ("Paris", 30, "a")).map(|_| ()),
        "by_city_age",
    );
    invalid(
        store.lookup("by_city", ("Paris", 30)).map(|_| ()),
        "by_city",
    );
    invalid(
        store.prefix("by_city_age", ("Paris", 30, "a")).map(|_| ()),
        "by_city_age",
    );
    invalid(
        store
            .range("by_city_age", ("Paris", 30, "a")..("Rome", 1, "b"))
            .map(|_| ()),
        "by_city_age",
    );
    invalid(store.range("by_city", ("a", 1)..).map(|_| ()), "by_city");
    let text = store
        .lookup("by_city_age", "Paris")
        .unwrap_err()
        .to_string();
    assert!(text.contains("by_city_age"), "{text}");
}

#[test]
fn get_unique_on_unique_and_plain_indexes() {
    let store = Store::new();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    store
        .create_index_with("by_pair", ["a", "b"], IndexOptions::new().unique())
        .unwrap();
    store.create_index("by_name", ["name"]).unwrap();
    let ada = store
        .insert(json!({"email": "ada@x", "name": "Ada", "a": 1, "b": 2}))
        .unwrap();
    let found = store.get_unique("by_email", "ada@x").unwrap().unwrap();
    assert_eq!(found.id(), ada);
    assert_eq!(found.get("name").and_then(|v| v.as_str()), Some("Ada"));
    assert_eq!(store.get_unique("by_email", "nobody@x").unwrap(), None);
    assert_eq!(
        store.get_unique("by_pair", (1, 2)).unwrap().map(|d| d.id()),
        Some(ada)
    );
    assert_eq!(store.get_unique("by_pair", (2, 1)).unwrap(), None);
    assert_eq!(
        store.get_unique("by_name", "Ada").map(|_| ()),
        Err(Error::NotUnique {
            index: "by_name".into()
        })
    );
    let text = Error::NotUnique {
        index: "by_name".into(),
    }
    .to_string();
    assert!(text.contains("by_name"), "{text}");
    assert!(matches!(
        store.get_unique("by_pair", 1),
        Err(Error::InvalidKey { .. })
    ));
    // Follows updates.
    store.update(ada, json!({"email": "ada@y"})).unwrap();
    assert_eq!(store.get_unique("by_email", "ada@x").unwrap(), None);
    assert_eq!(
        store
            .get_unique("by_email", "ada@y")
            .unwrap()
            .map(|d| d.version()),
        Some(2)
    );
}

#[test]
fn queries_on_an_empty_index() {
    let store = Store::new();
    store.create_index("i", ["k"]).unwrap();
    store.insert(json!({"other": 1})).unwrap();
    assert_eq!(store.lookup("i", 1).unwrap().count(), 0);
    assert_eq!(store.range("i", ..).unwrap().len(), 0);
    assert_eq!(store.range("i", ..).unwrap().next_back(), None);
    assert_eq!(store.prefix("i", 1).unwrap().count(), 0);
    assert_eq!(store.by_index("i").unwrap().next(), None);
}
