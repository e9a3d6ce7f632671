use docstore::{Collection, Indexed};

#[derive(Indexed)]
struct Order {
    #[index]
    at: u64,
}

fn main() {
    let orders = Collection::<Order>::new();
    let _ = orders.range_within(Order::at, (5u64,), ..10u64);
}
