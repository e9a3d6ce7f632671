use docstore::Indexed;

#[derive(Indexed)]
#[indexed(composite(by_city_age = (city, agee)))]
struct User {
    city: String,
    age: u32,
}

fn main() {}
