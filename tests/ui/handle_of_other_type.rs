use docstore::{Collection, Indexed};

#[derive(Indexed)]
struct User {
    #[index]
    city: String,
}

#[derive(Indexed)]
struct Order {
    #[index]
    amount: u64,
}

fn main() {
    let orders = Collection::<Order>::new();
    let _ = orders.lookup(User::city, "Paris");
}
