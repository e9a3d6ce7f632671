use docstore::{Collection, Indexed};

#[derive(Indexed)]
#[indexed(composite(by_city_age = (city, age)))]
struct User {
    city: String,
    age: u32,
}

fn main() {
    let users = Collection::<User>::new();
    let _ = users.lookup(User::by_city_age, ("Paris", "30"));
}
