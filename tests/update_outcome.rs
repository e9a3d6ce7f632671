//! `try_update_with` says whether its closure declined, as `fetch_update` does.

use std::thread;

use docstore::{Collection, Error, Indexed, Store, Updated};
use serde_json::json;

#[derive(Indexed, Clone, Debug)]
struct Ticket {
    #[index]
    event: String,
    left: u32,
}

#[test]
fn a_seller_knows_which_sales_went_through() -> Result<(), Error> {
    let tickets = Collection::<Ticket>::new();
    let id = tickets.insert(Ticket {
        event: "gig".into(),
        left: 30,
    })?;
    let sold: usize = thread::scope(|s| {
        let sellers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..20)
                        .filter(|_| {
                            let sale = tickets.try_update_with(id, |t| {
                                (t.left > 0).then(|| Ticket {
                                    left: t.left - 1,
                                    ..t.clone()
                                })
                            });
                            matches!(sale, Ok(Updated::Changed(_)))
                        })
                        .count()
                })
            })
            .collect();
        sellers.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    assert_eq!(sold, 30);
    assert_eq!(tickets.get(id)?.left, 0);
    Ok(())
}

#[test]
fn a_declined_update_hands_back_the_document_it_saw() -> Result<(), Error> {
    let store = Store::new();
    let id = store.insert(json!({"stock": 0}))?;
    let outcome = store.try_update_with(id, |doc| {
        let stock = doc.get("stock")?.as_u64()?;
        (stock > 0).then(|| json!({"stock": stock - 1}))
    })?;
    match outcome.into_result() {
        Ok(_) => panic!("nothing was in stock"),
        Err(current) => {
            assert_eq!(current.version(), 1);
            assert_eq!(*current, json!({"stock": 0}));
        }
    }
    Ok(())
}

#[test]
fn a_changed_update_hands_back_the_stored_version() -> Result<(), Error> {
    let store = Store::new();
    let id = store.insert(json!({"stock": 2}))?;
    let outcome = store.try_update_with(id, |_| Some(json!({"stock": 1})))?;
    assert!(outcome.is_changed());
    let stored = outcome.into_document();
    assert!(stored.ptr_eq(&store.get(id)?));
    assert_eq!(stored.version(), 2);
    Ok(())
}
