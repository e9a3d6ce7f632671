use docstore::Indexed;

#[derive(Indexed)]
#[indexed(composite(city = (city, age)))]
struct User {
    #[index(name = "by_age")]
    age: u32,
    #[index(name = "by_age")]
    birth_year: u32,
    #[index]
    city: String,
}

fn main() {}
