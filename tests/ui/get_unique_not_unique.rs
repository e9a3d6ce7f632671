use docstore::{Collection, Indexed};

#[derive(Indexed)]
struct User {
    #[index]
    city: String,
}

fn main() {
    let users = Collection::<User>::new();
    let _ = users.get_unique(User::city, "Paris");
}
