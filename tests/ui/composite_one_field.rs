use docstore::Indexed;

#[derive(Indexed)]
#[indexed(composite(by_city = (city)))]
struct User {
    city: String,
}

fn main() {}
