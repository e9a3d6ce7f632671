//! The change feed: a subscriber keeping a derived view in step with a store,
//! a watch on one key, and documents expiring. Run with
//! `cargo run --example changes`.

use std::collections::BTreeMap;
use std::sync::Arc;

use std::time::{Duration, UNIX_EPOCH};

use docstore::{Change, Db, Event, Indexed, ManualClock, Store};
use serde_json::json;

#[derive(Indexed, Clone, Debug)]
struct Order {
    #[index]
    customer: String,
    total: u32,
}

fn main() -> Result<(), docstore::Error> {
    let db = Db::new();
    let orders = db.collection::<Order>("orders")?;
    orders
        .insert(Order {
            customer: "ada".into(),
            total: 30,
        })
        .map_err(docstore::Error::from)?;

    // A derived view, totals by customer, started from a snapshot and kept
    // in step by the subscription that starts exactly after it.
    let (snapshot, changes) = orders.snapshot_and_subscribe()?;
    let mut totals: BTreeMap<String, u32> = BTreeMap::new();
    for order in snapshot.iter() {
        *totals.entry(order.customer.clone()).or_default() += order.total;
    }
    println!("view at seq {}: {totals:?}", snapshot.seq());

    // A watch on one customer: hears only what changes ada's orders.
    let ada = orders.watch(Order::customer, "ada")?;

    let writer = {
        let orders = Arc::clone(&orders);
        std::thread::spawn(move || -> Result<(), docstore::Error> {
            let bob = orders
                .insert(Order {
                    customer: "bob".into(),
                    total: 12,
                })
                .map_err(docstore::Error::from)?;
            orders
                .insert(Order {
                    customer: "ada".into(),
                    total: 5,
                })
                .map_err(docstore::Error::from)?;
            orders.delete(bob)?;
            Ok(())
        })
    };
    writer.join().expect("the writer thread")?;

    for _ in 0..3 {
        let Event::Changes(set) = changes.recv()? else {
            println!("lagged: resync from a new snapshot");
            break;
        };
        for change in set.changes() {
            if let Some(old) = change.before() {
                *totals.entry(old.customer.clone()).or_default() -= old.total;
            }
            if let Some(new) = change.after() {
                *totals.entry(new.customer.clone()).or_default() += new.total;
            }
            match change {
                Change::Inserted(new) => println!("seq {}: inserted {:?}", set.seq(), **new),
                Change::Deleted(old) => println!("seq {}: deleted {:?}", set.seq(), **old),
                other => println!("seq {}: {other:?}", set.seq()),
            }
        }
    }
    totals.retain(|_, total| *total > 0);
    println!("view now: {totals:?}");

    while let Some(Event::Changes(set)) = ada.try_recv()? {
        println!("watch on ada heard seq {}", set.seq());
    }

    // Sessions that expire, on a clock moved by hand.
    let clock = ManualClock::new(UNIX_EPOCH);
    let sessions = Store::with_clock(clock.clone());
    let expiring = sessions.subscribe()?;
    sessions.insert_with_ttl(json!({"user": "ada"}), Duration::from_secs(30))?;
    sessions.insert_with_ttl(json!({"user": "bob"}), Duration::from_secs(90))?;
    clock.advance(Duration::from_secs(60));
    println!("after 60s: {} session(s) live", sessions.len()?);
    clock.advance(Duration::from_secs(60));
    println!("swept {} more", sessions.sweep()?);
    while let Some(Event::Changes(set)) = expiring.try_recv()? {
        for change in set.changes() {
            if let Change::Expired(old) = change {
                println!("seq {}: expired {}", set.seq(), old.to_value());
            }
        }
    }
    Ok(())
}
