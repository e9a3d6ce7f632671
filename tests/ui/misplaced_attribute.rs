use docstore::Indexed;

#[derive(Indexed)]
#[index(unique)]
struct User {
    #[indexed(composite(by_city_age = (city, age)))]
    city: String,
    age: u32,
}

fn main() {}
