use docstore::Indexed;

#[derive(Indexed)]
struct User {
    #[index(= 3)]
    age: u32,
    #[index = "unique"]
    city: String,
    #[index(unique each)]
    email: String,
    #[index(name = by_score)]
    score: f64,
    #[index(name = "by score")]
    rank: u32,
}

fn main() {}
