//! Read-through: `get_or_load` loads a missing key once however many threads
//! miss it at once, caches nothing when the load fails, survives a panicking
//! load, and works on a unique index as on a collection's own key.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use docstore::{Collection, Error, IndexOptions, Indexed, Store};
use serde_json::json;

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Product {
    #[key]
    sku: String,
    price: u32,
}

fn product(sku: &str) -> Product {
    Product {
        sku: sku.to_owned(),
        price: 30,
    }
}

#[test]
fn eight_threads_missing_one_key_at_once_cause_one_load() {
    let products = Collection::<Product>::new();
    let loads = AtomicUsize::new(0);
    let barrier = Barrier::new(8);
    let found: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    products
                        .get_or_load("A-1", || {
                            loads.fetch_add(1, Ordering::SeqCst);
                            // A slow source: the others miss meanwhile.
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok::<_, Error>(product("A-1"))
                        })
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(products.len().unwrap(), 1);
    let id = found[0].id();
    assert!(found.iter().all(|p| p.id() == id && p.price == 30));
    let stats = products.stats().unwrap();
    assert_eq!((stats.misses, stats.hits), (1, 7));
}

#[test]
fn a_failing_load_caches_nothing_and_the_next_call_loads_again() {
    let products = Collection::<Product>::new();
    let failed = products.get_or_load("A-1", || {
        Err::<Product, _>(Error::InvalidDocument {
            reason: "source down".into(),
        })
    });
    assert_eq!(
        failed.unwrap_err(),
        Error::InvalidDocument {
            reason: "source down".into()
        }
    );
    assert_eq!(products.len().unwrap(), 0);
    assert!(products.get_key("A-1").unwrap().is_none());
    let loaded = products
        .get_or_load("A-1", || Ok::<_, Error>(product("A-1")))
        .unwrap();
    assert_eq!(loaded.price, 30);
    assert_eq!(products.len().unwrap(), 1);
}

/// A caller's own error type, as `get_or_load` takes any that a docstore
/// error converts into.
#[derive(Debug, PartialEq)]
enum SourceError {
    Missing(String),
    Store(Error),
}

impl From<Error> for SourceError {
    fn from(error: Error) -> Self {
        SourceError::Store(error)
    }
}

#[test]
fn the_load_returns_the_callers_own_error_type() {
    let products = Collection::<Product>::new();
    let missing = products.get_or_load("B-2", || Err(SourceError::Missing("B-2".into())));
    assert_eq!(missing.unwrap_err(), SourceError::Missing("B-2".into()));
    products.close();
    let closed = products.get_or_load("B-2", || Ok::<_, SourceError>(product("B-2")));
    assert_eq!(closed.unwrap_err(), SourceError::Store(Error::Closed));
}

#[test]
fn a_panicking_load_wakes_the_waiters_and_one_of_them_loads() {
    let products = Arc::new(Collection::<Product>::new());
    let loads = AtomicUsize::new(0);
    let barrier = Barrier::new(4);
    std::thread::scope(|scope| {
        let results: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    products.get_or_load("C-3", || {
                        // The first load panics; any later one succeeds.
                        if loads.fetch_add(1, Ordering::SeqCst) == 0 {
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            panic!("the source fell over");
                        }
                        Ok::<_, Error>(product("C-3"))
                    })
                })
            })
            .collect();
        let outcomes: Vec<_> = results.into_iter().map(|h| h.join()).collect();
        assert_eq!(outcomes.iter().filter(|o| o.is_err()).count(), 1);
        assert!(
            outcomes
                .into_iter()
                .flatten()
                .all(|r| r.unwrap().price == 30)
        );
    });
    // One panicked load, then at most one per waiter that woke to a failure.
    assert!(loads.load(Ordering::SeqCst) >= 2);
    assert_eq!(products.len().unwrap(), 1);
    assert!(products.verify().unwrap().is_empty());
}

#[derive(Indexed, Clone, Debug)]
struct User {
    #[index(unique)]
    email: String,
    name: String,
}

#[test]
fn a_unique_index_reads_through_too_and_a_plain_index_is_refused() {
    let users = Collection::<User>::new();
    let ada = users
        .get_or_load_unique(User::email, "ada@example.com", || {
            Ok::<_, Error>(User {
                email: "ada@example.com".into(),
                name: "Ada".into(),
            })
        })
        .unwrap();
    assert_eq!(users.get(ada.id()).unwrap().name, "Ada");

    let store = Store::new();
    store.create_index("by_city", ["city"]).unwrap();
    store
        .create_index_with("by_email", ["email"], IndexOptions::new().unique())
        .unwrap();
    let refused = store.get_or_load("by_city", "Paris", || Ok::<_, Error>(json!({})));
    assert_eq!(
        refused.unwrap_err(),
        Error::NotUnique {
            index: "by_city".into()
        }
    );
    let not_object = store.get_or_load("by_email", "x@example.com", || Ok::<_, Error>(json!(3)));
    assert!(matches!(not_object, Err(Error::InvalidDocument { .. })));
    let loaded = store
        .get_or_load("by_email", "x@example.com", || {
            Ok::<_, Error>(json!({"email": "x@example.com"}))
        })
        .unwrap();
    assert_eq!(store.get(loaded.id()).unwrap().version(), 1);
}

#[derive(Indexed, Clone, Debug)]
struct Account {
    #[key]
    login: String,
    #[index(unique)]
    email: String,
}

#[test]
fn a_load_that_breaks_another_unique_index_fails_and_stores_nothing() {
    let accounts = Collection::<Account>::new();
    let ada = accounts
        .insert(Account {
            login: "ada".into(),
            email: "ada@example.com".into(),
        })
        .unwrap();
    let clash = accounts.get_or_load("lovelace", || {
        Ok::<_, Error>(Account {
            login: "lovelace".into(),
            email: "ada@example.com".into(),
        })
    });
    assert!(matches!(
        clash,
        Err(Error::UniqueViolation { index, existing, .. }) if index == "email" && existing == ada
    ));
    assert_eq!(accounts.len().unwrap(), 1);
}
