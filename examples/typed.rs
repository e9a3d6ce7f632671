//! A small domain-model cache: users and their orders, kept as typed structs and
//! queried through index handles the compiler checks.
//!
//! Run it with `cargo run --example typed`.

use docstore::{Collection, Error, Id, IndexKey, Indexed, KeyWriter, Versioned};

#[derive(Indexed, Clone, Debug)]
struct User {
    #[index(unique)]
    email: String,
    name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Paid,
    Shipped,
}

/// A key of our own: orders sort by status in the order of an order's life.
impl IndexKey for Status {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_u64(*self as u64);
    }
}

#[derive(Indexed, Clone, Debug)]
#[indexed(composite(by_status_date = (status, date)))]
struct Order {
    #[index]
    user: Id,
    #[index]
    amount_cents: u64,
    status: Status,
    /// The day as `yyyymmdd`, so that numeric order is date order.
    date: u32,
    item: String,
}

fn show(title: &str, orders: impl Iterator<Item = Versioned<Order>>) {
    println!("{title}:");
    for order in orders {
        println!(
            "  {} {:<8} ${:>4}.{:02} {:?}",
            order.date,
            order.item,
            order.amount_cents / 100,
            order.amount_cents % 100,
            order.status
        );
    }
}

fn main() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let orders = Collection::<Order>::new();

    let ada = users.insert(User {
        email: "ada@example.com".into(),
        name: "Ada".into(),
    })?;
    let grace = users.insert(User {
        email: "grace@example.com".into(),
        name: "Grace".into(),
    })?;
    for (user, amount_cents, status, date, item) in [
        (ada, 12_500, Status::Paid, 20240115, "engine"),
        (grace, 4_999, Status::Pending, 20240201, "compiler"),
        (ada, 19_900, Status::Paid, 20240103, "loom"),
        (grace, 75_000, Status::Shipped, 20231224, "cobol"),
        (ada, 2_000, Status::Paid, 20240210, "punch"),
    ] {
        orders.insert(Order {
            user,
            amount_cents,
            status,
            date,
            item: item.into(),
        })?;
    }

    // Exact lookup on a unique index: at most one user per email.
    if let Some(user) = users.get_unique(User::email, "ada@example.com")? {
        println!("ada@example.com is {} (id {})", user.name, user.id());
    }

    show("Ada's orders", orders.lookup(Order::user, ada)?);
    show(
        "orders from $50 to $200",
        orders.range(Order::amount_cents, 5_000..=20_000)?,
    );
    show(
        "the two largest orders",
        orders.by_index(Order::amount_cents)?.rev().take(2),
    );
    // A prefix of the composite key: every paid order, oldest first.
    show(
        "paid orders",
        orders.prefix(Order::by_status_date, (&Status::Paid,))?,
    );
    show(
        "paid in January",
        orders.range(
            Order::by_status_date,
            (&Status::Paid, 20240101)..(&Status::Paid, 20240201),
        )?,
    );

    // An atomic read-modify-write; the composite index follows the new status.
    let loom = orders
        .lookup(Order::amount_cents, 19_900)?
        .next()
        .map(|order| order.id());
    if let Some(loom) = loom {
        let shipped = orders.update_with(loom, |order| Order {
            status: Status::Shipped,
            ..order.clone()
        })?;
        println!(
            "shipped the {} (now version {})",
            shipped.item,
            shipped.version()
        );
    }
    show(
        "paid orders now",
        orders.prefix(Order::by_status_date, (&Status::Paid,))?,
    );

    // A refused write hands the document back instead of dropping it.
    let impostor = User {
        email: "grace@example.com".into(),
        name: "Not Grace".into(),
    };
    if let Err(rejected) = users.insert(impostor) {
        println!("refused: {}", rejected.error());
        println!("handed back: {:?}", rejected.into_document());
    }
    println!(
        "{} users, {} orders; grace is {grace}",
        users.len()?,
        orders.len()?
    );
    Ok(())
}
