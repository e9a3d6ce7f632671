//! Documents with their own keys inside transactions: the key-based
//! operations see the transaction's own writes, count as reading the key (a
//! concurrent write of it is a conflict, of another key is not), and keep the
//! key fixed.

use docstore::{Collection, Error, Indexed};

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Product {
    #[key]
    sku: String,
    price: u32,
}

fn product(sku: &str, price: u32) -> Product {
    Product {
        sku: sku.into(),
        price,
    }
}

fn price(products: &Collection<Product>, sku: &str) -> Option<(u32, u64)> {
    products
        .get_key(sku)
        .unwrap()
        .map(|p| (p.price, p.version()))
}

#[test]
fn key_operations_see_the_transactions_own_writes() {
    let products = Collection::<Product>::new();
    products.insert(product("A", 10)).unwrap();
    products
        .transaction(|tx| {
            assert!(tx.upsert(product("B", 20))?.is_none());
            assert_eq!(tx.get_key("B")?.map(|p| p.price), Some(20));
            assert_eq!(tx.upsert(product("B", 21))?.map(|p| p.price), Some(20));
            assert_eq!(tx.update_key(product("A", 11))?, 2);
            assert_eq!(tx.modify_key("A", |p| p.price += 1)?.price, 12);
            assert_eq!(tx.delete_key("A")?.map(|p| p.price), Some(12));
            assert!(tx.get_key("A")?.is_none());
            assert!(tx.delete_key("A")?.is_none());
            assert!(matches!(
                tx.update_key(product("A", 1)),
                Err(Error::KeyNotFound { .. })
            ));
            tx.upsert(product("A", 13))?;
            Ok::<_, Error>(())
        })
        .unwrap();
    // One version per document per transaction: A was deleted and inserted
    // again (a new document), B inserted once.
    assert_eq!(price(&products, "A"), Some((13, 1)));
    assert_eq!(price(&products, "B"), Some((21, 1)));
    assert_eq!(products.len().unwrap(), 2);
}

#[test]
fn a_missing_key_or_a_changed_key_commits_nothing() {
    let products = Collection::<Product>::new();
    products.insert(product("A", 10)).unwrap();
    let missing = products.transaction(|tx| {
        tx.upsert(product("B", 1))?;
        tx.update_key(product("Z", 1))
    });
    assert!(
        matches!(&missing, Err(Error::KeyNotFound { key, .. }) if key.contains('Z')),
        "{missing:?}"
    );
    let changed = products.transaction(|tx| tx.modify_key("A", |p| p.sku = "C".into()));
    assert!(
        matches!(changed, Err(Error::KeyChanged { .. })),
        "{changed:?}"
    );
    assert_eq!(price(&products, "A"), Some((10, 1)));
    assert_eq!(products.len().unwrap(), 1);
}

#[test]
fn a_concurrent_write_of_the_key_read_is_a_conflict() {
    let products = Collection::<Product>::new();
    // Found absent, then inserted by someone else: the upsert would have
    // replaced it instead.
    let tx = products.begin().unwrap();
    assert!(
        tx.collection(&products)
            .upsert(product("A", 1))
            .unwrap()
            .is_none()
    );
    products.insert(product("A", 2)).unwrap();
    assert!(matches!(tx.commit(), Err(Error::Conflict { .. })));
    // Found present, then changed by someone else.
    let tx = products.begin().unwrap();
    tx.collection(&products)
        .modify_key("A", |p| p.price += 1)
        .unwrap();
    products.update_key(product("A", 5)).unwrap();
    assert!(matches!(tx.commit(), Err(Error::Conflict { .. })));
    assert_eq!(price(&products, "A"), Some((5, 2)));
}

#[test]
fn writes_of_other_keys_do_not_conflict() {
    let products = Collection::<Product>::new();
    products.insert(product("A", 1)).unwrap();
    products.insert(product("B", 1)).unwrap();
    let first = products.begin().unwrap();
    let second = products.begin().unwrap();
    first.collection(&products).upsert(product("A", 2)).unwrap();
    first.collection(&products).delete_key("C").unwrap();
    second
        .collection(&products)
        .modify_key("B", |p| p.price = 3)
        .unwrap();
    second
        .collection(&products)
        .upsert(product("D", 4))
        .unwrap();
    first.commit().unwrap();
    second.commit().unwrap();
    assert_eq!(price(&products, "A"), Some((2, 2)));
    assert_eq!(price(&products, "B"), Some((3, 2)));
    assert_eq!(price(&products, "D"), Some((4, 1)));
}
