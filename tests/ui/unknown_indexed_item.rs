use docstore::Indexed;

#[derive(Indexed)]
#[indexed(compound(by_city_age = (city, age)))]
#[indexed(composite(by_name_age = (name, age), uniq))]
#[indexed()]
struct User {
    city: String,
    name: String,
    age: u32,
}

fn main() {}
