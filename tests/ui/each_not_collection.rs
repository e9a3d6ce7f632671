use docstore::Indexed;

#[derive(Indexed)]
struct User {
    #[index(each)]
    name: String,
}

fn main() {}
