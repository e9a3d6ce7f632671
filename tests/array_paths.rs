//! What a field path does at an array: a multi-key index steps through arrays
//! of objects (pairing fields under the same array per element), a plain index
//! does not; and the keys a document gives cost time in proportion to the
//! document and its keys, never to the combinations its arrays could make.

use docstore::{Collection, Error, Id, IndexOptions, Indexed, Store};
use serde_json::json;

fn ids(found: docstore::Iter<docstore::Object>) -> Vec<Id> {
    found.map(|doc| doc.id()).collect()
}

#[test]
fn a_multi_key_path_steps_into_each_object_of_an_array() -> Result<(), Error> {
    let orders = Store::new();
    orders.create_index_with("by_sku", ["items.sku"], IndexOptions::new().multi_key())?;
    let first =
        orders.insert(json!({"items": [{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}]}))?;
    let second = orders.insert(json!({"items": [{"sku": "B7", "qty": 5}, {"qty": 3}, 17]}))?;
    let single = orders.insert(json!({"items": {"sku": "C3"}}))?;
    assert_eq!(ids(orders.lookup("by_sku", "A1")?), [first]);
    assert_eq!(ids(orders.lookup("by_sku", "B7")?), [first, second]);
    assert_eq!(ids(orders.lookup("by_sku", "C3")?), [single]);
    // An element without the field, or that is not an object, gives no key.
    assert_eq!(orders.range("by_sku", ..)?.count(), 3);
    orders.update(first, json!({"items": [{"sku": "Z9"}]}))?;
    assert_eq!(ids(orders.lookup("by_sku", "B7")?), [second]);
    assert!(orders.verify()?.is_empty());
    Ok(())
}

#[test]
fn fields_under_one_array_pair_per_element() -> Result<(), Error> {
    let orders = Store::new();
    orders.create_index_with(
        "by_sku_qty",
        ["items.sku", "items.qty"],
        IndexOptions::new().multi_key(),
    )?;
    let order = orders.insert(json!({"items": [
        {"sku": "A1", "qty": 2},
        {"sku": "B7", "qty": 1},
        {"sku": "C3"},
    ]}))?;
    // One key per item that has both fields: not A1 with 1, nor B7 with 2.
    assert_eq!(ids(orders.lookup("by_sku_qty", ("A1", 2))?), [order]);
    assert_eq!(ids(orders.lookup("by_sku_qty", ("B7", 1))?), [order]);
    assert_eq!(orders.lookup("by_sku_qty", ("A1", 1))?.count(), 0);
    assert_eq!(orders.lookup("by_sku_qty", ("B7", 2))?.count(), 0);
    assert_eq!(orders.prefix("by_sku_qty", ("C3",))?.count(), 0);
    assert!(orders.verify()?.is_empty());
    Ok(())
}

#[test]
fn fields_under_different_arrays_combine_every_way() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with(
        "by_sku_region",
        ["items.sku", "regions", "customer"],
        IndexOptions::new().multi_key(),
    )?;
    let id = store.insert(json!({
        "customer": "ada",
        "regions": ["eu", "us"],
        "items": [{"sku": "A1"}, {"sku": "B7"}],
    }))?;
    for sku in ["A1", "B7"] {
        for region in ["eu", "us"] {
            assert_eq!(
                ids(store.lookup("by_sku_region", (sku, region, "ada"))?),
                [id]
            );
        }
    }
    assert_eq!(store.prefix("by_sku_region", ("A1",))?.count(), 1);
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn nested_arrays_of_objects_are_walked_level_by_level() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with(
        "by_part",
        ["items.parts.code", "items.sku"],
        IndexOptions::new().multi_key(),
    )?;
    let id = store.insert(json!({"items": [
        {"sku": "A1", "parts": [{"code": 1}, {"code": 2}]},
        {"sku": "B7", "parts": [{"code": 2}]},
    ]}))?;
    assert_eq!(ids(store.lookup("by_part", (1, "A1"))?), [id]);
    assert_eq!(ids(store.lookup("by_part", (2, "A1"))?), [id]);
    assert_eq!(ids(store.lookup("by_part", (2, "B7"))?), [id]);
    assert_eq!(store.lookup("by_part", (1, "B7"))?.count(), 0);
    assert_eq!(store.by_index("by_part")?.count(), 1);
    Ok(())
}

#[test]
fn a_plain_index_path_stops_at_an_array() -> Result<(), Error> {
    let store = Store::new();
    store.create_index("by_sku", ["items.sku"])?;
    store.create_index("by_items", ["items"])?;
    let id = store.insert(json!({"items": [{"sku": "A1"}]}))?;
    // The path finds nothing in the array: the document is not in the index.
    assert_eq!(store.by_index("by_sku")?.count(), 0);
    // The array itself is one key, ordered as an array.
    assert_eq!(ids(store.lookup("by_items", json!([{"sku": "A1"}]))?), [id]);
    Ok(())
}

#[test]
fn an_empty_array_beside_two_huge_ones_gives_no_key_without_combining_them() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with("abc", ["a", "b", "c"], IndexOptions::new().multi_key())?;
    // 4 x 10^8 combinations if walked: this test would never finish.
    let huge: Vec<u32> = (0..20_000).collect();
    Store::key_work_for_tests();
    let id = store.insert(json!({"a": huge, "b": huge, "c": []}))?;
    // Each element encoded once, no combination built.
    assert!(Store::key_work_for_tests() <= 40_000);
    assert_eq!(store.by_index("abc")?.count(), 0);
    store.update(id, json!({"a": huge, "b": huge, "c": [], "d": 1}))?;
    assert!(store.verify()?.is_empty());
    store.delete(id)?;
    Ok(())
}

#[test]
fn a_product_past_the_cap_is_refused_before_it_is_built() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with("ab", ["a", "b"], IndexOptions::new().multi_key())?;
    let huge: Vec<u32> = (0..20_000).collect();
    Store::key_work_for_tests();
    let refused = store.insert(json!({"a": huge, "b": huge}));
    assert!(matches!(refused, Err(Error::InvalidKey { ref index, .. }) if index == "ab"));
    assert!(Store::key_work_for_tests() <= 40_000);
    // 100 x 100 is exactly the cap; 100 x 101 is one past it.
    let hundred: Vec<u32> = (0..100).collect();
    let more: Vec<u32> = (0..101).collect();
    store.insert(json!({"a": hundred, "b": hundred}))?;
    // 200 values encoded, 10,000 keys combined.
    assert_eq!(Store::key_work_for_tests(), 10_200);
    assert!(store.insert(json!({"a": hundred, "b": more})).is_err());
    assert_eq!(Store::key_work_for_tests(), 201);
    assert_eq!(store.lookup("ab", (99, 99))?.count(), 1);
    assert_eq!(store.lookup("ab", (0, 100))?.count(), 0);
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn repeats_in_huge_arrays_combine_as_their_distinct_values() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with("ab", ["a", "b"], IndexOptions::new().multi_key())?;
    Store::key_work_for_tests();
    let id = store.insert(json!({"a": vec!["x"; 20_000], "b": vec![1; 20_000]}))?;
    assert_eq!(Store::key_work_for_tests(), 40_000 + 1);
    assert_eq!(ids(store.lookup("ab", ("x", 1))?), [id]);
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[test]
fn nested_products_are_bounded_by_the_combinations_budget() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with(
        "xy",
        ["items.x", "items.y"],
        IndexOptions::new().multi_key(),
    )?;
    // Each item pairs 100 xs with 100 ys: 10,000 combinations per item, the same
    // ones in every item. Twenty items would try 200,000: past the budget.
    let hundred: Vec<u32> = (0..100).collect();
    let item = json!({"x": hundred, "y": hundred});
    Store::key_work_for_tests();
    let few = store.insert(json!({"items": vec![item.clone(); 16]}))?;
    assert_eq!(Store::key_work_for_tests(), 16 * (200 + 10_000));
    assert_eq!(store.by_index("xy")?.len(), 1);
    assert_eq!(store.lookup("xy", (99, 0))?.count(), 1);
    let refused = store.insert(json!({"items": vec![item; 20]}));
    assert!(
        matches!(refused, Err(Error::InvalidKey { .. })),
        "{refused:?}"
    );
    store.delete(few)?;
    assert!(store.verify()?.is_empty());
    Ok(())
}

#[derive(Indexed, Clone, Debug)]
struct Reading {
    #[index(each)]
    samples: Vec<u32>,
}

#[test]
fn an_element_repeated_past_the_cap_counts_once() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with("tags", ["tags"], IndexOptions::new().multi_key())?;
    let id = store.insert(json!({"tags": vec!["x"; 10_001]}))?;
    assert_eq!(ids(store.lookup("tags", "x")?), [id]);
    let distinct: Vec<u32> = (0..10_001).collect();
    assert!(store.insert(json!({"tags": distinct})).is_err());
    let at_cap: Vec<u32> = (0..10_000).chain([0; 50_000]).collect();
    store.insert(json!({"tags": at_cap}))?;

    let readings = Collection::<Reading>::new();
    let id = readings.insert(Reading {
        samples: vec![7; 10_001],
    })?;
    assert_eq!(
        readings
            .lookup(Reading::samples, 7)?
            .map(|r| r.id())
            .collect::<Vec<_>>(),
        [id]
    );
    let many = readings.insert(Reading {
        samples: (0..200_000).map(|n| n % 10_000).collect(),
    })?;
    assert_eq!(readings.lookup(Reading::samples, 9_999)?.count(), 1);
    assert!(
        readings
            .insert(Reading {
                samples: (0..10_001).collect()
            })
            .is_err()
    );
    readings.delete(many)?;
    assert!(readings.verify()?.is_empty());
    assert!(store.verify()?.is_empty());
    Ok(())
}
