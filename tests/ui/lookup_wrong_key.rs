use docstore::{Collection, Indexed};

#[derive(Indexed)]
struct User {
    #[index]
    age: u32,
}

fn main() {
    let users = Collection::<User>::new();
    let _ = users.lookup(User::age, "thirty");
}
