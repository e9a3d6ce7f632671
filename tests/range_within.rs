//! A range over one field given the leading ones, with either end open: "paid
//! orders before t" with no sentinel value standing for the end of "paid".

use docstore::{Collection, Error, IndexKey, Indexed, Store};
use serde_json::json;

#[derive(IndexKey, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Open,
    Paid,
    Refunded,
}

#[derive(Indexed, Clone, Debug)]
#[indexed(composite(by_status_at = (status, at)))]
#[indexed(composite(by_region_status_at = (region, status, at)))]
struct Order {
    region: String,
    status: Status,
    at: u64,
}

fn orders() -> Collection<Order> {
    let orders = Collection::new();
    for (region, status, at) in [
        ("eu", Status::Paid, 30),
        ("eu", Status::Open, 5),
        ("us", Status::Paid, 10),
        ("eu", Status::Refunded, 1),
        ("us", Status::Paid, 50),
        ("eu", Status::Paid, 10),
        ("us", Status::Open, 99),
    ] {
        orders
            .insert(Order {
                region: region.into(),
                status,
                at,
            })
            .unwrap();
    }
    orders
}

fn ats(found: impl Iterator<Item = docstore::Versioned<Order>>) -> Vec<u64> {
    found.map(|doc| doc.at).collect()
}

#[test]
#[allow(clippy::reversed_empty_ranges)] // An inverted range is part of what is tested.
fn paid_orders_before_a_time() {
    let orders = orders();
    let paid_before_30 = orders
        .range_within(Order::by_status_at, (Status::Paid,), ..30)
        .unwrap();
    assert_eq!(ats(paid_before_30), [10, 10]);
    // Every open end stops at the last paid order, never running into refunds.
    assert_eq!(
        ats(orders
            .range_within(Order::by_status_at, (Status::Paid,), 30..)
            .unwrap()),
        [30, 50]
    );
    assert_eq!(
        ats(orders
            .range_within(Order::by_status_at, (Status::Paid,), ..)
            .unwrap()),
        [10, 10, 30, 50]
    );
    assert_eq!(
        ats(orders
            .range_within(Order::by_status_at, (Status::Paid,), ..=30)
            .unwrap()),
        [10, 10, 30]
    );
    assert_eq!(
        ats(orders
            .range_within(Order::by_status_at, (Status::Open,), 6..)
            .unwrap()),
        [99]
    );
    // Inverted: empty.
    assert_eq!(
        orders
            .range_within(Order::by_status_at, (Status::Paid,), 40..20)
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn two_leading_fields_range_over_the_third() {
    let orders = orders();
    let eu_paid_after_10 = orders
        .range_within(Order::by_region_status_at, ("eu", Status::Paid), 11..)
        .unwrap();
    assert_eq!(ats(eu_paid_after_10), [30]);
    // One leading field: the range is over the status, the next field.
    let eu_from_paid = orders
        .range_within(Order::by_region_status_at, ("eu",), Status::Paid..)
        .unwrap();
    assert_eq!(ats(eu_from_paid), [10, 30, 1]);
}

#[test]
fn a_schemaless_store_takes_a_value_tuple_or_slice_for_the_leading_fields() {
    let store = Store::new();
    store
        .create_index("by_geo_type_at", ["geo", "type", "at"])
        .unwrap();
    for (geo, kind, at) in [
        ("FR", "buy", 1),
        ("FR", "buy", 7),
        ("FR", "view", 3),
        ("DE", "buy", 2),
        ("FR", "buy", 4),
    ] {
        store
            .insert(json!({"geo": geo, "type": kind, "at": at}))
            .unwrap();
    }
    let ats = |found: docstore::Iter<docstore::Object>| -> Vec<u64> {
        found
            .map(|doc| doc.get("at").unwrap().as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        ats(store
            .range_within("by_geo_type_at", ("FR", "buy"), ..5)
            .unwrap()),
        [1, 4]
    );
    let leading = vec![json!("FR"), json!("buy")];
    assert_eq!(
        ats(store.range_within("by_geo_type_at", &leading, 4..).unwrap()),
        [4, 7]
    );
    assert_eq!(
        ats(store
            .range_within("by_geo_type_at", "FR", .."view")
            .unwrap()),
        [1, 4, 7]
    );
    // Every field given as leading leaves nothing to range over: refused.
    assert!(matches!(
        store.range_within("by_geo_type_at", ("FR", "buy", 1), ..5),
        Err(Error::InvalidKey { .. })
    ));
    // So is a range bound with more fields than are left after the leading ones.
    assert!(matches!(
        store.range_within("by_geo_type_at", ("FR", "buy"), ..(5, 6)),
        Err(Error::InvalidKey { .. })
    ));
    // A range bound may continue over the fields after the next one.
    assert_eq!(
        ats(store
            .range_within("by_geo_type_at", "FR", ("buy", 4)..)
            .unwrap()),
        [4, 7, 3]
    );
}

mod agrees_with_a_filtered_scan {
    use std::ops::{Bound, RangeBounds};

    use super::*;
    use proptest::prelude::*;

    fn bound() -> impl Strategy<Value = Bound<u8>> {
        prop_oneof![
            (0u8..8).prop_map(Bound::Included),
            (0u8..8).prop_map(Bound::Excluded),
            Just(Bound::Unbounded),
        ]
    }

    proptest! {
        #[test]
        fn any_leading_value_and_any_bounds(
            rows in proptest::collection::vec((0u8..4, 0u8..8), 0..50),
            leading in 0u8..4,
            start in bound(),
            end in bound(),
        ) {
            let store = Store::new();
            store.create_index("by_a_b", ["a", "b"]).unwrap();
            for (a, b) in &rows {
                store.insert(json!({"a": a, "b": b})).unwrap();
            }
            let field = |doc: &docstore::Document, name: &str| {
                u8::try_from(doc.get(name).unwrap().as_u64().unwrap()).unwrap()
            };
            let want: Vec<_> = store
                .by_index("by_a_b")
                .unwrap()
                .filter(|doc| field(doc, "a") == leading && (start, end).contains(&field(doc, "b")))
                .map(|doc| doc.id())
                .collect();
            let got: Vec<_> = store
                .range_within("by_a_b", leading, (start, end))
                .unwrap()
                .map(|doc| doc.id())
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
