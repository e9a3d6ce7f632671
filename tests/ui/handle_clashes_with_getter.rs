use docstore::Indexed;

#[derive(Indexed)]
struct User {
    #[index(unique)]
    email: String,
}

impl User {
    fn email(&self) -> &str {
        &self.email
    }
}

fn main() {}
