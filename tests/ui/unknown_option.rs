use docstore::Indexed;

#[derive(Indexed)]
struct User {
    #[index(uniq)]
    email: String,
    #[index(unique, unique)]
    name: String,
}

fn main() {}
