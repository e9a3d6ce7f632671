//! Transactions across a database's collections: an order placed and its
//! stock taken in one step, all or nothing, with a concurrent order for the
//! same item retried after a conflict.
//!
//! Run with `cargo run --example transactions`.

use std::cell::Cell;
use std::sync::Barrier;

use docstore::{Db, Error, Indexed, TxOptions};
use serde_json::json;

#[derive(Indexed, Clone, Debug)]
struct Product {
    #[index(unique)]
    sku: String,
    stock: u32,
}

#[derive(Indexed, Clone, Debug)]
struct Order {
    #[index]
    customer: String,
    sku: String,
    quantity: u32,
}

/// Why an order was not placed.
#[derive(Debug)]
enum OrderError {
    OutOfStock { sku: String, left: u32 },
    Store(Error),
}

impl From<Error> for OrderError {
    fn from(error: Error) -> Self {
        OrderError::Store(error)
    }
}

fn main() -> Result<(), Error> {
    let db = Db::new();
    let products = db.collection::<Product>("products")?;
    let orders = db.collection::<Order>("orders")?;
    let log = db.store("log")?;
    products.insert(Product {
        sku: "teapot".into(),
        stock: 3,
    })?;

    // Places an order: takes the stock and records the order, or does
    // neither. `pause` runs between the reads and the writes, so the demo can
    // let a rival transaction commit right there.
    let place = |customer: &str, quantity: u32, pause: &dyn Fn()| {
        let runs = Cell::new(0);
        let result = db.transaction_with(TxOptions::new().retries(5), |tx| {
            runs.set(runs.get() + 1);
            let products = tx.collection(&products);
            let teapot =
                products
                    .get_unique(Product::sku, "teapot")?
                    .ok_or(Error::InvalidDocument {
                        reason: "no such product".into(),
                    })?;
            println!(
                "  {customer} (run {}): sees {} teapots in stock",
                runs.get(),
                teapot.stock
            );
            if teapot.stock < quantity {
                return Err(OrderError::OutOfStock {
                    sku: teapot.sku.clone(),
                    left: teapot.stock,
                });
            }
            if runs.get() == 1 {
                pause();
            }
            products.update(
                teapot.id(),
                Product {
                    stock: teapot.stock - quantity,
                    ..(*teapot).clone()
                },
            )?;
            let order = tx.collection(&orders).insert(Order {
                customer: customer.into(),
                sku: "teapot".into(),
                quantity,
            })?;
            tx.store(&log)
                .insert(json!({"event": "order placed", "customer": customer}))?;
            Ok(order)
        });
        (result, runs.get())
    };

    // Ada and Bob order at the same moment. Bob reads the stock, then waits
    // while Ada's order commits: his commit finds that the stock he read has
    // changed, a conflict, and his transaction runs again on the new state.
    println!("Ada and Bob each order one teapot at the same moment:");
    let bob_has_read = Barrier::new(2);
    let ada_has_committed = Barrier::new(2);
    std::thread::scope(|s| {
        let bob = s.spawn(|| {
            place("bob", 1, &|| {
                bob_has_read.wait();
                ada_has_committed.wait();
            })
        });
        bob_has_read.wait();
        let (ada, _) = place("ada", 1, &|| {});
        println!("  ada: {}", describe(&ada.map(|id| id.to_string())));
        ada_has_committed.wait();
        let (bob, runs) = bob.join().expect("bob's thread");
        println!(
            "  bob: {} after {runs} runs (the first conflicted and was retried)",
            describe(&bob.map(|id| id.to_string()))
        );
    });

    println!("Cy orders two teapots; one is left:");
    let (cy, _) = place("cy", 2, &|| {});
    println!("  cy: {}", describe(&cy.map(|id| id.to_string())));

    let teapot = products
        .get_unique(Product::sku, "teapot")?
        .expect("the product");
    println!(
        "Stock left: {} (version {}); orders: {}; log entries: {}",
        teapot.stock,
        teapot.version(),
        orders.len()?,
        log.len()?
    );
    for order in orders.iter()? {
        println!(
            "  {} ordered {} {}",
            order.customer, order.quantity, order.sku
        );
    }
    Ok(())
}

fn describe(result: &Result<String, OrderError>) -> String {
    match result {
        Ok(id) => format!("order {id} placed"),
        Err(OrderError::OutOfStock { sku, left }) => {
            format!("refused, only {left} {sku} left; nothing was written")
        }
        Err(OrderError::Store(error)) => format!("failed: {error}"),
    }
}
